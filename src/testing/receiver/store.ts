/**
 * The embedded receiver's parts that need no HTTP: body decoding (size guards, snappy, protobuf)
 * and the in-memory series store with Prometheus' acceptance rules. Kept apart from the server so
 * that they can be tested (and fuzzed) in-process.
 */
import { isUtf8 } from 'node:buffer';
import type { Labels, Sample } from '../../core/model.js';
import type { DecodedLabel } from '../../protocol/reference.js';
import { snappyUncompress } from '../../protocol/snappy.js';
import { encodeLabelsKey } from '../../core/series-key.js';

/** Why the receiver refused a request (one counter per reason in `ReceiverStats`). */
export type RefusalReason =
  | 'not-found'
  | 'method-not-allowed'
  | 'unsupported-media-type'
  | 'too-large'
  | 'bad-snappy'
  | 'bad-protobuf'
  | 'invalid-labels'
  | 'out-of-bounds'
  | 'out-of-order'
  | 'duplicate'
  | 'full';

/** A refused request: the HTTP status, a reason code and the body text sent back. */
export class Refusal extends Error {
  override readonly name = 'Refusal';
  constructor(
    readonly status: number,
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(message);
  }
}

// Snappy's densest element is a 2-byte-offset copy: 3 bytes for up to 64 output bytes. A body
// announcing more than that ratio cannot be valid, so it is refused before any allocation.
const MAX_SNAPPY_RATIO = 22;

/** The uncompressed length a snappy block announces (its varint preamble), or -1 when unreadable. */
export function snappyAnnouncedLength(body: Uint8Array): number {
  let result = 0;
  for (let i = 0; i < Math.min(body.length, 5); i++) {
    const byte = body[i];
    result += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return result;
  }
  return -1;
}

/**
 * Decompresses and decodes one Remote-Write 1.0 body. Throws a `Refusal` (400 or 413), never
 * anything else: the announced length is checked before snappy allocates its output, and every
 * error of snappyjs and of the protobuf decoder is turned into a 400 naming the layer that failed.
 * @internal The receiver's own (Node Buffer based): left out of the published types.
 */
export function decodeBody(body: Uint8Array, maxDecompressedBytes: number): WireRequest {
  const announced = snappyAnnouncedLength(body);
  if (announced < 0) throw new Refusal(400, 'bad-snappy', 'snappy: corrupt input: no length preamble (is the body snappy block-compressed?)');
  if (announced > maxDecompressedBytes) {
    throw new Refusal(413, 'too-large', `snappy: the body announces ${announced} decompressed bytes, more than the limit of ${maxDecompressedBytes} (maxDecompressedBytes)`);
  }
  if (announced > body.length * MAX_SNAPPY_RATIO + 16) {
    throw new Refusal(400, 'bad-snappy', `snappy: corrupt input: ${body.length} bytes cannot decompress to the ${announced} bytes announced`);
  }
  let raw: Uint8Array;
  try {
    raw = snappyUncompress(body, maxDecompressedBytes);
  } catch (error) {
    throw new Refusal(400, 'bad-snappy', `snappy: ${messageOf(error)}`);
  }
  try {
    return decodeWire(Buffer.isBuffer(raw) ? raw : Buffer.from(raw));
  } catch (error) {
    throw new Refusal(400, 'bad-protobuf', `protobuf: ${messageOf(error)}`);
  }
}

/**
 * One `TimeSeries` of a request: labels still as byte spans, samples as a range of the request's columns.
 * @internal The receiver's own (Node Buffer based): left out of the published types.
 */
export interface WireSeries {
  /** The bytes of its `Label` fields (latin1) when they are contiguous: equal bytes, equal labels. */
  readonly rawKey: string | undefined;
  /** Its labels in `WireRequest.labelSpans`: from index `spanStart` (inclusive) to `spanEnd`, four numbers per label. */
  readonly spanStart: number;
  readonly spanEnd: number;
  /** First sample's index in `timestamps` / `values`. */
  readonly start: number;
  readonly count: number;
}

/**
 * A decoded `WriteRequest`, column-wise: no object per sample or label.
 * @internal The receiver's own (Node Buffer based): left out of the published types.
 */
export interface WireRequest {
  readonly raw: Buffer;
  readonly series: readonly WireSeries[];
  /** Per label: start and end of the name, start and end of the value, in `raw` (one array per request). */
  readonly labelSpans: Uint32Array;
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
  readonly samples: number;
}

class WireError extends Error {}

const TWO_32 = 4294967296;

/**
 * A hand-written decoder for `prometheus.WriteRequest` (the schema in proto/remote.proto):
 * several times faster than protobufjs' objects, which cost more than everything else the
 * receiver does. Stricter than protobufjs: a known field with the wrong wire type, a truncated
 * field, an over-long varint or a group is an error. Unknown fields are skipped. Repeated scalar
 * fields: the last one wins, as protobuf says.
 * @internal The receiver's own (Node Buffer based): left out of the published types.
 */
export function decodeWire(raw: Buffer): WireRequest {
  const end = raw.length;
  const series: WireSeries[] = [];
  let labelSpans = new Uint32Array(256);
  let spanCount = 0;
  let timestamps = new Float64Array(Math.max(16, Math.min(1 << 16, raw.length >>> 4)));
  let values = new Float64Array(timestamps.length);
  let samples = 0;
  let p = 0;

  const varint = (limit: number): number => {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (p >= limit) throw new WireError(`truncated varint at offset ${p}`);
      const byte = raw[p++];
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
    throw new WireError(`varint longer than 10 bytes at offset ${p}`);
  };
  // int64 in two's complement: exact through two 32-bit halves (a double would lose -1).
  const int64 = (limit: number): number => {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (p >= limit) throw new WireError(`truncated varint at offset ${p}`);
      const byte = raw[p++];
      const bits = byte & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if (byte < 0x80) {
        lo >>>= 0;
        hi >>>= 0;
        if (hi < 0x80000000) return hi * TWO_32 + lo;
        lo = (~lo + 1) >>> 0;
        hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
        return -(hi * TWO_32 + lo);
      }
    }
    throw new WireError(`varint longer than 10 bytes at offset ${p}`);
  };
  const lengthOf = (limit: number): number => {
    const length = p < limit && raw[p] < 0x80 ? raw[p++] : varint(limit);
    if (length > limit - p) throw new WireError(`field length ${length} at offset ${p} runs past the end of its message`);
    return length;
  };
  const skip = (wireType: number, limit: number, field: number): void => {
    switch (wireType) {
      case 0:
        varint(limit);
        return;
      case 1:
        if (limit - p < 8) throw new WireError(`truncated fixed64 at offset ${p}`);
        p += 8;
        return;
      case 2:
        p += lengthOf(limit);
        return;
      case 5:
        if (limit - p < 4) throw new WireError(`truncated fixed32 at offset ${p}`);
        p += 4;
        return;
      default:
        throw new WireError(`unsupported wire type ${wireType} (field ${field}) at offset ${p}`);
    }
  };
  const expect = (wireType: number, wanted: number, what: string): void => {
    if (wireType !== wanted) throw new WireError(`${what} has wire type ${wireType}, expected ${wanted}, at offset ${p}`);
  };

  while (p < end) {
    const tag = p < end && raw[p] < 0x80 ? raw[p++] : varint(end);
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (field === 0) throw new WireError(`field number 0 at offset ${p}`);
    if (field !== 1) {
      skip(wireType, end, field);
      continue;
    }
    expect(wireType, 2, 'WriteRequest.timeseries');
    const seriesEndLength = lengthOf(end); // read before p: it advances p
    const seriesEnd = p + seriesEndLength;
    const spanStart = spanCount;
    const start = samples;
    let keyStart = -1;
    let keyEnd = -1;
    let contiguous = true;
    while (p < seriesEnd) {
      const fieldStart = p;
      const tag = p < seriesEnd && raw[p] < 0x80 ? raw[p++] : varint(seriesEnd);
      const field = Math.floor(tag / 8);
      const wireType = tag & 7;
      if (field === 0) throw new WireError(`field number 0 at offset ${p}`);
      if (field === 1) {
        expect(wireType, 2, 'TimeSeries.labels');
        const labelEndLength = lengthOf(seriesEnd); // read before p: it advances p
    const labelEnd = p + labelEndLength;
        let nameStart = p;
        let nameEnd = p;
        let valueStart = p;
        let valueEnd = p;
        while (p < labelEnd) {
          const tag = p < labelEnd && raw[p] < 0x80 ? raw[p++] : varint(labelEnd);
          const field = Math.floor(tag / 8);
          const wireType = tag & 7;
          if (field === 0) throw new WireError(`field number 0 at offset ${p}`);
          if (field === 1 || field === 2) {
            expect(wireType, 2, field === 1 ? 'Label.name' : 'Label.value');
            const length = lengthOf(labelEnd);
            if (field === 1) {
              nameStart = p;
              nameEnd = p + length;
            } else {
              valueStart = p;
              valueEnd = p + length;
            }
            p += length;
          } else skip(wireType, labelEnd, field);
        }
        // A typed array grown by hand: pushing onto a number[] was most of the decoding time.
        if (spanCount + 4 > labelSpans.length) {
          const grown = new Uint32Array(labelSpans.length * 2);
          grown.set(labelSpans);
          labelSpans = grown;
        }
        labelSpans[spanCount++] = nameStart;
        labelSpans[spanCount++] = nameEnd;
        labelSpans[spanCount++] = valueStart;
        labelSpans[spanCount++] = valueEnd;
        if (keyStart < 0) keyStart = fieldStart;
        else if (keyEnd !== fieldStart) contiguous = false;
        keyEnd = p;
      } else if (field === 2) {
        expect(wireType, 2, 'TimeSeries.samples');
        const sampleEndLength = lengthOf(seriesEnd); // read before p: it advances p
    const sampleEnd = p + sampleEndLength;
        let value = 0;
        let timestamp = 0;
        while (p < sampleEnd) {
          const tag = p < sampleEnd && raw[p] < 0x80 ? raw[p++] : varint(sampleEnd);
          const field = Math.floor(tag / 8);
          const wireType = tag & 7;
          if (field === 0) throw new WireError(`field number 0 at offset ${p}`);
          if (field === 1) {
            expect(wireType, 1, 'Sample.value');
            if (sampleEnd - p < 8) throw new WireError(`truncated Sample.value at offset ${p}`);
            value = raw.readDoubleLE(p);
            p += 8;
          } else if (field === 2) {
            expect(wireType, 0, 'Sample.timestamp');
            timestamp = int64(sampleEnd);
          } else skip(wireType, sampleEnd, field);
        }
        if (samples === timestamps.length) {
          const grownT = new Float64Array(samples * 2);
          const grownV = new Float64Array(samples * 2);
          grownT.set(timestamps);
          grownV.set(values);
          timestamps = grownT;
          values = grownV;
        }
        timestamps[samples] = timestamp;
        values[samples] = value;
        samples++;
      } else skip(wireType, seriesEnd, field);
    }
    const rawKey = contiguous && keyStart >= 0 ? raw.toString('latin1', keyStart, keyEnd) : contiguous ? '' : undefined;
    series.push({ rawKey, spanStart, spanEnd: spanCount, start, count: samples - start });
  }
  return { raw, series, labelSpans, timestamps, values, samples };
}

/** Reads a series' labels out of the request bytes; strict mode refuses invalid UTF-8 (the spec's strings are UTF-8). */
function wireLabels(request: WireRequest, series: WireSeries, strict: boolean): DecodedLabel[] {
  const { raw, labelSpans: spans } = request;
  const out: DecodedLabel[] = [];
  for (let i = series.spanStart; i < series.spanEnd; i += 4) {
    if (strict && (!isUtf8(raw.subarray(spans[i], spans[i + 1])) || !isUtf8(raw.subarray(spans[i + 2], spans[i + 3])))) {
      throw new Refusal(400, 'invalid-labels', `label ${JSON.stringify(clip(raw.toString('utf8', spans[i], spans[i + 1])))} is not valid UTF-8`);
    }
    out.push({ name: raw.toString('utf8', spans[i], spans[i + 1]), value: raw.toString('utf8', spans[i + 2], spans[i + 3]) });
  }
  return out;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** One series' samples, in time order, in two parallel growable typed arrays. */
class SeriesData {
  // Typed arrays, not number[]: plain arrays quiet NaN payloads, and the stale marker is one.
  timestamps: Float64Array;
  values: Float64Array;
  length = 0;

  constructor(
    readonly key: string,
    readonly labels: Labels,
    capacity = 4,
  ) {
    this.timestamps = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
  }

  get lastTimestamp(): number {
    return this.timestamps[this.length - 1];
  }

  get lastValue(): number {
    return this.values[this.length - 1];
  }

  push(t: number, v: number): void {
    if (this.length === this.timestamps.length) this.grow();
    this.timestamps[this.length] = t;
    this.values[this.length] = v;
    this.length++;
  }

  /** Puts a sample in time order; a sample at a stored timestamp replaces it. True when one was added. */
  insert(t: number, v: number): boolean {
    if (this.length === 0 || t > this.lastTimestamp) {
      this.push(t, v);
      return true;
    }
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timestamps[mid] < t) lo = mid + 1;
      else hi = mid;
    }
    if (this.timestamps[lo] === t) {
      this.values[lo] = v;
      return false;
    }
    if (this.length === this.timestamps.length) this.grow();
    this.timestamps.copyWithin(lo + 1, lo, this.length);
    this.values.copyWithin(lo + 1, lo, this.length);
    this.timestamps[lo] = t;
    this.values[lo] = v;
    this.length++;
    return true;
  }

  private grow(): void {
    const capacity = Math.max(4, this.timestamps.length * 2);
    const timestamps = new Float64Array(capacity);
    const values = new Float64Array(capacity);
    timestamps.set(this.timestamps.subarray(0, this.length));
    values.set(this.values.subarray(0, this.length));
    this.timestamps = timestamps;
    this.values = values;
  }
}

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
  readonly mode: 'strict' | 'lenient';
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

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

const bitsView = new Float64Array(2);
const bitsWords = new Uint32Array(bitsView.buffer);
/** Same float64 bits: Prometheus compares values this way (a stale marker is not "the same" as another NaN). */
function sameBits(a: number, b: number): boolean {
  bitsView[0] = a;
  bitsView[1] = b;
  return bitsWords[0] === bitsWords[2] && bitsWords[1] === bitsWords[3];
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** `{__name__="up", job="a"}`, shortened, for error bodies. */
export function describeSeries(labels: readonly DecodedLabel[]): string {
  const text = `{${labels.map((l) => `${clip(l.name)}=${JSON.stringify(clip(l.value))}`).join(', ')}}`;
  return text.length > 400 ? `${text.slice(0, 397)}...}` : text;
}

/** The specification's rules for one series' labels (strict mode); returns the problem or undefined. */
export function labelProblem(labels: readonly DecodedLabel[]): string | undefined {
  let previous: string | undefined;
  let hasName = false;
  for (const { name, value } of labels) {
    if (!LABEL_NAME.test(name)) return `invalid label name ${JSON.stringify(clip(name))}`;
    if (name.startsWith('__') && name !== '__name__') return `reserved label name ${JSON.stringify(clip(name))}`;
    if (previous !== undefined && name === previous) return `label name ${JSON.stringify(name)} is not unique`;
    // Names are ASCII here, so UTF-16 order is byte order.
    if (previous !== undefined && name < previous) return `labels are not sorted by name (${JSON.stringify(name)} after ${JSON.stringify(previous)})`;
    if (value === '') return `empty value for label ${JSON.stringify(name)}`;
    if (name === '__name__') {
      hasName = true;
      if (!METRIC_NAME.test(value)) return `invalid metric name ${JSON.stringify(clip(value))}`;
    }
    previous = name;
  }
  return hasName ? undefined : 'no __name__ label';
}

/** Lenient mode: sort by name, the last of repeated names wins, empty values are dropped. */
function lenientLabels(labels: readonly DecodedLabel[]): { names: string[]; values: string[] } {
  const byName = new Map<string, string>();
  for (const { name, value } of labels) {
    if (value === '') byName.delete(name);
    else byName.set(name, value);
  }
  const names = [...byName.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { names, values: names.map((n) => byName.get(n) as string) };
}

function labelsObject(names: readonly string[], values: readonly string[]): Labels {
  const labels: Record<string, string> = {};
  // defineProperty: a lenient label named "__proto__" must become a label, not a prototype.
  for (let i = 0; i < names.length; i++) Object.defineProperty(labels, names[i], { value: values[i], enumerable: true, writable: true, configurable: true });
  return Object.freeze(labels);
}

function describeLabels(labels: Labels): string {
  return describeSeries(Object.entries(labels).map(([name, value]) => ({ name, value })));
}

function compareLabels(a: Labels, b: Labels): number {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
    if (ka[i] !== kb[i]) return ka[i] < kb[i] ? -1 : 1;
    const va = a[ka[i]];
    const vb = b[kb[i]];
    if (va !== vb) return va < vb ? -1 : 1;
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
    const strict = this.options.mode === 'strict';
    const decoded = wireLabels(request, wire, strict);
    let identity: Identity;
    if (strict) {
      const problem = labelProblem(decoded);
      const names = decoded.map((l) => l.name);
      const values = decoded.map((l) => l.value);
      identity = {
        key: problem === undefined ? encodeLabelsKey({ names, values }) : '',
        labels: problem === undefined ? labelsObject(names, values) : {},
        problem: problem === undefined ? undefined : `${problem}: series ${describeSeries(decoded)}`,
      };
    } else {
      const { names, values } = lenientLabels(decoded);
      identity = { key: encodeLabelsKey({ names, values }), labels: labelsObject(names, values), problem: undefined };
    }
    // Bounded: odd encodings of one label set each take an entry.
    if (wire.rawKey !== undefined && this.aliases.size < 2 * this.options.maxSeries) this.aliases.set(wire.rawKey, identity);
    return identity;
  }

  /**
   * Validates every series and sample of a request, then stores them all; throws a `Refusal` and stores nothing otherwise.
   * @internal Takes the receiver's Buffer-based decoding: left out of the published types.
   */
  ingest(request: WireRequest): IngestResult {
    const strict = this.options.mode === 'strict';
    const { timestamps, values } = request;
    // Prometheus' appender takes its lower bound (head max time - chunkRange/2) when it is
    // created, so the bound does not move within one request. An empty head accepts anything.
    const minValid = this.newest - this.options.outOfBoundsMs;
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
          if (t < minValid) {
            throw new Refusal(400, 'out-of-bounds', `out of bounds: series ${describeLabels(identity.labels)} timestamp ${t} is older than ${minValid} (the newest stored timestamp, ${this.newest}, minus ${this.options.outOfBoundsMs} ms)`);
          }
          let lastT: number | undefined;
          let lastV = 0;
          if (entry.last >= 0) {
            lastT = timestamps[entry.last];
            lastV = values[entry.last];
          } else if (existing !== undefined && existing.length > 0) {
            lastT = existing.lastTimestamp;
            lastV = existing.lastValue;
          }
          if (lastT !== undefined) {
            if (t < lastT) throw new Refusal(400, 'out-of-order', `out of order sample: series ${describeLabels(identity.labels)} timestamp ${t} is older than its newest sample, at ${lastT}`);
            if (t === lastT) {
              if (!sameBits(values[i], lastV)) {
                throw new Refusal(400, 'duplicate', `duplicate sample for timestamp: series ${describeLabels(identity.labels)} timestamp ${t} holds ${lastV}, got ${values[i]}`);
              }
              // An exact repeat is ignored, as Prometheus does.
              skip ??= new Uint8Array(request.samples);
              skip[i] = 1;
              ignored++;
              continue;
            }
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
  const wanted = Object.entries(match);
  return (labels) => wanted.every(([name, value]) => Object.prototype.hasOwnProperty.call(labels, name) && labels[name] === value);
}
