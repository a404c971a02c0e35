import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import snappyjs from 'snappyjs';
import { snappyBlockProblem, snappyCompress, snappyFrameLiteral, snappyUncompress } from '../../src/protocol/snappy.js';

describe('snappy', () => {
  it('round-trips any bytes, and a compressed block always passes the check', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), fc.integer({ min: 1, max: 8 }), (bytes, repeat) => {
        const input = Buffer.concat(Array.from({ length: repeat }, () => Buffer.from(bytes)));
        const compressed = snappyCompress(input);
        assert.equal(snappyBlockProblem(compressed), undefined);
        assert.deepEqual(Buffer.from(snappyUncompress(compressed, input.length)), input);
      }),
      { numRuns: 200 },
    );
  });

  it('compresses exactly as snappyjs.compress does, into bodies that later calls leave alone', () => {
    const inputs = [Buffer.from('rxprom '.repeat(30_000)), Buffer.alloc(0), Buffer.from('a'), Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7919) & 0xff))];
    const bodies = inputs.map((input) => snappyCompress(input));
    for (let i = 0; i < inputs.length; i++) {
      assert.ok(Buffer.from(bodies[i]).equals(snappyjs.compress(inputs[i])), `input ${i}`);
      assert.ok(Buffer.from(snappyjs.uncompress(bodies[i])).equals(inputs[i]), `input ${i} after later calls`);
    }
  });

  it('frames any bytes as one literal element that snappyjs decodes, a few bytes over the input', () => {
    // Around each boundary of the literal tag's length encoding, and of the preamble's varint.
    const lengths = [0, 1, 59, 60, 61, 127, 128, 255, 256, 257, 16_383, 16_384, 65_535, 65_536, 65_537, 2_097_152, 16_777_216, 16_777_217];
    for (const length of lengths) {
      const input = Buffer.alloc(length);
      for (let i = 0; i < length; i += 97) input[i] = (i * 31) & 0xff;
      const framed = snappyFrameLiteral(input);
      assert.equal(snappyBlockProblem(framed), undefined, `length ${length}`);
      assert.ok(framed.length - length <= 10 && framed.length > length, `overhead at ${length}: ${framed.length - length}`);
      assert.ok(Buffer.from(snappyjs.uncompress(framed)).equals(input), `length ${length}`);
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
        assert.deepEqual(Buffer.from(snappyUncompress(snappyFrameLiteral(bytes), bytes.length)), Buffer.from(bytes));
      }),
      { numRuns: 200 },
    );
  });

  it('refuses, instead of spinning forever in snappyjs, a literal whose length reads as negative (regression from fuzzing)', () => {
    const body = Buffer.from('363404967a74f21128fed83ec7264203fc77a59c9c760d1b27a78c1a1e678ec765647585a460bb4ca5d06743f62e39be70764969d546ac5e72fe0fd675d97fae1f4cbba8ecca98b86d46c2bdcc6b3f0e498f2438c4de17c3980b4afa0b41300a4872b607bfde1bb10853a153f2bd1ef418d4287c99a2cb6fbd4d3e41723f22195cea22a217c6aa8a7fa0bb75a850ea3776895050fb60b82d7a5f9e2e667a2da2621b403a798dc3fcb908fdf089e9809ef64f6a5c9ae00fd97463266a9abf4647b270b5db084078d031b02a8d92fc1ca2', 'hex');
    assert.match(snappyBlockProblem(body) ?? '', /literal runs past the end/);
    assert.throws(() => snappyUncompress(body, 1 << 20), /invalid snappy block/);
  });

  it('names what is wrong with truncated, oversized and self-referencing blocks', () => {
    const good = snappyCompress(Buffer.from('abcabcabcabcabcabcabc'));
    assert.match(snappyBlockProblem(good.subarray(0, good.length - 1)) ?? '', /truncated|past the end|less output/);
    assert.match(snappyBlockProblem(Buffer.from([0x05, 0x01, 0x00])) ?? '', /copy from before the start/);
    assert.match(snappyBlockProblem(Buffer.from([0x01, 0x04, 0x61, 0x62])) ?? '', /more output than the preamble/);
    assert.match(snappyBlockProblem(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])) ?? '', /bad length preamble/);
  });

  it('judges random and mutated blocks quickly, never disagreeing with a successful decompression', () => {
    const base = snappyCompress(Buffer.from('rxprom '.repeat(50)));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 400 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 5 }).map((edits) => {
        const copy = Uint8Array.from(base);
        for (const [at, byte] of edits) copy[at % copy.length] = byte;
        return copy;
      })), (bytes) => {
        const body = Buffer.from(bytes);
        if (snappyBlockProblem(body) === undefined) assert.ok(Buffer.isBuffer(snappyUncompress(body, 1 << 20)) || snappyUncompress(body, 1 << 20) instanceof Uint8Array);
      }),
      { numRuns: 3000 },
    );
  });
});
