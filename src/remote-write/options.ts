/**
 * Options of the `remoteWrite` sink, and their validation: a bad value throws a `ConfigError`
 * naming the option and its accepted range when the operator is created, not when data flows.
 */
import type { SchedulerLike } from 'rxjs';
import { ConfigError } from '../core/errors.js';
import { VALIDATION_MODES, type ValidationMode } from '../protocol/label-rules.js';
import type { Logger } from '../core/logger.js';
import { consoleLogger } from '../core/logger.js';
import { RemoteWriteMetrics } from './metrics.js';
import { RetryPolicy, type RetryOptions } from './http/retry-policy.js';
import type { RequestSigner } from './http/signers.js';
import type { WriteClient } from './http/write-client.js';
import { COMPRESSIONS, type Compression } from '../protocol/snappy.js';
import { enumOption, functionOption, numberOption } from '../core/options.js';

export interface RemoteWriteOptions {
  /** The receiver's write endpoint, e.g. `http://127.0.0.1:9090/api/v1/write`. Required. */
  readonly url: string;
  /** Parallel ordered lanes (one request in flight each). 1 to 256, default 4. */
  readonly shards?: number;
  /** Samples per request. 1 to 1,000,000, default 2000 (Prometheus' `max_samples_per_send`). */
  readonly maxSamplesPerRequest?: number;
  /** Longest a sample waits for its batch to fill (ms). 0 to 3,600,000, default 5000. */
  readonly maxDelayMs?: number;
  /** Backoff for 5xx, 429, network errors and timeouts. */
  readonly retry?: RetryOptions;
  /** When a request used up its retries: `'fail'` the pipeline (default) or `'discard'` it and go on. */
  readonly onMaxRetriesExceeded?: 'fail' | 'discard';
  /** When a request gets a non-retryable 4xx (e.g. 400): `'discard'` it (default) or `'fail'`. */
  readonly onNonRetryable?: 'discard' | 'fail';
  /**
   * With `onNonRetryable: 'discard'`, a batch refused with 400 is halved and its halves sent again
   * (recursively) so that only the refused samples are lost; this bounds the halvings per batch
   * (each costs at most two requests). 0 to 1000, default 32; 0 drops a refused batch whole.
   */
  readonly maxRefusalSplits?: number;
  /** Timeout of one HTTP attempt (ms). 1 to 600,000, default 5000. */
  readonly timeoutMs?: number;
  /** Extra request headers (e.g. `X-Scope-OrgID`). The protocol's own headers cannot be overridden. */
  readonly headers?: Readonly<Record<string, string>>;
  /** The `User-Agent` header. Default `rxprom/<version>`. */
  readonly userAgent?: string;
  /** Adds authentication headers to every attempt; see `basicAuthSigner`, `bearerTokenSigner`. */
  readonly signer?: RequestSigner;
  /**
   * `'snappy'` (default) compresses each body. `'literal'` sends it as a literal-only snappy
   * block: still `Content-Encoding: snappy`, decoded by every receiver, no compression work, about
   * 4x the bytes. For a sender next to its receiver (loopback, same host or rack), where the CPU
   * that compression takes is dearer than the bandwidth it saves.
   */
  readonly compression?: Compression;
  /** Label checks before batching: `'strict'` (default), `'lenient'` or `'off'`. */
  readonly validation?: ValidationMode;
  /**
   * Samples accepted but not yet written (queued in lanes, batches and requests) at most; beyond
   * it a sample is dropped with reason `'overflow'`. RxJS cannot slow a hot source down, so this
   * bounds memory when the receiver cannot keep up. 1 to 1e9, default 10,000,000.
   */
  readonly maxPendingSamples?: number;
  /** Forget a series (its order guard and interned labels) after this long without samples (ms). Default 900,000. */
  readonly seriesIdleTimeoutMs?: number;
  /** Console-like or pino logger. Default: the console. */
  readonly logger?: Logger;
  /** Counters to update; pass your own to read them from elsewhere. Default: a new set, also on `operator.metrics`. */
  readonly metrics?: RemoteWriteMetrics;
  /** Scheduler for the batch and housekeeping timers (tests). Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
  /**
   * The client that sends each request (the `WriteClient` seam). Default: rxprom's axios client,
   * built from `url`, `timeoutMs`, `retry`, `headers` and `signer`. A client of your own takes
   * over sending and retrying; `url` is still required (it names the endpoint in logs).
   */
  readonly client?: WriteClient;
}

export const RXPROM_USER_AGENT = 'rxprom/0.1.0';

/** Headers the protocol fixes; users' `headers` may not override them. */
const PROTOCOL_HEADERS = ['content-type', 'content-encoding', 'content-length', 'x-prometheus-remote-write-version'];

export interface ResolvedRemoteWriteOptions {
  readonly url: string;
  readonly shards: number;
  readonly maxSamplesPerRequest: number;
  readonly maxDelayMs: number;
  readonly retry: RetryPolicy;
  readonly onMaxRetriesExceeded: 'fail' | 'discard';
  readonly onNonRetryable: 'discard' | 'fail';
  readonly maxRefusalSplits: number;
  readonly timeoutMs: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly signer: RequestSigner | undefined;
  readonly validation: ValidationMode;
  readonly compression: Compression;
  readonly seriesIdleTimeoutMs: number;
  readonly maxPendingSamples: number;
  readonly logger: Logger;
  readonly metrics: RemoteWriteMetrics;
  readonly scheduler: SchedulerLike | undefined;
  readonly client: WriteClient | undefined;
}

export function resolveRemoteWriteOptions(options: RemoteWriteOptions): ResolvedRemoteWriteOptions {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'an object with at least `url`', options);
  const url = checkUrl(options.url);
  const userAgent = options.userAgent ?? RXPROM_USER_AGENT;
  if (typeof userAgent !== 'string' || userAgent === '') throw new ConfigError('userAgent', 'a non-empty string', userAgent);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (typeof value !== 'string') throw new ConfigError(`headers.${name}`, 'a string', value);
    if (PROTOCOL_HEADERS.includes(name.toLowerCase())) {
      throw new ConfigError(`headers.${name}`, `not one of the protocol's headers (${PROTOCOL_HEADERS.join(', ')})`, value);
    }
    headers[name] = value;
  }
  Object.assign(headers, {
    'Content-Type': 'application/x-protobuf',
    'Content-Encoding': 'snappy',
    'X-Prometheus-Remote-Write-Version': '0.1.0',
    'User-Agent': userAgent,
  });
  const logger = options.logger ?? consoleLogger;
  for (const level of ['info', 'warn', 'error'] as const) {
    if (typeof logger[level] !== 'function') throw new ConfigError(`logger.${level}`, 'a function', logger[level]);
  }
  if (options.metrics !== undefined && !(options.metrics instanceof RemoteWriteMetrics)) {
    throw new ConfigError('metrics', 'a RemoteWriteMetrics instance', options.metrics);
  }
  if (options.retry !== undefined && (typeof options.retry !== 'object' || options.retry === null)) {
    throw new ConfigError('retry', 'an object', options.retry);
  }
  return {
    url,
    shards: numberOption('shards', options.shards, 4, { min: 1, max: 256 }),
    maxSamplesPerRequest: numberOption('maxSamplesPerRequest', options.maxSamplesPerRequest, 2000, { min: 1, max: 1_000_000 }),
    maxDelayMs: numberOption('maxDelayMs', options.maxDelayMs, 5000, { min: 0, max: 3_600_000 }),
    retry: new RetryPolicy(options.retry),
    onMaxRetriesExceeded: enumOption('onMaxRetriesExceeded', options.onMaxRetriesExceeded, ['fail', 'discard'], 'fail'),
    onNonRetryable: enumOption('onNonRetryable', options.onNonRetryable, ['discard', 'fail'], 'discard'),
    maxRefusalSplits: numberOption('maxRefusalSplits', options.maxRefusalSplits, 32, { min: 0, max: 1000 }),
    timeoutMs: numberOption('timeoutMs', options.timeoutMs, 5000, { min: 1, max: 600_000 }),
    headers,
    signer: functionOption<RequestSigner>('signer', options.signer, false),
    validation: enumOption('validation', options.validation, VALIDATION_MODES, 'strict'),
    compression: enumOption('compression', options.compression, COMPRESSIONS, 'snappy'),
    seriesIdleTimeoutMs: numberOption('seriesIdleTimeoutMs', options.seriesIdleTimeoutMs, 900_000, { min: 1000, max: 7 * 86_400_000 }),
    maxPendingSamples: numberOption('maxPendingSamples', options.maxPendingSamples, 10_000_000, { min: 1, max: 1e9 }),
    logger,
    metrics: options.metrics ?? new RemoteWriteMetrics(),
    scheduler: options.scheduler,
    client: checkClient(options.client),
  };
}

function checkUrl(value: unknown): string {
  if (typeof value !== 'string') throw new ConfigError('url', 'an http(s) URL string', value);
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError('url', 'an http(s) URL string', value);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigError('url', 'an http(s) URL string', value);
  return value;
}

function checkClient(value: unknown): WriteClient | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || typeof (value as WriteClient).send !== 'function') {
    throw new ConfigError('client', 'an object with a send(body, signal) method', value);
  }
  return value as WriteClient;
}
