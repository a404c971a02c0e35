import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { varintSize, writeVarint } from '../../src/protocol/varint.js';

describe('varint', () => {
  it('writes what protobufjs writes for an int64, and sizes it exactly (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.maxSafeInteger(), fc.integer({ min: -1000, max: 1_000_000 }), fc.constantFrom(0, 127, 128, 2 ** 28 - 1, 2 ** 28, 2 ** 35, 2 ** 53 - 1, 1_795_591_899_086)), (value) => {
        const expected = protobuf.Writer.create().int64(value).finish();
        const out = new Uint8Array(16);
        const end = writeVarint(out, 0, value);
        assert.deepEqual([...out.subarray(0, end)], [...expected]);
        assert.equal(varintSize(value), expected.length);
      }),
      { numRuns: 2000 },
    );
  });
});
