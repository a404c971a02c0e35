/**
 * Says what state the endpoint is in, so that an outage or a wrong URL is visible in the logs
 * without debug logging:
 * - an outage: WARN at the first failed attempt, then at most one WARN summary per
 *   `summaryIntervalMs` (down for how long, how many failed attempts, how much is pending), and
 *   INFO when a request is written again;
 * - a misconfiguration: while nothing has ever been written, requests that keep getting the same
 *   non-retryable 4xx (e.g. VictoriaMetrics answers 400 to `/api/v1/writ`) get one ERROR with a
 *   hint, and, when `failFastAfterRejections` is set, an error that fails the pipeline.
 */
import { RemoteWriteError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { WriteOutcome } from '../core/model.js';
import { classifyStatus } from './http/classify.js';
import type { WriteResult } from './http/write-client.js';

/** Same-status rejections, before anything was written, that make the ERROR. */
export const REJECTIONS_BEFORE_ERROR = 3;

export interface FailedAttempt {
  /** The HTTP status, when the receiver answered. */
  readonly status?: number;
  /** The network error, when it did not. */
  readonly error?: string;
}

export interface ConnectionHealthOptions {
  /** The endpoint, for messages; credentials and query are left out. */
  readonly url: string;
  readonly logger: Logger;
  /** Least time between two outage summaries (ms). Default 10,000. */
  readonly summaryIntervalMs?: number;
  /** Fail after this many same-status rejections before anything was written; 0: never (default). */
  readonly failFastAfterRejections?: number;
  /** What waits to be sent now, for the summaries. */
  readonly pending?: () => { readonly samples: number; readonly requests: number };
  readonly now?: () => number;
}

export class ConnectionHealth {
  private readonly endpoint: string;
  private readonly summaryIntervalMs: number;
  private readonly failFastAfterRejections: number;
  private readonly now: () => number;
  /** When the current outage began; undefined while the endpoint is healthy. */
  private downSince: number | undefined;
  private failedAttempts = 0;
  private lastReport = 0;
  private everWritten = false;
  private rejectedStatus: number | undefined;
  private rejections = 0;
  private misconfigurationReported = false;

  constructor(private readonly options: ConnectionHealthOptions) {
    this.endpoint = redact(options.url);
    this.summaryIntervalMs = options.summaryIntervalMs ?? 10_000;
    this.failFastAfterRejections = options.failFastAfterRejections ?? 0;
    this.now = options.now ?? Date.now;
  }

  /** True between a failed attempt and the next written request. */
  get down(): boolean {
    return this.downSince !== undefined;
  }

  /** An attempt failed with a retryable status or a network error, and will be retried. */
  attemptFailed(failure: FailedAttempt): void {
    const now = this.now();
    const cause = failure.status !== undefined ? `status ${failure.status}` : (failure.error ?? 'unknown error');
    if (this.downSince === undefined) {
      this.downSince = now;
      this.failedAttempts = 1;
      this.lastReport = now;
      this.options.logger.warn({ url: this.endpoint, cause, ...this.pending() }, `remote-write endpoint is failing (${cause}); retrying, samples wait in memory`);
      return;
    }
    this.failedAttempts++;
    if (now - this.lastReport < this.summaryIntervalMs) return;
    this.lastReport = now;
    const downMs = now - this.downSince;
    const pending = this.pending();
    const waiting = pending.pendingSamples === undefined ? '' : `; ${pending.pendingSamples} samples pending, ${pending.requestsInFlight ?? 0} requests in flight`;
    this.options.logger.warn(
      { url: this.endpoint, cause, downMs, failedAttempts: this.failedAttempts, ...pending },
      `remote-write endpoint still failing after ${seconds(downMs)}: ${this.failedAttempts} failed attempts, last ${cause}${waiting}`,
    );
  }

  /**
   * The final outcome of a request (or of a sample dropped before sending, which is ignored).
   * Returns the error to fail the pipeline with when `failFastAfterRejections` is reached.
   */
  /** One answer of the receiver to a request of `samples` samples (a network error is not an answer). */
  answered(result: WriteResult, samples: number): RemoteWriteError | undefined {
    if (result.kind !== 'response') return undefined;
    const verdict = classifyStatus(result.status);
    if (verdict === 'written') return this.observe({ type: 'written', samples, series: 0, attempts: result.attempts, status: result.status });
    if (verdict !== 'non-retryable') return undefined;
    return this.observe({ type: 'dropped', reason: 'non-retryable', samples, series: 0, attempts: result.attempts, status: result.status, responseBody: result.body });
  }

  observe(outcome: WriteOutcome): RemoteWriteError | undefined {
    if (outcome.type === 'written') {
      this.everWritten = true;
      this.rejections = 0;
      if (this.downSince !== undefined) {
        const downMs = this.now() - this.downSince;
        this.options.logger.info(
          { url: this.endpoint, downMs, failedAttempts: this.failedAttempts },
          `remote-write endpoint recovered after ${seconds(downMs)} (${this.failedAttempts} failed attempts)`,
        );
        this.downSince = undefined;
        this.failedAttempts = 0;
      }
      return undefined;
    }
    if (this.everWritten || outcome.reason !== 'non-retryable' || outcome.status === undefined) return undefined;
    if (outcome.status < 400 || outcome.status >= 500) return undefined;
    if (outcome.status === this.rejectedStatus) this.rejections++;
    else {
      this.rejectedStatus = outcome.status;
      this.rejections = 1;
    }
    const failing = this.failFastAfterRejections > 0 && this.rejections >= this.failFastAfterRejections;
    const message =
      `every request so far (${this.rejections}) was rejected with ${outcome.status} and nothing was ever written to ${this.endpoint}: ` +
      'check the URL path (e.g. /api/v1/write for Prometheus and VictoriaMetrics, /api/v1/push for Mimir and Cortex)';
    if (!this.misconfigurationReported && (failing || this.rejections >= REJECTIONS_BEFORE_ERROR)) {
      this.misconfigurationReported = true;
      this.options.logger.error({ url: this.endpoint, status: outcome.status, requests: this.rejections, responseBody: outcome.responseBody }, message);
    }
    if (!failing) return undefined;
    return new RemoteWriteError(`rxprom: ${message}`, outcome.status, outcome.responseBody, outcome.samples, outcome.attempts);
  }

  /** Log fields for what waits to be sent, when the sink said how to know. */
  private pending(): { pendingSamples?: number; requestsInFlight?: number } {
    const pending = this.options.pending?.();
    return pending === undefined ? {} : { pendingSamples: pending.samples, requestsInFlight: pending.requests };
  }
}

/** The URL without credentials or query, which may hold secrets. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}
