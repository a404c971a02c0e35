import { redactUrl, redactUrlsIn } from './redact.js';

/**
 * Stands for an option value that must not be printed (a header value may be a credential): a
 * `ConfigError` shows the description instead, and keeps no copy of the value.
 */
export class Undisclosed {
  constructor(readonly description: string) {}
  toString(): string {
    return this.description;
  }
}

/**
 * A bad option value, thrown when an operator or component is created. The message names the
 * option, the accepted range and what was given; callers pass a redacted URL or an `Undisclosed`
 * for anything that may hold a secret.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** What was given, as it may be shown: a URL (object or text) with its password as `***`. */
  readonly actual: unknown;
  constructor(
    readonly option: string,
    readonly expected: string,
    actual: unknown,
  ) {
    super(`rxprom: option "${option}" must be ${expected} (got ${describe(actual)})`);
    // Kept as an own field, which JSON.stringify, util.inspect and loggers print: a URL object
    // would print its href, password included.
    this.actual = Array.isArray(actual) ? actual.map(withoutPasswords) : withoutPasswords(actual);
  }
}

function withoutPasswords(value: unknown): unknown {
  if (value instanceof URL) return redactUrl(value.href);
  if (typeof value === 'string') return redactUrlsIn(value);
  return value;
}

function describe(value: unknown): string {
  if (value instanceof Undisclosed) return value.description;
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  return typeof value;
}

/** The sink could not write and the configured policy says to fail the pipeline. */
export class RemoteWriteError extends Error {
  override readonly name = 'RemoteWriteError';
  constructor(
    message: string,
    /** Last HTTP status, or undefined for a network error. */
    readonly status: number | undefined,
    /** The receiver's response body (truncated), when there was one. */
    readonly responseBody: string | undefined,
    /** Samples of the request that failed. */
    readonly samples: number,
    /** HTTP attempts made for it. */
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
