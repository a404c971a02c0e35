/**
 * A seeded load generator with error injection, for load tests and for checking that the sink
 * accounts for every sample.
 *
 * Each sample is one of: valid (strictly newer than anything emitted before for its series),
 * out-of-order (strictly older than the series' newest emitted timestamp, by less than `lateByMs`),
 * late (older than the series' newest by at least `lateByMs`), duplicate (exactly the series'
 * newest timestamp) or malformed (a label set or timestamp that strict validation refuses). Only
 * valid samples advance a series' newest timestamp, so through `remoteWrite` with validation
 * `'strict'` the kinds map 1:1 onto outcomes: valid → written, malformed → 'invalid',
 * out-of-order and late → 'out-of-order', duplicate → 'duplicate'.
 */
import { asyncScheduler, Observable, type SchedulerAction, type SchedulerLike, type Subscriber } from 'rxjs';
import { ConfigError } from '../../core/errors.js';
import type { RemoteWriteMetricsSnapshot } from '../../remote-write/metrics.js';
import { DROP_REASONS, type DropReason, type Labels, type Sample } from '../../core/model.js';
import { seededRandom } from '../random.js';
import { numberOption, schedulerOption } from '../../core/options.js';
import { METRIC_NAME } from '../../protocol/label-rules.js';

/** How a malformed sample is broken. Every kind is refused by strict validation. */
export type MalformedKind =
  | 'bad-label-name'
  | 'missing-name'
  | 'empty-name'
  | 'bad-metric-name'
  | 'reserved-label'
  | 'non-finite-timestamp';

export const MALFORMED_KINDS: readonly MalformedKind[] = [
  'bad-label-name',
  'missing-name',
  'empty-name',
  'bad-metric-name',
  'reserved-label',
  'non-finite-timestamp',
];

export interface GeneratorOptions {
  /** Number of distinct series (cardinality). 1 to 10,000,000, default 100. */
  readonly series?: number;
  /** Extra labels per series besides `__name__` and `series`. 0 to 32, default 1 (`host`). */
  readonly labelsPerSeries?: number;
  /** The metric name (`__name__`). Default `'rxprom_generated'`. */
  readonly metric?: string;
  /**
   * Samples per second. 0 or Infinity (default): as fast as possible, in chunks of `chunkSize`
   * per macrotask so I/O (the sink's requests) still runs. Otherwise paced on `scheduler`.
   */
  readonly rate?: number;
  /** Total samples; the stream completes after them. Default: unbounded (unless `durationMs`). */
  readonly count?: number;
  /**
   * Run time (ms). Paced: the samples due before this much scheduler time, i.e.
   * `ceil(durationMs * rate / 1000)`. As fast as possible: until this much scheduler time passed.
   */
  readonly durationMs?: number;
  /** Timestamp of every series' first sample (ms). Default: `scheduler.now()` at subscription. */
  readonly startTime?: number;
  /**
   * Timestamp step between consecutive valid samples of a series (ms). Default: paced,
   * `series * 1000 / rate` (timestamps follow the clock); as fast as possible, 1.
   */
  readonly stepMs?: number;
  /** Seed of the PRNG: same options and seed, same samples. Integer, default 1. */
  readonly seed?: number;
  /** Fraction of out-of-order samples, in [0, 1]. Default 0. */
  readonly outOfOrder?: number;
  /** Fraction of late samples, in [0, 1]. Default 0. */
  readonly late?: number;
  /** Fraction of duplicates, in [0, 1]. Default 0. */
  readonly duplicate?: number;
  /** Fraction of malformed samples, in [0, 1]. Default 0. The four fractions add up to at most 1. */
  readonly malformed?: number;
  /** How much older than the series' newest a late sample is, at least (ms). 2 to 1e10, default 600,000. */
  readonly lateByMs?: number;
  /** Samples per macrotask when running as fast as possible. 1 to 1,000,000, default 1000. */
  readonly chunkSize?: number;
  /** Clock and timers (tests use a `TestScheduler`). Default: `asyncScheduler`, and `setImmediate` for chunks. */
  readonly scheduler?: SchedulerLike;
}

/** What a run produced so far. */
export interface GeneratorReport {
  readonly produced: number;
  readonly valid: number;
  readonly outOfOrder: number;
  readonly late: number;
  readonly duplicate: number;
  readonly malformed: number;
  readonly malformedByKind: Readonly<Record<MalformedKind, number>>;
  /** Whether the run ended by reaching `count` or `durationMs` (false while running or after unsubscription). */
  readonly done: boolean;
}

/** Generated samples; `report()` describes the latest subscription (counters reset at subscribe). */
export type GeneratedSamples = Observable<Sample> & { report(): GeneratorReport };

interface ResolvedOptions {
  series: number;
  labelsPerSeries: number;
  metric: string;
  rate: number; // 0: as fast as possible
  count: number; // Infinity: unbounded
  durationMs: number; // Infinity: unbounded
  startTime: number | undefined;
  stepMs: number;
  seed: number;
  outOfOrder: number;
  late: number;
  duplicate: number;
  malformed: number;
  lateByMs: number;
  chunkSize: number;
  scheduler: SchedulerLike | undefined;
}

function fraction(option: string, value: unknown): number {
  return numberOption(option, value, 0, { min: 0, max: 1, integer: false });
}

function resolve(options: GeneratorOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'an object', options);
  const series = numberOption('series', options.series, 100, { min: 1, max: 10_000_000 });
  const labelsPerSeries = numberOption('labelsPerSeries', options.labelsPerSeries, 1, { min: 0, max: 32 });
  const metric = options.metric ?? 'rxprom_generated';
  if (typeof metric !== 'string' || !METRIC_NAME.test(metric)) {
    throw new ConfigError('metric', `a metric name matching ${METRIC_NAME.source.slice(1, -1)}`, metric);
  }
  const rawRate = options.rate === Infinity ? 0 : options.rate;
  const rate = numberOption('rate', rawRate, 0, { min: 0, max: 1e9, integer: false });
  const count = options.count === undefined ? Infinity : numberOption('count', options.count, undefined, { min: 0 });
  const durationMs =
    options.durationMs === undefined ? Infinity : numberOption('durationMs', options.durationMs, undefined, { min: 0, integer: false });
  const startTime =
    options.startTime === undefined ? undefined : numberOption('startTime', options.startTime, undefined, { min: 0, max: 8.64e15 });
  const defaultStep = rate > 0 ? Math.max(1, Math.round((series * 1000) / rate)) : 1;
  const stepMs = numberOption('stepMs', options.stepMs, defaultStep, { min: 1, max: 1e10 });
  const seed = numberOption('seed', options.seed, 1, { min: Number.MIN_SAFE_INTEGER });
  const outOfOrder = fraction('outOfOrder', options.outOfOrder);
  const late = fraction('late', options.late);
  const duplicate = fraction('duplicate', options.duplicate);
  const malformed = fraction('malformed', options.malformed);
  const sum = outOfOrder + late + duplicate + malformed;
  if (sum > 1 + 1e-9) throw new ConfigError('outOfOrder + late + duplicate + malformed', 'at most 1', sum);
  const lateByMs = numberOption('lateByMs', options.lateByMs, 600_000, { min: 2, max: 1e10 });
  const chunkSize = numberOption('chunkSize', options.chunkSize, 1000, { min: 1, max: 1_000_000 });
  const scheduler = schedulerOption(options.scheduler, undefined);
  return {
    series, labelsPerSeries, metric, rate, count, durationMs, startTime, stepMs, seed,
    outOfOrder, late, duplicate, malformed, lateByMs, chunkSize, scheduler,
  };
}

interface Counters {
  produced: number;
  valid: number;
  outOfOrder: number;
  late: number;
  duplicate: number;
  malformed: number;
  malformedByKind: Record<MalformedKind, number>;
  done: boolean;
}

function zeroCounters(): Counters {
  const malformedByKind = {} as Record<MalformedKind, number>;
  for (const kind of MALFORMED_KINDS) malformedByKind[kind] = 0;
  return { produced: 0, valid: 0, outOfOrder: 0, late: 0, duplicate: 0, malformed: 0, malformedByKind, done: false };
}

/**
 * A cold Observable of generated samples: every subscription replays the same seeded sequence
 * (timestamps included when `startTime` is given). Options are checked here: a bad value throws
 * `ConfigError`.
 */
export function generateSamples(options: GeneratorOptions = {}): GeneratedSamples {
  const config = resolve(options);
  let current = zeroCounters();

  const samples$ = new Observable<Sample>((subscriber) => {
    const counters = zeroCounters();
    current = counters;
    const clock = config.scheduler ?? asyncScheduler;
    const t0 = clock.now();
    const run = new Run(config, config.startTime ?? t0, counters);
    // Paced: exactly the samples due before durationMs; as fast as possible: a clock limit.
    const total = config.rate > 0 ? Math.min(config.count, Math.ceil((config.durationMs * config.rate) / 1000)) : config.count;

    const finish = (): void => {
      counters.done = true;
      subscriber.complete();
    };
    if (total <= 0) {
      finish();
      return;
    }

    if (config.rate > 0) {
      // Tick often enough for smooth pacing, rarely enough not to flood the timer queue; the
      // number due is computed from elapsed time, so a late tick catches up.
      const tickMs = Math.max(10, Math.ceil(1000 / config.rate));
      const subscription = clock.schedule(function (this: SchedulerAction<unknown>) {
        const elapsed = clock.now() - t0;
        const due = Math.min(total, Math.floor((elapsed * config.rate) / 1000) + 1);
        while (counters.produced < due && !subscriber.closed) run.emit(subscriber);
        if (subscriber.closed) return;
        if (counters.produced >= total) return finish();
        // The last tick lands when the last sample is due, not up to a tick later.
        const lastDue = Math.ceil(((total - 1) * 1000) / config.rate) - elapsed;
        this.schedule(undefined, Math.max(0, Math.min(tickMs, lastDue)));
      }, 0);
      return () => subscription.unsubscribe();
    }

    // As fast as possible: a chunk per macrotask, so timers and sockets get their turn.
    let immediate: NodeJS.Immediate | undefined;
    let subscription: { unsubscribe(): void } | undefined;
    const chunk = (): void => {
      immediate = undefined;
      if (clock.now() - t0 >= config.durationMs) return finish();
      const end = Math.min(total, counters.produced + config.chunkSize);
      while (counters.produced < end && !subscriber.closed) run.emit(subscriber);
      if (subscriber.closed) return;
      if (counters.produced >= total) return finish();
      next();
    };
    const next = (): void => {
      if (config.scheduler) subscription = config.scheduler.schedule(chunk, 0);
      else immediate = setImmediate(chunk);
    };
    next();
    return () => {
      if (immediate !== undefined) clearImmediate(immediate);
      subscription?.unsubscribe();
    };
  });

  return Object.assign(samples$, { report: (): GeneratorReport => snapshotCounters(current) });
}

function snapshotCounters(c: Counters): GeneratorReport {
  return {
    produced: c.produced,
    valid: c.valid,
    outOfOrder: c.outOfOrder,
    late: c.late,
    duplicate: c.duplicate,
    malformed: c.malformed,
    malformedByKind: { ...c.malformedByKind },
    done: c.done,
  };
}

/** The state of one subscription: PRNG, per-series newest timestamps, label objects. */
class Run {
  private readonly random: () => number;
  /** Newest timestamp emitted per series; NaN until the series' first sample. */
  private readonly newest: Float64Array;
  /** One frozen label object per series, made on first use and reused (the sink interns by identity). */
  private readonly labels: (Labels | undefined)[];
  private cursor = 0;
  private readonly thresholds: readonly [number, number, number, number];
  /** Out-of-order samples go back 1..outOfOrderSpan ms, always less than lateByMs. */
  private readonly outOfOrderSpan: number;

  constructor(
    private readonly config: ResolvedOptions,
    private readonly startTime: number,
    private readonly counters: Counters,
  ) {
    this.random = seededRandom(config.seed);
    this.newest = new Float64Array(config.series).fill(NaN);
    this.labels = new Array<Labels | undefined>(config.series);
    const { malformed, duplicate, outOfOrder, late } = config;
    this.thresholds = [malformed, malformed + duplicate, malformed + duplicate + outOfOrder, malformed + duplicate + outOfOrder + late];
    this.outOfOrderSpan = Math.max(1, Math.min(config.lateByMs - 1, 5 * config.stepMs));
  }

  emit(subscriber: Subscriber<Sample>): void {
    // Series in round-robin order: every series gets its share, and its first sample comes early.
    const index = this.cursor;
    this.cursor = index + 1 === this.config.series ? 0 : index + 1;
    const r = this.random();
    const value = Math.round(this.random() * 1e6) / 1e3;
    const newest = this.newest[index];
    const c = this.counters;
    const [tMalformed, tDuplicate, tOutOfOrder, tLate] = this.thresholds;
    let sample: Sample;
    if (r < tMalformed) {
      sample = this.malformedSample(index, value, Number.isNaN(newest) ? this.startTime : newest);
      c.malformed++;
    } else if (Number.isNaN(newest) || r >= tLate) {
      // A series' first sample is always valid: there is nothing to be out of order against.
      const timestamp = Number.isNaN(newest) ? this.startTime : newest + this.config.stepMs;
      this.newest[index] = timestamp;
      sample = { labels: this.labelsOf(index), value, timestamp };
      c.valid++;
    } else if (r < tDuplicate) {
      sample = { labels: this.labelsOf(index), value, timestamp: newest };
      c.duplicate++;
    } else if (r < tOutOfOrder) {
      const back = 1 + Math.floor(this.random() * this.outOfOrderSpan);
      sample = { labels: this.labelsOf(index), value, timestamp: newest - back };
      c.outOfOrder++;
    } else {
      const back = this.config.lateByMs + Math.floor(this.random() * this.config.stepMs);
      sample = { labels: this.labelsOf(index), value, timestamp: newest - back };
      c.late++;
    }
    c.produced++;
    subscriber.next(sample);
  }

  private labelsOf(index: number): Labels {
    let labels = this.labels[index];
    if (labels === undefined) {
      const record: Record<string, string> = { __name__: this.config.metric, series: `s${index}` };
      for (let k = 0; k < this.config.labelsPerSeries; k++) {
        // Low-cardinality extra labels, as hosts or regions would be.
        record[k === 0 ? 'host' : `label_${k}`] = `v${index % (8 << k)}`;
      }
      labels = Object.freeze(record);
      this.labels[index] = labels;
    }
    return labels;
  }

  private malformedSample(index: number, value: number, timestamp: number): Sample {
    const kind = MALFORMED_KINDS[Math.floor(this.random() * MALFORMED_KINDS.length)];
    this.counters.malformedByKind[kind]++;
    const base = this.labelsOf(index);
    switch (kind) {
      case 'bad-label-name':
        return { labels: { ...base, 'bad-name': 'x' }, value, timestamp };
      case 'missing-name': {
        const { __name__: _omitted, ...rest } = base;
        return { labels: rest, value, timestamp };
      }
      case 'empty-name':
        return { labels: { ...base, __name__: '' }, value, timestamp };
      case 'bad-metric-name':
        return { labels: { ...base, __name__: `0${this.config.metric}-bad` }, value, timestamp };
      case 'reserved-label':
        return { labels: { ...base, __reserved__: 'x' }, value, timestamp };
      case 'non-finite-timestamp':
        // A NaN value would be legal (Prometheus' stale marker is a NaN); a NaN timestamp is not.
        return { labels: base, value, timestamp: NaN };
    }
  }
}

/** The sink outcome a report implies with validation 'strict' and a receiver that accepts everything. */
export function expectedAccounting(report: GeneratorReport): { written: number; dropped: Record<DropReason, number> } {
  const dropped = {} as Record<DropReason, number>;
  for (const reason of DROP_REASONS) dropped[reason] = 0;
  dropped.invalid = report.malformed;
  dropped['out-of-order'] = report.outOfOrder + report.late;
  dropped.duplicate = report.duplicate;
  return { written: report.valid, dropped };
}

/** The counters `checkAccounting` reads. */
export type AccountingSnapshot = Pick<
  RemoteWriteMetricsSnapshot,
  'samplesIn' | 'samplesWritten' | 'samplesDropped' | 'samplesDroppedTotal' | 'samplesPending'
>;

/**
 * Compares what the generator produced with the sink's counters after the run. Returns one
 * message per mismatch; an empty list means produced = written + dropped by reason, as injected.
 */
export function checkAccounting(report: GeneratorReport, metrics: AccountingSnapshot): string[] {
  const mismatches: string[] = [];
  const expected = expectedAccounting(report);
  const expect = (what: string, want: number, got: number): void => {
    if (want !== got) mismatches.push(`${what}: expected ${want}, got ${got}`);
  };
  expect('samples into the sink (produced)', report.produced, metrics.samplesIn);
  expect('samples still pending in the sink', 0, metrics.samplesPending);
  expect('written + dropped (produced)', report.produced, metrics.samplesWritten + metrics.samplesDroppedTotal);
  expect('written (valid)', expected.written, metrics.samplesWritten);
  const why: Partial<Record<DropReason, string>> = {
    invalid: 'malformed',
    'out-of-order': 'out-of-order + late',
    duplicate: 'duplicate',
  };
  for (const reason of DROP_REASONS) {
    expect(`dropped '${reason}' (${why[reason] ?? 'none injected'})`, expected.dropped[reason], metrics.samplesDropped[reason] ?? 0);
  }
  return mismatches;
}
