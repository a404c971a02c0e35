/** Protobuf base-128 varints for non-negative integers up to 2^53 (and int64 negatives). */

export function varintSize(value: number): number {
  if (value < 0) return 10; // int64 negatives take ten bytes in two's complement
  let size = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/** Writes `value` at `offset`; returns the offset after it. */
export function writeVarint(buffer: Uint8Array, offset: number, value: number): number {
  if (value < 0) return writeNegativeInt64(buffer, offset, value);
  // 32-bit arithmetic while it fits, floating-point division above (timestamps are ~2^41).
  while (value > 0x7fffffff) {
    buffer[offset++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  while (value >= 128) {
    buffer[offset++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  buffer[offset++] = value;
  return offset;
}

function writeNegativeInt64(buffer: Uint8Array, offset: number, value: number): number {
  let bits = BigInt.asUintN(64, BigInt(value));
  for (let i = 0; i < 9; i++) {
    buffer[offset++] = Number(bits & 0x7fn) | 0x80;
    bits >>= 7n;
  }
  buffer[offset++] = Number(bits);
  return offset;
}
