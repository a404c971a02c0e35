/** Snappy block format (not the framed format), as Remote-Write requires. */
import snappy from 'snappyjs';

export function snappyCompress(input: Buffer): Buffer {
  return snappy.compress(input);
}

/**
 * Walks a snappy block without producing output and returns what is wrong with it, or undefined.
 * snappyjs 0.7 trusts its input: a 4-byte literal length with the top bit set reads as negative
 * and moves its cursor backwards, so a 100-byte body can spin it forever (found by fuzzing the
 * receiver). Checking every element first keeps untrusted bodies from reaching that loop.
 */
export function snappyBlockProblem(input: Uint8Array): string | undefined {
  let pos = 0;
  let announced = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= input.length || shift > 28) return 'bad length preamble';
    const byte = input[pos++];
    announced += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) break;
  }
  let out = 0;
  while (pos < input.length) {
    const tag = input[pos++];
    const kind = tag & 0x3;
    if (kind === 0) {
      let length = (tag >>> 2) + 1;
      if (length > 60) {
        const extra = length - 60;
        if (pos + extra > input.length) return 'truncated literal length';
        length = 0;
        for (let i = 0; i < extra; i++) length += input[pos + i] * 2 ** (8 * i);
        length += 1;
        pos += extra;
      }
      if (pos + length > input.length) return 'literal runs past the end of the input';
      pos += length;
      out += length;
    } else {
      let length: number;
      let offset: number;
      if (kind === 1) {
        if (pos + 1 > input.length) return 'truncated copy';
        length = ((tag >>> 2) & 0x7) + 4;
        offset = input[pos] + ((tag >>> 5) << 8);
        pos += 1;
      } else if (kind === 2) {
        if (pos + 2 > input.length) return 'truncated copy';
        length = (tag >>> 2) + 1;
        offset = input[pos] + input[pos + 1] * 256;
        pos += 2;
      } else {
        if (pos + 4 > input.length) return 'truncated copy';
        length = (tag >>> 2) + 1;
        offset = input[pos] + input[pos + 1] * 2 ** 8 + input[pos + 2] * 2 ** 16 + input[pos + 3] * 2 ** 24;
        pos += 4;
      }
      if (offset === 0 || offset > out) return 'copy from before the start of the output';
      out += length;
    }
    if (out > announced) return 'more output than the preamble announces';
  }
  return out === announced ? undefined : 'less output than the preamble announces';
}

/** Throws on a malformed body or one that would decompress to more than `maxLength` bytes. */
export function snappyUncompress(input: Buffer, maxLength: number): Buffer {
  const problem = snappyBlockProblem(input);
  if (problem !== undefined) throw new Error(`invalid snappy block: ${problem}`);
  return snappy.uncompress(input, maxLength);
}
