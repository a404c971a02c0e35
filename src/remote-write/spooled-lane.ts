/**
 * A lane's batches kept in the disk spool (the lane's `BatchStore`): every finished batch is
 * appended to the lane's spool segment before it may be sent, and acknowledged in the spool once
 * it has its final outcome (written, refused or dropped: all settled). Only the oldest
 * `memoryBatches` batches stay in memory; the others keep just their place in the spool and are
 * read back (and decoded, so a refused one can still be halved) when their turn comes. However
 * long the receiver is away, the lane's memory is that window and a number per batch.
 *
 * Records left unacknowledged by an earlier run are put first (`addReplayed`), in spool order, so
 * they are sent before anything new of the lane; they are counted apart (`metrics.replayed`).
 *
 * A batch refused and halved settles piece by piece: before each piece is sent, the spool saves
 * the record's progress (what is settled, which piece is in flight), and when the lane is
 * abandoned, what is settled by then. A restart sends only the unsettled samples of such a
 * record, the piece that was in flight alone first (see `LaneBatch.mayBeStoredThrough`).
 */
import { decodeBody } from '../protocol/decoder.js';
import type { EncodedRequest, SampleColumns } from '../protocol/encoder.js';
import type { DropReason } from '../core/model.js';
import type { Logger } from '../core/logger.js';
import type { DiskSpool, SpoolProgress, SpoolRecordRef } from '../durable/spool.js';
import type { BatchStore, LaneBatch, UnsettledSamples } from './lane.js';
import type { RemoteWriteMetrics } from './metrics.js';
import { SeriesRecord } from './series-interner.js';

export interface SpooledLaneOptions {
  /** The lane's name in the spool. */
  readonly name: string;
  /** The lane number its series belong to (read-back records are bound to it). */
  readonly lane: number;
  /** The open spool; appends and reads wait for it. */
  readonly spool: Promise<DiskSpool>;
  /** Batches kept in memory, the oldest ones; the rest are only on disk. At least 1. */
  readonly memoryBatches: number;
  readonly metrics: RemoteWriteMetrics;
  /** Must not throw. */
  readonly logger: Logger;
  /** This run's samples are in the spool now (they no longer count as held in memory). */
  readonly onAppended: (samples: number) => void;
  /** This run's samples are gone from the spool before they could be sent (e.g. `'drop-oldest'`); the sink accounts for them. */
  readonly onLost: (samples: number, series: number, reason: DropReason, message: string) => void;
}

interface Entry {
  /** In memory: the batch; on disk only: undefined until read back. */
  batch: LaneBatch | undefined;
  readonly samples: number;
  readonly series: number;
  readonly replayed: boolean;
  ref: SpoolRecordRef | undefined;
  /** Settles once the append is done (or failed: the batch then stays in memory). */
  appended: Promise<void>;
  isAppended: boolean;
  reading: Promise<LaneBatch | undefined> | undefined;
  /** Samples counted as `'spooled'` when the lane was abandoned (moved to another reason if they do not reach the disk). */
  leftSpooled: number;
  /** Counted as `'spooled'` at the end, then found not to stay in the spool: the reason it moved to. */
  lostAs?: { readonly reason: DropReason; readonly message: string };
  /** Its append failed: it lives in memory only until it is settled. */
  appendFailed?: string;
  /** Samples settled before this run (an earlier run's progress); `batch.settled` once read back. */
  readonly settledBefore: number;
  /** The last piece told to the spool: `[settled, sending)` in flight (for a replayed record, as the earlier run left it). */
  piece: SpoolProgress | undefined;
}

/** Largest decompressed body read back: the same bound as the embedded receiver's default. */
const MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

export class SpooledLane implements BatchStore {
  private readonly entries: Entry[] = [];
  /** The last append issued: a checkpoint's flush awaits it. */
  private lastAppend: Promise<void> = Promise.resolve();
  private abandoned = false;
  /** Entries counted as `'spooled'` at `abandon()`, until their records are safe (or turn out lost). */
  private left: Entry[] = [];
  private spool: DiskSpool | undefined;
  /** The spool could not be opened: nothing of this run is on disk. */
  private unopened = false;

  /** `options.spool` resolves only once the replayed records (if any) are queued here, first. */
  constructor(private readonly options: SpooledLaneOptions) {
    // Registered before the sink's own handlers: a failed open is known here when the sink abandons the lanes.
    options.spool.then(
      (spool) => (this.spool = spool),
      () => (this.unopened = true),
    );
  }

  get size(): number {
    return this.entries.length;
  }

  /** Batches held in memory now (the window, batches waiting for their append, one read back). */
  get inMemory(): number {
    let count = 0;
    for (const entry of this.entries) if (entry.batch !== undefined || entry.reading !== undefined) count++;
    return count;
  }

  /** Records an earlier run left unacknowledged: sent first, in order (those it left sent in part, from their first unsettled sample). */
  addReplayed(records: ReadonlyArray<{ readonly lane: string; readonly sequence: number; readonly samples: number; readonly progress?: SpoolProgress }>): void {
    const entries: Entry[] = records.map((record) => ({
      batch: undefined,
      samples: record.samples,
      series: 0,
      replayed: true,
      ref: { lane: record.lane, sequence: record.sequence },
      appended: Promise.resolve(),
      isAppended: true,
      reading: undefined,
      leftSpooled: 0,
      settledBefore: record.progress?.settled ?? 0,
      piece: record.progress,
    }));
    let samples = 0;
    for (const entry of entries) samples += unsettledSamples(entry);
    this.options.metrics.replayQueued(samples);
    this.entries.unshift(...entries);
  }

  add(batch: LaneBatch): void {
    // A restart decodes the record: a halving counts its pieces in the body's order (see `LaneBatch`).
    batch.inBodyOrder = () => decodeBatch(batch.request.body, this.options.lane, false).columns;
    const entry: Entry = {
      batch,
      samples: batch.columns.length,
      series: batch.request.series,
      replayed: batch.replayed === true,
      ref: undefined,
      appended: Promise.resolve(),
      isAppended: false,
      reading: undefined,
      leftSpooled: 0,
      settledBefore: 0,
      piece: undefined,
    };
    this.entries.push(entry);
    const { name, logger } = this.options;
    entry.appended = this.options.spool
      .then((spool) => spool.append(name, batch.request.body, entry.samples))
      .then(
        (ref) => {
          entry.ref = ref;
          // Beyond the window, the batch lives on disk only.
          if (this.entries.lastIndexOf(entry) >= this.options.memoryBatches && entry.reading === undefined) entry.batch = undefined;
        },
        (error: unknown) => {
          // Kept in memory and still sent: durability is lost for it, not the samples.
          entry.appendFailed = describe(error);
          if (!this.abandoned) logger.error({ lane: name, samples: entry.samples, error: describe(error) }, 'spool append failed; the batch is sent from memory');
          else this.reclassify(entry, 'aborted', `spool append failed after the pipeline ended: ${describe(error)}`);
        },
      )
      .then(() => {
        entry.isAppended = true;
        if (!entry.replayed) this.options.onAppended(entry.samples);
      });
    this.lastAppend = entry.appended;
  }

  /** Resolves once every batch added so far is appended (or its append failed). */
  appendedSoFar(): Promise<void> {
    return this.lastAppend;
  }

  /** Samples of batches whose append failed and that are not settled yet (in memory only), with the last failure. */
  notSpooled(): { samples: number; error: string | undefined } {
    let samples = 0;
    let error: string | undefined;
    for (const entry of this.entries) {
      if (entry.appendFailed === undefined) continue;
      samples += entry.samples - (entry.batch?.settled ?? 0);
      error = entry.appendFailed;
    }
    return { samples, error };
  }

  async next(): Promise<LaneBatch | undefined> {
    await this.options.spool.catch(() => {});
    const head = this.entries[0];
    if (head === undefined) return undefined;
    await head.appended;
    if (head.batch === undefined) {
      head.reading ??= this.readBack(head);
      const batch = await head.reading;
      if (batch === undefined) {
        // Gone from the spool (dropped as oldest, or damaged): accounted for by readBack.
        if (this.entries[0] === head) this.entries.shift();
        return undefined;
      }
      head.batch = batch;
    }
    head.batch.beforePiece ??= (start, end) => this.pieceGoes(head, start, end);
    // Read the next one from disk while this one is sent.
    const following = this.entries[1];
    if (following !== undefined && following.batch === undefined && following.isAppended) following.reading ??= this.readBack(following);
    return head.batch;
  }

  /**
   * The spool dropped these records of spool lane `lane` (`'drop-oldest'`). A batch still in
   * memory is sent anyway; one that lived only on disk is gone, and accounted for now.
   */
  dropped(lane: string, sequences: ReadonlySet<number>): void {
    for (const entry of this.left) {
      if (entry.ref !== undefined && entry.ref.lane === lane && sequences.has(entry.ref.sequence)) this.reclassify(entry, 'overflow', "dropped from the spool after the pipeline ended (whenFull: 'drop-oldest')");
    }
    for (let i = 0; i < this.entries.length; i++) {
      const entry = this.entries[i]!;
      const ref = entry.ref;
      if (ref === undefined || ref.lane !== lane || !sequences.has(ref.sequence)) continue;
      if (entry.batch !== undefined || entry.reading !== undefined) {
        // Sent from memory; no longer on disk, so no longer safe from a restart.
        entry.ref = undefined;
        continue;
      }
      this.entries.splice(i--, 1);
      const samples = unsettledSamples(entry);
      const message = `${samples} spooled samples dropped: the spool was full (whenFull: 'drop-oldest')`;
      if (entry.replayed) this.options.metrics.replayDropped('overflow', samples);
      else this.options.onLost(samples, entry.series, 'overflow', message);
    }
  }

  settled(batch: LaneBatch): void {
    const head = this.entries[0];
    if (head === undefined || head.batch !== batch) return;
    this.entries.shift();
    this.acknowledge(head.ref);
  }

  /** Saves the record's progress before a piece of it is sent; a failure costs the record its exact resumption, not its samples. */
  private async pieceGoes(entry: Entry, start: number, end: number): Promise<void> {
    entry.piece = { settled: start, sending: end };
    const ref = entry.ref;
    const spool = this.spool;
    if (ref === undefined || spool === undefined) return;
    try {
      await spool.progress(ref, start, end);
    } catch (error) {
      this.options.logger.error({ lane: ref.lane, sequence: ref.sequence, start, end, error: describe(error) }, 'spool progress could not be saved; after a crash the record may be resumed from an earlier piece');
    }
  }

  /** At the end: what of a record sent in part is settled, and the piece still in flight, for the next start. */
  private saveProgress(entry: Entry): void {
    const ref = entry.ref;
    const spool = this.spool;
    const settled = entry.batch?.settled ?? entry.settledBefore;
    if (ref === undefined || spool === undefined || (settled === 0 && entry.piece === undefined)) return;
    // Sent without marks (see `LaneBatch.inBodyOrder`): its settled count is not in the order a restart reads.
    if (entry.batch !== undefined && entry.batch.beforePiece === undefined && settled > entry.settledBefore) return;
    // The piece told last is in flight when it starts where the settled samples end; else none is.
    const sending = entry.piece !== undefined && entry.piece.settled === settled ? Math.max(entry.piece.sending, settled) : settled;
    spool.progress(ref, settled, sending).catch((error: unknown) => {
      this.options.logger.warn({ lane: ref.lane, sequence: ref.sequence, settled, error: describe(error) }, 'spool progress could not be saved; the next start may send settled samples of this record again');
    });
  }

  private acknowledge(ref: SpoolRecordRef | undefined): void {
    if (ref === undefined) return;
    void this.options.spool.then((spool) => spool.ack(ref)).catch((error: unknown) => {
      this.options.logger.warn({ lane: ref.lane, sequence: ref.sequence, error: describe(error) }, 'spool acknowledgement failed; the record may be sent again after a restart');
    });
  }

  abandon(): UnsettledSamples[] {
    this.abandoned = true;
    const unsettled: UnsettledSamples[] = [];
    // Appends still waiting for space are rejected when the spool closes: those samples are not on disk.
    const blocked = (this.spool?.waitingForSpace ?? 0) > 0;
    for (const entry of this.entries.splice(0)) {
      const left = unsettledSamples(entry);
      if (left <= 0) {
        // Settled (its last outcome came just before the end), but its lane had not told the
        // spool yet: acknowledged now (the spool's close saves it), or the next start sends it again.
        this.acknowledge(entry.ref);
        continue;
      }
      // On disk (or about to be): the next start sends them. Not on disk (a failed append, dropped from the spool): lost.
      const spooled = !this.unopened && (entry.ref !== undefined || (!entry.isAppended && !blocked));
      if (spooled) {
        entry.leftSpooled = left;
        this.left.push(entry);
        this.saveProgress(entry);
      }
      if (entry.replayed) {
        this.options.metrics.replayDropped(spooled ? 'spooled' : 'aborted', left);
        continue;
      }
      unsettled.push({ samples: left, series: entry.series, spooled, ...(spooled ? { lostAs: () => entry.lostAs, ...(entry.isAppended ? {} : { appending: entry.appended }) } : {}) });
    }
    return unsettled;
  }

  /** Samples counted as `'spooled'` at the end that did not stay on disk after all. */
  private reclassify(entry: Entry, reason: DropReason, message: string): void {
    const samples = entry.leftSpooled;
    if (samples <= 0) return;
    entry.leftSpooled = 0;
    entry.lostAs = { reason, message };
    if (entry.replayed) this.options.metrics.replayReclassified('spooled', reason, samples);
    else this.options.metrics.samplesReclassified('spooled', reason, samples);
    this.options.logger.warn({ lane: this.options.name, samples, reason }, `${samples} samples counted as spooled were lost: ${message}`);
  }

  /** Reads a record back and rebuilds its batch; undefined (and accounted for) when it is gone. */
  private async readBack(entry: Entry): Promise<LaneBatch | undefined> {
    const ref = entry.ref;
    let problem = 'it was dropped from the spool (full, drop-oldest)';
    let reason: DropReason = 'overflow';
    if (ref !== undefined) {
      try {
        const spool = await this.options.spool;
        const record = await spool.readOrWhyNot(ref);
        if (typeof record !== 'string') return decodeBatch(record.body, this.options.lane, entry.replayed, entry.piece);
        if (record === 'damaged') {
          problem = 'it was found damaged on disk when read back (the spool logged the file and offset)';
          reason = 'aborted';
        }
      } catch (error) {
        problem = `it could not be read back: ${describe(error)}`;
        reason = 'aborted';
      }
    }
    if (this.abandoned) return undefined;
    const samples = unsettledSamples(entry);
    const message = `${samples} spooled samples lost: ${problem}`;
    this.options.logger.warn({ lane: this.options.name, sequence: ref?.sequence, samples, replayed: entry.replayed }, message);
    if (entry.replayed) this.options.metrics.replayDropped(reason, samples);
    else this.options.onLost(samples, entry.series, reason, message);
    return undefined;
  }
}

/** Samples of an entry without an outcome (an earlier run's settled ones excluded). */
function unsettledSamples(entry: Entry): number {
  return entry.samples - (entry.batch?.settled ?? entry.settledBefore);
}

/**
 * A spooled request body back as a lane batch: the body is sent as is; the columns serve a
 * halving. With `progress` (an earlier run sent it in part) it resumes there.
 */
export function decodeBatch(body: Uint8Array, lane: number, replayed: boolean, progress?: SpoolProgress): LaneBatch {
  const wire = decodeBody(body, MAX_DECOMPRESSED_BYTES);
  const series: SeriesRecord[] = new Array<SeriesRecord>(wire.samples);
  for (const item of wire.series) {
    if (item.rawKey === undefined) throw new Error('a series with scattered labels (not written by rxprom)');
    // Detached records: they only carry the label bytes to re-encode a piece of the batch.
    const record = new SeriesRecord(item.rawKey, 0, 0);
    for (let i = item.start; i < item.start + item.count; i++) series[i] = record;
  }
  const columns: SampleColumns = { length: wire.samples, series, values: wire.values.subarray(0, wire.samples), timestamps: wire.timestamps.subarray(0, wire.samples) };
  const request: EncodedRequest = { body, rawBytes: wire.raw.length, samples: wire.samples, series: wire.series.length };
  // Marks that do not fit the body are not trusted (the spool checks them against the frame too): sent whole.
  const resumes = progress !== undefined && progress.settled <= progress.sending && progress.sending <= wire.samples;
  const settled = resumes ? progress.settled : 0;
  const through = resumes && progress.sending > progress.settled ? { mayBeStoredThrough: progress.sending } : {};
  return { columns, request, settled, ...(replayed ? { replayed } : {}), ...through };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
