declare module 'snappyjs' {
  interface SnappyJs {
    /** Snappy block-format compression; returns the same kind of container it was given. */
    compress<T extends Uint8Array | ArrayBuffer>(input: T): T;
    /** Throws on an invalid bitstream or when the declared length exceeds maxLength. */
    uncompress<T extends Uint8Array | ArrayBuffer>(compressed: T, maxLength?: number): T;
  }
  const snappy: SnappyJs;
  export default snappy;
}

/** snappyjs' compressor itself, which `compress` wraps: it writes into a buffer the caller owns. */
declare module 'snappyjs/snappy_compressor.js' {
  export class SnappyCompressor {
    constructor(uncompressed: Uint8Array);
    /** 32 + n + n/6: the most a block of this input can take. */
    maxCompressedLength(): number;
    /** Writes the block (preamble and elements) from offset 0; returns its length. */
    compressToBuffer(out: Uint8Array): number;
  }
}
