/**
 * One (window, series) aggregate of `tumblingWindow`: the scalar aggregations in constant memory,
 * and quantiles exact while a window holds few values of the series, then from a DDSketch.
 */
import { LogCollapsingLowestDenseDDSketch } from '@datadog/sketches-js';

import type { Aggregation } from './aggregation.js';
import { loadSketch, saveSketch } from './sketch-state.js';
import { misfit, saveNumber, saveNumbers, type SavedValue } from './state-codec.js';
import type { SavedAccumulator } from './window-state.js';

export { SCALARS, type Aggregation, type ScalarAggregation } from './aggregation.js';

/** Windows of a series with up to this many values keep them and compute quantiles exactly. */
export const EXACT_QUANTILE_VALUES = 64;
/**
 * Once a sketch has taken over, values wait in a buffer and go into it this many at a time: with
 * thousands of series interleaving, a sketch (its store and bins) is cold memory on every value,
 * while the buffer sits next to the accumulator that each value touches anyway.
 */
export const SKETCH_BATCH = 64;
/** Sketch bins cover this many decades below a window's largest magnitude before collapsing. */
const SKETCH_DECADES = 12;

/** How quantile sketches are built: `relativeAccuracy`, and enough bins for the decades covered. */
export interface SketchSettings {
  readonly relativeAccuracy: number;
  readonly binLimit: number;
}

export function sketchSettings(relativeAccuracy: number): SketchSettings {
  // Enough bins for SKETCH_DECADES decades at this accuracy (at least the library's 2048).
  const binLimit = Math.max(2048, Math.ceil((SKETCH_DECADES * Math.LN10) / Math.log((1 + relativeAccuracy) / (1 - relativeAccuracy))));
  return { relativeAccuracy, binLimit };
}

/** The empty buffer of accumulators without a sketch (never written). */
const NO_VALUES: number[] = [];

export class WindowAccumulator<S> {
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  first = 0;
  firstTime = Infinity;
  last = 0;
  lastTime = -Infinity;
  /** Values while few (exact quantiles), then null once `sketch` takes over; null without quantiles. */
  values: number[] | null;
  sketch: LogCollapsingLowestDenseDDSketch | null = null;
  /** Values not yet in `sketch` (in arrival order), at most SKETCH_BATCH; empty before the sketch. */
  private pending: number[] = NO_VALUES;

  /** @param sketch how to sketch quantiles; null when no quantile is asked for. */
  constructor(
    readonly series: S,
    readonly start: number,
    private sketchWith: SketchSettings | null,
  ) {
    this.values = sketchWith === null ? null : [];
  }

  /** The state, JSON-safe (an open window's: before `seal`). */
  save(): SavedAccumulator {
    this.flush();
    const saved = {
      count: this.count,
      sum: saveNumber(this.sum),
      min: saveNumber(this.min),
      max: saveNumber(this.max),
      first: saveNumber(this.first),
      firstTime: saveNumber(this.firstTime),
      last: saveNumber(this.last),
      lastTime: saveNumber(this.lastTime),
    };
    if (this.sketch !== null) return { ...saved, sketch: saveSketch(this.sketch, this.sketchWith as SketchSettings) };
    if (this.values !== null) return { ...saved, values: saveNumbers(this.values) };
    return saved;
  }

  /**
   * An accumulator saved by `save`. Without quantiles asked for now (`sketchWith` null) its values
   * or sketch are left out; with quantiles asked for, it must have been saved with them. A sketch
   * goes on with the settings it was made with.
   */
  static restore<S>(series: S, start: number, sketchWith: SketchSettings | null, saved: SavedValue): WindowAccumulator<S> {
    const acc = new WindowAccumulator(series, start, sketchWith);
    acc.count = saved.get('count').count();
    if (acc.count === 0) misfit(`${saved.path}.count is 0`);
    // Only finite values and times are accepted (a sum may have overflowed to an infinity).
    acc.sum = saved.get('sum').number();
    acc.min = saved.get('min').finite();
    acc.max = saved.get('max').finite();
    acc.first = saved.get('first').finite();
    acc.firstTime = saved.get('firstTime').finite();
    acc.last = saved.get('last').finite();
    acc.lastTime = saved.get('lastTime').finite();
    if (sketchWith === null) return acc;
    const sketch = saved.get('sketch');
    const values = saved.get('values');
    if (sketch.value !== undefined) {
      const loaded = loadSketch(sketch);
      if (loaded.sketch.count !== acc.count) misfit(`${sketch.path} counts ${loaded.sketch.count} values, the accumulator ${acc.count}`);
      acc.sketch = loaded.sketch;
      acc.pending = [];
      acc.sketchWith = loaded.settings;
      acc.values = null;
    } else if (values.value !== undefined) {
      acc.values = values.items().map((value) => value.finite());
      if (acc.values.length !== acc.count || acc.count > EXACT_QUANTILE_VALUES) misfit(`${values.path} holds ${acc.values.length} values, the accumulator counts ${acc.count}`);
    } else {
      misfit(`${saved.path} was saved without quantile data and quantiles are asked for now`);
    }
    return acc;
  }

  add(time: number, value: number): void {
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    // First and last by event time; on equal times the earliest arrival is first and the latest is last.
    if (time < this.firstTime) {
      this.firstTime = time;
      this.first = value;
    }
    if (time >= this.lastTime) {
      this.lastTime = time;
      this.last = value;
    }
    if (this.sketchWith === null) return;
    if (this.sketch !== null) {
      const pending = this.pending;
      pending.push(value);
      if (pending.length === SKETCH_BATCH) this.flush();
    } else {
      const values = this.values as number[];
      values.push(value);
      if (values.length > EXACT_QUANTILE_VALUES) {
        const sketch = new LogCollapsingLowestDenseDDSketch(this.sketchWith);
        for (const v of values) sketch.accept(v);
        this.sketch = sketch;
        this.values = null;
        // The exact values' array, emptied, becomes the buffer.
        values.length = 0;
        this.pending = values;
      }
    }
  }

  /** Puts the buffered values into the sketch, in arrival order (the sketch's sum adds up as without a buffer). */
  private flush(): void {
    const pending = this.pending;
    if (pending.length === 0) return;
    const sketch = this.sketch as LogCollapsingLowestDenseDDSketch;
    for (let i = 0; i < pending.length; i++) sketch.accept(pending[i]);
    pending.length = 0;
  }

  /** Call once, when the window closes, before reading quantiles. */
  seal(): void {
    this.flush();
    if (this.values !== null && this.values.length > 1) this.values.sort((a, b) => a - b);
  }

  valueOf(aggregation: Aggregation): number {
    switch (aggregation) {
      case 'count': return this.count;
      case 'sum': return this.sum;
      case 'min': return this.min;
      case 'max': return this.max;
      case 'avg': return this.sum / this.count;
      case 'first': return this.first;
      case 'last': return this.last;
      default: return this.quantile(aggregation.quantile);
    }
  }

  private quantile(q: number): number {
    if (this.sketch !== null) {
      this.flush();
      return this.sketch.getValueAtQuantile(q);
    }
    // Exact, with the sketch's rank rule (the ⌊q·(n−1)⌋-th smallest); `values` was sorted by `seal`.
    const values = this.values as number[];
    return values[Math.floor(q * (values.length - 1))];
  }
}
