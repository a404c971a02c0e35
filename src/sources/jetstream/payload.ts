/**
 * Payload parsers: turn a message's bytes into an element. A parser throws to mark the payload bad;
 * the source counts it with the thrown message as the reason and the message's subject, acknowledges
 * it with the next commit (a bad payload never gets better by redelivery) and carries on.
 */
import { ConfigError } from '../../core/errors.js';
import { fieldPath, lookUpField } from '../payload-fields.js';

/** Bytes and subject in, element out; a throw marks the payload bad (the message is the reason). */
export type PayloadParser<T> = (payload: Uint8Array, subject: string) => T;

const decoder = new TextDecoder('utf-8', { fatal: true });

function text(payload: Uint8Array): string {
  try {
    return decoder.decode(payload);
  } catch {
    throw new Error('payload is not valid UTF-8');
  }
}

/** The payload as JSON (any JSON value). */
export function jsonPayload<T = unknown>(): PayloadParser<T> {
  return (payload) => {
    const body = text(payload);
    try {
      return JSON.parse(body) as T;
    } catch {
      throw new Error(`payload is not JSON: ${JSON.stringify(body.slice(0, 60))}`);
    }
  };
}

/** The payload as one plain number in text, e.g. `21.5` (surrounding whitespace allowed). */
export function numberPayload(): PayloadParser<number> {
  return (payload) => {
    const body = text(payload).trim();
    const value = body === '' ? Number.NaN : Number(body);
    if (!Number.isFinite(value)) throw new Error(`payload is not a number: ${JSON.stringify(body.slice(0, 60))}`);
    return value;
  };
}

/**
 * Named numbers picked out of a JSON object by dotted paths, e.g.
 * `jsonFieldsPayload({ temperature: 'data.temp', at: 'ts' })` turns `{"data":{"temp":21.5},"ts":1700000000000}`
 * into `{ temperature: 21.5, at: 1700000000000 }`. A missing path or a value that is no finite number
 * marks the payload bad, naming the path.
 */
export function jsonFieldsPayload<K extends string>(paths: Readonly<Record<K, string>>): PayloadParser<Record<K, number>> {
  if (paths === null || typeof paths !== 'object' || Object.keys(paths).length === 0) throw new ConfigError('paths', 'an object of at least one name → dotted JSON path', paths);
  const compiled: Array<[K, string, string[]]> = [];
  for (const [name, path] of Object.entries(paths) as Array<[K, unknown]>) compiled.push([name, String(path), fieldPath(`paths.${name}`, path)]);
  const parseJson = jsonPayload<unknown>();
  return (payload, subject) => {
    const document = parseJson(payload, subject);
    const out = {} as Record<K, number>;
    for (const [name, path, steps] of compiled) {
      const at = lookUpField(document, steps);
      if (at === undefined) throw new Error(`payload has no field "${path}"`);
      if (typeof at !== 'number' || !Number.isFinite(at)) throw new Error(`payload field "${path}" is not a finite number (got ${JSON.stringify(at)?.slice(0, 40)})`);
      out[name] = at;
    }
    return out;
  };
}
