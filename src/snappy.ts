/** Snappy block format (not the framed format), as Remote-Write requires. */
import snappy from 'snappyjs';

export function snappyCompress(input: Buffer): Buffer {
  return snappy.compress(input);
}

/** Throws on a malformed body or one that would decompress to more than `maxLength` bytes. */
export function snappyUncompress(input: Buffer, maxLength: number): Buffer {
  return snappy.uncompress(input, maxLength);
}
