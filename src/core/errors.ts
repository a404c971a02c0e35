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
  constructor(
    readonly option: string,
    readonly expected: string,
    readonly actual: unknown,
  ) {
    super(`rxprom: option "${option}" must be ${expected} (got ${describe(actual)})`);
  }
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
