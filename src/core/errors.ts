/** A bad option value, thrown when an operator or component is created. */
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
