/**
 * What the embedded receiver refuses, and the words it uses: the specification's label rules
 * (strict mode) or VictoriaMetrics-like repairs (lenient mode), and Prometheus' answers to
 * samples that are out of order, duplicated or out of bounds. Pure functions: the store applies
 * them, the server sends the `Refusal` they throw.
 */
import type { Labels } from '../../core/model.js';
import type { DecodedLabel } from '../../protocol/reference.js';
import { decodeBody, DecodeError, invalidUtf8Label, wireLabels, type WireRequest, type WireSeries } from '../../protocol/decoder.js';
import { compareBytes, isReservedLabelName, LABEL_NAME, METRIC_NAME, type CanonicalLabels } from '../../protocol/label-rules.js';

/** `'strict'` answers like Prometheus and the specification; `'lenient'` accepts like VictoriaMetrics. */
export type ReceiverMode = 'strict' | 'lenient';

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

/** The answer to a body that cannot be decoded: 413 past a size limit, 400 for broken snappy or protobuf. */
export function refusalOf(error: DecodeError): Refusal {
  return new Refusal(error.problem === 'too-large' ? 413 : 400, error.problem, error.message);
}

/** `decodeBody` for the receiver: throws a `Refusal` (400 or 413), never anything else. */
export function decodeOrRefuse(body: Uint8Array, maxDecompressedBytes: number): WireRequest {
  try {
    return decodeBody(body, maxDecompressedBytes);
  } catch (error) {
    if (error instanceof DecodeError) throw refusalOf(error);
    // decodeBody wraps every failure; anything else is a bug, still answered as a bad body.
    throw new Refusal(400, 'bad-protobuf', `protobuf: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** `{__name__="up", job="a"}`, shortened, for error bodies. */
export function describeSeries(labels: readonly DecodedLabel[]): string {
  const text = `{${labels.map((l) => `${clip(l.name)}=${JSON.stringify(clip(l.value))}`).join(', ')}}`;
  return text.length > 400 ? `${text.slice(0, 397)}...}` : text;
}

/** The same for a stored label set. */
export function describeLabels(labels: Labels): string {
  return describeSeries(Object.entries(labels).map(([name, value]) => ({ name, value })));
}

/**
 * The specification's rules for one series' labels as sent (strict mode): valid, unique,
 * non-reserved names in byte order, non-empty values, a valid `__name__`. Returns the first
 * problem, or undefined.
 */
export function labelProblem(labels: readonly DecodedLabel[]): string | undefined {
  let previous: string | undefined;
  let hasName = false;
  for (const { name, value } of labels) {
    if (!LABEL_NAME.test(name)) return `invalid label name ${JSON.stringify(clip(name))}`;
    if (isReservedLabelName(name)) return `reserved label name ${JSON.stringify(clip(name))}`;
    if (previous !== undefined && name === previous) return `label name ${JSON.stringify(name)} is not unique`;
    if (previous !== undefined && compareBytes(name, previous) < 0) return `labels are not sorted by name (${JSON.stringify(name)} after ${JSON.stringify(previous)})`;
    if (value === '') return `empty value for label ${JSON.stringify(name)}`;
    if (name === '__name__') {
      hasName = true;
      if (!METRIC_NAME.test(value)) return `invalid metric name ${JSON.stringify(clip(value))}`;
    }
    previous = name;
  }
  return hasName ? undefined : 'no __name__ label';
}

/** Lenient mode's repair: sorted by name, the last of repeated names wins, empty values dropped. */
export function lenientLabels(labels: readonly DecodedLabel[]): CanonicalLabels {
  const byName = new Map<string, string>();
  for (const { name, value } of labels) {
    if (value === '') byName.delete(name);
    else byName.set(name, value);
  }
  const names = [...byName.keys()].sort(compareBytes);
  return { names, values: names.map((n) => byName.get(n) as string) };
}

/**
 * The label set a series of a request stands for: strict mode returns it as sent or, as a
 * string, the rule it breaks with the series quoted; lenient mode repairs it. Strict mode throws
 * a 400 `Refusal` at once for labels that are not valid UTF-8 (the spec's strings are UTF-8).
 */
export function seriesLabels(request: WireRequest, series: WireSeries, mode: ReceiverMode): CanonicalLabels | string {
  if (mode === 'lenient') return lenientLabels(wireLabels(request, series));
  const invalid = invalidUtf8Label(request, series);
  if (invalid !== undefined) throw new Refusal(400, 'invalid-labels', `label ${JSON.stringify(clip(invalid))} is not valid UTF-8`);
  const decoded = wireLabels(request, series);
  const problem = labelProblem(decoded);
  if (problem !== undefined) return `${problem}: series ${describeSeries(decoded)}`;
  return { names: decoded.map((l) => l.name), values: decoded.map((l) => l.value) };
}

/**
 * Prometheus' head block lower bound for one request: samples older than `minValid` (the newest
 * timestamp stored in any series minus `windowMs`) are out of bounds. Taken before the request,
 * as Prometheus' appender does, so it does not move within one.
 */
export interface HeadBound {
  readonly minValid: number;
  readonly newest: number;
  readonly windowMs: number;
}

export function headBound(newest: number, windowMs: number): HeadBound {
  return { minValid: newest - windowMs, newest, windowMs };
}

const bitsView = new Float64Array(2);
const bitsWords = new Uint32Array(bitsView.buffer);
/** Same float64 bits: Prometheus compares values this way (a stale marker is not "the same" as another NaN). */
export function sameBits(a: number, b: number): boolean {
  bitsView[0] = a;
  bitsView[1] = b;
  return bitsWords[0] === bitsWords[2] && bitsWords[1] === bitsWords[3];
}

/**
 * Strict mode's answer to one sample of a series whose newest sample (stored, or accepted earlier
 * in this request) is at `lastT` with value `lastV` (`lastT` NaN: none). True: append it. False:
 * an exact repeat of the newest sample (same timestamp, same value bits), accepted and ignored as
 * Prometheus does. Otherwise throws the 400 `Refusal` Prometheus would answer.
 */
export function checkStrictSample(labels: Labels, t: number, v: number, lastT: number, lastV: number, bound: HeadBound): boolean {
  if (t < bound.minValid) {
    throw new Refusal(400, 'out-of-bounds', `out of bounds: series ${describeLabels(labels)} timestamp ${t} is older than ${bound.minValid} (the newest stored timestamp, ${bound.newest}, minus ${bound.windowMs} ms)`);
  }
  if (t < lastT) throw new Refusal(400, 'out-of-order', `out of order sample: series ${describeLabels(labels)} timestamp ${t} is older than its newest sample, at ${lastT}`);
  if (t === lastT) {
    if (!sameBits(v, lastV)) throw new Refusal(400, 'duplicate', `duplicate sample for timestamp: series ${describeLabels(labels)} timestamp ${t} holds ${lastV}, got ${v}`);
    return false;
  }
  return true;
}
