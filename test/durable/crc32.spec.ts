import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { crc32, crc32Portable } from '../../src/durable/crc32.js';

/** The textbook bit-at-a-time CRC-32, as the reference. */
function slowCrc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

describe('crc32', () => {
  it('matches the standard check values', () => {
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
    assert.equal(crc32Portable(Buffer.from('123456789')), 0xcbf43926);
    assert.equal(crc32(Buffer.alloc(0)), 0);
    assert.equal(crc32(Buffer.from('The quick brown fox jumps over the lazy dog')), 0x414fa339);
  });

  it('equals the bitwise reference on any bytes, in one call or continued over a split (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), (bytes, at) => {
        const split = bytes.length === 0 ? 0 : at % bytes.length;
        const expected = slowCrc32(bytes);
        for (const implementation of [crc32, crc32Portable]) {
          assert.equal(implementation(bytes), expected);
          assert.equal(implementation(bytes, implementation(bytes, 0, 0, split), split, bytes.length), expected);
        }
      }),
    );
  });
});
