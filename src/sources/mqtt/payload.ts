/**
 * Payload parsers: turn an MQTT message's bytes into a value. A parser throws a
 * `BadPayloadError` (or any error) to mark the message bad; the source counts it with the error's
 * message as the reason and never emits it.
 */
import { ConfigError } from '../../core/errors.js';
import { fieldPath, lookUpField } from '../payload-fields.js';

/** What a parser knows about the message besides its bytes. */
export interface PayloadContext {
  readonly topic: string;
  /** When the message arrived (ms epoch). */
  readonly receivedAt: number;
}

export type PayloadParser<T> = (payload: Uint8Array, context: PayloadContext) => T;

/** One reading: a value and when it was taken. */
export interface Reading {
  readonly value: number;
  /** ms epoch. */
  readonly timestamp: number;
}

/** Thrown by a parser for a payload it cannot use; its message is the counted reason. */
export class BadPayloadError extends Error {
  override readonly name = 'BadPayloadError';
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function text(payload: Uint8Array): string {
  try {
    return decoder.decode(payload);
  } catch {
    throw new BadPayloadError('payload is not UTF-8 text');
  }
}

/** A payload that is a plain number (`21.5`); the timestamp is the arrival time. */
export function numberPayload(): PayloadParser<Reading> {
  return (payload, { receivedAt }) => {
    const body = text(payload).trim();
    if (body.length === 0) throw new BadPayloadError('payload is empty');
    const value = Number(body);
    // Number('') and Number('0x10') are numbers too: accept only what reads as a decimal number.
    if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(body) || !Number.isFinite(value)) {
      throw new BadPayloadError(`payload is not a number: ${JSON.stringify(body.slice(0, 40))}`);
    }
    return { value, timestamp: receivedAt };
  };
}

export interface JsonPayloadOptions {
  /** Dotted path to the value, e.g. `'temperature'` or `'readings.temp.c'`. */
  readonly value: string;
  /** Dotted path to the timestamp; without it, the arrival time. */
  readonly timestamp?: string;
  /** The timestamp's unit when it is a number: `'ms'` (default) or `'s'` (fractions allowed). ISO 8601 strings are always accepted. */
  readonly timestampUnit?: 'ms' | 's';
}

/**
 * A JSON object payload: `jsonPayload({ value: 'temperature', timestamp: 'ts' })` reads
 * `{"temperature": 21.5, "ts": 1700000000000}`. A missing field, a value that is not a finite
 * number, or a timestamp that is not a time makes the message bad, with the field named.
 */
export function jsonPayload(options: JsonPayloadOptions): PayloadParser<Reading> {
  if (options === null || typeof options !== 'object') throw new ConfigError('payload', 'an object with a "value" path', options);
  const valueKeys = fieldPath('value', options.value);
  const timestampKeys = options.timestamp === undefined ? undefined : fieldPath('timestamp', options.timestamp);
  const unit = options.timestampUnit ?? 'ms';
  if (unit !== 'ms' && unit !== 's') throw new ConfigError('timestampUnit', "'ms' or 's'", unit);
  const scale = unit === 's' ? 1000 : 1;
  return (payload, { receivedAt }) => {
    let document: unknown;
    try {
      document = JSON.parse(text(payload));
    } catch (error) {
      if (error instanceof BadPayloadError) throw error;
      throw new BadPayloadError(`payload is not JSON: ${(error as Error).message}`);
    }
    const value = lookUpField(document, valueKeys);
    if (value === undefined) throw new BadPayloadError(`field "${options.value}" is missing`);
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new BadPayloadError(`field "${options.value}" is not a finite number (got ${JSON.stringify(value)?.slice(0, 40)})`);
    if (timestampKeys === undefined) return { value, timestamp: receivedAt };
    const raw = lookUpField(document, timestampKeys);
    if (raw === undefined) throw new BadPayloadError(`field "${options.timestamp}" is missing`);
    const timestamp = typeof raw === 'number' ? Math.round(raw * scale) : typeof raw === 'string' ? Date.parse(raw) : Number.NaN;
    if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
      throw new BadPayloadError(`field "${options.timestamp}" is not a time (${unit === 's' ? 'seconds' : 'milliseconds'} since the epoch or an ISO 8601 string; got ${JSON.stringify(raw)?.slice(0, 40)})`);
    }
    return { value, timestamp };
  };
}
