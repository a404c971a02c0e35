/**
 * Reads a label object that arrives fresh (parsed from JSON, built per message) without building
 * its canonical key: one pass over its own keys, a hash of its labels in canonical order
 * (`hashLabels`, the series' hash), and a comparison in place with the key of the record that
 * hash finds (`matches`). Nothing is allocated.
 *
 * The canonical order of a key order ("shape") is computed once and remembered, with the hash of
 * each name: label objects of one producer nearly always list their keys in the same order. A
 * new shape is not read here (the caller takes its full path, validation included, for that
 * object) and is remembered for the next object.
 *
 * Only plain cases are read: own string values, ASCII names and values. Anything else (a number
 * value, a non-ASCII character, a getter or Proxy trap that throws, more labels than expected)
 * makes `read` answer false and the caller takes the full path, which decides what it means.
 */
import { FNV_OFFSET, FNV_PRIME, hashString } from './hash.js';
import { compareBytes } from '../protocol/label-rules.js';

/**
 * The hash of a label set (canonical order, empty values left out): the hash of each name, then
 * the value's length and its UTF-16 code units two at a time, FNV-1a style. What `LabelReader`
 * computes in place.
 */
export function hashLabels(names: readonly string[], values: readonly string[]): number {
  let hash = FNV_OFFSET;
  for (let i = 0; i < names.length; i++) {
    const value = values[i];
    const length = value.length;
    hash = Math.imul(hash ^ hashString(names[i]), FNV_PRIME);
    hash = Math.imul(hash ^ length, FNV_PRIME);
    // Two code units per step (as `LabelReader` does).
    let c = 0;
    for (; c + 1 < length; c += 2) hash = Math.imul(hash ^ (value.charCodeAt(c) | (value.charCodeAt(c + 1) << 16)), FNV_PRIME);
    if (c < length) hash = Math.imul(hash ^ value.charCodeAt(c), FNV_PRIME);
  }
  return hash >>> 0;
}

/** A key order seen before: its names as listed, the positions that list them sorted, their hashes. */
interface Shape {
  readonly names: readonly string[];
  readonly sorted: Int32Array;
  /** `hashString` of the name at each sorted position. */
  readonly nameHashes: Int32Array;
  /** Whether every name is ASCII (else the shape is never read in place). */
  readonly ascii: boolean;
}

/** Shapes remembered; a producer has a handful (one per message type), rarely more. */
const MAX_SHAPES = 16;
/** Labels read in place at most (the pattern of empty values is a 31-bit mask); a larger object takes the full path. */
const MAX_LABELS = 31;

const hasOwn = Object.prototype.hasOwnProperty;

export class LabelReader {
  /** The object's own keys and values as listed. */
  private readonly listedNames: string[] = [];
  private readonly listedValues: unknown[] = [];
  /** Labels of the last `read`, in canonical order, empty values left out. */
  private readonly names: string[] = [];
  private readonly values: string[] = [];
  /** How many of `names`/`values` the last `read` filled. */
  private count = 0;
  /** The last `read`'s shape, and which of its sorted positions had empty values (bit r; 0 past 31). */
  private shape: Shape | null = null;
  private empties = 0;
  private readonly shapes: Shape[] = [];
  private lastShape: Shape | null = null;
  private nextEvicted = 0;
  /** `hashLabels` of the last `read`'s labels. */
  hash = 0;

  /**
   * Reads `labels` in canonical order and computes `hash`. False when it does not (a new key
   * order, a value that is not a string, a non-ASCII character, a throwing getter or Proxy trap,
   * no labels): then the caller decodes the object on its full path.
   */
  read(labels: object): boolean {
    try {
      return this.readPlain(labels);
    } catch {
      return false;
    }
  }

  /**
   * Whether the last `read`'s labels are exactly the ones `series.key` encodes. The names are
   * compared once per key order and pattern of empty values (then remembered on the series), the
   * values every time.
   */
  matches(series: MatchedSeries): boolean {
    const { names, values, count } = this;
    const key = series.key;
    const end = key.length;
    const compareNames = series.matchedShape !== this.shape || series.matchedEmpties !== this.empties;
    let p = 0;
    for (let i = 0; i < count; i++) {
      // The Label field's tag and length (implied by what follows: skipped), then the name's tag.
      if (p >= end || key.charCodeAt(p++) !== 0x0a) return false;
      while (p < end && key.charCodeAt(p++) >= 0x80);
      if (p >= end || key.charCodeAt(p++) !== 0x0a) return false;
      p = compareNames ? matchString(key, p, names[i]) : skipString(key, p);
      if (p < 0 || p >= end || key.charCodeAt(p++) !== 0x12) return false;
      p = matchString(key, p, values[i]);
      if (p < 0) return false;
    }
    if (p !== end) return false;
    if (compareNames) {
      series.matchedShape = this.shape;
      series.matchedEmpties = this.empties;
    }
    return true;
  }

  private readPlain(labels: object): boolean {
    const listedNames = this.listedNames;
    const listedValues = this.listedValues;
    let listed = 0;
    for (const name in labels) {
      // for-in also lists inherited enumerable properties: they are not labels.
      if (!hasOwn.call(labels, name) || listed === MAX_LABELS) return false;
      listedNames[listed] = name;
      listedValues[listed] = (labels as Record<string, unknown>)[name];
      listed++;
    }
    const shape = this.shapeOf(listed);
    if (shape === null) return false;
    const names = this.names;
    const values = this.values;
    const { sorted, nameHashes } = shape;
    let hash = FNV_OFFSET;
    let count = 0;
    let empties = 0;
    /** Every code unit of the values ORed (two per 32 bits): any bit above 0x7f means non-ASCII. */
    let bits = 0;
    for (let r = 0; r < listed; r++) {
      const value = listedValues[sorted[r]];
      if (typeof value !== 'string') return false;
      const length = value.length;
      // Empty values mean "no such label": not part of the series.
      if (length === 0) {
        empties |= 1 << r;
        continue;
      }
      hash = Math.imul(hash ^ nameHashes[r], FNV_PRIME);
      hash = Math.imul(hash ^ length, FNV_PRIME);
      let i = 0;
      for (; i + 1 < length; i += 2) {
        const pair = value.charCodeAt(i) | (value.charCodeAt(i + 1) << 16);
        bits |= pair;
        hash = Math.imul(hash ^ pair, FNV_PRIME);
      }
      if (i < length) {
        const c = value.charCodeAt(i);
        bits |= c;
        hash = Math.imul(hash ^ c, FNV_PRIME);
      }
      names[count] = listedNames[sorted[r]];
      values[count] = value;
      count++;
    }
    // A key holds UTF-8 bytes: only ASCII values compare with it char for char.
    if ((bits & 0xff80ff80) !== 0) return false;
    if (count === 0) return false; // no labels: the full path says why that is refused
    this.count = count;
    this.hash = hash >>> 0;
    this.shape = shape;
    this.empties = empties;
    return true;
  }

  /** The remembered shape of the listed names, if it is one to read in place; a new one is remembered. */
  private shapeOf(listed: number): Shape | null {
    const last = this.lastShape;
    if (last !== null && this.isListed(last.names, listed)) return last.ascii ? last : null;
    for (const shape of this.shapes) {
      if (this.isListed(shape.names, listed)) {
        this.lastShape = shape;
        return shape.ascii ? shape : null;
      }
    }
    const names = this.listedNames.slice(0, listed);
    const sorted = Int32Array.from(names.keys());
    sorted.sort((a, b) => compareBytes(names[a], names[b]));
    const nameHashes = Int32Array.from(sorted, (i) => hashString(names[i]));
    const ascii = names.every((name) => /^[\x00-\x7f]*$/.test(name));
    const shape: Shape = { names, sorted, nameHashes, ascii };
    if (this.shapes.length < MAX_SHAPES) this.shapes.push(shape);
    else {
      this.shapes[this.nextEvicted] = shape;
      this.nextEvicted = (this.nextEvicted + 1) % MAX_SHAPES;
    }
    this.lastShape = shape;
    return null;
  }

  private isListed(names: readonly string[], listed: number): boolean {
    if (names.length !== listed) return false;
    const listedNames = this.listedNames;
    for (let i = 0; i < listed; i++) if (names[i] !== listedNames[i]) return false;
    return true;
  }
}

/** What `matches` compares with: a series' key, and what it remembers of the last comparison that held. */
export interface MatchedSeries {
  readonly key: string;
  /** The shape (key order) whose names were last found to be the key's: an opaque token. */
  matchedShape: object | null;
  /** And which of its sorted positions had empty values then. */
  matchedEmpties: number;
}

/** The length `readLength` read last (a second return value without an allocation on the hot path). */
let lengthRead = 0;

/** Reads the varint length prefix at `p` into `lengthRead`: the position after the prefix, or -1 past the key's end. */
function readLength(key: string, p: number): number {
  let length = 0;
  let shift = 1;
  for (;;) {
    if (p >= key.length) return -1;
    const b = key.charCodeAt(p++);
    length += (b & 0x7f) * shift;
    if (b < 0x80) break;
    shift *= 128;
  }
  lengthRead = length;
  return p;
}

/** The position after the key's length-prefixed string at `p`. */
function skipString(key: string, p: number): number {
  const start = readLength(key, p);
  return start < 0 ? -1 : start + lengthRead;
}

/** Matches the key's length-prefixed string at `p` against ASCII `text`: the position after it, or -1. */
function matchString(key: string, at: number, text: string): number {
  const p = readLength(key, at);
  if (p < 0) return -1;
  const length = lengthRead;
  if (length !== text.length || p + length > key.length) return -1;
  // Short strings compare faster in a loop than through a call.
  if (length > 16) return key.startsWith(text, p) ? p + length : -1;
  for (let i = 0; i < length; i++) if (key.charCodeAt(p + i) !== text.charCodeAt(i)) return -1;
  return p + length;
}
