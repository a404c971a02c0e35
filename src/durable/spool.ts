/**
 * A disk spool: encoded request bodies kept on disk from before they are sent until the receiver
 * has them, so a restart or a long outage loses nothing that was appended (the role of
 * Prometheus' write-ahead log in agent mode and of Vector's disk buffer).
 *
 * Layout: one folder per lane, append-only segment files named after the sequence number of
 * their first record (`<lane>/<sequence, 16 digits>.seg`), and a small `acked` file per lane
 * holding the sequence below which everything is acknowledged, the acknowledged ones above it and
 * the lane's next sequence (saved every `fsyncIntervalMs` and on close, so a crash replays at most
 * the acknowledgements of the last interval: delivery is at least once; checksummed, and a damaged
 * one is counted and makes the lane replay everything). The same file holds the progress marks of
 * records sent in pieces (`progress()`): a restart resumes such a record where its marks say. A
 * record on disk is a frame:
 *
 *   body length (u32 LE) | CRC-32 of the rest of the frame (u32 LE) | sequence (u64 LE)
 *   | sample count (u32 LE) | body
 *
 * Sequences are per lane, consecutive, and replay returns unacknowledged records in append
 * order. On open, every segment is checked frame by frame: a torn tail (a frame cut short by a
 * crash) and a corrupted frame are reported with the file and offset, the segment is cut there,
 * and the records from that point to the end of the segment are counted as lost, never returned.
 * A segment is deleted once every record in it is acknowledged (the one being appended to at the
 * next flush, or when space is needed, so that a lane that keeps up does not create a file per
 * record). When the byte budget is reached,
 * `'block'` makes `append()` wait until acknowledgements free space (the caller's await is the
 * backpressure), `'drop-oldest'` deletes the oldest segments and counts what they held.
 */
import { mkdir, open, readdir, readFile, rm, truncate, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { enumOption, functionOption, loggerOption, numberOption } from '../core/options.js';
import { crc32 } from './crc32.js';
import { fsyncDirectory, isTempFile, writeFileAtomic } from './durable-file.js';

export type SpoolFullPolicy = 'block' | 'drop-oldest';
/** When written records are fsynced: on every append, every `fsyncIntervalMs`, or never (the OS decides). */
export type SpoolFsyncPolicy = 'always' | 'interval' | 'never';

export interface DiskSpoolOptions {
  /** The spool's directory (created when missing); one folder per lane inside. */
  directory: string;
  /** Byte budget of all segment files together; default 256 MiB. At least `segmentBytes`. */
  maxBytes?: number;
  /** A segment is closed and a new one started once the next record would take it past this; default 16 MiB, at least 64. */
  segmentBytes?: number;
  /** What `append()` does when the budget is reached; default `'block'`. */
  whenFull?: SpoolFullPolicy;
  /** Default `'interval'`. */
  fsync?: SpoolFsyncPolicy;
  /** Fsync period for `'interval'`, and how often the acknowledgement marks are saved; default 500 ms. */
  fsyncIntervalMs?: number;
  /** Told about each torn tail or corrupted segment found on open or replay. A throw rejects the call that found it. */
  onProblem?: (problem: SpoolProblem) => void;
  /** Told about each segment `'drop-oldest'` deletes. A throw rejects that `append()`. */
  onDrop?: (drop: SpoolDrop) => void;
  /**
   * Keep acknowledged records on disk until `release()` says they are no longer needed (a sink
   * whose checkpoints refer to spool positions reads back what was appended after the last
   * checkpoint). Per lane, records from `retainFrom[lane]` on are kept (default for a lane not
   * named: everything appended from this open on). Default false: a segment goes as soon as every
   * record in it is acknowledged. When `'block'` needs space, retained acknowledged segments are
   * let go first (logged) rather than blocking on them.
   */
  retain?: boolean;
  retainFrom?: Readonly<Record<string, number>>;
  logger?: Logger;
}

/** A record written to the spool. */
export interface SpoolRecordRef {
  readonly lane: string;
  readonly sequence: number;
}

/**
 * How far a record sent in pieces got: samples `[0, settled)` have their outcome, `[settled,
 * sending)` may be at the receiver (sent as one request, answer unknown), and `[sending, end)` was
 * never sent. `settled <= sending`.
 */
export interface SpoolProgress {
  readonly settled: number;
  readonly sending: number;
}

/** An unacknowledged record as `pendingRecords` lists it; `progress` when it was left sent in part. */
export interface PendingSpoolRecord {
  readonly sequence: number;
  readonly samples: number;
  readonly progress?: SpoolProgress;
}

export interface SpoolRecord extends SpoolRecordRef {
  /** Samples in the body, as given to `append()`. */
  readonly samples: number;
  /** A Node `Buffer` at run time. */
  readonly body: Uint8Array;
}

/** Damage found in a segment; everything from `offset` to the end of the segment is lost. */
export interface SpoolProblem {
  readonly kind: 'torn-tail' | 'corrupt';
  readonly lane: string;
  readonly file: string;
  readonly offset: number;
  readonly reason: string;
  /** Records lost from `offset` on (including the damaged one). */
  readonly lostRecords: number;
  /** True when `lostRecords` is exact (a later segment says where the sequence resumes); otherwise a lower bound. */
  readonly lostRecordsExact: boolean;
  readonly lostBytes: number;
}

/** Unacknowledged records deleted by `'drop-oldest'`. */
export interface SpoolDrop {
  readonly lane: string;
  readonly file: string;
  readonly records: number;
  readonly samples: number;
  readonly bytes: number;
  /** The unacknowledged records dropped, by sequence. */
  readonly sequences: readonly number[];
}

export interface SpoolStats {
  usedBytes: number;
  maxBytes: number;
  segments: number;
  pendingRecords: number;
  appendedRecords: number;
  appendedBytes: number;
  acknowledgedRecords: number;
  deletedSegments: number;
  /** Appends that had to wait for space (`'block'`). */
  blockedAppends: number;
  droppedRecords: number;
  droppedSamples: number;
  droppedBytes: number;
  tornTails: number;
  corruptSegments: number;
  lostRecords: number;
  lostBytes: number;
  fsyncs: number;
  fsyncErrors: number;
  /** Acknowledgement files found damaged on open: every record of their lanes is replayed (at least once), none is taken for acknowledged. */
  damagedAckFiles: number;
}

/** An append that cannot succeed (a record larger than the budget, a closed spool). */
export class SpoolError extends Error {
  override readonly name = 'SpoolError';
}

const FRAME_HEADER_BYTES = 20;
const SEGMENT_PATTERN = /^(\d{16})\.seg$/;
const LANE_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$/;
const ACKED_FILE = 'acked';

interface Segment {
  readonly lane: Lane;
  readonly firstSequence: number;
  readonly file: string;
  /** Order of creation across all lanes, for drop-oldest. */
  readonly order: number;
  bytes: number;
  /** Records written to it (acknowledged or not). */
  records: number;
  /** Unacknowledged records in it: sequence -> samples (insertion order is sequence order). */
  readonly pending: Map<number, number>;
  /** Byte offset of each record's frame, by `sequence - firstSequence`. */
  readonly offsets: number[];
  handle: FileHandle | undefined;
  dirty: boolean;
  deleted: boolean;
}

interface Lane {
  readonly name: string;
  readonly directory: string;
  /** Oldest first. */
  segments: Segment[];
  active: Segment | undefined;
  nextSequence: number;
  /** An append is writing to `active`. */
  writing: boolean;
  /** The acknowledgement file's content as last saved. */
  savedAcks: string;
  /** Everything below is acknowledged, as read on open. */
  ackedBelow: number;
  /** Progress marks of unacknowledged records sent in pieces, by sequence. */
  readonly progress: Map<number, SpoolProgress>;
  /** Acknowledged records from this sequence on are kept (see `retain`); Infinity keeps none. */
  retainFrom: number;
  directoryDirty: boolean;
}

export class DiskSpool {
  readonly directory: string;
  private readonly maxBytes: number;
  private readonly segmentBytes: number;
  private readonly whenFull: SpoolFullPolicy;
  private readonly fsyncPolicy: SpoolFsyncPolicy;
  private readonly fsyncIntervalMs: number;
  private readonly onProblem: ((problem: SpoolProblem) => void) | undefined;
  private readonly onDrop: ((drop: SpoolDrop) => void) | undefined;
  private readonly logger: Logger;
  private readonly retain: boolean;
  private readonly retainFrom: Readonly<Record<string, number>>;
  private readonly lanes = new Map<string, Lane>();
  private readonly counters: Omit<SpoolStats, 'usedBytes' | 'maxBytes' | 'segments' | 'pendingRecords'> = {
    appendedRecords: 0,
    appendedBytes: 0,
    acknowledgedRecords: 0,
    deletedSegments: 0,
    blockedAppends: 0,
    droppedRecords: 0,
    droppedSamples: 0,
    droppedBytes: 0,
    tornTails: 0,
    corruptSegments: 0,
    lostRecords: 0,
    lostBytes: 0,
    fsyncs: 0,
    fsyncErrors: 0,
    damagedAckFiles: 0,
  };
  private usedBytes = 0;
  private segmentOrder = 0;
  /** Appends run one after another. */
  private appendQueue: Promise<unknown> = Promise.resolve();
  private flushChain: Promise<void> = Promise.resolve();
  private spaceWaiters: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  /**
   * Opens (creating or recovering) the spool in `options.directory`. Options are checked at once
   * (a `ConfigError` is thrown, not returned); the promise resolves once every segment has been
   * checked and damage reported.
   */
  static open(options: DiskSpoolOptions): Promise<DiskSpool> {
    const spool = new DiskSpool(options);
    return spool.recover().then(() => spool);
  }

  private constructor(options: DiskSpoolOptions) {
    if (options === null || typeof options !== 'object') throw new ConfigError('options', 'an object', options);
    if (typeof options.directory !== 'string' || options.directory.length === 0) throw new ConfigError('directory', 'a non-empty string', options.directory);
    this.directory = options.directory;
    this.segmentBytes = numberOption('segmentBytes', options.segmentBytes, 16 * 1024 * 1024, { min: 64 });
    this.maxBytes = numberOption('maxBytes', options.maxBytes, Math.max(256 * 1024 * 1024, this.segmentBytes), { min: this.segmentBytes });
    this.whenFull = enumOption('whenFull', options.whenFull, ['block', 'drop-oldest'], 'block');
    this.fsyncPolicy = enumOption('fsync', options.fsync, ['always', 'interval', 'never'], 'interval');
    this.fsyncIntervalMs = numberOption('fsyncIntervalMs', options.fsyncIntervalMs, 500, { min: 1, max: 3_600_000 });
    this.onProblem = functionOption<(problem: SpoolProblem) => void>('onProblem', options.onProblem, false);
    this.onDrop = functionOption<(drop: SpoolDrop) => void>('onDrop', options.onDrop, false);
    this.logger = loggerOption(options.logger, silentLogger);
    if (options.retain !== undefined && typeof options.retain !== 'boolean') throw new ConfigError('retain', 'a boolean', options.retain);
    this.retain = options.retain === true;
    this.retainFrom = checkRetainFrom(options.retainFrom);
  }

  /**
   * Appends a body to a lane. Resolves once it is written (and fsynced with `fsync: 'always'`);
   * with `'block'` and a full spool it first waits until acknowledgements free enough space.
   * Appends are written in call order. The body is not copied: leave it unchanged until the
   * promise settles (a caller that reuses its encode buffer awaits the append first).
   */
  append(lane: string, body: Uint8Array, samples = 0): Promise<SpoolRecordRef> {
    if (typeof lane !== 'string' || !LANE_PATTERN.test(lane)) return Promise.reject(new SpoolError(`rxprom: spool lane name must match ${LANE_PATTERN} (got ${JSON.stringify(lane)})`));
    if (!Number.isInteger(samples) || samples < 0 || samples > 0xffffffff) return Promise.reject(new SpoolError(`rxprom: spool sample count must be an integer in [0, 4294967295] (got ${samples})`));
    if (this.closed) return Promise.reject(new SpoolError('rxprom: the spool is closed'));
    const frameBytes = FRAME_HEADER_BYTES + body.byteLength;
    if (frameBytes > this.maxBytes) {
      return Promise.reject(new SpoolError(`rxprom: a ${body.byteLength}-byte record cannot fit in the spool's ${this.maxBytes}-byte budget (option "maxBytes")`));
    }
    const run = this.appendQueue.then(() => this.write(lane, body, samples, frameBytes));
    this.appendQueue = run.catch(() => {});
    return run;
  }

  /**
   * Acknowledges a record: the receiver has it. A segment whose records are all acknowledged is
   * deleted. Acknowledging a record twice, or one dropped by `'drop-oldest'`, does nothing.
   */
  async ack(record: SpoolRecordRef): Promise<void> {
    const lane = this.lanes.get(record.lane);
    if (!lane) return;
    const segment = findSegment(lane, record.sequence);
    if (!segment || !segment.pending.delete(record.sequence)) return;
    lane.progress.delete(record.sequence);
    this.counters.acknowledgedRecords++;
    if (segment.pending.size > 0) return;
    if (retained(segment)) {
      // Kept for the last checkpoint, but an append waiting for space ('block') may let it go now.
      for (const wake of this.spaceWaiters.splice(0)) wake();
      return;
    }
    if (segment === lane.active) {
      // Appends go on in it: a lane that keeps up would otherwise create and delete a file per
      // batch. It goes at the next flush if still all acknowledged, or now if an append waits for space.
      if (lane.writing || this.spaceWaiters.length === 0) return;
      lane.active = undefined;
    }
    await this.deleteSegment(segment);
  }

  /**
   * With `retain`: acknowledged records of `laneName` below `sequence` are no longer needed;
   * segments holding nothing else are deleted.
   */
  async release(laneName: string, sequence: number): Promise<void> {
    const lane = this.lanes.get(laneName);
    if (!lane || !(sequence > lane.retainFrom)) return;
    lane.retainFrom = sequence;
    for (const segment of [...lane.segments]) {
      if (segment.pending.size > 0 || retained(segment) || (segment === lane.active && lane.writing)) continue;
      await this.deleteSegment(segment);
    }
  }

  /**
   * Marks how far an unacknowledged record sent in pieces got (see `SpoolProgress`), so that a
   * restart sends only what has no outcome and knows which piece may already be stored. Resolves
   * once the marks are saved (fsynced unless `fsync: 'never'`): a caller about to send a piece
   * awaits it first, or a crash could leave the receiver holding a piece the marks do not name.
   * The new marks replace the record's earlier ones (a refused piece is halved: the piece in
   * flight shrinks); a record acknowledged, dropped or unknown is left alone.
   */
  progress(record: SpoolRecordRef, settled: number, sending: number): Promise<void> {
    const lane = this.lanes.get(record.lane);
    const segment = lane && findSegment(lane, record.sequence);
    const samples = segment?.pending.get(record.sequence);
    if (lane === undefined || samples === undefined) return Promise.resolve();
    if (!Number.isInteger(settled) || !Number.isInteger(sending) || settled < 0 || sending < settled || sending > samples) {
      return Promise.reject(new SpoolError(`rxprom: spool progress must satisfy 0 <= settled <= sending <= ${samples} (got ${settled}, ${sending})`));
    }
    const known = lane.progress.get(record.sequence);
    if (known !== undefined && known.settled === settled && known.sending === sending) return this.flushChain;
    lane.progress.set(record.sequence, { settled, sending });
    if (this.closed) return Promise.resolve();
    // After any flush under way (they write the same temp file), then saved with the policy's sync.
    const run = this.flushChain.then(() => this.saveAcks(lane, this.fsyncPolicy !== 'never'));
    this.flushChain = run.catch(() => {});
    return run;
  }

  /** The sequence the lane's next record gets (0 for a lane never written). */
  nextSequence(laneName: string): number {
    return this.lanes.get(laneName)?.nextSequence ?? 0;
  }

  /** The lane's unacknowledged records, oldest first (without their bodies: see `read`), with the progress of those sent in part. */
  pendingRecords(laneName: string): PendingSpoolRecord[] {
    const lane = this.lanes.get(laneName);
    const records: PendingSpoolRecord[] = [];
    if (!lane) return records;
    for (const segment of lane.segments) {
      for (const [sequence, samples] of segment.pending) {
        const progress = lane.progress.get(sequence);
        records.push(progress === undefined ? { sequence, samples } : { sequence, samples, progress });
      }
    }
    return records;
  }

  /**
   * Reads one unacknowledged record back from disk (its checksum checked again); undefined when
   * it is acknowledged, dropped or damaged (damage is reported as in `replay`).
   */
  async read(record: SpoolRecordRef): Promise<SpoolRecord | undefined> {
    const read = await this.readOrWhyNot(record);
    return typeof read === 'string' ? undefined : read;
  }

  /**
   * As `read`, but a record that is not there says why: `'gone'` (acknowledged, dropped as
   * oldest, or never spooled) or `'damaged'` (found unreadable by this read, reported to
   * `onProblem` and counted lost). A reader that must tell a drop from damage asks this, per record.
   */
  async readOrWhyNot(record: SpoolRecordRef): Promise<SpoolRecord | 'gone' | 'damaged'> {
    const lane = this.lanes.get(record.lane);
    if (!lane) return 'gone';
    const segment = findSegment(lane, record.sequence);
    if (!segment || segment.deleted || !segment.pending.has(record.sequence)) return 'gone';
    const offset = segment.offsets[record.sequence - segment.firstSequence];
    if (offset === undefined) return 'gone';
    let frame: Buffer;
    try {
      frame = await readFrameAt(segment.file, offset, segment.bytes - offset);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
      throw error;
    }
    const scan = scanFrames(frame, record.sequence);
    const first = scan.frames[0];
    if (first === undefined || !segment.pending.has(record.sequence)) {
      if (!segment.pending.delete(record.sequence)) return 'gone';
      this.report({ kind: 'corrupt', lane: lane.name, file: segment.file, offset, reason: scan.damage?.reason ?? 'record unreadable', lostRecords: 1, lostRecordsExact: true, lostBytes: frame.length });
      return 'damaged';
    }
    return { lane: lane.name, sequence: record.sequence, samples: first.samples, body: frame.subarray(first.bodyStart, first.bodyEnd) };
  }

  /**
   * Every record still on disk from `fromSequence` on, acknowledged or not (those kept by
   * `retain`), oldest first: what a restarted sink reads to learn what it had already spooled.
   */
  async *records(laneName: string, fromSequence: number): AsyncGenerator<SpoolRecord> {
    const lane = this.lanes.get(laneName);
    if (!lane) return;
    for (const segment of [...lane.segments]) {
      if (segment.deleted || segment.firstSequence + segment.records <= fromSequence) continue;
      let bytes: Buffer;
      try {
        bytes = await readPrefix(segment.file, segment.bytes);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      const scan = scanFrames(bytes, segment.firstSequence);
      for (const frame of scan.frames) {
        // Without retain, an acknowledged record is gone even while its segment is still being appended to.
        if (!this.retain && !segment.pending.has(frame.sequence)) continue;
        if (frame.sequence >= fromSequence) yield { lane: laneName, sequence: frame.sequence, samples: frame.samples, body: bytes.subarray(frame.bodyStart, frame.bodyEnd) };
      }
    }
  }

  /**
   * The lane's unacknowledged records in append order, read back from disk (each frame's
   * checksum checked again). Meant for the start, before new appends: records appended while
   * iterating may or may not be included; records acknowledged meanwhile are skipped.
   */
  async *replay(laneName: string): AsyncGenerator<SpoolRecord> {
    const lane = this.lanes.get(laneName);
    if (!lane) return;
    let after = -1;
    for (;;) {
      const segment = lane.segments.find((s) => s.firstSequence > after && !s.deleted && s.pending.size > 0);
      if (!segment) return;
      const end = segment.bytes;
      let bytes: Buffer;
      try {
        bytes = await readPrefix(segment.file, end);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          after = segment.firstSequence;
          continue; // acknowledged or dropped while we were here
        }
        throw error;
      }
      const scan = scanFrames(bytes, segment.firstSequence);
      for (const frame of scan.frames) {
        if (segment.pending.has(frame.sequence)) {
          yield { lane: laneName, sequence: frame.sequence, samples: frame.samples, body: bytes.subarray(frame.bodyStart, frame.bodyEnd) };
        }
      }
      if (scan.damage) {
        // The file changed under us since open: report, stop trusting the rest of this segment.
        const lost = [...segment.pending.keys()].filter((sequence) => sequence >= scan.nextSequence);
        for (const sequence of lost) segment.pending.delete(sequence);
        this.report({ kind: 'corrupt', lane: laneName, file: segment.file, offset: scan.goodBytes, reason: scan.damage.reason, lostRecords: lost.length, lostRecordsExact: true, lostBytes: end - scan.goodBytes });
      }
      after = segment.firstSequence;
    }
  }

  /** Appends waiting for space now (`'block'` with a full spool); closing the spool rejects them. */
  get waitingForSpace(): number {
    return this.spaceWaiters.length;
  }

  /** Lanes with a folder in the spool. */
  laneNames(): string[] {
    return [...this.lanes.keys()].sort();
  }

  /** Unacknowledged records of a lane, or of all lanes. */
  pending(laneName?: string): number {
    let count = 0;
    for (const lane of this.lanes.values()) {
      if (laneName !== undefined && lane.name !== laneName) continue;
      for (const segment of lane.segments) count += segment.pending.size;
    }
    return count;
  }

  stats(): SpoolStats {
    let segments = 0;
    for (const lane of this.lanes.values()) segments += lane.segments.length;
    return { usedBytes: this.usedBytes, maxBytes: this.maxBytes, segments, pendingRecords: this.pending(), ...this.counters };
  }

  /** Fsyncs every written record and saves the acknowledgement marks now; rejects when an fsync fails (counted in `fsyncErrors`). */
  flush(): Promise<void> {
    // One flush at a time: the timer's and an explicit one would race on the mark's temp file.
    const run = this.flushChain.then(() => this.syncAll(this.fsyncPolicy !== 'never'));
    this.flushChain = run.catch(() => {});
    return run;
  }

  /** Writes the appends already made, flushes, closes every file; rejects appends still waiting for space and any made from now on. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const wake of this.spaceWaiters.splice(0)) wake();
    await this.appendQueue;
    try {
      await this.flush();
    } finally {
      for (const lane of this.lanes.values()) {
        for (const segment of lane.segments) await closeHandle(segment);
        lane.active = undefined;
      }
    }
  }

  private async write(laneName: string, body: Uint8Array, samples: number, frameBytes: number): Promise<SpoolRecordRef> {
    // Appends made before close() are still written; only one that must wait for space is refused.
    let blocked = false;
    while (this.usedBytes + frameBytes > this.maxBytes) {
      // Active segments holding only acknowledged records are given up first: that costs nothing.
      if (await this.deleteAcknowledgedActive()) continue;
      if (this.whenFull === 'drop-oldest') {
        await this.dropOldest();
        continue;
      }
      if (await this.dropRetained()) continue;
      if (this.closed) throw new SpoolError('rxprom: the spool was closed while an append waited for space');
      if (!blocked) this.counters.blockedAppends++;
      blocked = true;
      await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
      if (this.closed) throw new SpoolError('rxprom: the spool was closed while an append waited for space');
    }
    const lane = await this.lane(laneName);
    let segment = lane.active;
    if (segment && segment.bytes > 0 && segment.bytes + frameBytes > this.segmentBytes) {
      await this.seal(segment);
      segment = undefined;
    }
    if (!segment) segment = await this.startSegment(lane);
    const sequence = lane.nextSequence++;
    const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
    header.writeUInt32LE(body.byteLength, 0);
    header.writeUInt32LE(sequence % 0x1_0000_0000, 8);
    header.writeUInt32LE(Math.floor(sequence / 0x1_0000_0000), 12);
    header.writeUInt32LE(samples, 16);
    header.writeUInt32LE(crc32(body, crc32(header, 0, 8, FRAME_HEADER_BYTES)), 4);
    segment.pending.set(sequence, samples);
    segment.offsets[sequence - segment.firstSequence] = segment.bytes;
    lane.writing = true;
    try {
      const handle = segment.handle!;
      await handle.writev([header, body]);
      segment.bytes += frameBytes;
      segment.records++;
      this.usedBytes += frameBytes;
      segment.dirty = true;
      if (this.fsyncPolicy === 'always') await this.syncSegment(segment);
    } catch (error) {
      // The frame may be half written: this segment is not appended to again, and the part written
      // is cut off (best effort), or a restart would report damage and a lost record that was never appended.
      segment.pending.delete(sequence);
      await segment.handle?.truncate(segment.bytes).catch(() => {});
      await this.seal(segment);
      throw error;
    } finally {
      lane.writing = false;
    }
    this.counters.appendedRecords++;
    this.counters.appendedBytes += frameBytes;
    return { lane: laneName, sequence };
  }

  private async lane(name: string): Promise<Lane> {
    let lane = this.lanes.get(name);
    if (!lane) {
      // A checkpoint's position is a sequence this lane reached: never reused, even when the lane's files are gone.
      lane = { name, directory: join(this.directory, name), segments: [], active: undefined, nextSequence: this.restoredPosition(name), writing: false, savedAcks: '', ackedBelow: 0, progress: new Map(), retainFrom: this.retain ? (this.retainFrom[name] ?? 0) : Infinity, directoryDirty: false };
      await mkdir(lane.directory, { recursive: true });
      if (this.fsyncPolicy === 'always') await fsyncDirectory(this.directory);
      this.lanes.set(name, lane);
    }
    return lane;
  }

  /** With `retain`, the lane's position in the restored checkpoint (0 when none). */
  private restoredPosition(name: string): number {
    const position = this.retain ? this.retainFrom[name] : undefined;
    return typeof position === 'number' && Number.isSafeInteger(position) && position > 0 ? position : 0;
  }

  private async startSegment(lane: Lane): Promise<Segment> {
    const file = join(lane.directory, `${String(lane.nextSequence).padStart(16, '0')}.seg`);
    const handle = await open(file, 'a');
    const segment: Segment = { lane, firstSequence: lane.nextSequence, file, order: this.segmentOrder++, bytes: 0, records: 0, pending: new Map(), offsets: [], handle, dirty: false, deleted: false };
    lane.segments.push(segment);
    lane.active = segment;
    if (this.fsyncPolicy === 'always') await fsyncDirectory(lane.directory);
    else lane.directoryDirty = true;
    return segment;
  }

  /** Closes a segment for appends; deletes it when nothing in it is waiting. */
  private async seal(segment: Segment): Promise<void> {
    if (segment.lane.active === segment) segment.lane.active = undefined;
    // With 'interval', the next flush syncs and closes it: an fsync here would stall appends.
    if (this.fsyncPolicy !== 'interval') await closeHandle(segment);
    if (segment.pending.size === 0 && !retained(segment)) await this.deleteSegment(segment);
  }

  /** Deletes every lane's active segment whose records are all acknowledged (and not retained); true when one went. */
  private async deleteAcknowledgedActive(): Promise<boolean> {
    let deleted = false;
    for (const lane of this.lanes.values()) {
      const segment = lane.active;
      if (segment === undefined || lane.writing || segment.pending.size > 0 || retained(segment)) continue;
      lane.active = undefined;
      await this.deleteSegment(segment);
      deleted = true;
    }
    return deleted;
  }

  private async deleteSegment(segment: Segment): Promise<void> {
    if (segment.deleted) return;
    segment.deleted = true;
    const lane = segment.lane;
    lane.segments = lane.segments.filter((s) => s !== segment);
    if (lane.active === segment) lane.active = undefined;
    this.usedBytes -= segment.bytes;
    this.counters.deletedSegments++;
    await closeHandle(segment);
    await unlink(segment.file).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    for (const wake of this.spaceWaiters.splice(0)) wake();
  }

  /** Under `'block'`: lets go of the oldest retained segment that holds only acknowledged records. */
  private async dropRetained(): Promise<boolean> {
    let oldest: Segment | undefined;
    for (const lane of this.lanes.values()) {
      for (const segment of lane.segments) {
        if (segment.pending.size > 0 || (segment === lane.active && lane.writing)) continue;
        if (!oldest || segment.order < oldest.order) oldest = segment;
        break;
      }
    }
    if (!oldest) return false;
    if (oldest.lane.active === oldest) oldest.lane.active = undefined;
    this.logger.warn({ lane: oldest.lane.name, file: oldest.file }, `spool full: let go of ${oldest.file}, acknowledged records kept for the last checkpoint (a restart may send some of them again)`);
    await this.deleteSegment(oldest);
    return true;
  }

  private async dropOldest(): Promise<void> {
    let oldest: Segment | undefined;
    for (const lane of this.lanes.values()) {
      const first = lane.segments[0];
      if (first && (!oldest || first.order < oldest.order)) oldest = first;
    }
    if (!oldest) throw new SpoolError('rxprom: the spool is over its budget with no segment to drop');
    let samples = 0;
    for (const [sequence, count] of oldest.pending) {
      samples += count - (oldest.lane.progress.get(sequence)?.settled ?? 0);
      oldest.lane.progress.delete(sequence);
    }
    const drop: SpoolDrop = { lane: oldest.lane.name, file: oldest.file, records: oldest.pending.size, samples, bytes: oldest.bytes, sequences: [...oldest.pending.keys()] };
    oldest.pending.clear();
    await this.deleteSegment(oldest);
    this.counters.droppedRecords += drop.records;
    this.counters.droppedSamples += drop.samples;
    this.counters.droppedBytes += drop.bytes;
    this.logger.warn({ ...drop }, `spool full: dropped the oldest segment ${drop.file} (${drop.records} unacknowledged records, ${drop.samples} samples)`);
    this.onDrop?.(drop);
  }

  /** Counts and logs a failed fsync, and returns its error; the segment stays dirty, synced again at the next flush. */
  private async syncSegment(segment: Segment): Promise<unknown> {
    const handle = segment.handle;
    if (!handle || !segment.dirty) return undefined;
    segment.dirty = false;
    try {
      await handle.datasync();
      this.counters.fsyncs++;
    } catch (error) {
      if (segment.handle !== handle) return undefined; // closed meanwhile, and synced by whoever closed it
      segment.dirty = true;
      this.counters.fsyncErrors++;
      this.logger.error({ file: segment.file, error: (error as Error).message }, `spool fsync failed for ${segment.file}`);
      return error;
    }
    return undefined;
  }

  /** Rejects with the first failed fsync (after going through every lane): what it covers may not be on disk. */
  private async syncAll(sync: boolean): Promise<void> {
    await this.deleteAcknowledgedActive();
    let failure: unknown;
    for (const lane of this.lanes.values()) {
      if (sync) {
        for (const segment of lane.segments) {
          failure ??= await this.syncSegment(segment);
          if (segment !== lane.active && !segment.dirty) await closeHandle(segment);
        }
        if (lane.directoryDirty) {
          lane.directoryDirty = false;
          await fsyncDirectory(lane.directory).catch((error: unknown) => {
            lane.directoryDirty = true;
            this.counters.fsyncErrors++;
            failure ??= error;
          });
        }
      }
      await this.saveAcks(lane, sync);
    }
    if (failure !== undefined) throw failure;
  }

  /** Saves what a restart must not replay: the sequence below which all is acknowledged, and the acknowledged ones above it. */
  private async saveAcks(lane: Lane, sync: boolean): Promise<void> {
    const text = withChecksum(JSON.stringify(acknowledgements(lane)));
    if (text === lane.savedAcks) return;
    await writeFileAtomic(join(lane.directory, ACKED_FILE), Buffer.from(text), { sync });
    lane.savedAcks = text;
  }

  private report(problem: SpoolProblem): void {
    if (problem.kind === 'torn-tail') this.counters.tornTails++;
    else this.counters.corruptSegments++;
    this.counters.lostRecords += problem.lostRecords;
    this.counters.lostBytes += problem.lostBytes;
    this.logger.warn(
      { ...problem },
      `spool ${problem.kind === 'torn-tail' ? 'torn tail' : 'corruption'} in ${problem.file} at byte ${problem.offset}: ${problem.reason}; ${problem.lostRecords}${problem.lostRecordsExact ? '' : '+'} records (${problem.lostBytes} bytes) lost`,
    );
    this.onProblem?.(problem);
  }

  /** Reads every lane back: checks each segment, cuts damage off, rebuilds what is pending. */
  private async recover(): Promise<void> {
    await mkdir(this.directory, { recursive: true });
    const entries = await readdir(this.directory, { withFileTypes: true });
    for (const entry of entries.filter((e) => e.isDirectory() && LANE_PATTERN.test(e.name)).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const lane = await this.lane(entry.name);
      const acks = await readAcks(lane.directory, this.logger);
      if (acks.damaged) this.counters.damagedAckFiles++;
      if (this.retain) lane.retainFrom = this.retainFrom[lane.name] ?? Infinity;
      lane.ackedBelow = acks.below;
      const files = await readdir(lane.directory);
      // An acknowledgement save that died before its rename: the marks are in `acked` or lost.
      for (const name of files.filter(isTempFile)) await rm(join(lane.directory, name), { force: true });
      const names = files.filter((n) => SEGMENT_PATTERN.test(n)).sort();
      const firsts = names.map((n) => Number(SEGMENT_PATTERN.exec(n)![1]));
      // Never reuse a sequence the acknowledgement file names, or a new record would pass for acknowledged.
      lane.nextSequence = Math.max(acks.below, acks.next, firsts[0] ?? 0, this.restoredPosition(lane.name), ...[...acks.above, ...acks.progress.keys()].map((n) => n + 1));
      for (let i = 0; i < names.length; i++) {
        const file = join(lane.directory, names[i]!);
        const firstSequence = firsts[i]!;
        const bytes = await readFile(file);
        const scan = scanFrames(bytes, firstSequence);
        const segment: Segment = { lane, firstSequence, file, order: this.segmentOrder++, bytes: scan.goodBytes, records: scan.frames.length, pending: new Map(), offsets: [], handle: undefined, dirty: false, deleted: false };
        for (const frame of scan.frames) segment.offsets.push(frame.bodyStart - FRAME_HEADER_BYTES);
        for (const frame of scan.frames) {
          if (frame.sequence < acks.below || acks.above.has(frame.sequence)) continue;
          const progress = acks.progress.get(frame.sequence);
          if (progress !== undefined && progress.settled >= frame.samples) continue; // settled whole, its ack not saved yet
          if (progress !== undefined && progress.sending > frame.samples) {
            // Checksummed marks that do not fit their record: never trusted, the record is sent whole.
            this.logger.warn({ lane: lane.name, sequence: frame.sequence, samples: frame.samples, ...progress }, `spool progress mark of record ${frame.sequence} does not fit it; the record is replayed whole`);
          } else if (progress !== undefined && progress.sending > 0) {
            lane.progress.set(frame.sequence, progress);
          }
          segment.pending.set(frame.sequence, frame.samples);
        }
        if (scan.damage) {
          const next = firsts[i + 1];
          const exact = next !== undefined;
          let lostRecords = scan.damage.recordsAfterAtLeast;
          if (exact) {
            lostRecords = 0;
            for (let sequence = scan.nextSequence; sequence < next; sequence++) if (sequence >= acks.below && !acks.above.has(sequence)) lostRecords++;
            lostRecords = Math.max(1, lostRecords);
          }
          const isTail = !exact && scan.damage.torn;
          await truncate(file, scan.goodBytes);
          this.report({ kind: isTail ? 'torn-tail' : 'corrupt', lane: lane.name, file, offset: scan.goodBytes, reason: scan.damage.reason, lostRecords, lostRecordsExact: exact, lostBytes: bytes.length - scan.goodBytes });
        }
        lane.nextSequence = Math.max(lane.nextSequence, scan.nextSequence);
        if (segment.records === 0) {
          // Created by a run that died before its first record landed (or cut to nothing): it holds
          // nothing, and its name is the sequence the next new segment takes, so it must not stay
          // on the list, where deleting it later would delete the new segment's file.
          await rm(file, { force: true });
          continue;
        }
        lane.segments.push(segment);
        this.usedBytes += segment.bytes;
        if (segment.pending.size === 0 && !retained(segment)) await this.deleteSegment(segment);
      }
      // From here on, what this run appends is kept too (until released).
      if (this.retain && this.retainFrom[lane.name] === undefined) lane.retainFrom = lane.nextSequence;
      // Recovered segments are never appended to: new records start a new segment.
    }
    // Runs with every policy: it also saves the acknowledgement marks.
    this.timer = setInterval(() => {
      this.flush().catch((error: unknown) => this.logger.error({ error: (error as Error).message }, 'spool flush failed'));
    }, this.fsyncIntervalMs);
    this.timer.unref();
  }
}

interface Frame {
  sequence: number;
  samples: number;
  bodyStart: number;
  bodyEnd: number;
}

interface Scan {
  frames: Frame[];
  /** Bytes up to the end of the last good frame. */
  goodBytes: number;
  /** The sequence after the last good frame. */
  nextSequence: number;
  damage: { reason: string; torn: boolean; recordsAfterAtLeast: number } | undefined;
}

/** Walks a segment's frames, stopping at the first that is cut short or fails its checks. */
function scanFrames(bytes: Buffer, firstSequence: number): Scan {
  const frames: Frame[] = [];
  let offset = 0;
  let expected = firstSequence;
  let damage: Scan['damage'];
  while (offset < bytes.length) {
    const left = bytes.length - offset;
    if (left < FRAME_HEADER_BYTES) {
      damage = { reason: `frame header cut short (${left} of ${FRAME_HEADER_BYTES} bytes)`, torn: true, recordsAfterAtLeast: 1 };
      break;
    }
    const length = bytes.readUInt32LE(offset);
    const end = offset + FRAME_HEADER_BYTES + length;
    if (end > bytes.length) {
      damage = { reason: `frame cut short (${left} of ${FRAME_HEADER_BYTES + length} bytes)`, torn: true, recordsAfterAtLeast: 1 };
      break;
    }
    const stored = bytes.readUInt32LE(offset + 4);
    if (crc32(bytes, 0, offset + 8, end) !== stored) {
      damage = { reason: 'checksum mismatch', torn: end === bytes.length, recordsAfterAtLeast: 1 + countFramesAfter(bytes, end) };
      break;
    }
    const sequence = bytes.readUInt32LE(offset + 8) + bytes.readUInt32LE(offset + 12) * 0x1_0000_0000;
    if (sequence !== expected) {
      damage = { reason: `sequence ${sequence} where ${expected} was expected`, torn: false, recordsAfterAtLeast: 1 + countFramesAfter(bytes, end) };
      break;
    }
    frames.push({ sequence, samples: bytes.readUInt32LE(offset + 16), bodyStart: offset + FRAME_HEADER_BYTES, bodyEnd: end });
    offset = end;
    expected++;
  }
  return { frames, goodBytes: offset, nextSequence: expected, damage };
}

/** Frames that still check out after a damaged one: counted as lost, never returned. */
function countFramesAfter(bytes: Buffer, offset: number): number {
  let count = 0;
  while (offset + FRAME_HEADER_BYTES <= bytes.length) {
    const end = offset + FRAME_HEADER_BYTES + bytes.readUInt32LE(offset);
    if (end > bytes.length || crc32(bytes, 0, offset + 8, end) !== bytes.readUInt32LE(offset + 4)) break;
    count++;
    offset = end;
  }
  return count;
}

/** Whether `retain` keeps a segment: it holds a record at or after its lane's retention mark. */
function retained(segment: Segment): boolean {
  return segment.firstSequence + segment.records > segment.lane.retainFrom;
}

/**
 * Reads the frame that starts at `offset`: its header, then its body. A length that runs past
 * `available` (the segment's bytes from `offset`, as checked on open) is damage: only the header
 * comes back, never a read (or an allocation) of the gigabytes a flipped length field may say.
 */
async function readFrameAt(file: string, offset: number, available: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const header = Buffer.alloc(FRAME_HEADER_BYTES);
    const { bytesRead } = await handle.read(header, 0, FRAME_HEADER_BYTES, offset);
    if (bytesRead < FRAME_HEADER_BYTES) return header.subarray(0, bytesRead);
    const length = header.readUInt32LE(0);
    if (FRAME_HEADER_BYTES + length > available) return header;
    const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
    header.copy(frame);
    let read = 0;
    while (read < length) {
      const chunk = await handle.read(frame, FRAME_HEADER_BYTES + read, length - read, offset + FRAME_HEADER_BYTES + read);
      if (chunk.bytesRead === 0) break;
      read += chunk.bytesRead;
    }
    return frame.subarray(0, FRAME_HEADER_BYTES + read);
  } finally {
    await handle.close();
  }
}

function findSegment(lane: Lane, sequence: number): Segment | undefined {
  let found: Segment | undefined;
  for (const segment of lane.segments) {
    if (segment.firstSequence > sequence) break;
    found = segment;
  }
  return found;
}

/** Acknowledged sequences listed above the mark, at most: beyond, a restart replays them. */
const MAX_LISTED_ACKS = 10_000;

/**
 * `next`: the lane's next sequence. The acknowledged records listed in `above` are only those whose
 * segments are still on disk; `next` keeps a restart from reusing the sequences of deleted ones.
 */
function acknowledgements(lane: Lane): { below: number; above: number[]; next: number; progress?: Array<[number, number, number]> } {
  let below = lane.nextSequence;
  search: for (const segment of lane.segments) {
    for (const sequence of segment.pending.keys()) {
      below = sequence;
      break search;
    }
  }
  const above: number[] = [];
  for (const segment of lane.segments) {
    const end = segment.firstSequence + segment.records;
    for (let sequence = Math.max(below, segment.firstSequence); sequence < end && above.length < MAX_LISTED_ACKS; sequence++) {
      if (!segment.pending.has(sequence)) above.push(sequence);
    }
  }
  // Written only when there are some: the file stays as earlier versions wrote it otherwise.
  const progress: Array<[number, number, number]> = [];
  for (const [sequence, mark] of lane.progress) {
    const segment = findSegment(lane, sequence);
    if (segment !== undefined && segment.pending.has(sequence)) progress.push([sequence, mark.settled, mark.sending]);
    else lane.progress.delete(sequence);
  }
  progress.sort((a, b) => a[0] - b[0]);
  return progress.length > 0 ? { below, above, next: lane.nextSequence, progress } : { below, above, next: lane.nextSequence };
}

/**
 * The acknowledgement file's text: the marks as JSON on one line, then their CRC-32 in hex on the
 * next. The marks decide what a restart replays, so a flipped digit that still parses ("below":3
 * read as 7) must not pass for marks: it would take unacknowledged records for acknowledged ones.
 */
function withChecksum(json: string): string {
  return `${json}\n${crc32(Buffer.from(json, 'utf8'), 0).toString(16).padStart(8, '0')}\n`;
}

/** The marks, when the text is checksummed and the checksum matches, or written by an earlier version (one JSON line, no checksum). */
function checkedMarks(text: string): string | undefined {
  const checked = /^([^\n]*)\n([0-9a-f]{8})\n$/.exec(text);
  if (checked) return withChecksum(checked[1]!) === text ? checked[1] : undefined;
  return /^\{[^\n]*\}\n$/.test(text) ? text : undefined;
}

interface AckMarks {
  below: number;
  above: Set<number>;
  next: number;
  progress: Map<number, SpoolProgress>;
  damaged: boolean;
}

async function readAcks(directory: string, logger: Logger): Promise<AckMarks> {
  let text: string;
  try {
    text = await readFile(join(directory, ACKED_FILE), 'utf8');
  } catch {
    return { below: 0, above: new Set(), next: 0, progress: new Map(), damaged: false };
  }
  try {
    const marks = checkedMarks(text);
    const { below, above, next, progress } = (marks === undefined ? {} : JSON.parse(marks)) as { below?: unknown; above?: unknown; next?: unknown; progress?: unknown };
    const nextOk = next === undefined || (typeof next === 'number' && Number.isSafeInteger(next) && next >= 0); // absent in files of earlier versions
    const progressMarks = readProgress(progress); // absent in files of earlier versions, and when no record is sent in part
    if (typeof below === 'number' && Number.isSafeInteger(below) && below >= 0 && Array.isArray(above) && above.every((n) => typeof n === 'number') && nextOk && progressMarks !== undefined) {
      return { below, above: new Set(above as number[]), next: typeof next === 'number' ? next : 0, progress: progressMarks, damaged: false };
    }
  } catch {
    // fall through
  }
  logger.warn({ directory }, `spool acknowledgements in ${directory} unreadable (damaged); replaying every record found`);
  return { below: 0, above: new Set(), next: 0, progress: new Map(), damaged: true };
}

/** `progress`: `[sequence, settled, sending]` triples of integers >= 0 with `settled <= sending`; undefined when it is anything else. */
function readProgress(value: unknown): Map<number, SpoolProgress> | undefined {
  const progress = new Map<number, SpoolProgress>();
  if (value === undefined) return progress;
  if (!Array.isArray(value)) return undefined;
  for (const mark of value as unknown[]) {
    if (!Array.isArray(mark) || mark.length !== 3 || !mark.every((n) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0)) return undefined;
    const [sequence, settled, sending] = mark as [number, number, number];
    if (settled > sending) return undefined;
    progress.set(sequence, { settled, sending });
  }
  return progress;
}

async function readPrefix(file: string, length: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const bytes = Buffer.allocUnsafe(length);
    let read = 0;
    while (read < length) {
      const { bytesRead } = await handle.read(bytes, read, length - read, read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    return bytes.subarray(0, read);
  } finally {
    await handle.close();
  }
}

async function closeHandle(segment: Segment): Promise<void> {
  if (!segment.handle) return;
  const handle = segment.handle;
  segment.handle = undefined;
  await handle.close();
}

/** `retainFrom`: a lane's first retained sequence (an integer >= 0, or Infinity for none); NaN would keep or free at random. */
function checkRetainFrom(value: unknown): Readonly<Record<string, number>> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError('retainFrom', 'an object of lane names to sequences', Array.isArray(value) ? 'an array' : value);
  for (const [lane, sequence] of Object.entries(value)) {
    if (sequence !== Infinity && !(typeof sequence === 'number' && Number.isInteger(sequence) && sequence >= 0)) throw new ConfigError(`retainFrom.${lane}`, 'an integer >= 0 or Infinity', sequence);
  }
  return value as Readonly<Record<string, number>>;
}
