/**
 * The embedded receiver's memory: series by canonical key with their samples, read back by
 * matcher, bounded by `maxSamples` and `maxSeries`. What it refuses comes from refusal-rules.ts;
 * bodies are decoded by the protocol's decoder before they get here.
 */
import type { Labels, Sample } from '../../core/model.js';
import { encodeLabelsKey } from '../../core/series-key.js';
import type { WireRequest, WireSeries } from '../../protocol/decoder.js';
import { compareBytes } from '../../protocol/label-rules.js';
import { checkStrictSample, headBound, Refusal, seriesLabels, type ReceiverMode } from './refusal-rules.js';
import { SeriesData } from './series-data.js';
import { ConfigError } from '../../core/errors.js';

/** A stored series as the read-back API returns it (copies: the caller may keep them). */
export interface ReceivedSeries {
  readonly labels: Labels;
  /** [timestamp ms, value], oldest first. NaN payloads are not kept here: use `values` to tell a stale marker. */
  readonly samples: Array<[number, number]>;
  /** Timestamps (ms), oldest first. */
  readonly timestamps: Float64Array;
  /** Values, bit-exact (a stale marker keeps its NaN payload, 0x7ff0000000000002). */
  readonly values: Float64Array;
}

/** Which series to read back: every label given must be present with that value, or a predicate. */
export type SeriesMatcher = Labels | ((labels: Labels) => boolean);

export interface SeriesStoreOptions {
  readonly mode: ReceiverMode;
  readonly maxSamples: number;
  readonly maxSeries: number;
  readonly outOfBoundsMs: number;
}

/** What an accepted request did to the store. */
export interface IngestResult {
  /** Samples appended (lenient: including those that replaced a sample at the same timestamp). */
  readonly accepted: number;
  /** Strict mode: exact repeats of the newest sample (same timestamp, same value bits), ignored as Prometheus does. */
  readonly ignored: number;
}

function labelsObject(names: readonly string[], values: readonly string[]): Labels {
  const labels: Record<string, string> = {};
  // defineProperty: a lenient label named "__proto__" must become a label, not a prototype.
  for (let i = 0; i < names.length; i++) Object.defineProperty(labels, names[i], { value: values[i], enumerable: true, writable: true, configurable: true });
  return Object.freeze(labels);
}

function compareLabels(a: Labels, b: Labels): number {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
    if (ka[i] !== kb[i]) return compareBytes(ka[i], kb[i]);
    const va = a[ka[i]];
    const vb = b[kb[i]];
    if (va !== vb) return compareBytes(va, vb);
  }
  return ka.length - kb.length;
}

/** A label set as the store knows it: canonical key, labels, and (strict mode) what is wrong with it. */
interface Identity {
  readonly key: string;
  readonly labels: Labels;
  /** Strict mode: the spec rule it breaks, with the series as sent. */
  readonly problem: string | undefined;
}

/** A series of the request being checked: its stored data and its newest pending sample. */
interface Staged {
  readonly identity: Identity;
  readonly existing: SeriesData | undefined;
  /** Index (in the request's columns) of its newest accepted sample of this request, or -1. */
  last: number;
  pending: number;
}

/**
 * The receiver's memory: series by canonical key, each with its samples in time order.
 * `ingest` checks a whole request first and only then stores it, so a refused request leaves
 * no trace. Bounded by `maxSamples` and `maxSeries`: a request that would pass either is refused
 * whole with 507 (nothing is evicted: a test reading back must see everything that was accepted).
 */
export class SeriesStore {
  private readonly series = new Map<string, SeriesData>();
  /** Label bytes as sent -> identity: equal bytes decode to equal labels, so they are checked once. */
  private readonly aliases = new Map<string, Identity>();
  private stored = 0;
  /** Newest timestamp stored in any series: Prometheus' head max time. */
  private newest = -Infinity;

  constructor(private readonly options: SeriesStoreOptions) {}

  get sampleCount(): number {
    return this.stored;
  }

  get seriesCount(): number {
    return this.series.size;
  }

  clear(): void {
    this.series.clear();
    this.aliases.clear();
    this.stored = 0;
    this.newest = -Infinity;
  }

  private identify(request: WireRequest, wire: WireSeries): Identity {
    const cached = wire.rawKey === undefined ? undefined : this.aliases.get(wire.rawKey);
    if (cached !== undefined) return cached;
    const checked = seriesLabels(request, wire, this.options.mode);
    const identity: Identity =
      typeof checked === 'string'
        ? { key: '', labels: {}, problem: checked }
        : { key: encodeLabelsKey(checked), labels: labelsObject(checked.names, checked.values), problem: undefined };
    // Bounded: odd encodings of one label set each take an entry.
    if (wire.rawKey !== undefined && this.aliases.size < 2 * this.options.maxSeries) this.aliases.set(wire.rawKey, identity);
    return identity;
  }

  /** Validates every series and sample of a request, then stores them all; throws a `Refusal` and stores nothing otherwise. */
  ingest(request: WireRequest): IngestResult {
    const strict = this.options.mode === 'strict';
    const { timestamps, values } = request;
    const bound = headBound(this.newest, this.options.outOfBoundsMs);
    const staged = new Map<string, Staged>();
    const targets: Array<Staged | undefined> = new Array<Staged | undefined>(request.series.length);
    // Strict mode: exact repeats, accepted but not stored.
    let skip: Uint8Array | undefined;
    let count = 0;
    let ignored = 0;
    let newest = this.newest;
    for (let s = 0; s < request.series.length; s++) {
      const wire = request.series[s];
      const identity = this.identify(request, wire);
      if (identity.problem !== undefined) throw new Refusal(400, 'invalid-labels', identity.problem);
      if (wire.count === 0) continue;
      let entry = staged.get(identity.key);
      if (entry === undefined) {
        entry = { identity, existing: this.series.get(identity.key), last: -1, pending: 0 };
        staged.set(identity.key, entry);
      }
      targets[s] = entry;
      const existing = entry.existing;
      for (let i = wire.start; i < wire.start + wire.count; i++) {
        const t = timestamps[i];
        if (strict) {
          let lastT = Number.NaN;
          let lastV = 0;
          if (entry.last >= 0) {
            lastT = timestamps[entry.last];
            lastV = values[entry.last];
          } else if (existing !== undefined && existing.length > 0) {
            lastT = existing.lastTimestamp;
            lastV = existing.lastValue;
          }
          if (!checkStrictSample(identity.labels, t, values[i], lastT, lastV, bound)) {
            skip ??= new Uint8Array(request.samples);
            skip[i] = 1;
            ignored++;
            continue;
          }
          entry.last = i;
        }
        entry.pending++;
        if (t > newest) newest = t;
        count++;
      }
    }
    let newSeries = 0;
    for (const entry of staged.values()) if (entry.existing === undefined && entry.pending > 0) newSeries++;
    if (this.stored + count > this.options.maxSamples) {
      throw new Refusal(507, 'full', `receiver full: it keeps at most ${this.options.maxSamples} samples (maxSamples) and holds ${this.stored}; this request has ${count}. Call reset() or raise maxSamples`);
    }
    if (this.series.size + newSeries > this.options.maxSeries) {
      throw new Refusal(507, 'full', `receiver full: it keeps at most ${this.options.maxSeries} series (maxSeries) and holds ${this.series.size}; this request adds ${newSeries}. Call reset() or raise maxSeries`);
    }
    // Commit, in request order: nothing below can fail.
    const created = new Map<string, SeriesData>();
    for (let s = 0; s < request.series.length; s++) {
      const entry = targets[s];
      if (entry === undefined || entry.pending === 0) continue;
      const { key, labels } = entry.identity;
      let target = entry.existing ?? created.get(key);
      if (target === undefined) {
        target = new SeriesData(key, labels, entry.pending);
        created.set(key, target);
        this.series.set(key, target);
      }
      const wire = request.series[s];
      for (let i = wire.start; i < wire.start + wire.count; i++) {
        if (skip !== undefined && skip[i] === 1) continue;
        if (strict) {
          target.push(timestamps[i], values[i]);
          this.stored++;
        } else if (target.insert(timestamps[i], values[i])) {
          this.stored++;
        }
      }
    }
    this.newest = newest;
    return { accepted: count, ignored };
  }

  /** Stored series that match, ordered by label set, with copies of their samples. */
  read(match?: SeriesMatcher): ReceivedSeries[] {
    const test = matcher(match);
    const out: ReceivedSeries[] = [];
    for (const data of this.series.values()) {
      if (!test(data.labels)) continue;
      const timestamps = data.timestamps.slice(0, data.length);
      const values = data.values.slice(0, data.length);
      const samples: Array<[number, number]> = [];
      for (let i = 0; i < data.length; i++) samples.push([timestamps[i], values[i]]);
      out.push({ labels: data.labels, samples, timestamps, values });
    }
    return out.sort((a, b) => compareLabels(a.labels, b.labels));
  }

  /** Stored samples of the series that match, series by series (ordered by label set), oldest first. */
  samples(match?: SeriesMatcher): Sample[] {
    const test = matcher(match);
    const matching = [...this.series.values()].filter((data) => test(data.labels)).sort((a, b) => compareLabels(a.labels, b.labels));
    const out: Sample[] = [];
    for (const data of matching) {
      for (let i = 0; i < data.length; i++) out.push({ labels: data.labels, value: data.values[i], timestamp: data.timestamps[i] });
    }
    return out;
  }
}

function matcher(match: SeriesMatcher | undefined): (labels: Labels) => boolean {
  if (match === undefined) return () => true;
  if (typeof match === 'function') return match;
  // A string (the metric name alone) would match nothing, a number everything.
  if (typeof match !== 'object' || match === null || Array.isArray(match)) throw new ConfigError('match', 'a label object such as { __name__: "m" } or a predicate (labels) => boolean', Array.isArray(match) ? 'an array' : match);
  const wanted = Object.entries(match);
  return (labels) => wanted.every(([name, value]) => Object.prototype.hasOwnProperty.call(labels, name) && labels[name] === value);
}
