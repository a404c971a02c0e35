/**
 * Series identity, written once for the whole library. The canonical key of a series is the
 * protobuf encoding of its sorted, non-empty labels (repeated `Label` fields of a `TimeSeries`),
 * held as a latin1 string: one char per byte. The same string is the series' identity in maps
 * and the bytes the encoder copies into every request, so a series costs one string, computed once.
 */
import { checkLabels, type CanonicalLabels } from '../protocol/label-rules.js';
import { varintSize, writeVarint } from '../protocol/varint.js';
import type { Sample } from './model.js';

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

/** The canonical identity of a sample's series: its sorted, non-empty labels. */
export function sampleSeriesKey(sample: Sample): string {
  const labels = checkLabels(sample?.labels, 'off');
  return typeof labels === 'string' ? '' : encodeLabelsKey(labels);
}

// Label object → its key. Weak: it goes when the object does. A label object is not to be
// mutated once it has been used (the sink and the window operator assume the same).
const labelKeys = new WeakMap<object, string>();

/**
 * The canonical key of a label set (what `encodeLabelsKey` makes of it, values as strings, empty
 * values left out), cached per label object, so a label object reused for a series costs one
 * WeakMap lookup. '' for something that is not a non-empty label set.
 */
export function cachedLabelsKey(labels: unknown): string {
  if (typeof labels !== 'object' || labels === null) return '';
  let key = labelKeys.get(labels);
  if (key === undefined) {
    const canonical = checkLabels(labels, 'off');
    key = typeof canonical === 'string' ? '' : encodeLabelsKey(canonical);
    labelKeys.set(labels, key);
  }
  return key;
}
