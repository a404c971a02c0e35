import { asyncScheduler, Observable, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { LogCollapsingLowestDenseDDSketch } from '@datadog/sketches-js';
import { ConfigError, enumOption, functionOption, numberOption } from '../src/errors.js';
import type { Labels, Sample } from '../src/model.js';

/** A scalar aggregation, or a quantile estimated by a DDSketch. */
export type Aggregation = 'count' | 'sum' | 'min' | 'max' | 'avg' | 'first' | 'last' | { readonly quantile: number };
type ScalarAggregation = Exclude<Aggregation, { quantile: number }>;
const SCALARS: readonly ScalarAggregation[] = ['count', 'sum', 'min', 'max', 'avg', 'first', 'last'];

export interface TumblingWindowOptions<T> {
  /** Window length (ms), 1 to 31 days. Windows are aligned to the epoch plus `offsetMs`. */
  readonly sizeMs: number;
  /** Shifts window boundaries (ms), 0 ≤ offset < sizeMs. Default 0. */
  readonly offsetMs?: number;
  /** What to compute per window and series, in output order. E.g. `['count', 'sum', 'min', 'max', 'avg', { quantile: 0.99 }]`. */
  readonly aggregations: readonly Aggregation[];
  /**
   * A window [start, start + size) closes when the largest event time seen minus this (ms)
   * reaches its end. 0 to 86,400,000, default 0.
   */
  readonly allowedLatenessMs?: number;
  /** Close every open window after this long without input (processing time, ms). Default: never. */
  readonly idleTimeoutMs?: number;
  /** Stamp output samples with the window's `'end'` (default) or `'start'`. */
  readonly timestampAt?: 'end' | 'start';
  /** Output metric names: a suffix per scalar aggregation (default `_count`, `_sum`, …); quantiles keep the bare name plus a `quantile` label. */
  readonly names?: Partial<Record<ScalarAggregation | 'quantile', (metricName: string) => string>>;
  /** Relative accuracy of quantiles, (0, 0.5]: an estimate is within this fraction of a true value of that rank. Default 0.01. */
  readonly relativeAccuracy?: number;
  /** Called with every element dropped: `'late'` (its window had closed) or `'invalid'` (non-finite time or value, bad labels). */
  readonly onDrop?: (element: T, reason: 'late' | 'invalid') => void;
  /** Scheduler for the idle timer (default `asyncScheduler`). */
  readonly scheduler?: SchedulerLike;
}

export interface TumblingWindowAccessors<T> {
  /** Event time (ms). */
  readonly eventTime: (element: T) => number;
  /** The output series: keep the dimensions to aggregate by (e.g. `room`), leave out the rest (e.g. `device`). Must hold `__name__`. */
  readonly labels: (element: T) => Labels;
  readonly value: (element: T) => number;
}

/** Counters of a `tumblingWindow` operator, summed over its subscriptions. */
export interface TumblingWindowStats {
  /** Elements aggregated. */
  accepted: number;
  late: number;
  invalid: number;
  windowsClosed: number;
  samplesOut: number;
  /** Windows open right now. */
  openWindows: number;
}

export type TumblingWindowOperator<T> = OperatorFunction<T, Sample> & { readonly stats: TumblingWindowStats };

interface Accumulator {
  readonly series: SeriesOutput;
  count: number;
  sum: number;
  min: number;
  max: number;
  first: number;
  firstTime: number;
  last: number;
  lastTime: number;
  sketch: LogCollapsingLowestDenseDDSketch | null;
}

/** Output label sets of one series, built once and reused for every window (the sink recognises them by identity). */
interface SeriesOutput {
  readonly labels: Labels[];
  /** Window start this series was last seen in, to forget series that stopped. */
  lastWindow: number;
}

const DEFAULT_SUFFIX: Record<ScalarAggregation, string> = {
  count: '_count', sum: '_sum', min: '_min', max: '_max', avg: '_avg', first: '_first', last: '_last',
};

const seriesKeyCache = new WeakMap<object, string>();

/** A canonical key of a label set; cached per label object, so reused objects cost one lookup. */
function seriesKey(labels: Labels): string | undefined {
  let key = seriesKeyCache.get(labels);
  if (key !== undefined) return key;
  if (typeof labels !== 'object' || labels === null) return undefined;
  const names = Object.keys(labels).sort();
  key = '';
  for (const name of names) {
    const value = labels[name];
    if (typeof value !== 'string') return undefined;
    key += name + '\u0000' + value + '\u0001';
  }
  seriesKeyCache.set(labels, key);
  return key;
}

/**
 * Event-time tumbling windows: aggregates elements per window of `sizeMs` and per output series
 * (`labels`), and emits one sample per aggregation when a window closes — window by window, so
 * every output series is in timestamp order for the sink. Scalar aggregations cost constant memory
 * per open (window, series); quantiles use a DDSketch whose estimates are within `relativeAccuracy`
 * of the true value at that rank. Completion closes every open window in order.
 */
export function tumblingWindow<T>(options: TumblingWindowOptions<T> & TumblingWindowAccessors<T>): TumblingWindowOperator<T>;
export function tumblingWindow(options: TumblingWindowOptions<Sample> & Partial<TumblingWindowAccessors<Sample>>): TumblingWindowOperator<Sample>;
export function tumblingWindow<T>(options: TumblingWindowOptions<T> & Partial<TumblingWindowAccessors<T>>): TumblingWindowOperator<T> {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'an object', options);
  const sizeMs = numberOption('sizeMs', options.sizeMs, undefined, { min: 1, max: 31 * 86_400_000 });
  const offsetMs = numberOption('offsetMs', options.offsetMs, 0, { min: 0, max: sizeMs - 1 });
  const allowedLatenessMs = numberOption('allowedLatenessMs', options.allowedLatenessMs, 0, { min: 0, max: 86_400_000 });
  const idleTimeoutMs = options.idleTimeoutMs === undefined ? undefined : numberOption('idleTimeoutMs', options.idleTimeoutMs, undefined, { min: 1, max: 86_400_000 });
  const timestampAt = enumOption('timestampAt', options.timestampAt, ['end', 'start'], 'end');
  const relativeAccuracy = numberOption('relativeAccuracy', options.relativeAccuracy, 0.01, { min: 1e-6, max: 0.5, integer: false });
  const eventTime = (functionOption<(e: T) => number>('eventTime', options.eventTime, false) ?? ((e: T) => (e as unknown as Sample).timestamp));
  const labelsOf = (functionOption<(e: T) => Labels>('labels', options.labels, false) ?? ((e: T) => (e as unknown as Sample).labels));
  const valueOf = (functionOption<(e: T) => number>('value', options.value, false) ?? ((e: T) => (e as unknown as Sample).value));
  const onDrop = functionOption<(e: T, reason: 'late' | 'invalid') => void>('onDrop', options.onDrop, false);
  const scheduler = options.scheduler ?? asyncScheduler;

  if (!Array.isArray(options.aggregations) || options.aggregations.length === 0) {
    throw new ConfigError('aggregations', `a non-empty array of ${SCALARS.join(', ')} or { quantile: q } with 0 ≤ q ≤ 1`, options.aggregations);
  }
  const aggregations = options.aggregations.map((a, i): Aggregation => {
    if (typeof a === 'string' && (SCALARS as readonly string[]).includes(a)) return a as ScalarAggregation;
    if (typeof a === 'object' && a !== null && typeof a.quantile === 'number' && a.quantile >= 0 && a.quantile <= 1) return { quantile: a.quantile };
    throw new ConfigError(`aggregations[${i}]`, `one of ${SCALARS.map((s) => `'${s}'`).join(', ')} or { quantile: q } with 0 ≤ q ≤ 1`, a);
  });
  const wantsSketch = aggregations.some((a) => typeof a === 'object');
  const names = options.names ?? {};
  for (const [name, fn] of Object.entries(names)) {
    if (typeof fn !== 'function') throw new ConfigError(`names.${name}`, 'a function from metric name to output name', fn);
  }
  const outputName = (aggregation: Aggregation, metric: string): string => {
    if (typeof aggregation === 'object') return names.quantile?.(metric) ?? metric;
    return names[aggregation]?.(metric) ?? metric + DEFAULT_SUFFIX[aggregation];
  };

  const stats: TumblingWindowStats = { accepted: 0, late: 0, invalid: 0, windowsClosed: 0, samplesOut: 0, openWindows: 0 };

  const operator = (source: Observable<T>): Observable<Sample> =>
    new Observable<Sample>((subscriber) => {
      // Open windows by start; there are few (the lateness bound over the size), so a sorted array of starts is enough.
      const windows = new Map<number, Map<string, Accumulator>>();
      let starts: number[] = [];
      const outputs = new Map<string, SeriesOutput>();
      // Every window ending at or before this is closed.
      let closedUpTo = -Infinity;
      let maxTime = -Infinity;
      let timer: Subscription | null = null;
      let lastArrival = 0;

      const outputFor = (key: string, labels: Labels): SeriesOutput | undefined => {
        let output = outputs.get(key);
        if (output !== undefined) return output;
        const metric = labels['__name__'];
        if (typeof metric !== 'string' || metric === '') return undefined;
        const built: Labels[] = aggregations.map((aggregation) => {
          const out: Record<string, string> = Object.create(null) as Record<string, string>;
          for (const name of Object.keys(labels)) out[name] = labels[name];
          out['__name__'] = outputName(aggregation, metric);
          if (typeof aggregation === 'object') out['quantile'] = String(aggregation.quantile);
          // A plain object again, so consumers see ordinary label sets.
          return Object.freeze(Object.assign({}, out));
        });
        output = { labels: built, lastWindow: 0 };
        outputs.set(key, output);
        return output;
      };

      const closeWindow = (start: number): void => {
        const series = windows.get(start);
        windows.delete(start);
        stats.openWindows--;
        stats.windowsClosed++;
        if (series === undefined) return;
        const timestamp = timestampAt === 'end' ? start + sizeMs : start;
        for (const acc of series.values()) {
          acc.series.lastWindow = start;
          for (let i = 0; i < aggregations.length; i++) {
            if (subscriber.closed) return;
            const aggregation = aggregations[i];
            let value: number;
            switch (aggregation) {
              case 'count': value = acc.count; break;
              case 'sum': value = acc.sum; break;
              case 'min': value = acc.min; break;
              case 'max': value = acc.max; break;
              case 'avg': value = acc.sum / acc.count; break;
              case 'first': value = acc.first; break;
              case 'last': value = acc.last; break;
              default: value = (acc.sketch as LogCollapsingLowestDenseDDSketch).getValueAtQuantile(aggregation.quantile);
            }
            stats.samplesOut++;
            subscriber.next({ labels: acc.series.labels[i], value, timestamp });
          }
        }
      };

      /** Closes open windows ending at or before `upTo`, oldest first. */
      const closeUpTo = (upTo: number): void => {
        if (upTo <= closedUpTo) return;
        closedUpTo = upTo;
        let n = 0;
        while (n < starts.length && starts[n] + sizeMs <= upTo) n++;
        if (n === 0) return;
        const closing = starts.slice(0, n);
        starts = starts.slice(n);
        for (const start of closing) closeWindow(start);
        // Forget the output label sets of series that were in none of the windows just closed, so
        // memory follows the live series (a series that comes back gets new ones).
        for (const [key, output] of outputs) if (output.lastWindow < closing[0]) outputs.delete(key);
      };

      const onIdle = (): void => {
        timer = null;
        if (idleTimeoutMs === undefined || starts.length === 0) return;
        const quietFor = scheduler.now() - lastArrival;
        if (quietFor >= idleTimeoutMs) {
          closeUpTo(starts[starts.length - 1] + sizeMs);
        } else {
          timer = scheduler.schedule(onIdle, idleTimeoutMs - quietFor);
        }
      };

      const drop = (element: T, reason: 'late' | 'invalid'): void => {
        stats[reason]++;
        onDrop?.(element, reason);
      };

      const subscription = source.subscribe({
        next(element) {
          const time = eventTime(element);
          const value = valueOf(element);
          if (typeof time !== 'number' || !Number.isFinite(time) || typeof value !== 'number' || Number.isNaN(value)) return drop(element, 'invalid');
          const start = Math.floor((time - offsetMs) / sizeMs) * sizeMs + offsetMs;
          if (start + sizeMs <= closedUpTo) return drop(element, 'late');
          const labels = labelsOf(element);
          const key = seriesKey(labels);
          if (key === undefined) return drop(element, 'invalid');
          let series = windows.get(start);
          if (series === undefined) {
            series = new Map();
            windows.set(start, series);
            stats.openWindows++;
            // Insert in order; a new window is nearly always the newest.
            let i = starts.length;
            while (i > 0 && starts[i - 1] > start) i--;
            starts.splice(i, 0, start);
          }
          let acc = series.get(key);
          if (acc === undefined) {
            const output = outputFor(key, labels);
            if (output === undefined) return drop(element, 'invalid');
            acc = {
              series: output, count: 0, sum: 0, min: Infinity, max: -Infinity,
              first: 0, firstTime: Infinity, last: 0, lastTime: -Infinity,
              sketch: wantsSketch ? new LogCollapsingLowestDenseDDSketch({ relativeAccuracy, binLimit: 2048 }) : null,
            };
            series.set(key, acc);
          }
          acc.count++;
          acc.sum += value;
          if (value < acc.min) acc.min = value;
          if (value > acc.max) acc.max = value;
          // First and last by event time; ties keep the earliest arrival for first and the latest for last.
          if (time < acc.firstTime) { acc.firstTime = time; acc.first = value; }
          if (time >= acc.lastTime) { acc.lastTime = time; acc.last = value; }
          acc.sketch?.accept(value);
          stats.accepted++;
          if (time > maxTime) {
            maxTime = time;
            closeUpTo(maxTime - allowedLatenessMs);
          }
          if (idleTimeoutMs !== undefined) {
            lastArrival = scheduler.now();
            if (timer === null && starts.length > 0) timer = scheduler.schedule(onIdle, idleTimeoutMs);
          }
        },
        error(error: unknown) {
          subscriber.error(error);
        },
        complete() {
          timer?.unsubscribe();
          timer = null;
          if (starts.length > 0) closeUpTo(starts[starts.length - 1] + sizeMs);
          subscriber.complete();
        },
      });

      return () => {
        subscription.unsubscribe();
        timer?.unsubscribe();
        timer = null;
        stats.openWindows -= windows.size;
        windows.clear();
        starts = [];
        outputs.clear();
      };
    });

  return Object.assign(operator, { stats });
}
