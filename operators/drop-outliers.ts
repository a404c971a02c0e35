import { Observable, type OperatorFunction } from 'rxjs';
import { ConfigError, functionOption, numberOption } from '../src/errors.js';
import type { Labels, Sample } from '../src/model.js';

/** Why `dropOutliers` dropped an element. */
export type OutlierReason = 'invalid' | 'range' | 'rate' | 'mad';

export interface DropOutliersOptions<T> {
  /** Series identity: each series is checked against its own history. Default: the sample's label set. */
  readonly series?: (element: T) => string;
  /** Default: `sample.value`. */
  readonly value?: (element: T) => number;
  /** Event time (ms). Default: `sample.timestamp`. */
  readonly time?: (element: T) => number;
  /** Valid range, inclusive. */
  readonly range?: { readonly min?: number; readonly max?: number };
  /**
   * Largest believable change per second between an element and the last accepted one of its
   * series. `change` measures it (default: the absolute difference of values); e.g. a distance in
   * km between two GPS fixes with `perSecond: 0.3` rejects a tracker that jumps 300 km in a second.
   */
  readonly maxRate?: { readonly perSecond: number; readonly change?: (previous: T, next: T) => number };
  /**
   * A robust statistical test: the modified z-score 0.6745·|x − median| / MAD over the last
   * `window` accepted values of the series (accepted only, so a burst of spikes does not shift
   * the baseline). An element scoring above `threshold` (default 3.5) is dropped once the window
   * holds `minSamples` values (default `window`). When MAD is 0 the mean absolute deviation
   * (× 1.2533) stands in; when that is 0 too (a constant series) the test is skipped.
   */
  readonly mad?: {
    readonly window: number;
    readonly threshold?: number;
    readonly minSamples?: number;
    /**
     * A value this close to the median (absolute, e.g. the sensor's resolution) is never an
     * outlier, however tight the recent values are. Default 0.
     */
    readonly minDeviation?: number;
  };
  /** Series remembered at most (least recently seen go first), 1 to 100,000,000, default 1,000,000. */
  readonly maxSeries?: number;
  /** Called with every dropped element and why. */
  readonly onDrop?: (element: T, reason: OutlierReason) => void;
}

/** Counters of a `dropOutliers` operator, summed over its subscriptions. */
export interface OutlierStats {
  passed: number;
  dropped: Record<OutlierReason, number>;
}

export type DropOutliersOperator<T> = OperatorFunction<T, T> & { readonly stats: OutlierStats };

interface SeriesState<T> {
  previous: T | undefined;
  previousTime: number;
  /** Ring buffer of the last accepted values. */
  readonly window: Float64Array;
  filled: number;
  next: number;
}

const sampleKeys = new WeakMap<object, string>();
/** The default series identity: a canonical string of the label set, cached per label object. */
function labelsKey(labels: Labels): string {
  let key = sampleKeys.get(labels);
  if (key === undefined) {
    key = Object.keys(labels).sort().map((name) => `${name}\u0000${String(labels[name])}`).join('\u0001');
    sampleKeys.set(labels, key);
  }
  return key;
}

function median(sorted: Float64Array, n: number): number {
  const mid = n >> 1;
  return n % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Drops implausible elements, per series: outside a valid range, changing faster than a maximum
 * rate, or far from the recent values by a median-absolute-deviation test. Every drop is counted
 * by reason and handed to `onDrop`; per-series memory is bounded by the MAD window and `maxSeries`.
 */
export function dropOutliers<T = Sample>(options: DropOutliersOptions<T>): DropOutliersOperator<T> {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'an object', options);
  const seriesOf = functionOption<(e: T) => string>('series', options.series, false) ?? ((e: T) => labelsKey((e as unknown as Sample).labels));
  const valueOf = functionOption<(e: T) => number>('value', options.value, false) ?? ((e: T) => (e as unknown as Sample).value);
  const timeOf = functionOption<(e: T) => number>('time', options.time, false) ?? ((e: T) => (e as unknown as Sample).timestamp);
  const onDrop = functionOption<(e: T, reason: OutlierReason) => void>('onDrop', options.onDrop, false);
  const min = options.range?.min === undefined ? -Infinity : numberOption('range.min', options.range.min, undefined, { min: -Number.MAX_VALUE, max: Number.MAX_VALUE, integer: false });
  const max = options.range?.max === undefined ? Infinity : numberOption('range.max', options.range.max, undefined, { min: min === -Infinity ? -Number.MAX_VALUE : min, max: Number.MAX_VALUE, integer: false });
  const perSecond = options.maxRate === undefined ? undefined : numberOption('maxRate.perSecond', options.maxRate.perSecond, undefined, { min: 0, max: Number.MAX_VALUE, integer: false });
  const change = functionOption<(a: T, b: T) => number>('maxRate.change', options.maxRate?.change, false);
  const madWindow = options.mad === undefined ? 0 : numberOption('mad.window', options.mad.window, undefined, { min: 3, max: 10_000 });
  const madThreshold = options.mad === undefined ? 0 : numberOption('mad.threshold', options.mad.threshold, 3.5, { min: 0, max: 1e6, integer: false });
  const madMinSamples = options.mad === undefined ? 0 : numberOption('mad.minSamples', options.mad.minSamples, madWindow, { min: 3, max: madWindow });
  const madMinDeviation = options.mad === undefined ? 0 : numberOption('mad.minDeviation', options.mad.minDeviation, 0, { min: 0, max: Number.MAX_VALUE, integer: false });
  const maxSeries = numberOption('maxSeries', options.maxSeries, 1_000_000, { min: 1, max: 100_000_000 });
  const stats: OutlierStats = { passed: 0, dropped: { invalid: 0, range: 0, rate: 0, mad: 0 } };

  const operator = (source: Observable<T>): Observable<T> =>
    new Observable<T>((subscriber) => {
      const series = new Map<string, SeriesState<T>>();
      const scratch = new Float64Array(Math.max(madWindow, 1));
      const deviations = new Float64Array(Math.max(madWindow, 1));

      const drop = (element: T, reason: OutlierReason): void => {
        stats.dropped[reason]++;
        onDrop?.(element, reason);
      };

      const isMadOutlier = (state: SeriesState<T>, value: number): boolean => {
        const n = state.filled;
        if (n < madMinSamples) return false;
        for (let i = 0; i < n; i++) scratch[i] = state.window[i];
        const values = scratch.subarray(0, n).sort();
        const med = median(values, n);
        if (Math.abs(value - med) <= madMinDeviation) return false;
        let sumAbs = 0;
        for (let i = 0; i < n; i++) {
          deviations[i] = Math.abs(values[i] - med);
          sumAbs += deviations[i];
        }
        let scale = median(deviations.subarray(0, n).sort(), n) / 0.6745;
        if (scale === 0) scale = (sumAbs / n) * 1.2533;
        if (scale === 0) return false;
        return Math.abs(value - med) / scale > madThreshold;
      };

      const subscription = source.subscribe({
        next(element) {
          const value = valueOf(element);
          const time = timeOf(element);
          if (typeof value !== 'number' || !Number.isFinite(value) || typeof time !== 'number' || !Number.isFinite(time)) return drop(element, 'invalid');
          if (value < min || value > max) return drop(element, 'range');
          const key = seriesOf(element);
          let state = series.get(key);
          if (state === undefined) {
            state = { previous: undefined, previousTime: 0, window: new Float64Array(madWindow), filled: 0, next: 0 };
            if (series.size >= maxSeries) series.delete(series.keys().next().value as string);
          } else {
            // Re-insert: the Map's order is least recently seen first.
            series.delete(key);
          }
          series.set(key, state);
          if (perSecond !== undefined && state.previous !== undefined) {
            const elapsed = Math.abs(time - state.previousTime) / 1000;
            const delta = change ? change(state.previous, element) : Math.abs(value - valueOf(state.previous));
            // Two readings at the same instant that differ at all changed infinitely fast.
            if (elapsed === 0 ? delta > 0 : delta / elapsed > perSecond) return drop(element, 'rate');
          }
          if (madWindow > 0) {
            if (isMadOutlier(state, value)) return drop(element, 'mad');
            state.window[state.next] = value;
            state.next = (state.next + 1) % madWindow;
            if (state.filled < madWindow) state.filled++;
          }
          state.previous = element;
          state.previousTime = time;
          stats.passed++;
          subscriber.next(element);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });

      return () => {
        subscription.unsubscribe();
        series.clear();
      };
    });

  return Object.assign(operator, { stats });
}
