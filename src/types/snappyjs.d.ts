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
