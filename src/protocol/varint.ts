/**
 * Protobuf base-128 varints for every integer a double holds exactly in the int64 range (up to
 * 2^63 - 1024, and int64 negatives: ten bytes, two's complement). Written for the encoder's hot
 * path: size by comparison, 32-bit arithmetic per byte.
 */

/** Bytes of a protobuf varint of an integer (int64: negatives take ten). */
export function varintSize(value: number): number {
  if (value < 0) return 10;
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  if (value < 0x800000000) return 5;
  if (value < 0x40000000000) return 6;
  if (value < 0x2000000000000) return 7;
  if (value < 0x100000000000000) return 8;
  if (value < 0x8000000000000000) return 9;
  return 10; // not an int64; as a uint64

}

const TWO_28 = 0x10000000;

/** Writes an integer varint at `p`; returns the offset after it. Integers below 2^64 and int64 negatives. */
export function writeVarint(out: Uint8Array, p: number, value: number): number {
  if (value < 0) return writeNegativeVarint(out, p, value);
  // Bitwise operators see only 32 bits: peel off 28 bits at a time (exact in double arithmetic)
  // until the rest fits, or from 2^60 up the top bits would be lost and fewer bytes written.
  while (value >= TWO_28) {
    const high = Math.floor(value / TWO_28);
    const low = value - high * TWO_28;
    out[p++] = (low & 0x7f) | 0x80;
    out[p++] = ((low >>> 7) & 0x7f) | 0x80;
    out[p++] = ((low >>> 14) & 0x7f) | 0x80;
    out[p++] = ((low >>> 21) & 0x7f) | 0x80;
    value = high;
  }
  while (value >= 0x80) {
    out[p++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  out[p++] = value;
  return p;
}

function writeNegativeVarint(out: Uint8Array, p: number, value: number): number {
  let bits = BigInt.asUintN(64, BigInt(value));
  for (let i = 0; i < 9; i++) {
    out[p++] = Number(bits & 0x7fn) | 0x80;
    bits >>= 7n;
  }
  out[p++] = Number(bits);
  return p;
}
