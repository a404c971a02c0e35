/**
 * One sink subscription's disk spool: opens the `DiskSpool`, gives each lane its `SpooledLane`
 * (lane `i` is the spool folder `i`), queues what an earlier run left unacknowledged in front of
 * each lane, and offers what checkpoints need: each lane's position, a flush that makes every
 * batch cut so far durable, and the release of what the last checkpoint no longer needs.
 *
 * A spool folder of a lane the sink no longer has (fewer shards than the run that wrote it) is
 * replayed on lane `number % shards`, before that lane's own records.
 */
import { resolve } from 'node:path';
import { DiskSpool, type SpoolProgress, type SpoolRecordRef } from '../durable/spool.js';
import type { DropReason } from '../core/model.js';
import type { Logger } from '../core/logger.js';
import type { RemoteWriteMetrics } from './metrics.js';
import type { ResolvedSpoolOptions } from './options.js';
import { SpooledLane } from './spooled-lane.js';

export interface SinkSpoolOptions {
  readonly spool: ResolvedSpoolOptions;
  readonly shards: number;
  readonly metrics: RemoteWriteMetrics;
  /** Must not throw. */
  readonly logger: Logger;
  /** The sink takes part in checkpoints: acknowledged records are kept until `release()`. */
  readonly retain: boolean;
  /** With `retain`: the positions of the checkpoint restored, kept from (records after them are read at start). */
  readonly retainFrom?: Readonly<Record<string, number>>;
  readonly onAppended: (samples: number) => void;
  readonly onLost: (samples: number, series: number, reason: DropReason, message: string) => void;
}

/**
 * Spools of this process still closing, by directory: a new subscription (a resubscribed sink)
 * opens the directory only once the previous one has written its last appends and saved its
 * acknowledgements, so the two never work on the same files at once.
 */
const closingSpools = new Map<string, Promise<void>>();

/**
 * Directories a live subscription of this process has open. A second one at the same time (the
 * sink subscribed twice, two sinks given one directory) would recover the first's files as an
 * earlier run's, send them twice and append with the same sequences: it is refused.
 */
const liveSpools = new Set<string>();

export class SinkSpool {
  readonly lanes: SpooledLane[] = [];
  /** Resolves once the spool is open and replayed records are queued; rejects when it cannot be opened. */
  readonly opened: Promise<DiskSpool>;
  private spool: DiskSpool | undefined;
  private readonly directory: string;
  private failed = false;
  /** Open, with the replayed records queued. */
  isOpen = false;
  private closing: Promise<void> | undefined;
  /** This subscription holds the directory (false: refused, another one has it). */
  private readonly owner: boolean;

  constructor(private readonly options: SinkSpoolOptions) {
    const { spool: config, logger } = options;
    const directory = resolve(config.directory);
    this.directory = directory;
    const previous = closingSpools.get(directory) ?? Promise.resolve();
    this.owner = !liveSpools.has(directory);
    if (this.owner) liveSpools.add(directory);
    const refused = new Error(`rxprom: the spool directory ${directory} is in use by another subscription in this process (the sink subscribed twice, or two sinks with one spool directory); a spool serves one subscription at a time`);
    const opening: Promise<DiskSpool> = !this.owner ? Promise.reject(refused) : previous.then(() =>
      DiskSpool.open({
        directory: config.directory,
        maxBytes: config.maxBytes,
        segmentBytes: config.segmentBytes,
        whenFull: config.whenFull,
        fsync: config.fsync,
        fsyncIntervalMs: config.fsyncIntervalMs,
        retain: options.retain,
        onDrop: (drop) => this.dropped(drop.lane, drop.sequences),
        ...(options.retainFrom ? { retainFrom: options.retainFrom } : {}),
        logger,
      }),
    );
    this.opened = opening.then(
      (spool) => {
        this.spool = spool;
        this.queueReplays(spool);
        this.isOpen = true;
        return spool;
      },
      (error: unknown) => {
        this.failed = true;
        throw error;
      },
    );
    for (let i = 0; i < options.shards; i++) {
      this.lanes.push(
        new SpooledLane({
          name: String(i),
          lane: i,
          spool: this.opened,
          memoryBatches: config.memoryBatches,
          metrics: options.metrics,
          logger,
          onAppended: options.onAppended,
          onLost: options.onLost,
        }),
      );
    }
  }

  /** False once the spool failed to open: what the lanes hold is then not on disk. */
  get usable(): boolean {
    return !this.failed;
  }

  /** Each lane's next sequence: whatever is cut from now on lands at or after it (before the spool is open, the restored positions: a lower bound). */
  positions(): Record<string, number> {
    const positions: Record<string, number> = {};
    for (let i = 0; i < this.options.shards; i++) {
      const name = String(i);
      positions[name] = this.spool?.nextSequence(name) ?? this.options.retainFrom?.[name] ?? 0;
    }
    return positions;
  }

  /**
   * Waits for every batch cut so far to be appended, then fsyncs the spool and saves its
   * acknowledgements. Rejects while a batch whose append failed is unsettled: a checkpoint past its
   * samples would lose them in a crash, since they are in memory only.
   */
  async flush(): Promise<void> {
    const spool = await this.opened;
    await Promise.all(this.lanes.map((lane) => lane.appendedSoFar()));
    let samples = 0;
    let error: string | undefined;
    for (const lane of this.lanes) {
      const missing = lane.notSpooled();
      samples += missing.samples;
      error = missing.error ?? error;
    }
    if (samples > 0) {
      throw new Error(`rxprom: ${samples} samples cut before this checkpoint are not in the spool (append failed: ${error}); they are sent from memory, and a checkpoint can be taken once they are written`);
    }
    await spool.flush();
  }

  /** A checkpoint holding `positions` is durable: acknowledged records before them may go. */
  async release(positions: Readonly<Record<string, number>>): Promise<void> {
    const spool = this.spool;
    if (spool === undefined) return;
    for (const [name, sequence] of Object.entries(positions)) await spool.release(name, sequence);
  }

  stats(): ReturnType<DiskSpool['stats']> | undefined {
    return this.spool?.stats();
  }

  /** Appends still queued are written, acknowledgements saved, files closed. */
  close(): Promise<void> {
    if (this.closing === undefined) {
      if (!this.owner) return (this.closing = this.opened.then(() => undefined, () => undefined));
      liveSpools.delete(this.directory);
      const closing = this.opened.then(
        (spool) => spool.close(),
        () => undefined,
      );
      this.closing = closing;
      const done = closing.catch(() => {}).then(() => {
        if (closingSpools.get(this.directory) === done) closingSpools.delete(this.directory);
      });
      closingSpools.set(this.directory, done);
    }
    return this.closing;
  }

  /** The lane that sends the records of spool lane `name` (see `queueReplays`). */
  private laneFor(name: string): SpooledLane {
    const number = Number.parseInt(name, 10);
    return this.lanes[Number.isFinite(number) ? number % this.options.shards : 0]!;
  }

  private dropped(name: string, sequences: readonly number[]): void {
    if (sequences.length > 0) this.laneFor(name).dropped(name, new Set(sequences));
  }

  private queueReplays(spool: DiskSpool): void {
    const byLane: Array<Array<SpoolRecordRef & { samples: number; progress?: SpoolProgress }>> = this.lanes.map(() => []);
    // Folders of lanes this sink does not have first, then each lane's own.
    const names = spool.laneNames();
    const own = new Set(this.lanes.map((_, i) => String(i)));
    const foreign = names.filter((name) => !own.has(name));
    for (const name of [...foreign, ...names.filter((n) => own.has(n))]) {
      const records = spool.pendingRecords(name);
      if (records.length === 0) continue;
      const number = Number.parseInt(name, 10);
      const lane = Number.isFinite(number) ? number % this.options.shards : 0;
      if (!own.has(name)) this.options.logger.warn({ lane: name, records: records.length }, `spool lane ${name} is from a sink with more shards; its records are replayed on lane ${lane}`);
      for (const record of records) byLane[lane]!.push({ lane: name, ...record });
    }
    for (let i = 0; i < this.lanes.length; i++) if (byLane[i]!.length > 0) this.lanes[i]!.addReplayed(byLane[i]!);
  }
}
