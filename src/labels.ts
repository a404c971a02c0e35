/**
 * Label-set validation and the canonical series key.
 *
 * The canonical key of a series is the protobuf encoding of its sorted, non-empty labels
 * (repeated `Label` fields of a `TimeSeries`), held as a latin1 string: one char per byte.
 * The same string is the series' identity in maps and the bytes copied into every request,
 * so a series costs one string, computed once.
 */
import { writeVarint, varintSize } from './varint.js';

/** How strictly the sink checks label sets before sending. */
export type ValidationMode = 'strict' | 'lenient' | 'off';
export const VALIDATION_MODES: readonly ValidationMode[] = ['strict', 'lenient', 'off'];

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** A checked label set: names sorted byte-wise, unique, no empty values. */
export interface CanonicalLabels {
  readonly names: string[];
  readonly values: string[];
}

/** Either canonical labels or the reason they were refused. */
export type LabelCheck = CanonicalLabels | string;

/**
 * Checks a label set from untrusted input and returns it sorted with empty values removed,
 * or a message saying what is wrong. Never throws, never writes into the input.
 *
 * - `strict`: names match `[a-zA-Z_][a-zA-Z0-9_]*`, no reserved `__` names but `__name__`,
 *   `__name__` present and a valid metric name, values are strings.
 * - `lenient`: like the receivers that accept anything: only structure is checked (an object of
 *   string values; numbers and booleans are turned into strings).
 * - `off`: the caller vouches for its labels; values are turned into strings.
 */
export function checkLabels(labels: unknown, mode: ValidationMode): LabelCheck {
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) {
    return 'labels must be an object of label names to string values';
  }
  const names = Object.keys(labels);
  names.sort(compareBytes);
  const outNames: string[] = [];
  const values: string[] = [];
  for (const name of names) {
    let value: unknown = (labels as Record<string, unknown>)[name];
    if (typeof value !== 'string') {
      if (mode === 'strict') return `label "${printable(name)}" has a ${value === null ? 'null' : typeof value} value, not a string`;
      if (mode === 'lenient' && typeof value !== 'number' && typeof value !== 'boolean') {
        return `label "${printable(name)}" has a ${value === null ? 'null' : typeof value} value, not a string`;
      }
      value = String(value);
    }
    // Empty values mean "no such label" in Prometheus: leave them out rather than send them.
    if (value === '') continue;
    if (mode === 'strict') {
      if (!LABEL_NAME.test(name)) return `invalid label name "${printable(name)}"`;
      if (name.startsWith('__') && name !== '__name__') return `reserved label name "${printable(name)}"`;
    }
    outNames.push(name);
    values.push(value as string);
  }
  if (mode === 'strict') {
    const index = outNames.indexOf('__name__');
    if (index < 0) return 'missing __name__';
    if (!METRIC_NAME.test(values[index])) return `invalid metric name "${printable(values[index])}"`;
  }
  if (outNames.length === 0) return 'empty label set';
  return { names: outNames, values };
}

/** Byte-wise order of UTF-8 strings, as the spec requires (UTF-16 order differs above U+FFFF only). */
export function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function printable(text: string): string {
  return text.length > 64 ? `${text.slice(0, 61)}...` : text;
}

/**
 * The canonical key: protobuf `Label` fields of the sorted labels, one char per byte.
 * Written into a scratch buffer and read back as one flat latin1 string: built with `+=` it
 * would be a rope of dozens of pieces until first read (hundreds of bytes per series), and an
 * indirection on every copy into a request after that.
 */
export function encodeLabelsKey(labels: CanonicalLabels): string {
  const { names, values } = labels;
  const count = names.length;
  if (byteLengths.length < 2 * count) byteLengths = new Int32Array(4 * count);
  const lengths = byteLengths;
  let size = 0;
  for (let i = 0; i < count; i++) {
    const name = (lengths[2 * i] = utf8Length(names[i]));
    const value = (lengths[2 * i + 1] = utf8Length(values[i]));
    const inner = 1 + varintSize(name) + name + 1 + varintSize(value) + value;
    size += 1 + varintSize(inner) + inner;
  }
  if (keyScratch.length < size) keyScratch = Buffer.allocUnsafe(Math.max(size, keyScratch.length * 2));
  const out = keyScratch;
  let p = 0;
  for (let i = 0; i < count; i++) {
    const name = lengths[2 * i];
    const value = lengths[2 * i + 1];
    out[p++] = 0x0a;
    p = writeVarint(out, p, 1 + varintSize(name) + name + 1 + varintSize(value) + value);
    out[p++] = 0x0a;
    p = writeVarint(out, p, name);
    p = writeUtf8(out, p, names[i], name);
    out[p++] = 0x12;
    p = writeVarint(out, p, value);
    p = writeUtf8(out, p, values[i], value);
  }
  return out.toString('latin1', 0, p);
}

// Label names and values are mostly short ASCII: a loop over their chars beats two native calls
// (byteLength, write) per string. Anything else goes through Buffer's own UTF-8 encoder, which
// also decides what a lone surrogate becomes.
const SHORT = 64;

function utf8Length(text: string): number {
  const length = text.length;
  if (length > SHORT) return Buffer.byteLength(text, 'utf8');
  for (let i = 0; i < length; i++) if (text.charCodeAt(i) > 0x7f) return Buffer.byteLength(text, 'utf8');
  return length;
}

function writeUtf8(out: Buffer, p: number, text: string, byteLength: number): number {
  const length = text.length;
  if (byteLength !== length || length > SHORT) return p + out.write(text, p, byteLength, 'utf8');
  for (let i = 0; i < length; i++) out[p + i] = text.charCodeAt(i);
  return p + length;
}

let byteLengths = new Int32Array(64);
let keyScratch = Buffer.allocUnsafe(1024);

/** Decodes a canonical key back into labels (for logs and outcomes; not on the hot path). */
export function decodeLabelsKey(key: string): Record<string, string> {
  const bytes = Buffer.from(key, 'latin1');
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  let p = 0;
  const readVarint = (): number => {
    let result = 0;
    let shift = 1;
    for (;;) {
      const b = bytes[p++];
      result += (b & 0x7f) * shift;
      if (b < 0x80) return result;
      shift *= 128;
    }
  };
  while (p < bytes.length) {
    p++; // 0x0a: Label
    readVarint();
    p++; // 0x0a: name
    const nameLength = readVarint();
    const name = bytes.toString('utf8', p, p + nameLength);
    p += nameLength;
    p++; // 0x12: value
    const valueLength = readVarint();
    out[name] = bytes.toString('utf8', p, p + valueLength);
    p += valueLength;
  }
  return out;
}
