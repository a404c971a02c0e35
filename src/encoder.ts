/**
 * Encodes a batch of prepared samples into a compressed Remote-Write 1.0 request body.
 *
 * Hand-written protobuf: each series' label bytes were encoded once when it was interned and are
 * copied in; samples of one series within a batch share one TimeSeries. One scratch buffer is
 * reused across requests, so a request costs one pass to group and size it, one to write it, and
 * snappy. The snappy block compressor is our own (see `SnappyBlockCompressor`): it is the
 * largest single cost of a request, and a 32-bit multiplicative hash and reused buffers make it
 * several times cheaper than snappyjs' at the same output.
 */
import type { SeriesRecord } from './series.js';

/** A sample that passed validation and the order guard, bound to its interned series. */
export interface PreparedSample {
  readonly series: SeriesRecord;
  readonly value: number;
  readonly timestamp: number;
}

/**
 * A batch held column-wise, as the sink builds it: no object per sample. Values live in a
 * Float64Array because plain arrays of doubles canonicalize NaN payloads (the stale marker).
 */
export interface SampleColumns {
  readonly length: number;
  readonly series: readonly SeriesRecord[];
  readonly values: Float64Array;
  readonly timestamps: Float64Array;
}

export interface EncodedRequest {
  /** Snappy-compressed protobuf WriteRequest. */
  readonly body: Buffer;
  /** Uncompressed protobuf size. */
  readonly rawBytes: number;
  readonly samples: number;
  readonly series: number;
}

// Tags: field number << 3 | wire type.
const TAG_TIMESERIES = 0x0a; // WriteRequest.timeseries, length-delimited
const TAG_SAMPLE = 0x12; // TimeSeries.samples, length-delimited
const TAG_VALUE = 0x09; // Sample.value, 64-bit
const TAG_TIMESTAMP = 0x10; // Sample.timestamp, varint

// Records are shared by every encoder of a sink (and of tests): one epoch counter for all of
// them, so two encoders can never mistake each other's marks for their own.
let epochCounter = 0;

const doubleView = new Float64Array(1);
const doubleBytes = new Uint8Array(doubleView.buffer);

export class WriteRequestEncoder {
  private scratch = Buffer.allocUnsafe(1 << 16);
  private next = new Int32Array(1024);
  private first = new Int32Array(256);
  private readonly order: SeriesRecord[] = [];
  private readonly compressor = new SnappyBlockCompressor();

  /** Encodes without compressing (tests compare this with the reference encoding). */
  encodeRaw(batch: readonly PreparedSample[] | SampleColumns): { bytes: Buffer; series: number } {
    const length = this.write(toColumns(batch));
    return { bytes: Buffer.from(this.scratch.subarray(0, length)), series: this.order.length };
  }

  encode(batch: readonly PreparedSample[] | SampleColumns): EncodedRequest {
    const columns = toColumns(batch);
    const length = this.write(columns);
    const body = this.compressor.compress(this.scratch, length);
    const series = this.order.length;
    this.order.length = 0; // do not keep records alive between requests
    return { body, rawBytes: length, samples: columns.length, series };
  }

  /** Writes the uncompressed request into the scratch buffer; returns its length. */
  private write(batch: SampleColumns): number {
    const count = batch.length;
    const records = batch.series;
    const timestamps = batch.timestamps;
    const values = batch.values;
    if (this.next.length < count) this.next = new Int32Array(count * 2);
    const next = this.next;
    const order = this.order;
    order.length = 0;
    // Epochs let records' scratch fields be reused without clearing them between batches.
    const epoch = ++epochCounter;

    // Pass 1: chain each series' samples in batch order (series keep first-appearance order)
    // and add up each TimeSeries' length on the way.
    let first = this.first;
    for (let i = 0; i < count; i++) {
      const series = records[i];
      // tag + length byte + (tag + double) + (tag + varint); a Sample is at most 20 bytes.
      const sampleBytes = 12 + varintSize(timestamps[i]);
      next[i] = -1;
      if (series.encodeEpoch !== epoch) {
        series.encodeEpoch = epoch;
        series.encodeTail = i;
        series.encodeLength = series.key.length + sampleBytes;
        if (order.length === first.length) {
          const grown = new Int32Array(first.length * 2);
          grown.set(first);
          this.first = first = grown;
        }
        first[order.length] = i;
        order.push(series);
      } else {
        next[series.encodeTail] = i;
        series.encodeTail = i;
        series.encodeLength += sampleBytes;
      }
    }

    let total = 0;
    for (let s = 0; s < order.length; s++) {
      const length = order[s].encodeLength;
      total += 1 + varintSize(length) + length;
    }
    if (this.scratch.length < total) this.scratch = Buffer.allocUnsafe(Math.max(total, this.scratch.length * 2));
    const out = this.scratch;

    // Pass 2: write front to back.
    let p = 0;
    for (let s = 0; s < order.length; s++) {
      const series = order[s];
      out[p++] = TAG_TIMESERIES;
      p = writeVarint(out, p, series.encodeLength);
      const key = series.key;
      const keyLength = key.length;
      if (keyLength < 256) {
        // A short latin1 string copies faster char by char than through Buffer#write.
        for (let k = 0; k < keyLength; k++) out[p + k] = key.charCodeAt(k);
        p += keyLength;
      } else {
        p += out.write(key, p, keyLength, 'latin1');
      }
      for (let i = first[s]; i !== -1; i = next[i]) {
        const timestamp = timestamps[i];
        out[p++] = TAG_SAMPLE;
        out[p++] = 10 + varintSize(timestamp);
        out[p++] = TAG_VALUE;
        doubleView[0] = values[i];
        out[p] = doubleBytes[0];
        out[p + 1] = doubleBytes[1];
        out[p + 2] = doubleBytes[2];
        out[p + 3] = doubleBytes[3];
        out[p + 4] = doubleBytes[4];
        out[p + 5] = doubleBytes[5];
        out[p + 6] = doubleBytes[6];
        out[p + 7] = doubleBytes[7];
        p += 8;
        out[p++] = TAG_TIMESTAMP;
        p = writeVarint(out, p, timestamp);
      }
    }
    return p;
  }
}

function toColumns(batch: readonly PreparedSample[] | SampleColumns): SampleColumns {
  if (!Array.isArray(batch)) return batch as SampleColumns;
  const samples = batch as readonly PreparedSample[];
  const values = new Float64Array(samples.length);
  const timestamps = new Float64Array(samples.length);
  const series = new Array<SeriesRecord>(samples.length);
  for (let i = 0; i < samples.length; i++) {
    series[i] = samples[i].series;
    values[i] = samples[i].value;
    timestamps[i] = samples[i].timestamp;
  }
  return { length: samples.length, series, values, timestamps };
}

/** Bytes of a protobuf varint of an integer (int64: negatives take ten). */
function varintSize(value: number): number {
  if (value < 0) return 10;
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  if (value < 0x800000000) return 5;
  if (value < 0x40000000000) return 6;
  if (value < 0x2000000000000) return 7;
  if (value < 0x100000000000000) return 8;
  return 9;
}

const TWO_28 = 0x10000000;

/** Writes an integer varint at `p`; returns the offset after it. Safe integers and int64 negatives. */
function writeVarint(out: Uint8Array, p: number, value: number): number {
  if (value < 0) return writeNegativeVarint(out, p, value);
  if (value >= TWO_28) {
    // Low 28 bits as four continuation bytes in 32-bit arithmetic, then the rest.
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

/**
 * Snappy block-format compressor (the format Remote-Write requires; not the framed format).
 *
 * The usual greedy scheme: the input is cut into 64 KiB fragments; within a fragment a hash of
 * the next four bytes finds the last position that started with the same hash; on a 4-byte match
 * the match is extended and emitted as a copy, else the byte joins a pending literal. After 32
 * misses in a row the scan steps over more bytes at a time, so incompressible input stays cheap.
 * Hash table, output scratch and the final body are the only allocations: the body is exact-size.
 */
export class SnappyBlockCompressor {
  private static readonly FRAGMENT = 1 << 16;
  private static readonly HASH_BITS = 14;
  private readonly table = new Uint16Array(1 << SnappyBlockCompressor.HASH_BITS);
  private out = Buffer.allocUnsafe(1 << 16);

  /** Compresses `input[0, length)` into a new Buffer. */
  compress(input: Uint8Array, length: number): Buffer {
    const bound = 32 + length + Math.floor(length / 6);
    if (this.out.length < bound) this.out = Buffer.allocUnsafe(Math.max(bound, this.out.length * 2));
    const out = this.out;
    let op = writeVarint(out, 0, length);
    for (let start = 0; start < length; start += SnappyBlockCompressor.FRAGMENT) {
      const end = Math.min(length, start + SnappyBlockCompressor.FRAGMENT);
      op = this.fragment(input, start, end, out, op);
    }
    const body = Buffer.allocUnsafe(op);
    out.copy(body, 0, 0, op);
    return body;
  }

  private fragment(input: Uint8Array, start: number, end: number, out: Uint8Array, op: number): number {
    const size = end - start;
    // One unaligned 32-bit load instead of four byte loads and shifts.
    const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
    let literalStart = start;
    // The last 15 bytes are never a match start (room for 4-byte loads past the match end).
    if (size >= 15) {
      let bits = 8;
      while (bits < SnappyBlockCompressor.HASH_BITS && 1 << bits < size) bits++;
      const shift = 32 - bits;
      const table = this.table;
      table.fill(0, 0, 1 << bits);
      const limit = end - 15;
      let ip = start + 1;
      scan: while (ip <= limit) {
        // Look for a 4-byte match, stepping faster after many misses.
        let skip = 32;
        let candidate: number;
        for (;;) {
          const word = view.getInt32(ip, true);
          const hash = Math.imul(word, 0x1e35a7bd) >>> shift;
          candidate = start + table[hash];
          table[hash] = ip - start;
          if (candidate < ip && view.getInt32(candidate, true) === word) break;
          ip += skip++ >>> 5;
          if (ip > limit) break scan;
        }
        op = emitLiteral(input, literalStart, ip - literalStart, out, op);
        // Emit copies for as long as the bytes right after a copy match again.
        for (;;) {
          let matched = 4;
          // Four bytes at a time while they fit, then byte by byte.
          while (ip + matched + 4 <= end && view.getInt32(ip + matched, true) === view.getInt32(candidate + matched, true)) matched += 4;
          while (ip + matched < end && input[ip + matched] === input[candidate + matched]) matched++;
          op = emitCopy(out, op, ip - candidate, matched);
          ip += matched;
          literalStart = ip;
          if (ip > limit) break scan;
          const before = ip - 1;
          table[Math.imul(view.getInt32(before, true), 0x1e35a7bd) >>> shift] = before - start;
          const word = view.getInt32(ip, true);
          const hash = Math.imul(word, 0x1e35a7bd) >>> shift;
          candidate = start + table[hash];
          table[hash] = ip - start;
          if (!(candidate < ip && view.getInt32(candidate, true) === word)) break;
        }
        ip++;
      }
    }
    if (literalStart < end) op = emitLiteral(input, literalStart, end - literalStart, out, op);
    return op;
  }
}

function emitLiteral(input: Uint8Array, from: number, length: number, out: Uint8Array, op: number): number {
  if (length === 0) return op;
  const n = length - 1;
  if (n < 60) {
    out[op++] = n << 2;
  } else if (n < 0x100) {
    out[op++] = 60 << 2;
    out[op++] = n;
  } else if (n < 0x10000) {
    out[op++] = 61 << 2;
    out[op++] = n & 0xff;
    out[op++] = n >>> 8;
  } else {
    out[op++] = 62 << 2;
    out[op++] = n & 0xff;
    out[op++] = (n >>> 8) & 0xff;
    out[op++] = n >>> 16;
  }
  if (length < 64) {
    for (let k = 0; k < length; k++) out[op + k] = input[from + k];
  } else {
    out.set(input.subarray(from, from + length), op);
  }
  return op + length;
}

/** Copies of 4 to 11 bytes within 2 KiB take two bytes; others three, in pieces of at most 64. */
function emitCopy(out: Uint8Array, op: number, offset: number, length: number): number {
  while (length >= 68) {
    op = emitCopyUpTo64(out, op, offset, 64);
    length -= 64;
  }
  if (length > 64) {
    // Leave at least 4 for the last piece.
    op = emitCopyUpTo64(out, op, offset, 60);
    length -= 60;
  }
  return emitCopyUpTo64(out, op, offset, length);
}

function emitCopyUpTo64(out: Uint8Array, op: number, offset: number, length: number): number {
  if (length < 12 && offset < 2048) {
    out[op++] = 1 | ((length - 4) << 2) | ((offset >>> 8) << 5);
    out[op++] = offset & 0xff;
  } else {
    out[op++] = 2 | ((length - 1) << 2);
    out[op++] = offset & 0xff;
    out[op++] = offset >>> 8;
  }
  return op;
}
