import { asyncScheduler, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { ConfigError } from '../src/core/errors.js';
import type { Logger } from '../src/core/logger.js';
import type { Labels, Sample } from '../src/core/model.js';
import { enumOption, functionOption, loggerOption, numberOption, schedulerOption } from '../src/core/options.js';
import { cachedLabelsKey, decodeLabelsKey } from '../src/core/series-key.js';
import type { StateSlot } from '../src/durable/pipeline-state.js';
import { operate } from './internal/operate.js';
import { SCALARS, type Aggregation, type ScalarAggregation } from './internal/aggregation.js';
import { misfit, saveNumber, stateOption, takeRestored, type SavedValue } from './internal/state-codec.js';
import { sketchSettings, WindowAccumulator } from './internal/window-accumulator.js';
import { buildOutputs, outputClasses, outputKey, setLabel, type OutputCheck } from './internal/window-outputs.js';
import { loadWindows, WINDOW_COUNTERS, WINDOW_STATE, type SavedWindows } from './internal/window-state.js';

export type { Aggregation } from './internal/aggregation.js';

/** Why `tumblingWindow` dropped an element. */
export type WindowDropReason = 'late' | 'invalid';

export interface TumblingWindowOptions<T> {
  /** Window length (ms), 1 to 31 days. Windows are [start, start + sizeMs), aligned to the epoch plus `offsetMs`. */
  readonly sizeMs: number;
  /** Shifts window boundaries (ms), 0 ≤ offset < sizeMs. Default 0. */
  readonly offsetMs?: number;
  /** What to compute per window and series, in output order. E.g. `['count', 'sum', 'min', 'max', 'avg', { quantile: 0.99 }]`. */
  readonly aggregations: readonly Aggregation[];
  /**
   * A window closes when the largest event time seen minus this (ms) reaches its end; elements
   * for a closed window are late. 0 to 86,400,000. Default 0; with `watermark`, default: windows
   * close on the watermark only (give a value to also close them this far behind the largest
   * event time, a cap on how long a straggler can hold them open).
   */
  readonly allowedLatenessMs?: number;
  /**
   * Close windows on an upstream watermark: a window closes once `watermark.watermark` (a lower
   * bound on the event times still to come) reaches its end. Pass the `reorderByWatermark`
   * operator upstream: per-key reordering releases each key in order but interleaves the keys,
   * so the largest event time seen runs ahead of what other keys still hold, while that
   * operator's watermark does not. Read once per element.
   */
  readonly watermark?: { readonly watermark: number };
  /** Close every open window after this long without input (processing time, ms), 1 to 86,400,000. Default: never. */
  readonly idleTimeoutMs?: number;
  /** Stamp output samples with the window's `'end'` (start + size, default) or `'start'`. */
  readonly timestampAt?: 'end' | 'start';
  /**
   * Output metric names from the input's `__name__`. Defaults: `<name>_count`, `_sum`, `_min`,
   * `_max`, `_avg`, `_first`, `_last`; quantiles keep `<name>` and get a `quantile` label ("0.99").
   * Two aggregations named alike (tried on a metric named `metric`) are a `ConfigError`; an input
   * series whose outputs share a series among themselves, or with another input series' in the
   * same window, is dropped as `'invalid'` (see the operator's doc comment).
   */
  readonly names?: Partial<Record<ScalarAggregation | 'quantile', (metricName: string) => string>>;
  /**
   * Relative accuracy of quantiles, 0.0001 to 0.5 (default 0.01): an estimate q̂ of the true value
   * v at that rank (the ⌊q·(n−1)⌋-th smallest) has |q̂ − v| ≤ relativeAccuracy·|v|, for values
   * within 12 decades of the window's largest magnitude. Windows of a series with at most 64
   * values are computed exactly.
   */
  readonly relativeAccuracy?: number;
  /** Called with every late element (its window had closed). */
  readonly onLate?: (element: T) => void;
  /**
   * Called with every element dropped, with the reason: `'late'`, or `'invalid'` (non-finite time
   * or value, labels without `__name__` or with a non-string value, or outputs that would share a
   * series and timestamp with other outputs: see the operator's doc comment).
   */
  readonly onDrop?: (element: T, reason: WindowDropReason) => void;
  /**
   * Every drop is logged here at debug level with what was wrong; at warn level, an input series
   * that yields an output series to another, once per window, and one whose own outputs meet, when
   * it is first seen (default: not logged; drops are always counted and given to `onDrop`).
   */
  readonly logger?: Logger;
  /** Scheduler for the idle timer and processing time (default `asyncScheduler`). */
  readonly scheduler?: SchedulerLike;
  /**
   * Checkpoint this operator's state in a pipeline's state (`PipelineState.slot(name)`). A
   * subscription starts from the state restored for the slot, if any, and a checkpoint saves
   * every open window: each series' accumulators (quantiles: the exact values of a small window,
   * or the sketch's bins, so the estimates come out the same), and what makes an element late.
   * Restored windows go on and close complete in the next run. The quiet time for
   * `idleTimeoutMs` continues from what it was when saved (time down does not count); the `stats`
   * counters continue from the checkpoint. A state saved with another `sizeMs` or `offsetMs`, or
   * without quantiles when quantiles are asked for now, errors the stream. Default: no checkpoints.
   */
  readonly state?: StateSlot<SavedWindows>;
}

export interface TumblingWindowAccessors<T> {
  /** Event time (ms). Default for a `Sample`: `timestamp`. */
  readonly eventTime: (element: T) => number;
  /**
   * The output series: keep the dimensions to aggregate by (e.g. `room`), leave out the rest (e.g.
   * `device`). Must hold `__name__`. Return the same object for the same series when you can: it
   * is recognised by identity before falling back to its content (so do not mutate a labels object
   * once handed over). Default for a `Sample`: `labels`.
   */
  readonly labels: (element: T) => Labels;
  /** The value to aggregate. Default for a `Sample`: `value`. */
  readonly value: (element: T) => number;
}

/** Counters of a `tumblingWindow` operator, summed over its subscriptions. */
export interface TumblingWindowStats {
  /** Elements aggregated. */
  accepted: number;
  /** Elements dropped because their window had closed. */
  late: number;
  /** Elements dropped as invalid. */
  invalid: number;
  windowsClosed: number;
  samplesOut: number;
  /** Windows open right now. */
  openWindows: number;
}

export type TumblingWindowOperator<T> = OperatorFunction<T, Sample> & { readonly stats: TumblingWindowStats };

/** One output series of one subscription: its output label sets, built once and reused (the sink recognises them by identity). */
interface SeriesState {
  readonly key: string;
  /** A copy of the input labels for checkpoints (the output label sets are derived from them); empty without a state slot. */
  readonly input: Labels;
  readonly labels: readonly Labels[];
  /** Still in the subscription's series map (a forgotten series is looked up again by content). */
  live: boolean;
  /** Latest window start this series has an accumulator in, to forget series that stopped. */
  maxStart: number;
  /** The accumulator last used: most elements fall in it. */
  lastAcc: Accumulator | null;
  /** Its accumulators in open windows (as few as open windows), instead of a map per window. */
  readonly open: Accumulator[];
  /** The classes (keys less `quantile`) of its outputs that could be another input series' too (see `OutputCheck`). */
  readonly classes: readonly string[];
  /** How many of them other live input series have too: then it claims its outputs per window. */
  shared: number;
  /** The keys of its outputs, made when it first shares a class. */
  claimKeys: readonly string[] | null;
  /** Why every element of this series is dropped (two of its own outputs are one series), or null. */
  readonly refused: string | null;
}

/** A class of outputs (see `OutputCheck`) that two or more live input series have: they claim their outputs per window. */
class SharedClass {
  constructor(readonly writers: SeriesState[]) {}
}

type Accumulator = WindowAccumulator<SeriesState>;

interface Window {
  readonly start: number;
  /** Accumulators in order of first arrival: the output order within the window. */
  readonly accs: Accumulator[];
  /** Shared output series (their keys) → the input series writing each in this window; made on the first claim. */
  claims: Map<string, SeriesState> | null;
  /** Input series refused in this window for a collision, to warn once per window (made on the first). */
  warned: Set<SeriesState> | null;
}

const DEFAULT_SUFFIX: Record<ScalarAggregation, string> = {
  count: '_count', sum: '_sum', min: '_min', max: '_max', avg: '_avg', first: '_first', last: '_last',
};

const NO_LABELS: Labels = Object.freeze({});
const NO_KEYS: readonly string[] = Object.freeze([]);

/** A series as Prometheus prints it, from its canonical key: `name{a="x",b="y"}` (for logs and drop reasons). */
function printSeries(key: string): string {
  const { __name__: name = '', ...rest } = decodeLabelsKey(key);
  const labels = Object.keys(rest).map((label) => `${label}=${JSON.stringify(rest[label])}`);
  return `${name}{${labels.join(',')}}`;
}

/** How an aggregation is named in messages. */
function describeAggregation(aggregation: Aggregation): string {
  return typeof aggregation === 'object' ? `{ quantile: ${aggregation.quantile} }` : aggregation;
}


/**
 * The series key of an output label set (the canonical one, shared with the sink), or why the set
 * cannot name a series here: not an object, no `__name__`, a value that is not a string.
 */
function seriesKey(labels: Labels): { key: string } | { invalid: string } {
  if (typeof labels !== 'object' || labels === null) return { invalid: 'labels is not an object' };
  const metric = labels['__name__'];
  if (typeof metric !== 'string' || metric === '') return { invalid: 'labels have no __name__' };
  for (const name of Object.keys(labels)) {
    if (typeof labels[name] !== 'string') return { invalid: `label ${name} is not a string` };
  }
  return { key: cachedLabelsKey(labels) };
}

/**
 * Throws a `ConfigError` when two aggregations get one output name (quantiles, apart by their
 * label, only among themselves by `q`, already checked), tried on one metric name: names that
 * collide for other metrics only are caught per series when it first comes. A names function that
 * throws here is left to throw in the stream, as it would without this check.
 */
function checkNamesApart(aggregations: readonly Aggregation[], outputName: (aggregation: Aggregation, metric: string) => string, nameOption: (aggregation: Aggregation) => string): void {
  const metric = 'metric';
  const named = new Map<string, Aggregation>();
  for (const aggregation of aggregations) {
    if (typeof aggregation === 'object') continue;
    let name: string;
    try {
      name = outputName(aggregation, metric);
    } catch {
      continue;
    }
    const earlier = named.get(name);
    if (earlier !== undefined) {
      // The error names a `names` entry (what to change) and the other output it meets.
      const [option, other] = nameOption(aggregation).startsWith('names.') ? [nameOption(aggregation), nameOption(earlier)] : [nameOption(earlier), nameOption(aggregation)];
      throw new ConfigError(option, `a function giving a name no other output has (for a metric named "${metric}", ${other} gives the same name)`, name);
    }
    named.set(name, aggregation);
  }
}

/**
 * Event-time tumbling windows: aggregates elements per window of `sizeMs` and per output series
 * (`labels`), and emits one sample per aggregation and series when a window closes. Windows are
 * emitted whole and in window order, so every output series is in timestamp order for the sink.
 *
 * A window closes when the largest event time seen minus `allowedLatenessMs` reaches its end (or
 * the upstream `watermark` does, when given), or
 * when the input has been quiet for `idleTimeoutMs` (one timer, armed only while a window is
 * open), or on completion. Scalar aggregations cost constant memory per open (window, series);
 * quantiles keep up to 64 values, then a DDSketch. Late and invalid elements are dropped, counted
 * in `stats` and reported to `onLate` / `onDrop`. Unsubscription clears windows and the timer.
 *
 * No two output samples share a series and a timestamp (a receiver would refuse one or keep
 * either). Series keys compare as the sink sends them (empty label values left out). Two
 * aggregations that `names` gives one name are a `ConfigError` at creation, tried on a metric
 * named `metric`; for names that collide only for other metrics, an input series with two outputs
 * in one series is dropped whole as `'invalid'`. Input series whose outputs meet (a quantile's
 * `quantile` label replaces an input's, so series that differ only by `quantile` meet in their
 * quantile outputs; or `names` maps several metrics to one name) are not merged: in each window,
 * the input series with the first element in it writes the shared output series, and elements of
 * the others in that window are dropped as `'invalid'`. With the default names and no quantiles,
 * outputs cannot meet and nothing is checked.
 */
export function tumblingWindow<T>(options: TumblingWindowOptions<T> & TumblingWindowAccessors<T>): TumblingWindowOperator<T>;
export function tumblingWindow(options: TumblingWindowOptions<Sample> & Partial<TumblingWindowAccessors<Sample>>): TumblingWindowOperator<Sample>;
export function tumblingWindow<T>(options: TumblingWindowOptions<T> & Partial<TumblingWindowAccessors<T>>): TumblingWindowOperator<T> {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'an object', options);
  const sizeMs = numberOption('sizeMs', options.sizeMs, undefined, { min: 1, max: 31 * 86_400_000 });
  const offsetMs = numberOption('offsetMs', options.offsetMs, 0, { min: 0, max: sizeMs - 1 });
  const watermarkSource = options.watermark;
  if (watermarkSource !== undefined && ((typeof watermarkSource !== 'object' && typeof watermarkSource !== 'function') || watermarkSource === null || !('watermark' in watermarkSource))) {
    throw new ConfigError('watermark', 'an object with a numeric watermark (e.g. the reorderByWatermark operator upstream)', watermarkSource);
  }
  const allowedLatenessMs = numberOption('allowedLatenessMs', options.allowedLatenessMs, watermarkSource === undefined ? 0 : Infinity, { min: 0, max: 86_400_000 });
  const idleTimeoutMs = options.idleTimeoutMs === undefined ? undefined : numberOption('idleTimeoutMs', options.idleTimeoutMs, undefined, { min: 1, max: 86_400_000 });
  const stampAtEnd = enumOption('timestampAt', options.timestampAt, ['end', 'start'], 'end') === 'end';
  const relativeAccuracy = numberOption('relativeAccuracy', options.relativeAccuracy, 0.01, { min: 0.0001, max: 0.5, integer: false });
  const eventTime = functionOption<(e: T) => number>('eventTime', options.eventTime, false) ?? ((e: T) => (e as unknown as Sample).timestamp);
  const labelsOf = functionOption<(e: T) => Labels>('labels', options.labels, false) ?? ((e: T) => (e as unknown as Sample).labels);
  const valueOf = functionOption<(e: T) => number>('value', options.value, false) ?? ((e: T) => (e as unknown as Sample).value);
  const onLate = functionOption<(e: T) => void>('onLate', options.onLate, false);
  const onDrop = functionOption<(e: T, reason: WindowDropReason) => void>('onDrop', options.onDrop, false);
  const logger = loggerOption(options.logger, undefined);
  const scheduler = schedulerOption(options.scheduler, asyncScheduler);
  const slot = stateOption<SavedWindows>(options.state);

  if (!Array.isArray(options.aggregations) || options.aggregations.length === 0) {
    throw new ConfigError('aggregations', `a non-empty array of ${SCALARS.map((s) => `'${s}'`).join(', ')} or { quantile: q } with 0 ≤ q ≤ 1`, options.aggregations);
  }
  const aggregations = options.aggregations.map((a: unknown, i): Aggregation => {
    if (typeof a === 'string' && (SCALARS as readonly string[]).includes(a)) return a as ScalarAggregation;
    if (typeof a === 'object' && a !== null) {
      const q = (a as { quantile?: unknown }).quantile;
      if (typeof q === 'number' && q >= 0 && q <= 1) return { quantile: q };
    }
    throw new ConfigError(`aggregations[${i}]`, `one of ${SCALARS.map((s) => `'${s}'`).join(', ')} or { quantile: q } with 0 ≤ q ≤ 1`, a);
  });
  // The same aggregation twice would write two samples of one series at one timestamp.
  const seen = new Set<string>();
  aggregations.forEach((a, i) => {
    const id = typeof a === 'object' ? `q${a.quantile}` : a;
    if (seen.has(id)) throw new ConfigError(`aggregations[${i}]`, 'not a repeat of an earlier aggregation', typeof a === 'object' ? `{ quantile: ${a.quantile} }` : a);
    seen.add(id);
  });
  const wantsQuantiles = aggregations.some((a) => typeof a === 'object');
  const names = options.names ?? {};
  if (typeof names !== 'object' || names === null) throw new ConfigError('names', 'an object of functions', names);
  for (const [name, fn] of Object.entries(names)) {
    if (name !== 'quantile' && !(SCALARS as readonly string[]).includes(name)) throw new ConfigError(`names.${name}`, `a key among ${SCALARS.join(', ')}, quantile`, fn);
    if (typeof fn !== 'function') throw new ConfigError(`names.${name}`, 'a function from metric name to output name', fn);
  }
  const outputName = (aggregation: Aggregation, metric: string): string => {
    if (typeof aggregation === 'object') return names.quantile?.(metric) ?? metric;
    return names[aggregation]?.(metric) ?? metric + DEFAULT_SUFFIX[aggregation];
  };
  const sketch = wantsQuantiles ? sketchSettings(relativeAccuracy) : null;
  const nameOption = (aggregation: Aggregation): string => {
    const key = typeof aggregation === 'object' ? 'quantile' : aggregation;
    return names[key] === undefined ? `aggregations[${aggregations.indexOf(aggregation)}] (${describeAggregation(aggregation)})` : `names.${key}`;
  };
  checkNamesApart(aggregations, outputName, nameOption);
  // Which outputs could be another input series' too (see `OutputCheck`).
  const renames = aggregations.some((a) => names[typeof a === 'object' ? 'quantile' : a] !== undefined);
  const outputCheck: OutputCheck = renames ? 'all' : wantsQuantiles ? 'quantile-labelled' : 'none';
  const isQuantile = aggregations.map((a) => typeof a === 'object');
  const quantileLabels = new Set(aggregations.flatMap((a) => (typeof a === 'object' ? [String(a.quantile)] : [])));

  const stats: TumblingWindowStats = { accepted: 0, late: 0, invalid: 0, windowsClosed: 0, samplesOut: 0, openWindows: 0 };

  const operator = operate<T, Sample>(({ destination: subscriber, schedule }) => {
    // Open windows, ascending by start; few (lateness over size), so a sorted array is enough.
    let windows: Window[] = [];
    // The window last used: most elements fall in it.
    let current: Window | null = null;
    const series = new Map<string, SeriesState>();
    // Label object → series, so a reused labels object costs one lookup instead of a sort.
    let byLabels = new WeakMap<object, SeriesState>();
    // Every window ending at or before this is closed.
    let closedUpTo = -Infinity;
    let maxTime = -Infinity;
    let timer: Subscription | null = null;
    let lastArrival = 0;
    // Windows closed and still to go out, oldest first, and whether they are going out now.
    let closing: Window[] = [];
    let closingHead = 0;
    let emitting = false;
    let sourceDone = false;
    // Forgetting stopped series is a sweep over all of them, amortised over what was emitted.
    let closedSinceSweep = 0;
    let accsSinceSweep = 0;
    // Output class → the live input series with outputs in it (see `OutputCheck`), or all of them when several have.
    const classes = new Map<string, SeriesState | SharedClass>();

    const drop = (element: T, reason: WindowDropReason, detail?: string): void => {
      stats[reason]++;
      logger?.debug?.({ reason, detail }, `tumblingWindow: dropped an element (${reason})`);
      if (reason === 'late') onLate?.(element);
      onDrop?.(element, reason);
    };

    const claimKeysOf = (state: SeriesState): readonly string[] => (state.claimKeys ??= state.labels.map(outputKey));

    /** The input series already writing one of `state`'s outputs in `window`, with that output's key, if any. */
    const claimant = (window: Window, state: SeriesState): { owner: SeriesState; key: string } | null => {
      const claims = window.claims;
      if (claims === null) return null;
      for (const key of claimKeysOf(state)) {
        const owner = claims.get(key);
        if (owner !== undefined && owner !== state) return { owner, key };
      }
      return null;
    };

    /** `state` writes its outputs in `window` (call after `claimant` found none). */
    const claim = (window: Window, state: SeriesState): void => {
      const claims = (window.claims ??= new Map());
      for (const key of claimKeysOf(state)) claims.set(key, state);
    };

    /**
     * Records the series' output classes. A class another live series has too becomes shared: both
     * claim their outputs per window from now on, and the one that had it alone claims them in its
     * open windows now (windows going out take no more elements).
     */
    const register = (state: SeriesState): void => {
      for (const name of state.classes) {
        const holder = classes.get(name);
        if (holder === undefined) {
          classes.set(name, state);
        } else if (holder instanceof SharedClass) {
          holder.writers.push(state);
          state.shared++;
        } else {
          classes.set(name, new SharedClass([holder, state]));
          state.shared++;
          if (holder.shared++ === 0) {
            for (const acc of holder.open) {
              const window = windows.find((w) => w.start === acc.start);
              if (window !== undefined) claim(window, holder);
            }
          }
        }
      }
    };

    /** A forgotten series (no accumulator in an open window, so no claim in one) leaves its classes. */
    const unregister = (state: SeriesState): void => {
      for (const name of state.classes) {
        const holder = classes.get(name);
        if (holder === state) {
          classes.delete(name);
        } else if (holder instanceof SharedClass) {
          const writers = holder.writers;
          writers.splice(writers.indexOf(state), 1);
          if (writers.length === 1) {
            classes.set(name, writers[0]);
            writers[0].shared--;
          }
        }
      }
    };

    const collision = (window: Window, state: SeriesState, owner: SeriesState, key: string): string => {
      const message = `its output ${printSeries(key)} at ${stampAtEnd ? window.start + sizeMs : window.start} is written by input series ${printSeries(owner.key)}, first in the window`;
      if (window.warned === null) window.warned = new Set();
      if (!window.warned.has(state)) {
        window.warned.add(state);
        logger?.warn({ series: printSeries(state.key), output: printSeries(key), writtenBy: printSeries(owner.key), window: window.start }, 'tumblingWindow: an input series would write the same output series as another one; its elements in this window are dropped as invalid');
      }
      return `input series ${printSeries(state.key)}: ${message}`;
    };

    const resolveSeries = (labels: Labels): SeriesState | string => {
      const checked = seriesKey(labels);
      if ('invalid' in checked) return checked.invalid;
      let state = series.get(checked.key);
      if (state === undefined) {
        const metric = labels['__name__'];
        // Kept only for checkpoints: without a slot a new series costs what it did.
        let input = NO_LABELS;
        if (slot !== undefined) {
          const copy: Record<string, string> = {};
          for (const name of Object.keys(labels)) setLabel(copy, name, labels[name]);
          input = Object.freeze(copy);
        }
        const built = buildOutputs(labels, metric, aggregations, outputName);
        const outputs = outputClasses(outputCheck, labels, checked.key, built, isQuantile, quantileLabels);
        let refused: string | null = null;
        if (outputs.twice !== null) {
          const [i, j] = outputs.twice;
          const output = printSeries(outputKey(built[j]));
          refused = `input series ${printSeries(checked.key)}: ${nameOption(aggregations[i])} and ${nameOption(aggregations[j])} both give it the output ${output}`;
          logger?.warn({ series: printSeries(checked.key), output }, 'tumblingWindow: two aggregations would write one output series for an input series; its elements are dropped as invalid');
        }
        // A refused series writes nothing: it shares no class.
        state = { key: checked.key, input, labels: built, live: true, maxStart: -Infinity, lastAcc: null, open: [], classes: refused === null ? outputs.classes : NO_KEYS, shared: 0, claimKeys: null, refused };
        series.set(checked.key, state);
        if (state.classes.length > 0) register(state);
      }
      byLabels.set(labels, state);
      return state;
    };

    const openWindow = (start: number): Window => {
      const window: Window = { start, accs: [], claims: null, warned: null };
      stats.openWindows++;
      // Insert in order; a new window is nearly always the newest.
      let i = windows.length;
      while (i > 0 && windows[i - 1].start > start) i--;
      windows.splice(i, 0, window);
      return window;
    };

    const emitWindow = (window: Window): void => {
      stats.windowsClosed++;
      const timestamp = stampAtEnd ? window.start + sizeMs : window.start;
      for (const acc of window.accs) {
        const state = acc.series;
        if (state.lastAcc === acc) state.lastAcc = null;
        const open = state.open;
        if (open.length === 1) open.pop();
        else open.splice(open.indexOf(acc), 1);
        accsSinceSweep++;
        acc.seal();
        for (let i = 0; i < aggregations.length; i++) {
          if (subscriber.closed) return;
          const value = acc.valueOf(aggregations[i]);
          stats.samplesOut++;
          subscriber.next({ labels: acc.series.labels[i], value, timestamp });
        }
      }
    };

    /** Closes the open windows ending at or before `upTo`, oldest first. */
    const closeUpTo = (upTo: number): void => {
      if (upTo <= closedUpTo) return;
      closedUpTo = upTo;
      let n = 0;
      while (n < windows.length && windows[n].start + sizeMs <= upTo) n++;
      if (n === 0) return;
      for (let i = 0; i < n; i++) closing.push(windows[i]);
      windows = windows.slice(n);
      // No longer open, emitted or not: an unsubscription while they go out must not leave them counted.
      stats.openWindows -= n;
      current = null;
      closedSinceSweep += n;
      // An element fed back from downstream while windows go out may close more: they wait behind
      // the ones going out (and behind the rest of the window going out), so windows stay in order.
      if (emitting) return;
      emitting = true;
      let keepFrom = -Infinity;
      try {
        while (closingHead < closing.length) {
          if (subscriber.closed) return;
          const window = closing[closingHead++];
          keepFrom = window.start;
          emitWindow(window);
        }
      } finally {
        emitting = false;
        closing.length = 0;
        closingHead = 0;
      }
      if (subscriber.closed) return;
      // The source completed while windows went out: the output completes after them.
      if (sourceDone) return subscriber.complete();
      // Forget series in neither the last closed window nor an open one, so memory follows the
      // live series (one that comes back is looked up again by content).
      if (closedSinceSweep >= 2 && accsSinceSweep >= series.size) {
        for (const [key, state] of series) {
          if (state.maxStart < keepFrom) {
            state.live = false;
            series.delete(key);
            if (state.classes.length > 0) unregister(state);
          }
        }
        closedSinceSweep = 0;
        accsSinceSweep = 0;
      }
    };

    const closeAll = (): void => {
      if (windows.length > 0) closeUpTo(windows[windows.length - 1].start + sizeMs);
    };

    const onIdle = (): void => {
      timer = null;
      if (windows.length === 0) return;
      const quietFor = scheduler.now() - lastArrival;
      if (quietFor >= (idleTimeoutMs as number)) closeAll();
      else timer = schedule(scheduler, onIdle, (idleTimeoutMs as number) - quietFor);
    };

    const save = (): SavedWindows => {
      const indexes = new Map<SeriesState, number>();
      const savedSeries: SavedWindows['series'] = [];
      const savedWindows = windows.map((window) => ({
        start: window.start,
        accs: window.accs.map((acc) => {
          let index = indexes.get(acc.series);
          if (index === undefined) {
            indexes.set(acc.series, (index = savedSeries.length));
            savedSeries.push(Object.entries(acc.series.input));
          }
          return { series: index, acc: acc.save() };
        }),
      }));
      const counters = {} as SavedWindows['counters'];
      for (const name of WINDOW_COUNTERS) counters[name] = stats[name];
      const quietMs = idleTimeoutMs === undefined ? 0 : Math.max(0, scheduler.now() - lastArrival);
      return { ...WINDOW_STATE, sizeMs, offsetMs, closedUpTo: saveNumber(closedUpTo), maxTime: saveNumber(maxTime), quietMs, series: savedSeries, windows: savedWindows, counters };
    };

    /** Reads a restored state whole before anything changes: one that does not fit throws, and the stream errors. */
    const load = (saved: SavedValue) => {
      const loaded = loadWindows(saved, sizeMs, offsetMs);
      const restoredSeries = loaded.series.map((labels, i) => {
        const resolved = resolveSeries(labels);
        if (typeof resolved === 'string') return misfit(`series[${i}]: ${resolved}`);
        return resolved;
      });
      // Elements of accumulators whose outputs would meet another's (saved by a version that did
      // not keep outputs apart, or under other `names`): dropped as the live rule drops them.
      let dropped = 0;
      const restoredWindows = loaded.windows.map(({ start, accs }, w): Window => {
        // One accumulator per series and window: a second would put out two samples of one series at one timestamp.
        const seen = new Set<SeriesState>();
        const window: Window = { start, accs: [], claims: null, warned: null };
        accs.forEach(({ series: index, acc }, i) => {
          const state = restoredSeries[index];
          if (seen.has(state)) misfit(`windows[${w}].accs[${i}] repeats the series of an earlier accumulator of its window`);
          seen.add(state);
          const restoredAcc = WindowAccumulator.restore(state, start, sketch, acc);
          if (state.refused !== null) {
            dropped += restoredAcc.count;
            logger?.warn({ series: printSeries(state.key), window: start, elements: restoredAcc.count }, `tumblingWindow: a restored window's elements are dropped as invalid: ${state.refused}`);
            return;
          }
          if (state.shared > 0) {
            // The first writer of each output series comes first in its window (the saved order).
            const clash = claimant(window, state);
            if (clash !== null) {
              dropped += restoredAcc.count;
              collision(window, state, clash.owner, clash.key); // warns once per window
              return;
            }
            claim(window, state);
          }
          window.accs.push(restoredAcc);
        });
        return window;
      });
      return { ...loaded, windows: restoredWindows, dropped };
    };

    const detach = slot?.attach({ snapshot: save });
    if (slot !== undefined) {
      let restored: ReturnType<typeof load> | undefined;
      try {
        restored = takeRestored(slot, WINDOW_STATE.operator, WINDOW_STATE.version, load);
      } catch (error) {
        detach?.();
        throw error;
      }
      if (restored !== undefined) {
        windows = restored.windows;
        for (const window of windows) {
          for (const acc of window.accs) {
            acc.series.open.push(acc);
            if (window.start > acc.series.maxStart) acc.series.maxStart = window.start;
          }
        }
        stats.openWindows += windows.length;
        for (const name of WINDOW_COUNTERS) stats[name] += restored.counters[name];
        // Counted accepted when they came; their outcome is now the drop.
        stats.accepted -= restored.dropped;
        stats.invalid += restored.dropped;
        closedUpTo = restored.closedUpTo;
        maxTime = restored.maxTime;
        if (idleTimeoutMs !== undefined && windows.length > 0) {
          lastArrival = scheduler.now() - restored.quietMs;
          timer = schedule(scheduler, onIdle, Math.max(0, idleTimeoutMs - restored.quietMs));
        }
      }
    }

    return {
      next(element) {
        if (watermarkSource !== undefined) {
          // Nothing still to come is older than the upstream watermark: windows ending there are complete.
          const watermark = watermarkSource.watermark;
          if (watermark > closedUpTo) closeUpTo(watermark);
        }
        const time = eventTime(element);
        const value = valueOf(element);
        if (typeof time !== 'number' || !Number.isFinite(time) || typeof value !== 'number' || !Number.isFinite(value)) return drop(element, 'invalid');
        const start = Math.floor((time - offsetMs) / sizeMs) * sizeMs + offsetMs;
        if (start + sizeMs <= closedUpTo) return drop(element, 'late');
        const labels = labelsOf(element);
        let state = typeof labels === 'object' && labels !== null ? byLabels.get(labels) : undefined;
        if (state === undefined || !state.live) {
          const resolved = resolveSeries(labels);
          if (typeof resolved === 'string') return drop(element, 'invalid', resolved);
          state = resolved;
        }
        if (state.refused !== null) return drop(element, 'invalid', state.refused);
        let acc = state.lastAcc;
        if (acc === null || acc.start !== start) {
          acc = null;
          for (const candidate of state.open) {
            if (candidate.start === start) {
              acc = candidate;
              break;
            }
          }
          if (acc === null) {
            let window = current;
            if (window === null || window.start !== start) {
              window = null;
              for (let i = windows.length - 1; i >= 0; i--) {
                if (windows[i].start === start) {
                  window = windows[i];
                  break;
                }
              }
              if (window === null) window = openWindow(start);
              current = window;
            }
            if (state.shared > 0) {
              const clash = claimant(window, state);
              if (clash !== null) return drop(element, 'invalid', collision(window, state, clash.owner, clash.key));
              claim(window, state);
            }
            acc = new WindowAccumulator(state, start, sketch);
            window.accs.push(acc);
            state.open.push(acc);
            if (start > state.maxStart) state.maxStart = start;
          }
          state.lastAcc = acc;
        }
        acc.add(time, value);
        stats.accepted++;
        if (idleTimeoutMs !== undefined) {
          lastArrival = scheduler.now();
          if (timer === null) timer = schedule(scheduler, onIdle, idleTimeoutMs);
        }
        if (time > maxTime) {
          maxTime = time;
          closeUpTo(maxTime - allowedLatenessMs);
        }
      },
      complete() {
        timer?.unsubscribe();
        timer = null;
        sourceDone = true;
        closeAll();
        if (!emitting) subscriber.complete();
      },
      finalize() {
        detach?.();
        timer = null;
        stats.openWindows -= windows.length;
        windows = [];
        closing = [];
        closingHead = 0;
        current = null;
        series.clear();
        classes.clear();
        byLabels = new WeakMap();
      },
    };
  });

  return Object.assign(operator, { stats });
}
