import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { varintSize, writeVarint } from '../../src/protocol/varint.js';

/** The largest double below 2^63: the top of the int64 range a JavaScript number can hold. */
const INT64_MAX_DOUBLE = 2 ** 63 - 1024;

/** Every integer double in [-2^63, 2^63 - 1024], spread over all magnitudes (not just near 0). */
const int64Double = fc.oneof(
  fc.double({ min: -(2 ** 63), max: INT64_MAX_DOUBLE, noNaN: true }).map((d) => Math.floor(d)),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((b) => Math.min(Number(b), INT64_MAX_DOUBLE)),
  fc.integer({ min: 0, max: 62 }).chain((bits) => fc.constantFrom(2 ** bits - 1, 2 ** bits, 2 ** bits + 1, -(2 ** bits))).map((n) => Math.min(n, INT64_MAX_DOUBLE)),
  fc.maxSafeInteger(),
  fc.constantFrom(0, 127, 128, 2 ** 28 - 1, 2 ** 28, 2 ** 35, 2 ** 53 - 1, 1_795_591_899_086, 2 ** 56, 2 ** 60, 2 ** 62, INT64_MAX_DOUBLE, -(2 ** 63)),
);

function decode(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = 0; i < bytes.length; i++) value |= BigInt(bytes[i] & 0x7f) << BigInt(7 * i);
  return BigInt.asIntN(64, value);
}

describe('varint', () => {
  it('writes what protobufjs writes for an int64, over the whole int64 range a double holds, and sizes it exactly (property)', () => {
    fc.assert(
      fc.property(int64Double, (value) => {
        const expected = protobuf.Writer.create().int64(value).finish();
        const out = new Uint8Array(16);
        const end = writeVarint(out, 0, value);
        assert.deepEqual([...out.subarray(0, end)], [...expected], `value ${value}`);
        assert.equal(varintSize(value), end, `declared size of ${value}`);
        assert.equal(decode(out.subarray(0, end)), BigInt(value), `round trip of ${value}`);
        assert.equal(out[end - 1] & 0x80, 0, 'the last byte ends the varint');
      }),
      { numRuns: 5000 },
    );
  });

  it('writes 9 bytes, as declared, from 2^56 up to the int64 maximum (2^60 used to come out as 6)', () => {
    for (const value of [2 ** 56, 2 ** 60, 2 ** 60 + 2 ** 40, 2 ** 62, INT64_MAX_DOUBLE]) {
      const out = new Uint8Array(16);
      assert.equal(writeVarint(out, 0, value), 9, `value ${value}`);
      assert.equal(varintSize(value), 9);
      assert.equal(decode(out.subarray(0, 9)), BigInt(value));
    }
  });
});
