/**
 * Fuzzing inputs shared by the decoder's, the store's and the receiver's specs: request bodies
 * made from a valid one by a few byte edits (flip, cut, insert), before or after compression,
 * and plain random bytes.
 */
import fc from 'fast-check';
import { snappyCompress } from '../../src/protocol/snappy.js';

/** Up to four edits of `base`: a byte flipped, the body cut, a byte inserted. */
export function mutatedBytes(base: Uint8Array): fc.Arbitrary<Buffer> {
  return fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), op: fc.constantFrom('flip', 'cut', 'insert') }), { minLength: 1, maxLength: 4 }).map((edits) => {
    let bytes = Buffer.from(base);
    for (const edit of edits) {
      const at = edit.at % Math.max(1, bytes.length);
      if (edit.op === 'flip') bytes[at] ^= edit.byte || 1;
      else if (edit.op === 'cut') bytes = bytes.subarray(0, at);
      else bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([edit.byte]), bytes.subarray(at)]);
    }
    return bytes;
  });
}

/** Random bytes, a mutated compressed body, or a mutated protobuf compressed: what a fuzzed receiver gets. */
export function fuzzedBodies(validRaw: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc.oneof(fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)), mutatedBytes(snappyCompress(validRaw)), mutatedBytes(validRaw).map((r) => snappyCompress(r)));
}
