/**
 * Series interning: a series' identity, hash, lane and encoded label bytes are computed once,
 * on its first sample, and every later sample of the series reuses them.
 */
import { hashString } from '../core/hash.js';
import { checkLabels, type ValidationMode } from '../protocol/label-rules.js';
import type { Labels } from '../core/model.js';
import { encodeLabelsKey } from '../core/series-key.js';
import { ForgottenSeries } from './forgotten-series.js';

/** Everything the sink keeps per live series. Kept small: a million of these must fit. */
export class SeriesRecord {
  /** Newest timestamp accepted for this series (the order guard). */
  lastTimestamp = -Infinity;
  /** The interner's clock tick when this series last had a sample. */
  lastSeenTick: number;
  /** Whether the interner still holds this record (false once forgotten as idle). */
  live = true;
  // Scratch space for the request encoder, which groups a batch's samples by series.
  encodeEpoch = 0;
  encodeTail = 0;
  encodeLength = 0;

  constructor(
    /** Canonical key: the protobuf bytes of the sorted labels, one char per byte. */
    readonly key: string,
    readonly hash: number,
    readonly lane: number,
    tick: number,
  ) {
    this.lastSeenTick = tick;
  }
}

export interface SeriesInternerOptions {
  readonly validation: ValidationMode;
  /** Lanes the series are spread over; a record's `lane` is its hash modulo this. */
  readonly lanes: number;
  /** Forgotten series whose newest timestamp is remembered one by one (see `ForgottenSeries`). Default 262,144. */
  readonly rememberForgotten?: number;
}

export class SeriesInterner {
  private readonly byKey = new Map<string, SeriesRecord>();
  /**
   * Label objects already seen, by identity: pipelines that reuse one label object per series
   * skip the key computation entirely. Weak, so it never keeps a caller's objects alive.
   */
  private readonly byObject = new WeakMap<object, SeriesRecord>();
  private tick = 0;
  /** Newest timestamps of forgotten series: the order guard holds across forgetting. */
  private readonly forgotten: ForgottenSeries;

  constructor(private readonly options: SeriesInternerOptions) {
    this.forgotten = new ForgottenSeries(options.rememberForgotten ?? 262_144);
  }

  get size(): number {
    return this.byKey.size;
  }

  /** The record of a label set, or the reason the label set is refused. */
  resolve(labels: Labels): SeriesRecord | string {
    if (typeof labels === 'object' && labels !== null) {
      const known = this.byObject.get(labels);
      if (known !== undefined) {
        known.lastSeenTick = this.tick;
        return known.live ? known : this.revive(labels, known);
      }
    }
    const checked = checkLabels(labels, this.options.validation);
    if (typeof checked === 'string') return checked;
    const key = encodeLabelsKey(checked);
    let record = this.byKey.get(key);
    if (record === undefined) {
      const hash = hashString(key);
      record = new SeriesRecord(key, hash, hash % this.options.lanes, this.tick);
      record.lastTimestamp = this.forgotten.recall(key, hash);
      this.byKey.set(key, record);
    } else {
      record.lastSeenTick = this.tick;
    }
    this.byObject.set(labels, record);
    return record;
  }

  /**
   * Advances the interner's clock by one tick and forgets series not seen for more than
   * `idleTicks` ticks. Returns how many were forgotten.
   */
  advance(idleTicks: number): number {
    this.tick++;
    const oldest = this.tick - idleTicks;
    let forgotten = 0;
    for (const [key, record] of this.byKey) {
      if (record.lastSeenTick < oldest) {
        record.live = false;
        this.byKey.delete(key);
        this.forgotten.remember(key, record.hash, record.lastTimestamp);
        forgotten++;
      }
    }
    return forgotten;
  }

  /** Calls `visit` with each live series' key and newest accepted timestamp (none yet: -Infinity). */
  forEachLive(visit: (key: string, newest: number) => void): void {
    for (const [key, record] of this.byKey) visit(key, record.lastTimestamp);
  }

  /**
   * The record of a series known by its canonical key (restored from a checkpoint), created when
   * missing; its newest timestamp is raised to `newest`. The key is trusted: it was accepted before.
   */
  restore(key: string, newest: number): SeriesRecord {
    let record = this.byKey.get(key);
    if (record === undefined) {
      const hash = hashString(key);
      record = new SeriesRecord(key, hash, hash % this.options.lanes, this.tick);
      record.lastTimestamp = this.forgotten.recall(key, hash);
      this.byKey.set(key, record);
    }
    if (newest > record.lastTimestamp) record.lastTimestamp = newest;
    return record;
  }

  private revive(labels: Labels, record: SeriesRecord): SeriesRecord {
    // A forgotten record reached again through a reused label object. It still knows its newest
    // timestamp, so it keeps guarding order, unless the series came back meanwhile under a new
    // record: then that one is the series' only record.
    const current = this.byKey.get(record.key);
    if (current !== undefined) {
      this.byObject.set(labels, current);
      current.lastSeenTick = this.tick;
      return current;
    }
    record.live = true;
    const remembered = this.forgotten.recall(record.key, record.hash);
    if (remembered > record.lastTimestamp) record.lastTimestamp = remembered;
    this.byKey.set(record.key, record);
    return record;
  }
}

/** What the order guard says of a sample's timestamp against its series' newest. */
export type OrderVerdict = 'ok' | 'duplicate' | 'out-of-order';

/** Accepts a timestamp newer than the series' newest (and remembers it); refuses any other. */
export function guardOrder(record: SeriesRecord, timestamp: number): OrderVerdict {
  const verdict = orderOf(record, timestamp);
  if (verdict === 'ok') record.lastTimestamp = timestamp;
  return verdict;
}

/**
 * What `guardOrder` would say, without remembering the timestamp: for a caller that may still
 * refuse the sample for another reason (the sink's admission), and remembers it once accepted.
 */
export function orderOf(record: SeriesRecord, timestamp: number): OrderVerdict {
  if (timestamp > record.lastTimestamp) return 'ok';
  return timestamp === record.lastTimestamp ? 'duplicate' : 'out-of-order';
}
