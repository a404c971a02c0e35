/**
 * The label rules of Remote-Write 1.0 and Prometheus, written once: what a label name and a
 * metric name may be, which names are reserved, and the check of a label set from untrusted
 * input that the sink, the receiver and the generator share.
 */

/** How strictly the sink checks label sets before sending. */
export type ValidationMode = 'strict' | 'lenient' | 'off';
export const VALIDATION_MODES: readonly ValidationMode[] = ['strict', 'lenient', 'off'];

/** A valid label name. */
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** A valid metric name (the value of `__name__`). */
export const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** A UTF-16 surrogate without its pair (in a `u` regex a pair is one code point, outside this range). */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Names starting with `__` are reserved for Prometheus' internal use, except `__name__` itself. */
export function isReservedLabelName(name: string): boolean {
  return name.startsWith('__') && name !== '__name__';
}

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
 *   string values; numbers and booleans are turned into strings; names that UTF-8 can hold).
 * - `off`: the caller vouches for its labels; values are turned into strings.
 */
export function checkLabels(labels: unknown, mode: ValidationMode): LabelCheck {
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) {
    return 'labels must be an object of label names to string values';
  }
  try {
    return checkLabelObject(labels, mode);
  } catch (error) {
    // A getter or a Proxy trap of the caller's object threw: refuse the label set, never throw.
    return `labels could not be read (${error instanceof Error ? printable(error.message) : 'a non-Error was thrown'})`;
  }
}

function checkLabelObject(labels: object, mode: ValidationMode): LabelCheck {
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
      if (isReservedLabelName(name)) return `reserved label name "${printable(name)}"`;
    } else if (mode === 'lenient' && LONE_SURROGATE.test(name)) {
      // UTF-8 has no form for it (the encoder writes U+FFFD): two such names would be one name twice on the wire.
      return `label name "${printable(name)}" is not well-formed Unicode (a lone surrogate)`;
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
