/**
 * The sink's lanes: routes each series to a lane by its hash modulo the current lane count, and
 * changes the count without reordering any series.
 *
 * A change drains first: from the moment it starts, arriving samples are held (in arrival order)
 * instead of going to the old layout, and each old lane gives back what it has not sent yet (its
 * queued batches and its open one); once every old lane's request in flight is answered, the
 * count changes and the given-back samples, then the held ones, are routed by the new count. A
 * series lives on one old lane, whose given-back samples all came before the held ones, so each
 * series keeps its order, and a series that moves has nothing of its own in flight on the old
 * lane. The drain waits for one request per lane, not for a backlog (Prometheus' queue manager
 * sends its queues to the end before it reshards; a lane here may hold far more). Holding adds
 * no bound of its own: held samples are accepted samples, counted in the sink's pending total
 * that `maxPendingSamples` admits against.
 *
 * With a range of counts (`min < max`) a `ShardController` picks the count every
 * `updateEveryMs`, from what the lanes measured in between.
 */
import type { Subscription } from 'rxjs';
import type { Logger } from '../core/logger.js';
import type { SampleColumns } from '../protocol/encoder.js';
import { countOf, Lane, type BatchStore, type LaneBatch, type LaneOptions, type UnsettledSamples } from './lane.js';
import type { ResolvedShards } from './options.js';
import type { SeriesRecord } from './series-interner.js';
import type { RemoteWriteMetrics } from './metrics.js';
import { ShardController } from './shard-controller.js';

export interface LaneSetOptions extends Omit<LaneOptions, 'onIdle' | 'store'> {
  readonly shards: ResolvedShards;
  /**
   * The store of lane `index` (the sink's spool). Only with a fixed count: a batch in a store
   * cannot be taken back and re-routed, so the count never changes.
   */
  readonly storeFor?: (index: number) => BatchStore;
  /** Called whenever the last busy lane becomes idle and nothing is held. */
  readonly onIdle: () => void;
  /** The endpoint is failing now: the count is then held. */
  readonly failing?: () => boolean;
  /** Told about every change of the count. Must not throw. */
  readonly logger?: Logger;
  /** Keeps the `lanes` gauge and the `reshards` counter. */
  readonly metrics?: RemoteWriteMetrics;
}

/** Held samples, column-wise, in arrival order. */
interface Held {
  readonly series: SeriesRecord[];
  readonly values: number[];
  readonly timestamps: number[];
}

export class LaneSet {
  private lanes: Lane[] = [];
  /** The count a drain is heading for; null when no drain runs. */
  private target: number | null = null;
  private held: Held | null = null;
  /** What the old lanes gave back when the drain started, oldest first per lane. */
  private carried: SampleColumns[] = [];
  private finishing = false;
  private abandoned = false;
  private readonly controller: ShardController | null;
  private tick: Subscription | null = null;
  private lastTickAt: number;
  private changes = 0;
  /** Samples pushed since the last tick, for the controller. */
  private samplesIn = 0;
  /** Samples in finished batches that wait for their lane. */
  private queued = 0;
  private inFlight = 0;

  constructor(private readonly options: LaneSetOptions) {
    const { shards, scheduler } = options;
    if (options.storeFor !== undefined && shards.min !== shards.max) throw new RangeError('rxprom: lanes backed by a store have a fixed count');
    this.resize(shards.min);
    options.metrics?.lanesChanged(0, shards.min);
    this.lastTickAt = scheduler.now();
    this.controller = shards.min < shards.max ? new ShardController({ min: shards.min, max: shards.max, maxSamples: options.maxSamples }) : null;
    if (this.controller !== null) {
      const self = this;
      this.tick = scheduler.schedule(function again() {
        self.reconsider();
        this.schedule(undefined, shards.updateEveryMs);
      }, shards.updateEveryMs);
    }
  }

  /** Lanes in the current layout (during a drain: the old one). */
  get count(): number {
    return this.lanes.length;
  }

  /** The lanes of the current layout (during a drain: the old one). */
  get all(): readonly Lane[] {
    return this.lanes;
  }

  /**
   * Visits every sample without an outcome: each lane's (in flight, queued, open), then what a
   * drain took back and holds, in the order they will be sent.
   */
  forEachUnsettled(visit: (series: SeriesRecord, value: number, timestamp: number) => void): void {
    for (const lane of this.lanes) lane.forEachUnsettled(visit);
    for (const columns of this.carried) for (let i = 0; i < columns.length; i++) visit(columns.series[i], columns.values[i], columns.timestamps[i]);
    const held = this.held;
    if (held !== null) for (let i = 0; i < held.series.length; i++) visit(held.series[i], held.values[i], held.timestamps[i]);
  }

  /** A change of the count is under way. */
  get draining(): boolean {
    return this.target !== null;
  }

  /** Changes of the count so far. */
  get reshards(): number {
    return this.changes;
  }

  /** Nothing open, queued, in flight or held, and no drain under way. */
  get idle(): boolean {
    if (this.target !== null || this.held !== null) return false;
    for (const lane of this.lanes) if (!lane.idle) return false;
    return true;
  }

  /** Routes a sample to its series' lane; holds it while a drain runs. */
  push(series: SeriesRecord, value: number, timestamp: number): void {
    this.samplesIn++;
    const held = this.held;
    if (held !== null) {
      held.series.push(series);
      held.values.push(value);
      held.timestamps.push(timestamp);
      return;
    }
    this.lanes[laneOf(series, this.lanes.length)].push(series, value, timestamp);
  }

  /**
   * The source is done: flushes every lane now, and from now on flushes what a drain releases;
   * the count no longer changes (a drain under way still ends).
   */
  finish(): void {
    this.finishing = true;
    this.stopTicking();
    for (const lane of this.lanes) lane.flush();
  }

  /**
   * Starts changing the count to `count` (clamped to the range): drains the current layout, then
   * switches. False when nothing starts (same count, a drain under way, finishing, abandoned).
   */
  reshard(count: number): boolean {
    const { min, max } = this.options.shards;
    const wanted = Math.min(max, Math.max(min, Math.floor(count)));
    if (wanted === this.lanes.length || this.target !== null || this.finishing || this.abandoned) return false;
    this.options.logger?.info({ from: this.lanes.length, to: wanted, need: this.controller?.need }, `changing the number of lanes from ${this.lanes.length} to ${wanted}`);
    this.target = wanted;
    this.held = { series: [], values: [], timestamps: [] };
    for (const lane of this.lanes) {
      const { queued, open } = lane.takeUnsent();
      for (const columns of queued) {
        this.queued -= columns.length;
        this.carried.push(columns);
      }
      if (open !== null) this.carried.push(open);
    }
    this.switchWhenDrained();
    return true;
  }

  /**
   * Stops for good: every lane abandoned, the held samples forgotten, the timer stopped. Returns
   * what had no outcome, for the sink to account for as aborted.
   */
  abandon(): UnsettledSamples[] {
    this.stopTicking();
    if (this.abandoned) return [];
    this.abandoned = true;
    this.options.metrics?.lanesChanged(this.lanes.length, 0);
    const unsettled: UnsettledSamples[] = [];
    for (const lane of this.lanes) unsettled.push(...lane.abandon());
    for (const columns of this.carried) unsettled.push(countOf(columns, 0, columns.length));
    this.carried = [];
    const held = this.held;
    if (held !== null && held.series.length > 0) {
      const columns: SampleColumns = { length: held.series.length, series: held.series, values: Float64Array.from(held.values), timestamps: Float64Array.from(held.timestamps) };
      unsettled.push(countOf(columns, 0, columns.length));
    }
    this.held = null;
    this.target = null;
    return unsettled;
  }

  /** One interval's measurements to the controller, and its answer carried out. */
  private reconsider(): void {
    const now = this.options.scheduler.now();
    const load = {
      intervalMs: now - this.lastTickAt,
      samplesIn: this.samplesIn,
      backlog: this.queued + this.carriedSamples() + (this.held?.series.length ?? 0),
      inFlight: this.inFlight,
      failing: this.options.failing?.() ?? false,
    };
    this.lastTickAt = now;
    this.samplesIn = 0;
    // A drain distorts what is measured (nothing new is sent meanwhile): that interval is skipped.
    if (this.controller === null || this.target !== null) return;
    const wanted = this.controller.decide(this.lanes.length, load);
    if (wanted !== this.lanes.length) this.reshard(wanted);
  }

  private switchWhenDrained(): void {
    if (this.target === null || this.abandoned) return;
    for (const lane of this.lanes) if (!lane.idle) return;
    this.options.metrics?.lanesChanged(this.lanes.length, this.target);
    this.resize(this.target);
    this.changes++;
    this.target = null;
    const held = this.held as Held;
    this.held = null;
    const carried = this.carried;
    this.carried = [];
    // Routed by the new count, given back first, then held, each in order: every series keeps its order.
    const lanes = this.lanes;
    for (const columns of carried) {
      for (let i = 0; i < columns.length; i++) {
        const series = columns.series[i];
        lanes[laneOf(series, lanes.length)].push(series, columns.values[i], columns.timestamps[i]);
      }
    }
    for (let i = 0; i < held.series.length; i++) {
      const series = held.series[i];
      lanes[laneOf(series, lanes.length)].push(series, held.values[i], held.timestamps[i]);
    }
    if (this.finishing) for (const lane of lanes) lane.flush();
    if (this.idle) this.options.onIdle();
  }

  private carriedSamples(): number {
    let samples = 0;
    for (const columns of this.carried) samples += columns.length;
    return samples;
  }

  private laneIdle(): void {
    if (this.target !== null) return this.switchWhenDrained();
    if (this.idle) this.options.onIdle();
  }

  /** Keeps the first `count` lanes (idle, during a switch) and adds new ones up to it. */
  private resize(count: number): void {
    const { shards: _shards, onIdle: _onIdle, failing: _failing, logger: _logger, metrics: _metrics, storeFor, ...laneOptions } = this.options;
    if (this.lanes.length > count) this.lanes.length = count;
    while (this.lanes.length < count) {
      const store = storeFor?.(this.lanes.length);
      this.lanes.push(
        new Lane({
          ...laneOptions,
          ...(store !== undefined ? { store } : {}),
          encode: (columns) => {
            this.queued += columns.length;
            return this.options.encode(columns);
          },
          send: (batch) => this.send(batch),
          onIdle: () => this.laneIdle(),
        }),
      );
    }
  }

  /** Sends a batch, telling the controller how long it took. */
  private async send(batch: LaneBatch): Promise<void> {
    const samples = batch.columns.length;
    this.queued -= samples;
    this.inFlight++;
    const started = this.options.scheduler.now();
    try {
      await this.options.send(batch);
    } finally {
      this.inFlight--;
      this.controller?.observe(samples, this.options.scheduler.now() - started);
    }
  }

  private stopTicking(): void {
    this.tick?.unsubscribe();
    this.tick = null;
  }
}

/**
 * The lane of a series among `count`: its hash modulo the count, from the record's int32 copy of
 * the hash (a small integer in V8, stored in the record itself) and in integer arithmetic (a
 * double's modulo is a call to the C library's fmod, once per sample).
 */
export function laneOf(series: SeriesRecord, count: number): number {
  return (series.hash32 >>> 0) % count;
}
