/**
 * One ordered lane of the sink: its open batch, held column-wise (no object per sample), and the
 * stream of its finished, encoded batches, which the sink sends one after the other.
 */
import { Subject, type Subscription } from 'rxjs';
import type { EncodedRequest, SampleColumns } from '../protocol/encoder.js';
import type { SeriesRecord } from './series-interner.js';

/** One lane's open batch, column-wise, and the stream of its finished batches. */
export class Lane {
  /** Finished batches, encoded as soon as they are taken (see `BatchWriter.encode`). */
  readonly batches = new Subject<EncodedRequest>();
  timer: Subscription | null = null;
  private length = 0;
  private series: SeriesRecord[] = [];
  private values: Float64Array;
  private timestamps: Float64Array;
  /** The last encoded batch, emptied, whose columns the next batch reuses. */
  private spare: SampleColumns | null = null;

  constructor(private readonly maxSamples: number) {
    // Start small (timer-flushed batches are often short) and double up to the maximum.
    const capacity = Math.min(maxSamples, 256);
    this.values = new Float64Array(capacity);
    this.timestamps = new Float64Array(capacity);
  }

  /** Appends a sample; returns the batch's new length. */
  push(series: SeriesRecord, value: number, timestamp: number): number {
    const i = this.length;
    if (i === this.values.length) this.grow();
    this.series.push(series);
    this.values[i] = value;
    this.timestamps[i] = timestamp;
    return (this.length = i + 1);
  }

  /** The open batch (null if empty); the lane starts a new one. */
  take(): SampleColumns | null {
    if (this.length === 0) return null;
    const batch: SampleColumns = { length: this.length, series: this.series, values: this.values, timestamps: this.timestamps };
    const capacity = Math.min(this.maxSamples, Math.max(256, this.length));
    this.length = 0;
    const spare = this.spare;
    this.spare = null;
    if (spare !== null && spare.values.length === capacity) {
      this.series = spare.series as SeriesRecord[];
      this.values = spare.values;
      this.timestamps = spare.timestamps;
    } else {
      this.series = [];
      this.values = new Float64Array(capacity);
      this.timestamps = new Float64Array(capacity);
    }
    return batch;
  }

  /**
   * Hands back a taken batch once it is encoded, for the next batch to fill: a lane then
   * allocates no columns in steady state (fresh 32 KB arrays per request are external memory that
   * hastens full GCs, which are slow with a million series in the heap).
   */
  recycle(batch: SampleColumns): void {
    (batch.series as SeriesRecord[]).length = 0; // a recycled batch must not keep forgotten series alive
    this.spare = batch;
  }

  clear(): void {
    this.timer?.unsubscribe();
    this.timer = null;
    this.length = 0;
    this.series = [];
    this.spare = null;
  }

  private grow(): void {
    const capacity = Math.min(this.maxSamples, this.values.length * 2);
    const values = new Float64Array(capacity);
    values.set(this.values);
    const timestamps = new Float64Array(capacity);
    timestamps.set(this.timestamps);
    this.values = values;
    this.timestamps = timestamps;
  }
}
