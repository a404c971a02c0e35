import { numberOption } from '../../core/options.js';
/**
 * The retry policy: exponential backoff with jitter, overridden by a receiver's `Retry-After`.
 */

export interface RetryOptions {
  /** Delay before the first retry (ms). Default 30, as Prometheus and the Flink connector. */
  readonly initialDelayMs?: number;
  /** Cap of the exponential delay (ms). Default 5000. */
  readonly maxDelayMs?: number;
  /** Retries after the first attempt before `onMaxRetriesExceeded` applies. Default 100. */
  readonly maxRetries?: number;
  /**
   * Fraction of each delay that is random, 0 to 1 (default 0.2): a delay d becomes a value in
   * [d·(1-jitter), d], so lanes that failed together do not retry together.
   */
  readonly jitter?: number;
  /** Upper bound for a `Retry-After` the receiver asks for (ms). Default 300000 (5 minutes). */
  readonly maxRetryAfterMs?: number;
}

export class RetryPolicy {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly maxRetries: number;
  readonly jitter: number;
  readonly maxRetryAfterMs: number;

  constructor(options: RetryOptions = {}, private readonly random: () => number = Math.random) {
    this.initialDelayMs = numberOption('retry.initialDelayMs', options.initialDelayMs, 30, { min: 0, max: 3_600_000 });
    this.maxDelayMs = numberOption('retry.maxDelayMs', options.maxDelayMs, 5000, { min: this.initialDelayMs, max: 3_600_000 });
    this.maxRetries = numberOption('retry.maxRetries', options.maxRetries, 100, { min: 0, max: 1_000_000 });
    this.jitter = numberOption('retry.jitter', options.jitter, 0.2, { min: 0, max: 1, integer: false });
    this.maxRetryAfterMs = numberOption('retry.maxRetryAfterMs', options.maxRetryAfterMs, 300_000, { min: 0, max: 86_400_000 });
  }

  /**
   * Delay before retry number `retry` (1 for the first retry). A `Retry-After` header value
   * (seconds or an HTTP date) replaces the computed delay.
   */
  delayMs(retry: number, retryAfter?: string | null, nowMs: number = Date.now()): number {
    const requested = parseRetryAfter(retryAfter, nowMs);
    if (requested !== undefined) return Math.min(requested, this.maxRetryAfterMs);
    const exponential = Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** Math.min(retry - 1, 52));
    return exponential * (1 - this.jitter * this.random());
  }
}

/** Parses a `Retry-After` value: delta-seconds or an HTTP date. Undefined when absent or unparsable. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number = Date.now()): number | undefined {
  if (value == null) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}
