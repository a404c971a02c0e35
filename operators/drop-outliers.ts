import type { OperatorFunction } from 'rxjs';
import { ConfigError } from '../src/core/errors.js';
import type { Logger } from '../src/core/logger.js';
import type { Sample } from '../src/core/model.js';
import { functionOption, loggerOption, numberOption } from '../src/core/options.js';
import { cachedLabelsKey } from '../src/core/series-key.js';
import type { StateSlot } from '../src/durable/pipeline-state.js';
import { KeyTable, type StateKey } from './internal/key-table.js';
import { operate } from './internal/operate.js';
import { loadOutliers, newOutlierSeries, OUTLIER_STATE, saveOutlierSeries, type OutlierSeries, type SavedOutliers } from './internal/outlier-state.js';
import { stateOption, takeRestored } from './internal/state-codec.js';

/** Why `dropOutliers` dropped an element. */
export type OutlierReason =
  /** The value, the time or a number series is not a finite number. */
  | 'invalid'
  /** Outside `range`. */
  | 'range'
  /** Changed faster than `maxRate` since the last accepted element of its series. */
  | 'rate'
  /** Too far from the recent accepted values of its series (median-absolute-deviation test). */
  | 'mad';

export const OUTLIER_REASONS: readonly OutlierReason[] = ['invalid', 'range', 'rate', 'mad'];

export interface DropOutliersOptions<T> {
  /**
   * Series identity: each series is checked against its own history. A string, or a number: a
   * small whole number (0 to 4,194,303, e.g. a device's index in a registry) is found in an
   * array slot, without hashing a string, which pays with many series. A checkpoint names a
   * series by its value, so a number must mean the same series after a restart; one that is not
   * finite makes the element invalid. Default: the sample's label set (canonical, order-independent).
   */
  readonly series?: (element: T) => StateKey;
  /** Default: `sample.value`. */
  readonly value?: (element: T) => number;
  /** Event time (ms). Default: `sample.timestamp`. */
  readonly eventTime?: (element: T) => number;
  /** @deprecated The former name of `eventTime`; give one or the other. */
  readonly time?: (element: T) => number;
  /** Valid range, inclusive. */
  readonly range?: { readonly min?: number; readonly max?: number };
  /**
   * Largest believable change per second between an element and the last accepted one of its
   * series. `change` measures it (default: the absolute difference of values); e.g. a distance in
   * km between two GPS fixes with `perSecond: 0.3` rejects a tracker that jumps 300 km in a second.
   * Two elements at the same time that differ at all changed infinitely fast.
   */
  readonly maxRate?: { readonly perSecond: number; readonly change?: (previous: T, next: T) => number };
  /**
   * A robust statistical test: the modified z-score 0.6745·|x − median| / MAD over the last
   * `window` accepted values of the series (accepted only, so a burst of spikes does not shift
   * the baseline). An element scoring above `threshold` (default 3.5) is dropped once the window
   * holds `minSamples` values (default `window`). When MAD is 0 the mean absolute deviation
   * (× 1.2533) stands in; when that is 0 too (a constant series) the test is skipped.
   *
   * The median and MAD of a small window are themselves noisy: on Gaussian noise with a window of
   * 30, about 0.5-1% of normal values score above 3.5, and practically none above 6. Raise
   * `threshold` (5-6) or set `minDeviation` where dropping good data costs more than a missed spike.
   */
  readonly mad?: {
    /** Values remembered per series, 3 to 10,000. */
    readonly window: number;
    /** Modified z-score above which a value is an outlier, > 0 (default 3.5). */
    readonly threshold?: number;
    /** Values needed before the test applies, 3 to `window` (default `window`). */
    readonly minSamples?: number;
    /**
     * A value this close to the median (absolute, e.g. the sensor's resolution) is never an
     * outlier, however tight the recent values are. Default 0.
     */
    readonly minDeviation?: number;
    /**
     * After this many consecutive elements of a series dropped by this test, the series is taken
     * to have really moved to a new level: its window is cleared and the element accepted, so a
     * genuine step change is not rejected forever. 0 = never; default `window`.
     */
    readonly rebaseAfter?: number;
  };
  /**
   * Series remembered at most, 1 to 100,000,000 (default 1,000,000). Beyond it the least recently
   * seen series is forgotten (LRU): its next element is checked as if it were its first.
   */
  readonly maxSeries?: number;
  /** Called with every dropped element and why. */
  readonly onDrop?: (element: T, reason: OutlierReason) => void;
  /** Drops are logged here at debug level (default: not logged; they are always counted and given to `onDrop`). */
  readonly logger?: Logger;
  /**
   * Checkpoint this operator's state in a pipeline's state (`PipelineState.slot(name)`). A
   * subscription starts from the state restored for the slot, if any, and a checkpoint saves
   * every remembered series: its last accepted element (as it is: for `maxRate.change` it must
   * survive `JSON.stringify` / `JSON.parse` unchanged), value and time, its MAD window and its run
   * of MAD drops. A window saved longer than `mad.window` keeps its newest values. The `stats`
   * counters continue from the checkpoint. Default: no checkpoints.
   */
  readonly state?: StateSlot<SavedOutliers>;
}

/** Counters of a `dropOutliers` operator, summed over its subscriptions: input = passed + all dropped. */
export interface OutlierStats {
  passed: number;
  dropped: Record<OutlierReason, number>;
  /** Times a series' MAD window was cleared after `mad.rebaseAfter` consecutive drops. */
  rebased: number;
}

export type DropOutliersOperator<T> = OperatorFunction<T, T> & { readonly stats: OutlierStats };

function median(sorted: Float64Array, n: number): number {
  const mid = n >> 1;
  return n % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Puts `value` into the ascending `sorted[0..n)` in place of `replaced` (present in it), or, when
 * `replaced` is undefined, adds it as `sorted[n]`: entries between the two places move by one.
 * A window's values come and go one at a time, so keeping them in order costs a few moves per
 * element where finding the median anew copied the window and selected from it every time.
 */
function replaceSorted(sorted: Float64Array, n: number, replaced: number | undefined, value: number): void {
  let i = n;
  if (replaced !== undefined) {
    // Any entry equal to `replaced` will do: binary search for the first.
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid] < replaced) lo = mid + 1;
      else hi = mid;
    }
    i = lo;
    while (i + 1 < n && sorted[i + 1] < value) {
      sorted[i] = sorted[i + 1];
      i++;
    }
  }
  while (i > 0 && sorted[i - 1] > value) {
    sorted[i] = sorted[i - 1];
    i--;
  }
  sorted[i] = value;
}

const finiteNumber = { min: -Number.MAX_VALUE, max: Number.MAX_VALUE, integer: false };

/**
 * Drops implausible elements, per series: not finite (`'invalid'`), outside a valid `range`,
 * changing faster than `maxRate` since the last accepted element, or far from the recent accepted
 * values by a median-absolute-deviation test (`mad`). Checks run in that order; the first that
 * fails names the reason. Every drop is counted in `stats` by reason and handed to `onDrop`.
 *
 * Per-element work is a map lookup, a few comparisons and, with `mad`, moving the new value into
 * the series' window kept in order (a sort of the deviations only for a value beyond
 * `minDeviation` from the median). Memory: per series one element and the window twice (as it
 * came and in order); at most `maxSeries` series (least recently seen forgotten first).
 *
 * @example
 * samples$.pipe(dropOutliers({ range: { min: -40, max: 85 }, maxRate: { perSecond: 2 }, mad: { window: 30 } }));
 */
export function dropOutliers<T = Sample>(options: DropOutliersOptions<T>): DropOutliersOperator<T> {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'an object', options);
  const seriesOf = functionOption<(e: T) => StateKey>('series', options.series, false) ?? ((e: T) => cachedLabelsKey((e as unknown as Sample).labels));
  const valueOf = functionOption<(e: T) => number>('value', options.value, false) ?? ((e: T) => (e as unknown as Sample).value);
  if (options.eventTime !== undefined && options.time !== undefined) {
    throw new ConfigError('time', 'left out when "eventTime" is given (it is the deprecated name of eventTime)', options.time);
  }
  const timeOf =
    functionOption<(e: T) => number>('eventTime', options.eventTime, false) ??
    functionOption<(e: T) => number>('time', options.time, false) ??
    ((e: T) => (e as unknown as Sample).timestamp);
  const onDrop = functionOption<(e: T, reason: OutlierReason) => void>('onDrop', options.onDrop, false);
  const logger = loggerOption(options.logger, undefined);
  if (options.range !== undefined && (typeof options.range !== 'object' || options.range === null)) throw new ConfigError('range', 'an object { min?, max? }', options.range);
  const min = options.range?.min === undefined ? -Infinity : numberOption('range.min', options.range.min, undefined, finiteNumber);
  const max = options.range?.max === undefined ? Infinity : numberOption('range.max', options.range.max, undefined, { ...finiteNumber, min: min === -Infinity ? -Number.MAX_VALUE : min });
  if (options.maxRate !== undefined && (typeof options.maxRate !== 'object' || options.maxRate === null)) throw new ConfigError('maxRate', 'an object { perSecond, change? }', options.maxRate);
  const perSecond = options.maxRate === undefined ? undefined : numberOption('maxRate.perSecond', options.maxRate.perSecond, undefined, { ...finiteNumber, min: 0 });
  const change = functionOption<(a: T, b: T) => number>('maxRate.change', options.maxRate?.change, false);
  const mad = options.mad;
  if (mad !== undefined && (typeof mad !== 'object' || mad === null)) throw new ConfigError('mad', 'an object { window, threshold?, minSamples?, minDeviation?, rebaseAfter? }', mad);
  const madWindow = mad === undefined ? 0 : numberOption('mad.window', mad.window, undefined, { min: 3, max: 10_000 });
  const madThreshold = mad === undefined ? 0 : numberOption('mad.threshold', mad.threshold, 3.5, { min: Number.MIN_VALUE, max: 1e6, integer: false });
  const madMinSamples = mad === undefined ? 0 : numberOption('mad.minSamples', mad.minSamples, madWindow, { min: 3, max: madWindow });
  const madMinDeviation = mad === undefined ? 0 : numberOption('mad.minDeviation', mad.minDeviation, 0, { ...finiteNumber, min: 0 });
  const rebaseAfter = mad === undefined ? 0 : numberOption('mad.rebaseAfter', mad.rebaseAfter, madWindow, { min: 0, max: 1_000_000_000 });
  const maxSeries = numberOption('maxSeries', options.maxSeries, 1_000_000, { min: 1, max: 100_000_000 });
  const slot = stateOption<SavedOutliers>(options.state);
  const stats: OutlierStats = { passed: 0, dropped: { invalid: 0, range: 0, rate: 0, mad: 0 }, rebased: 0 };

  const operator = operate<T, T>(({ destination: subscriber }) => {
    const restored = slot === undefined ? undefined : takeRestored(slot, OUTLIER_STATE.operator, OUTLIER_STATE.version, (saved) => loadOutliers<T>(saved, madWindow, OUTLIER_REASONS));
    const series: KeyTable<OutlierSeries<T>> = restored?.series ?? new KeyTable();
    // LRU without moving anything per element: a series is stamped when seen. Eviction takes
    // the least recently seen from a queue sorted by stamp when it was built, skipping series
    // seen since (more recent than any left in it); an empty queue is rebuilt. A Map kept in
    // recency order cost a delete and a set per element, a linked list two neighbours' writes.
    let seen = 0;
    let queue: OutlierSeries<T>[] = [];
    let queueHead = 0;
    let queueBuiltAt = 0;
    const byRecency = (): OutlierSeries<T>[] => Array.from(series.values()).sort((a, b) => a.lastSeen - b.lastSeen);
    const forgetOldest = (): void => {
      for (;;) {
        while (queueHead < queue.length) {
          const state = queue[queueHead++];
          if (state.lastSeen <= queueBuiltAt && series.get(state.key) === state) {
            series.delete(state.key);
            return;
          }
        }
        if (series.size === 0) return;
        queue = byRecency();
        queueHead = 0;
        queueBuiltAt = seen;
      }
    };
    if (restored !== undefined) {
      // Restored least recently seen first; over a smaller maxSeries now, those go.
      for (const state of restored.bySaveOrder) state.lastSeen = ++seen;
      while (series.size > maxSeries) forgetOldest();
      stats.passed += restored.counters.passed;
      stats.rebased += restored.counters.rebased;
      for (const reason of OUTLIER_REASONS) stats.dropped[reason] += restored.counters.dropped[reason];
    }
    const detach = slot?.attach({
      snapshot: (): SavedOutliers => ({
        ...OUTLIER_STATE,
        series: byRecency().map((state) => saveOutlierSeries(state.key, state)),
        counters: { passed: stats.passed, dropped: { ...stats.dropped }, rebased: stats.rebased },
      }),
    });
    const deviations = new Float64Array(Math.max(madWindow, 1));

    const drop = (element: T, reason: OutlierReason): void => {
      stats.dropped[reason]++;
      logger?.debug?.({ reason }, `dropOutliers: dropped an element (${reason})`);
      onDrop?.(element, reason);
    };

    const isMadOutlier = (state: OutlierSeries<T>, value: number): boolean => {
      const n = state.filled;
      if (n < madMinSamples) return false;
      // The median lies between the window's extremes: a value within minDeviation of both is
      // within it of the median (rounding is monotonic, so exactly as the test below decides),
      // and the window's values are not read at all. Most values of a good sensor end here.
      // While values end here the ordered copy is left to go stale (not kept up per element).
      if (Math.abs(value - state.low) <= madMinDeviation && Math.abs(value - state.high) <= madMinDeviation) {
        state.sortedValid = false;
        return false;
      }
      const values = state.sorted;
      if (!state.sortedValid) {
        values.set(state.window.subarray(0, n));
        values.subarray(0, n).sort();
        state.sortedValid = true;
      }
      const med = median(values, n);
      const distance = Math.abs(value - med);
      if (distance <= madMinDeviation) return false;
      let sumAbs = 0;
      for (let i = 0; i < n; i++) {
        deviations[i] = Math.abs(values[i] - med);
        sumAbs += deviations[i];
      }
      // MAD / 0.6745 estimates the standard deviation of normal data.
      let scale = median(deviations.subarray(0, n).sort(), n) / 0.6745;
      // Over half the window equal: MAD is 0, the mean absolute deviation (× √(π/2)) stands in.
      if (scale === 0) scale = (sumAbs / n) * 1.2533;
      // A constant window gives no scale to judge by: skip (range, rate and minDeviation still apply).
      if (scale === 0) return false;
      return distance / scale > madThreshold;
    };

    /** Accepts `value` into the series' MAD window (the oldest value leaves a full one). */
    const addToWindow = (state: OutlierSeries<T>, value: number): void => {
      const window = state.window;
      const full = state.filled === madWindow;
      const leaving = full ? window[state.next] : 0;
      // The ordered copy follows only while valid: one the quick test made stale is rebuilt when next needed.
      if (state.sortedValid) replaceSorted(state.sorted, state.filled, full ? leaving : undefined, value);
      window[state.next] = value;
      state.next = (state.next + 1) % madWindow;
      if (!full) state.filled++;
      if (state.filled === 1) {
        state.low = state.high = value;
        return;
      }
      if (value < state.low) state.low = value;
      if (value > state.high) state.high = value;
      if (full && (leaving <= state.low || leaving >= state.high)) {
        // An extreme left: find the new ones.
        let low = Infinity;
        let high = -Infinity;
        for (let i = 0; i < madWindow; i++) {
          const v = window[i];
          if (v < low) low = v;
          if (v > high) high = v;
        }
        state.low = low;
        state.high = high;
      }
    };

    const check = (element: T): void => {
      const value = valueOf(element);
      const time = timeOf(element);
      if (typeof value !== 'number' || !Number.isFinite(value) || typeof time !== 'number' || !Number.isFinite(time)) return drop(element, 'invalid');
      // The series before the range: a series that is no finite number makes the element invalid, whatever its value.
      const key = seriesOf(element);
      if (typeof key === 'number' && !Number.isFinite(key)) return drop(element, 'invalid');
      if (value < min || value > max) return drop(element, 'range');
      let state = series.get(key);
      if (state === undefined) {
        if (series.size >= maxSeries) forgetOldest();
        state = newOutlierSeries<T>(key, madWindow);
        series.set(key, state);
      }
      state.lastSeen = ++seen;
      if (perSecond !== undefined && state.previous !== undefined) {
        const elapsed = Math.abs(time - state.previousTime) / 1000;
        const delta = change ? change(state.previous, element) : Math.abs(value - state.previousValue);
        if (!(elapsed === 0 ? delta <= 0 : delta / elapsed <= perSecond)) return drop(element, 'rate');
      }
      if (madWindow > 0) {
        if (isMadOutlier(state, value)) {
          if (rebaseAfter === 0 || ++state.rejected < rebaseAfter) return drop(element, 'mad');
          // Too many in a row: the series moved; start its window over from this element.
          stats.rebased++;
          logger?.debug?.({ rejected: state.rejected }, 'dropOutliers: series moved to a new level, MAD window restarted');
          state.filled = 0;
          state.next = 0;
          state.sortedValid = true;
        }
        state.rejected = 0;
        addToWindow(state, value);
      }
      state.previous = element;
      state.previousValue = value;
      state.previousTime = time;
      stats.passed++;
      subscriber.next(element);
    };

    return {
      next: check,
      finalize() {
        detach?.();
        series.clear();
        queue = [];
      },
    };
  });

  return Object.assign(operator, { stats });
}
