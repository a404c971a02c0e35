import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeBody, DecodeError, decodeWire, invalidUtf8Label, snappyAnnouncedLength, wireLabels, type DecodeProblem } from '../../src/protocol/decoder.js';
import { decodeWriteRequest, encodeWriteRequestReference } from '../../src/protocol/reference.js';
import { snappyCompress, snappyFrameLiteral } from '../../src/protocol/snappy.js';
import { STALE_NAN } from '../../src/core/model.js';
import { fuzzedBodies } from './fuzz-bodies.js';

const T = 1_700_000_000_000;
// Through a typed array: an array literal would quiet a NaN payload.
const bitsOf = (value: number): bigint => {
  const box = new Float64Array(1);
  box[0] = value;
  return new BigUint64Array(box.buffer)[0];
};
const request = (labels: Array<[string, string]>, samples: Array<{ timestamp: number; value: number }>): Buffer =>
  Buffer.from(encodeWriteRequestReference({ timeseries: [{ labels: labels.map(([name, value]) => ({ name, value })), samples }] }));

/** The problem decodeBody reports, or 'ok'. */
function problemOf(body: Uint8Array, limit: number): DecodeProblem | 'ok' {
  try {
    decodeBody(body, limit);
    return 'ok';
  } catch (error) {
    assert.ok(error instanceof DecodeError, `not a DecodeError: ${String(error)}`);
    return error.problem;
  }
}

describe('snappyAnnouncedLength', () => {
  it('reads the varint preamble, and -1 when there is none within 5 bytes', () => {
    assert.equal(snappyAnnouncedLength(Buffer.from([0x00])), 0);
    assert.equal(snappyAnnouncedLength(Buffer.from([0x84, 0x07])), 900);
    assert.equal(snappyAnnouncedLength(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])), 2 ** 32 - 1);
    assert.equal(snappyAnnouncedLength(snappyFrameLiteral(Buffer.alloc(300_000))), 300_000);
    assert.equal(snappyAnnouncedLength(Buffer.from([])), -1);
    assert.equal(snappyAnnouncedLength(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])), -1);
  });
});

describe('decodeBody', () => {
  it('decodes a snappy-compressed WriteRequest, column-wise', () => {
    const decoded = decodeBody(snappyCompress(request([['__name__', 'm'], ['job', 'a']], [{ timestamp: T, value: 1 }, { timestamp: T + 1, value: 2.5 }])), 1 << 20);
    assert.equal(decoded.samples, 2);
    assert.equal(decoded.series.length, 1);
    assert.deepEqual(wireLabels(decoded, decoded.series[0]), [{ name: '__name__', value: 'm' }, { name: 'job', value: 'a' }]);
    assert.deepEqual(Array.from(decoded.timestamps.subarray(0, 2)), [T, T + 1]);
    assert.deepEqual(Array.from(decoded.values.subarray(0, 2)), [1, 2.5]);
  });

  it('names the layer that failed: snappy, protobuf, or the size limit', () => {
    const cases: Array<[string, Uint8Array, number, DecodeProblem, RegExp]> = [
      ['not snappy', Buffer.from('hello, not snappy'), 1 << 20, 'bad-snappy', /^snappy: /],
      ['empty body', Buffer.alloc(0), 1 << 20, 'bad-snappy', /no length preamble/],
      ['truncated protobuf', snappyCompress(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f])), 1 << 20, 'bad-protobuf', /^protobuf: /],
      ['wrong wire type', snappyCompress(Buffer.from([0x08, 0x01])), 1 << 20, 'bad-protobuf', /WriteRequest\.timeseries has wire type 0/],
      // A tiny body announcing a huge decompressed size is refused before decompressing.
      ['decompression bomb', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]), 1000, 'too-large', /maxDecompressedBytes/],
      // Within the limit but impossible for snappy: 10 bytes cannot expand to 900.
      ['impossible ratio', Buffer.from([0x84, 0x07, 0, 0, 0, 0, 0, 0, 0, 0]), 1000, 'bad-snappy', /cannot decompress to the 900 bytes announced/],
      // A 4-byte literal length with the top bit set: snappyjs would loop; the block check stops it first.
      ['literal longer than the body', Buffer.from([0x10, 0xfc, 0xff, 0xff, 0xff, 0xff, 0x00]), 1000, 'bad-snappy', /invalid snappy block/],
    ];
    for (const [name, body, limit, problem, message] of cases) {
      assert.throws(() => decodeBody(body, limit), (e: unknown) => e instanceof DecodeError && e.problem === problem && message.test(e.message), name);
    }
  });

  it('never throws anything but a DecodeError, on random and mutated bodies (fuzz)', () => {
    const valid = request([['__name__', 'fuzz'], ['a', '1']], [{ timestamp: T, value: 1 }, { timestamp: T + 5, value: STALE_NAN }]);
    const bodies = fuzzedBodies(valid);
    const seen = new Set<string>();
    fc.assert(
      fc.property(bodies, (body) => {
        seen.add(problemOf(body, 1 << 16));
      }),
      { numRuns: 2000, seed: 5 },
    );
    // The fuzz reached every layer, so the property was not vacuous.
    assert.ok(seen.has('bad-snappy') && seen.has('bad-protobuf') && seen.has('ok'), [...seen].join(','));
  });
});

describe('decodeWire', () => {
  it('decodes exactly what protobufjs decodes, for any valid request, value bits included (property)', () => {
    const label = fc.record({ name: fc.string({ maxLength: 12 }), value: fc.string({ maxLength: 12 }) });
    const sample = fc.record({
      value: fc.double(),
      timestamp: fc.oneof(fc.integer({ min: -(2 ** 40), max: 2 ** 42 }), fc.constantFrom(0, -1, 2 ** 31, -(2 ** 31), 2 ** 32, -(2 ** 32) - 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER)),
    });
    const requests = fc.record({ timeseries: fc.array(fc.record({ labels: fc.array(label, { maxLength: 5 }), samples: fc.array(sample, { maxLength: 5 }) }), { maxLength: 6 }) });
    fc.assert(
      fc.property(requests, (input) => {
        const bytes = Buffer.from(encodeWriteRequestReference(input));
        const expected = decodeWriteRequest(bytes);
        const wire = decodeWire(bytes);
        assert.equal(wire.series.length, expected.timeseries.length);
        wire.series.forEach((series, i) => {
          assert.deepEqual(wireLabels(wire, series), expected.timeseries[i].labels);
          const samples = [];
          for (let j = series.start; j < series.start + series.count; j++) samples.push({ value: wire.values[j], timestamp: wire.timestamps[j] });
          assert.deepEqual(samples, expected.timeseries[i].samples);
          for (let j = 0; j < series.count; j++) assert.equal(bitsOf(wire.values[series.start + j]), bitsOf(input.timeseries[i].samples[j].value));
        });
      }),
      { numRuns: 200 },
    );
  });

  it('gives equal label bytes the same raw key, and skips unknown fields', () => {
    const a = request([['__name__', 'm']], [{ timestamp: T, value: 1 }]);
    // Field 15 (varint) after the series: unknown, skipped.
    const withUnknown = Buffer.concat([a, a, Buffer.from([0x78, 0x01])]);
    const wire = decodeWire(withUnknown);
    assert.equal(wire.series.length, 2);
    assert.equal(wire.samples, 2);
    assert.equal(wire.series[0].rawKey, wire.series[1].rawKey);
    assert.notEqual(wire.series[0].rawKey, undefined);
  });

  it('reads negative int64 timestamps exactly', () => {
    const wire = decodeWire(request([['__name__', 'm']], [{ timestamp: -1, value: 0 }, { timestamp: -(2 ** 40) - 3, value: 0 }]));
    assert.deepEqual(Array.from(wire.timestamps.subarray(0, 2)), [-1, -(2 ** 40) - 3]);
  });
});

describe('invalidUtf8Label', () => {
  it('names the first label whose name or value is not UTF-8, and nothing for valid ones', () => {
    const good = decodeWire(request([['__name__', 'm'], ['city', 'Zürich']], [{ timestamp: T, value: 1 }]));
    assert.equal(invalidUtf8Label(good, good.series[0]), undefined);
    // Replace the 'ü' (0xc3 0xbc) with a lone continuation byte.
    const bytes = request([['__name__', 'm'], ['city', 'Zürich']], [{ timestamp: T, value: 1 }]);
    const at = bytes.indexOf(Buffer.from([0xc3, 0xbc]));
    bytes[at] = 0xbc;
    const bad = decodeWire(bytes);
    assert.equal(invalidUtf8Label(bad, bad.series[0]), 'city');
  });
});
