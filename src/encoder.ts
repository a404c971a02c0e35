/**
 * Encodes a batch of prepared samples into a compressed Remote-Write 1.0 request body.
 *
 * Hand-written protobuf: each series' label bytes were encoded once when it was interned and are
 * copied in; samples of one series within a batch share one TimeSeries. One scratch buffer is
 * reused across requests, so a request costs one pass to size it, one to write it, and snappy.
 */
import type { SeriesRecord } from './series.js';
import { snappyCompress } from './snappy.js';
import { varintSize, writeVarint } from './varint.js';

/** A sample that passed validation and the order guard, bound to its interned series. */
export interface PreparedSample {
  readonly series: SeriesRecord;
  readonly value: number;
  readonly timestamp: number;
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

export class WriteRequestEncoder {
  private scratch = Buffer.allocUnsafe(1 << 16);
  private next = new Int32Array(1024);
  private readonly order: SeriesRecord[] = [];
  private readonly lengths: number[] = [];
  private epoch = 0;

  /** Encodes without compressing (tests compare this with the reference encoding). */
  encodeRaw(batch: readonly PreparedSample[]): { bytes: Buffer; series: number } {
    const length = this.write(batch);
    return { bytes: Buffer.from(this.scratch.subarray(0, length)), series: this.order.length };
  }

  encode(batch: readonly PreparedSample[]): EncodedRequest {
    const length = this.write(batch);
    const body = snappyCompress(this.scratch.subarray(0, length));
    return { body, rawBytes: length, samples: batch.length, series: this.order.length };
  }

  /** Writes the uncompressed request into the scratch buffer; returns its length. */
  private write(batch: readonly PreparedSample[]): number {
    const count = batch.length;
    if (this.next.length < count) this.next = new Int32Array(count * 2);
    const next = this.next;
    const order = this.order;
    order.length = 0;
    // Epochs let records' scratch fields be reused without clearing them between batches.
    const epoch = ++this.epoch;

    // Pass 1: chain each series' samples in batch order (series keep first-appearance order).
    const firstIndex: number[] = [];
    for (let i = 0; i < count; i++) {
      const series = batch[i].series;
      next[i] = -1;
      if (series.encodeEpoch !== epoch) {
        series.encodeEpoch = epoch;
        series.encodeTail = i;
        series.encodeCount = 1;
        order.push(series);
        firstIndex.push(i);
      } else {
        next[series.encodeTail] = i;
        series.encodeTail = i;
        series.encodeCount++;
      }
    }

    // Pass 2: size everything so the buffer is written front to back exactly once.
    let total = 0;
    const lengths = this.lengths;
    lengths.length = order.length;
    for (let s = 0; s < order.length; s++) {
      const bodyLength = this.timeSeriesLength(batch, order[s], firstIndex[s]);
      lengths[s] = bodyLength;
      total += 1 + varintSize(bodyLength) + bodyLength;
    }
    if (this.scratch.length < total) this.scratch = Buffer.allocUnsafe(Math.max(total, this.scratch.length * 2));
    const out = this.scratch;

    let p = 0;
    for (let s = 0; s < order.length; s++) {
      const series = order[s];
      out[p++] = TAG_TIMESERIES;
      p = writeVarint(out, p, lengths[s]);
      p += out.write(series.key, p, 'latin1');
      for (let i = firstIndex[s]; i !== -1; i = next[i]) {
        const timestamp = batch[i].timestamp;
        out[p++] = TAG_SAMPLE;
        out[p++] = 10 + varintSize(timestamp); // a Sample is at most 20 bytes: one length byte
        out[p++] = TAG_VALUE;
        out.writeDoubleLE(batch[i].value, p);
        p += 8;
        out[p++] = TAG_TIMESTAMP;
        p = writeVarint(out, p, timestamp);
      }
    }
    return p;
  }

  private timeSeriesLength(batch: readonly PreparedSample[], series: SeriesRecord, first: number): number {
    let length = series.key.length;
    for (let i = first; i !== -1; i = this.next[i]) {
      // tag + length byte + (tag + double) + (tag + varint)
      length += 2 + 9 + 1 + varintSize(batch[i].timestamp);
    }
    return length;
  }
}
