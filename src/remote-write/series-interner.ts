/**
 * Series interning: a series' identity, hash and encoded label bytes are computed once,
 * on its first sample, and every later sample of the series reuses them.
 */
import { checkLabels, type ValidationMode } from '../protocol/label-rules.js';
import type { Labels } from '../core/model.js';
import { decodeLabelsKey, encodeLabelsKey } from '../core/series-key.js';
import { ForgottenSeries } from './forgotten-series.js';
import { hashLabels, LabelReader, type MatchedSeries } from '../core/label-reader.js';
import { INT64_MAX_DOUBLE, INT64_MIN } from './timestamp-guard.js';

/** Everything the sink keeps per live series. Kept small: a million of these must fit. */
export class SeriesRecord implements MatchedSeries {
  /**
   * The newest accepted timestamp (see `lastTimestamp`) in two 32-bit halves: small integers,
   * stored in the record itself. A double field is a separate heap number in V8, one more cache
   * miss on every sample's order check at 10k series and more (and 8 bytes more per series).
   * `newestHigh` is null for none yet (-Infinity), or holds an `Unusual` for a value that is not
   * an int64 integer (never from the sink, which floors; kept exact all the same).
   */
  private newestHigh: number | null | Unusual = null;
  private newestLow = 0;
  /** The interner's clock tick when this series last had a sample. */
  lastSeenTick: number;
  /** Whether the interner still holds this record (false once forgotten as idle). */
  live = true;
  // Scratch space for the request encoder, which groups a batch's samples by series: the batch
  // it last saw this series in, and the series' slot in that batch.
  encodeEpoch = 0;
  encodeSlot = 0;
  /** The next live record whose hash is the same (a chain: almost always none). */
  nextSameHash: SeriesRecord | null = null;
  /** Samples that found this record by their labels' content rather than by their label object. */
  contentResolves = 0;
  // What `LabelReader.matches` remembers of the key order last found to name this series.
  matchedShape: object | null = null;
  matchedEmpties = 0;

  /**
   * `hash` as a signed 32-bit integer. A uint32 field holds a double half the time, which V8 keeps
   * in a separate heap number: one more memory access on every sample's way to its lane.
   */
  readonly hash32: number;
  /** `key.length`, kept here: the encoder sizes a request without reaching each key. */
  readonly keyLength: number;

  constructor(
    /** Canonical key: the protobuf bytes of the sorted labels, one char per byte. */
    readonly key: string,
    hash: number,
    tick: number,
  ) {
    this.hash32 = hash | 0;
    this.keyLength = key.length;
    this.lastSeenTick = tick;
  }

  /** The series' hash (uint32): picks its lane (modulo the lane count, which may change). */
  get hash(): number {
    return this.hash32 >>> 0;
  }

  /** Newest timestamp accepted for this series (the order guard); -Infinity for none. */
  get lastTimestamp(): number {
    const high = this.newestHigh;
    if (typeof high === 'number') return high * TWO_32 + (this.newestLow >>> 0);
    return high === null ? -Infinity : high.value;
  }

  set lastTimestamp(timestamp: number) {
    if (Number.isInteger(timestamp) && timestamp >= INT64_MIN && timestamp <= INT64_MAX_DOUBLE) {
      this.acceptNewest(timestamp);
    } else {
      this.newestHigh = timestamp === -Infinity ? null : { value: timestamp };
      this.newestLow = 0;
    }
  }

  /** `lastTimestamp = millis` for int64 integer milliseconds (what `int64Millis` returns): the sink's per-sample path, without the setter's checks. */
  acceptNewest(millis: number): void {
    const high = Math.floor(millis / TWO_32);
    this.newestHigh = high;
    this.newestLow = (millis - high * TWO_32) | 0;
  }
}

/** A newest timestamp outside the int64 integers, kept as it is. */
interface Unusual {
  readonly value: number;
}

const TWO_32 = 2 ** 32;

export interface SeriesInternerOptions {
  readonly validation: ValidationMode;
  /** Forgotten series whose newest timestamp is remembered one by one (see `ForgottenSeries`). Default 262,144. */
  readonly rememberForgotten?: number;
  /**
   * Bits of a series' hash that are kept (default all 32). A test seam: a small mask makes distinct
   * series share hashes, to show that a collision never merges two series.
   */
  readonly hashMask?: number;
}

/**
 * A label object whose series was found by content is remembered by identity only on every this
 * many'th such sample: a producer that sends a new object per sample would otherwise add a
 * WeakMap entry per sample (for nothing), while one that switched to a new reused object is
 * recognised by identity again after at most this many samples.
 */
const REMEMBER_OBJECT_EVERY = 64;

export class SeriesInterner {
  /** Live records by hash (`hash | 0`, a small integer key); records sharing a hash are chained. */
  private readonly byHash = new Map<number, SeriesRecord>();
  private liveCount = 0;
  /**
   * Label objects already seen, by identity: pipelines that reuse one label object per series
   * skip the key computation entirely. Weak, so it never keeps a caller's objects alive.
   */
  private readonly byObject = new WeakMap<object, SeriesRecord>();
  /** Reads a label object that is not known by identity, without building its key. */
  private readonly reader = new LabelReader();
  private readonly hashMask: number;
  private tick = 0;
  /** Newest timestamps of forgotten series: the order guard holds across forgetting. */
  private readonly forgotten: ForgottenSeries;

  constructor(private readonly options: SeriesInternerOptions) {
    this.forgotten = new ForgottenSeries(options.rememberForgotten ?? 262_144);
    this.hashMask = options.hashMask ?? 0xffffffff;
  }

  get size(): number {
    return this.liveCount;
  }

  /**
   * The record of a label set, or the reason the label set is refused. Three ways, cheapest
   * first: the label object by identity; its labels by content (hashed in place, confirmed
   * against the record's key, so a collision or another key order is still right); the full path
   * (validation, the canonical key) for a new series, a new key order and anything unusual.
   */
  resolve(labels: Labels): SeriesRecord | string {
    if (typeof labels !== 'object' || labels === null) return checkLabels(labels, this.options.validation) as string;
    const known = this.byObject.get(labels);
    if (known !== undefined) {
      // Read before written: the tick moves once a second at most, and an unchanged record stays clean in the cache.
      if (known.lastSeenTick !== this.tick) known.lastSeenTick = this.tick;
      return known.live ? known : this.revive(labels, known);
    }
    const reader = this.reader;
    if (!Array.isArray(labels) && reader.read(labels)) {
      let record: SeriesRecord | null | undefined = this.byHash.get((reader.hash & this.hashMask) | 0);
      while (record !== undefined && record !== null) {
        if (reader.matches(record)) {
          if (record.lastSeenTick !== this.tick) record.lastSeenTick = this.tick;
          if (++record.contentResolves % REMEMBER_OBJECT_EVERY === 0) this.byObject.set(labels, record);
          return record;
        }
        record = record.nextSameHash;
      }
    }
    return this.resolveByKey(labels);
  }

  /** The full path: checks the labels, builds their key, finds or creates the record. */
  private resolveByKey(labels: object): SeriesRecord | string {
    const checked = checkLabels(labels, this.options.validation);
    if (typeof checked === 'string') return checked;
    const key = encodeLabelsKey(checked);
    const hash = (hashLabels(checked.names, checked.values) & this.hashMask) >>> 0;
    let record = this.find(key, hash);
    if (record === undefined) {
      record = new SeriesRecord(key, hash, this.tick);
      record.lastTimestamp = this.forgotten.recall(key, hash);
      this.insert(record);
    } else {
      record.lastSeenTick = this.tick;
    }
    this.byObject.set(labels, record);
    return record;
  }

  /** The live record of a key. */
  private find(key: string, hash: number): SeriesRecord | undefined {
    let record: SeriesRecord | null | undefined = this.byHash.get(hash | 0);
    while (record !== undefined && record !== null) {
      if (record.key === key) return record;
      record = record.nextSameHash;
    }
    return undefined;
  }

  private insert(record: SeriesRecord): void {
    const slot = record.hash32;
    const head = this.byHash.get(slot);
    record.nextSameHash = head ?? null;
    this.byHash.set(slot, record);
    this.liveCount++;
  }

  /**
   * Advances the interner's clock by one tick and forgets series not seen for more than
   * `idleTicks` ticks. Returns how many were forgotten.
   */
  advance(idleTicks: number): number {
    this.tick++;
    const oldest = this.tick - idleTicks;
    let forgotten = 0;
    for (const [slot, head] of this.byHash) {
      // Rebuild the chain from the records that stay (in their order).
      let first: SeriesRecord | null = null;
      let last: SeriesRecord | null = null;
      for (let record: SeriesRecord | null = head; record !== null; ) {
        const next: SeriesRecord | null = record.nextSameHash;
        if (record.lastSeenTick < oldest) {
          record.live = false;
          record.nextSameHash = null;
          this.forgotten.remember(record.key, record.hash, record.lastTimestamp);
          forgotten++;
        } else {
          if (last === null) first = record;
          else last.nextSameHash = record;
          last = record;
          record.nextSameHash = null;
        }
        record = next;
      }
      if (first === null) this.byHash.delete(slot);
      else if (first !== head) this.byHash.set(slot, first);
    }
    this.liveCount -= forgotten;
    return forgotten;
  }

  /** Calls `visit` with each live series' key and newest accepted timestamp (none yet: -Infinity). */
  forEachLive(visit: (key: string, newest: number) => void): void {
    for (const head of this.byHash.values()) {
      for (let record: SeriesRecord | null = head; record !== null; record = record.nextSameHash) visit(record.key, record.lastTimestamp);
    }
  }

  /**
   * The record of a series known by its canonical key (restored from a checkpoint), created when
   * missing; its newest timestamp is raised to `newest`. The key is trusted: it was accepted before.
   * Hashed as its labels are, so a later sample of the series finds this record by content.
   */
  restore(key: string, newest: number): SeriesRecord {
    const labels = decodeLabelsKey(key);
    const names = Object.keys(labels);
    const hash = (hashLabels(names, names.map((name) => labels[name] as string)) & this.hashMask) >>> 0;
    let record = this.find(key, hash);
    if (record === undefined) {
      record = new SeriesRecord(key, hash, this.tick);
      record.lastTimestamp = this.forgotten.recall(key, hash);
      this.insert(record);
    }
    if (newest > record.lastTimestamp) record.lastTimestamp = newest;
    return record;
  }

  private revive(labels: Labels, record: SeriesRecord): SeriesRecord {
    // A forgotten record reached again through a reused label object. It still knows its newest
    // timestamp, so it keeps guarding order, unless the series came back meanwhile under a new
    // record: then that one is the series' only record.
    const current = this.find(record.key, record.hash);
    if (current !== undefined) {
      this.byObject.set(labels, current);
      current.lastSeenTick = this.tick;
      return current;
    }
    record.live = true;
    record.lastSeenTick = this.tick;
    const remembered = this.forgotten.recall(record.key, record.hash);
    if (remembered > record.lastTimestamp) record.lastTimestamp = remembered;
    this.insert(record);
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
