/**
 * One ordered lane of the sink: its open batch, held column-wise (no object per sample), its
 * batch timer, and its queue of finished batches, which it sends one after the other: a batch is
 * handed to `send` only once the previous one is settled, so a series never reorders. When the
 * timer fires while a request is in flight, the open batch keeps filling (up to `maxSamples`) and
 * is finished when the lane is free: a busy lane sends fewer, fuller requests instead of queueing
 * one small batch per timer (which, with a request slower than `maxDelayMs`, would never catch up).
 */
import type { SchedulerLike, Subscription } from 'rxjs';
import type { EncodedRequest, SampleColumns } from '../protocol/encoder.js';
import type { DropReason } from '../core/model.js';
import type { SeriesRecord } from './series-interner.js';

/** A finished batch: its columns (kept until it is settled, to be split or re-encoded) and its body. */
export interface LaneBatch {
  readonly columns: SampleColumns;
  /** The whole batch, encoded as soon as it was taken, so it is ready when the lane is free. */
  readonly request: EncodedRequest;
  /** Samples `[0, settled)` have an outcome; the sender advances it (pieces settle in order). */
  settled: number;
  /** Sent again after a restart (a spool record, samples a checkpoint carried): counted apart, see `BatchWriter`. */
  readonly replayed?: boolean;
  /**
   * A spool record an earlier run left sent in part: `[settled, mayBeStoredThrough)` went to the
   * receiver as one request whose answer never came. It is sent again as that one piece first, so
   * that a refusal as already stored covers exactly what the receiver holds.
   */
  readonly mayBeStoredThrough?: number;
  /** Told before a piece (not the whole batch) is sent, and awaited: the spool saves the record's progress first. Must not reject. */
  beforePiece?: (start: number, end: number) => Promise<void>;
  /**
   * The columns in the order the body holds them (the encoder groups samples by series), for a
   * spooled batch still in the lane's order: halved in this order, its pieces' bounds mean the
   * same samples in the record a restart decodes. May throw (the batch is then halved unmarked).
   */
  inBodyOrder?: () => SampleColumns;
}

/** Samples a lane held without an outcome when it was abandoned. */
export interface UnsettledSamples {
  readonly samples: number;
  readonly series: number;
  /** In the disk spool (or on their way into it): the next start sends them; not lost. */
  readonly spooled?: boolean;
  /** With `spooled`, while their append is still under way: settles once it has (or once the spool is closed). */
  readonly appending?: Promise<void>;
  /** With `spooled`: why they turned out not to stay in the spool after all (their append failed, dropped as oldest), if so. */
  readonly lostAs?: () => { readonly reason: DropReason; readonly message: string } | undefined;
  /** Samples of an earlier run (see `LaneBatch.replayed`). */
  readonly replayed?: boolean;
}

/**
 * Where a lane keeps its finished batches until they are sent: the disk spool
 * (`SpooledLane`). Without one, the lane keeps them in memory.
 */
export interface BatchStore {
  /** Takes a finished batch, to be handed back by `next()` in order. */
  add(batch: LaneBatch): void;
  /** Batches held (the one being sent included). */
  readonly size: number;
  /** The oldest batch, once it may be sent; undefined when it turned out to be gone (the store counted it). Never rejects. */
  next(): Promise<LaneBatch | undefined>;
  /** The batch `next()` gave is settled: every sample in it has an outcome. */
  settled(batch: LaneBatch): void;
  /** Stops; returns what this run's batches held without an outcome (the store accounts for replayed ones). */
  abandon(): UnsettledSamples[];
}

export interface LaneOptions {
  /** A batch is finished when it holds this many samples... */
  readonly maxSamples: number;
  /** ...or this long (ms) after its first sample. */
  readonly maxDelayMs: number;
  readonly scheduler: SchedulerLike;
  readonly encode: (columns: SampleColumns) => EncodedRequest;
  /** Sends a batch to its end (answers, splits and all); must not reject. */
  readonly send: (batch: LaneBatch) => Promise<void>;
  /** Called whenever a batch is settled and the lane has nothing left to send. */
  readonly onIdle: () => void;
  /** Keeps finished batches (the disk spool); default: in memory. */
  readonly store?: BatchStore;
}

/** Spare column sets kept per lane: enough for the batches that are usually queued. */
const MAX_SPARES = 4;

export class Lane {
  private length = 0;
  private series: SeriesRecord[] = [];
  private values: Float64Array;
  private timestamps: Float64Array;
  private timer: Subscription | null = null;
  /** The timer fired while a request was in flight: the open batch goes as soon as the lane is free. */
  private due = false;
  private readonly queue: LaneBatch[] = [];
  private sending: LaneBatch | null = null;
  /** Waiting for the store's next batch or sending it. */
  private busy = false;
  private abandoned = false;
  /** While true, every batch this lane finishes is marked replayed (a restore re-queueing an earlier run's samples). */
  replaying = false;
  /** Settled batches, emptied, whose columns the next batches reuse. */
  private readonly spares: SampleColumns[] = [];

  constructor(private readonly options: LaneOptions) {
    // Start small (timer-flushed batches are often short) and double up to the maximum.
    const capacity = Math.min(options.maxSamples, 256);
    this.values = new Float64Array(capacity);
    this.timestamps = new Float64Array(capacity);
  }

  /** Nothing open, queued or being sent. */
  get idle(): boolean {
    return this.length === 0 && this.sending === null && !this.busy && this.queue.length === 0 && (this.options.store?.size ?? 0) === 0;
  }

  /** Samples in the open batch (not yet finished). */
  get open(): number {
    return this.length;
  }

  /** Calls `visit` with every sample held without an outcome, oldest first (a checkpoint without a spool carries them). */
  forEachUnsettled(visit: (series: SeriesRecord, value: number, timestamp: number) => void): void {
    const batches = this.sending !== null ? [this.sending, ...this.queue] : this.queue;
    for (const batch of batches) {
      const { columns } = batch;
      for (let i = batch.settled; i < columns.length; i++) visit(columns.series[i], columns.values[i], columns.timestamps[i]);
    }
    for (let i = 0; i < this.length; i++) visit(this.series[i], this.values[i], this.timestamps[i]);
  }

  /** Appends a sample to the open batch; finishes the batch when full, else makes sure its timer runs. */
  push(series: SeriesRecord, value: number, timestamp: number): void {
    const i = this.length;
    if (i === this.values.length) this.grow();
    this.series.push(series);
    this.values[i] = value;
    this.timestamps[i] = timestamp;
    this.length = i + 1;
    if (this.length >= this.options.maxSamples) this.flush();
    else if (this.timer === null && !this.due) this.timer = this.options.scheduler.schedule(() => this.timerFired(), this.options.maxDelayMs);
  }

  /** Finishes the open batch (if any): encodes it and queues it for sending. `replayed`: see `LaneBatch`. */
  flush(replayed = false): void {
    this.timer?.unsubscribe();
    this.timer = null;
    this.due = false;
    if (this.length === 0 || this.abandoned) return;
    const columns = this.take();
    const batch: LaneBatch = { columns, request: this.options.encode(columns), settled: 0, ...(replayed || this.replaying ? { replayed: true } : {}) };
    if (this.options.store !== undefined) this.options.store.add(batch);
    else this.queue.push(batch);
    this.pump();
  }

  /**
   * Stops the lane for good: cancels its timer, forgets its open batch and queue, and stops
   * sending after the batch in flight (whose answer its sender ignores once aborted). Returns
   * what had no outcome yet, batch by batch, for the sink to account for.
   */
  abandon(): UnsettledSamples[] {
    this.timer?.unsubscribe();
    this.timer = null;
    if (this.abandoned) return [];
    const store = this.options.store;
    if (store !== undefined) {
      // The open batch goes into the spool too: the next start sends it.
      this.flush();
      this.abandoned = true;
      this.sending = null;
      this.length = 0;
      this.series = [];
      this.spares.length = 0;
      return store.abandon();
    }
    this.abandoned = true;
    const unsettled: UnsettledSamples[] = [];
    const sending = this.sending;
    const batches = sending !== null ? [sending, ...this.queue] : this.queue;
    for (const batch of batches) {
      if (batch.settled >= batch.columns.length) continue;
      const counted = countOf(batch.columns, batch.settled, batch.columns.length);
      unsettled.push(batch.replayed === true ? { ...counted, replayed: true } : counted);
    }
    if (this.length > 0) unsettled.push(countOf({ length: this.length, series: this.series, values: this.values, timestamps: this.timestamps }, 0, this.length));
    this.queue.length = 0;
    this.sending = null;
    this.length = 0;
    this.series = [];
    this.spares.length = 0;
    return unsettled;
  }

  /** The store has batches to send that the lane was not told of (records replayed at start). */
  wake(): void {
    this.pump();
  }

  /**
   * Takes back what was not handed to `send` yet, oldest first: the queued batches and the open
   * one (whose timer is cancelled). The batch in flight stays. For a caller that routes these
   * samples elsewhere once the batch in flight is settled (the lane set, when the count changes).
   */
  takeUnsent(): { readonly queued: SampleColumns[]; readonly open: SampleColumns | null } {
    this.timer?.unsubscribe();
    this.timer = null;
    this.due = false;
    const queued = this.queue.splice(0).map((batch) => batch.columns);
    const open = this.length > 0 ? this.take() : null;
    return { queued, open };
  }

  private timerFired(): void {
    this.timer = null;
    if (this.sending !== null) this.due = true;
    else this.flush();
  }

  private pump(): void {
    if (this.sending !== null || this.busy || this.abandoned) return;
    const store = this.options.store;
    if (store !== undefined) {
      if (store.size === 0) return;
      this.busy = true;
      void store.next().then(async (batch) => {
        if (this.abandoned) return;
        if (batch !== undefined) {
          this.sending = batch;
          await this.options.send(batch);
          if (this.abandoned) return;
          store.settled(batch);
          this.sending = null;
        }
        this.busy = false;
        // A batch whose timer fired meanwhile goes once the ones stored before it are sent.
        if (this.due && store.size === 0) this.flush();
        else this.pump();
        if (this.idle) this.options.onIdle();
      });
      return;
    }
    const batch = this.queue.shift();
    if (batch === undefined) return;
    this.sending = batch;
    void this.options.send(batch).then(() => {
      if (this.abandoned) return;
      this.sending = null;
      this.recycle(batch.columns);
      // A batch whose timer fired meanwhile goes once the full ones queued before it are sent.
      if (this.due && this.queue.length === 0) this.flush();
      else this.pump();
      if (this.idle) this.options.onIdle();
    });
  }

  /** The open batch; the lane starts a new one, on spare columns when it has some. */
  private take(): SampleColumns {
    const batch: SampleColumns = { length: this.length, series: this.series, values: this.values, timestamps: this.timestamps };
    const capacity = Math.min(this.options.maxSamples, Math.max(256, this.length));
    this.length = 0;
    const spare = this.spares.pop();
    if (spare !== undefined && spare.values.length === capacity) {
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
   * Keeps a settled batch's columns for a later batch to fill: a lane then allocates no columns in
   * steady state (fresh 32 KB arrays per request are external memory that hastens full GCs, which
   * are slow with a million series in the heap).
   */
  private recycle(columns: SampleColumns): void {
    (columns.series as SeriesRecord[]).length = 0; // a spare must not keep forgotten series alive
    if (this.spares.length < MAX_SPARES) this.spares.push(columns);
  }

  private grow(): void {
    const capacity = Math.min(this.options.maxSamples, this.values.length * 2);
    const values = new Float64Array(capacity);
    values.set(this.values);
    const timestamps = new Float64Array(capacity);
    timestamps.set(this.timestamps);
    this.values = values;
    this.timestamps = timestamps;
  }
}

/** Samples and distinct series in `[start, end)` of a batch. */
export function countOf(columns: SampleColumns, start: number, end: number): UnsettledSamples {
  const series = new Set<SeriesRecord>();
  for (let i = start; i < end; i++) series.add(columns.series[i]);
  return { samples: end - start, series: series.size };
}
