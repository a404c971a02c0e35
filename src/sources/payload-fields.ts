/**
 * Dotted field paths into a parsed JSON payload, shared by the broker sources' payload parsers
 * (`rxprom/mqtt`, `rxprom/jetstream`): a path is checked once, when the parser is created, and
 * looked up per message without allocating.
 */
import { ConfigError } from '../core/errors.js';

/** `path` as its keys (arrays by index: `values.0`); a `ConfigError` naming `option` for an empty path or an empty step. */
export function fieldPath(option: string, path: unknown): string[] {
  if (typeof path !== 'string' || path.length === 0 || path.split('.').some((key) => key.length === 0)) {
    throw new ConfigError(option, 'a dotted field path such as "temperature" or "data.temp"', path);
  }
  return path.split('.');
}

/** The value at `keys` in `document` (own properties only), or undefined when any step is missing. */
export function lookUpField(document: unknown, keys: readonly string[]): unknown {
  let node = document;
  for (const key of keys) {
    if (node === null || typeof node !== 'object' || !Object.prototype.hasOwnProperty.call(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}
