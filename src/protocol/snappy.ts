/** Snappy block format (not the framed format), as Remote-Write requires. */
import snappy from 'snappyjs';
import { SnappyCompressor } from 'snappyjs/snappy_compressor.js';

// snappyjs' `compress` allocates a zero-filled buffer of the worst-case size (1.17x the input) per
// call; with 200 KB requests that allocation and the GC pressure of its external memory cost as
// much as a tenth of the sink's CPU at a million series. Its compressor writes into one reused
// scratch buffer instead, and the body gets an exact-size copy.
let compressScratch = Buffer.allocUnsafe(1 << 16);

/**
 * Snappy block compression (snappyjs' compressor); the result is the caller's to keep. A Node
 * `Buffer` at run time; declared as the `Uint8Array` it is, so the published types need no Node typings.
 */
export function snappyCompress(input: Uint8Array): Uint8Array {
  const compressor = new SnappyCompressor(input);
  const worst = compressor.maxCompressedLength();
  if (compressScratch.length < worst) compressScratch = Buffer.allocUnsafe(Math.max(worst, compressScratch.length * 2));
  const length = compressor.compressToBuffer(compressScratch);
  const body = Buffer.allocUnsafe(length);
  compressScratch.copy(body, 0, 0, length);
  return body;
}

/** How the sink frames a request body; both are snappy blocks every receiver decodes. */
export type Compression = 'snappy' | 'literal';
export const COMPRESSIONS: readonly Compression[] = ['snappy', 'literal'];

/**
 * Frames `input` as a snappy block holding one literal element: valid snappy that any decoder
 * reads, with no compression work (a copy and 6-10 bytes of header), at the uncompressed size.
 * For a sender next to its receiver, where CPU is dearer than bytes on the wire.
 */
export function snappyFrameLiteral(input: Uint8Array): Uint8Array {
  const length = input.length;
  if (length > 0xffffffff) throw new RangeError('a snappy block holds at most 2^32-1 bytes');
  let preamble = 1;
  for (let rest = length; rest >= 0x80; rest = Math.floor(rest / 0x80)) preamble++;
  // Literal tag: lengths up to 60 fit the tag byte; longer ones follow it in 1-4 little-endian bytes.
  const extra = length <= 60 ? 0 : length <= 0x100 ? 1 : length <= 0x10000 ? 2 : length <= 0x1000000 ? 3 : 4;
  const out = Buffer.allocUnsafe(preamble + (length === 0 ? 0 : 1 + extra) + length);
  let p = 0;
  for (let rest = length; ; rest = Math.floor(rest / 0x80)) {
    if (rest < 0x80) {
      out[p++] = rest;
      break;
    }
    out[p++] = (rest % 0x80) | 0x80;
  }
  if (length === 0) return out;
  if (extra === 0) {
    out[p++] = (length - 1) << 2;
  } else {
    out[p++] = (59 + extra) << 2;
    for (let i = 0, rest = length - 1; i < extra; i++, rest = Math.floor(rest / 256)) out[p++] = rest % 256;
  }
  out.set(input, p);
  return out;
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
export function snappyUncompress(input: Uint8Array, maxLength: number): Uint8Array {
  const problem = snappyBlockProblem(input);
  if (problem !== undefined) throw new Error(`invalid snappy block: ${problem}`);
  return snappy.uncompress(input, maxLength);
}
