/**
 * One stored series of the embedded receiver: its samples in time order, in two parallel
 * growable typed arrays.
 */
import type { Labels } from '../../core/model.js';

/** One series' samples, in time order, in two parallel growable typed arrays. */
export class SeriesData {
  // Typed arrays, not number[]: plain arrays quiet NaN payloads, and the stale marker is one.
  timestamps: Float64Array;
  values: Float64Array;
  length = 0;

  constructor(
    readonly key: string,
    readonly labels: Labels,
    capacity = 4,
  ) {
    this.timestamps = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
  }

  get lastTimestamp(): number {
    return this.timestamps[this.length - 1];
  }

  get lastValue(): number {
    return this.values[this.length - 1];
  }

  push(t: number, v: number): void {
    if (this.length === this.timestamps.length) this.grow();
    this.timestamps[this.length] = t;
    this.values[this.length] = v;
    this.length++;
  }

  /** Puts a sample in time order; a sample at a stored timestamp replaces it. True when one was added. */
  insert(t: number, v: number): boolean {
    if (this.length === 0 || t > this.lastTimestamp) {
      this.push(t, v);
      return true;
    }
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timestamps[mid] < t) lo = mid + 1;
      else hi = mid;
    }
    if (this.timestamps[lo] === t) {
      this.values[lo] = v;
      return false;
    }
    if (this.length === this.timestamps.length) this.grow();
    this.timestamps.copyWithin(lo + 1, lo, this.length);
    this.values.copyWithin(lo + 1, lo, this.length);
    this.timestamps[lo] = t;
    this.values[lo] = v;
    this.length++;
    return true;
  }

  private grow(): void {
    const capacity = Math.max(4, this.timestamps.length * 2);
    const timestamps = new Float64Array(capacity);
    const values = new Float64Array(capacity);
    timestamps.set(this.timestamps.subarray(0, this.length));
    values.set(this.values.subarray(0, this.length));
    this.timestamps = timestamps;
    this.values = values;
  }
}
