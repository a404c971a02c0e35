/**
 * Options of the `remoteWrite` sink, and their validation: a bad value throws a `ConfigError`
 * naming the option and its accepted range when the operator is created, not when data flows.
 */
import type { SchedulerLike } from 'rxjs';
import { ConfigError, Undisclosed } from '../core/errors.js';
import { redactUrl } from '../core/redact.js';
import { VALIDATION_MODES, type ValidationMode } from '../protocol/label-rules.js';
import type { Logger } from '../core/logger.js';
import { consoleLogger } from '../core/logger.js';
import { RemoteWriteMetrics } from './metrics.js';
import { RetryPolicy, type RetryOptions } from './http/retry-policy.js';
import type { RequestSigner } from './http/signers.js';
import type { WriteClient } from './http/write-client.js';
import { COMPRESSIONS, type Compression } from '../protocol/snappy.js';
import { enumOption, functionOption, loggerOption, numberOption, schedulerOption } from '../core/options.js';
import type { StateSlot } from '../durable/pipeline-state.js';
import type { SpoolFsyncPolicy, SpoolFullPolicy } from '../durable/spool.js';
import type { RemoteWriteState } from './sink-state.js';

/** The sink's disk spool (see README, "Durable delivery"). */
export interface RemoteWriteSpoolOptions {
  /** Its directory (created when missing); one folder per lane inside. Keep it for the next start. */
  readonly directory: string;
  /** Byte budget of the spool's segment files; default 256 MiB. At least `segmentBytes`. */
  readonly maxBytes?: number;
  /** Size of one segment file; default 16 MiB, at least 64. */
  readonly segmentBytes?: number;
  /** When the budget is reached: `'block'` (default: raise `pressure`, hold batches in memory up to `maxPendingSamples`) or `'drop-oldest'` (counted as `'overflow'`). */
  readonly whenFull?: SpoolFullPolicy;
  /** `'interval'` (default), `'always'` or `'never'`. */
  readonly fsync?: SpoolFsyncPolicy;
  /** Fsync period for `'interval'`, and how often acknowledgements are saved (ms); default 500. */
  readonly fsyncIntervalMs?: number;
  /** Batches per lane kept in memory besides the disk (the oldest, next to be sent); 1 to 1000, default 4. */
  readonly memoryBatches?: number;
}

/** When the sink asks its source to pause (`operator.pressure`): samples held in memory. */
export interface BackpressureOptions {
  /** `pressure` turns true at this many samples held; default: with a spool 4 · shards · maxSamplesPerRequest, else 80% of `maxPendingSamples`. */
  readonly highWaterMark?: number;
  /** ...and false again at this many (below `highWaterMark`); default half of it. */
  readonly lowWaterMark?: number;
}

export interface RemoteWriteOptions {
  /**
   * The receiver's write endpoint, e.g. `http://127.0.0.1:9090/api/v1/write`. Required. A
   * password in it (`http://user:pass@host/...`) is shown as `***` in errors and logs.
   */
  readonly url: string;
  /**
   * Parallel ordered lanes (one request in flight each). A number is a fixed count (1 to 256); a
   * range `{ min, max }` lets the count follow the load (see `ShardRange`). Default
   * `{ min: 1, max: 8 }`: a small flow goes out in whole requests on one lane, a heavy or slow
   * one gets up to 8 requests in flight. With a `spool` the count is fixed (each lane has its own
   * spool folder): 4 by default, a range's `max` when one is given.
   */
  readonly shards?: number | ShardRange;
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
   * Fail the pipeline when this many requests in a row were rejected with the same 4xx before any
   * request was ever written: the mark of a wrong URL path (VictoriaMetrics answers 400 to
   * `/api/v1/writ`). 0 to 1,000,000, default 0: never fail for it (an ERROR is logged after 3 either way).
   */
  readonly failFastAfterRejections?: number;
  /**
   * A batch refused with 400 is halved and its halves sent again
   * (recursively) so that only the refused samples are lost; this bounds the halvings per batch
   * (each costs at most two requests). 0 to 1000, default 32; 0 drops a refused batch whole.
   */
  readonly maxRefusalSplits?: number;
  /** Timeout of one HTTP attempt (ms). 1 to 600,000, default 5000. */
  readonly timeoutMs?: number;
  /**
   * Extra request headers (e.g. `X-Scope-OrgID`): an object of names (HTTP tokens, each once,
   * case-insensitively) to string values without CR, LF or other control characters. Headers
   * the sink sets itself are refused: the protocol's (`Content-Type`, `Content-Encoding`,
   * `Content-Length`, `X-Prometheus-Remote-Write-Version`), the transport's (`Connection`,
   * `Transfer-Encoding`) and `User-Agent` (use `userAgent`).
   */
  readonly headers?: Readonly<Record<string, string>>;
  /** The `User-Agent` header, without CR, LF or other control characters. Default `rxprom/<version>`. */
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
  /**
   * Forget a series (its interned labels) after this long without samples (ms). Default 900,000.
   * Its newest timestamp is still remembered compactly, so a late sample for it stays refused.
   */
  readonly seriesIdleTimeoutMs?: number;
  /**
   * Drop a sample whose timestamp is more than this far ahead of `clock` (ms), with reason
   * `'too-far-in-future'`. 0 to 31,536,000,000 (a year), or `Infinity` for no bound; default
   * 600,000 (10 minutes). Prometheus stores a future sample and from then on refuses every
   * sample older than it by more than 1 h as `out of bounds`: the bound must stay below 1 h.
   */
  readonly maxFutureMs?: number;
  /**
   * Drop a sample whose timestamp is more than this far behind `clock` (ms), with reason
   * `'too-old'`. 1000 to 31,536,000,000, or `Infinity` (default): no bound, as receivers that
   * take backfill (VictoriaMetrics, Mimir) need. For Prometheus, which refuses a whole batch
   * for one sample older than its newest by more than 1 h, set 3,600,000 minus `maxFutureMs`.
   */
  readonly maxAgeMs?: number;
  /** The wall clock `maxFutureMs` and `maxAgeMs` are measured against (ms since the epoch). Default `Date.now`. */
  readonly clock?: () => number;
  /** Console-like or pino logger: `info`, `warn`, `error` functions, `debug` a function or absent. Default: the console. */
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
  /** The sink's place in a pipeline's checkpoints (see `PipelineState`): its order guard and, without a spool, its unwritten samples. */
  readonly state?: StateSlot<RemoteWriteState>;
  /**
   * Keep every batch in a disk spool from before it is sent until it has its outcome: restarts,
   * crashes and outages lose nothing appended. With a spool the defaults change: retries never
   * run out (`retry.maxRetries` 1,000,000: weeks at the 5 s cap) and `maxPendingSamples` (what
   * may wait in memory) is 1,000,000.
   */
  readonly spool?: RemoteWriteSpoolOptions;
  /** Water marks of `operator.pressure`. */
  readonly backpressure?: BackpressureOptions;
}

/** An adaptive lane count: it starts at `min` and follows the measured rate and send latency. */
export interface ShardRange {
  /** Fewest lanes, and the count the sink starts with. 1 to 256, default 1. */
  readonly min?: number;
  /** Most lanes. `min` to 256, default 8 (and at least `min`). */
  readonly max?: number;
  /** How often the count is reconsidered (ms). 100 to 600,000, default 1000. */
  readonly updateEveryMs?: number;
}

/** The lane count as resolved: fixed when `min === max`. */
export interface ResolvedShards {
  readonly min: number;
  readonly max: number;
  readonly updateEveryMs: number;
}

/** The default lane range: see `RemoteWriteOptions.shards`. */
export const DEFAULT_SHARDS: ResolvedShards = { min: 1, max: 8, updateEveryMs: 1000 };

export const RXPROM_USER_AGENT = 'rxprom/0.1.0';

/** Headers the sink sets itself (lower case), with what to do instead of setting them in `headers`. */
const SINK_HEADERS: Readonly<Record<string, string>> = {
  'content-type': "the protocol's, set by the sink",
  'content-encoding': "the protocol's, set by the sink (see the `compression` option)",
  'content-length': "the protocol's, set by the sink",
  'x-prometheus-remote-write-version': "the protocol's, set by the sink",
  'user-agent': 'set by the sink: use the `userAgent` option',
  connection: "the HTTP transport's, set by the sink",
  'transfer-encoding': "the HTTP transport's, set by the sink",
};

/** An HTTP header name: a token (RFC 9110). */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What Node lets through in a header value: tab, visible ASCII, space and Latin-1; no CR, LF or other controls. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Lanes of a spooled sink when `shards` is not given. */
const SPOOLED_SHARDS = 4;

/** Most lanes a sink may have. */
const MAX_SHARDS = 256;

/** Bounds of `maxFutureMs` and `maxAgeMs` when not `Infinity`. */
const MAX_TIMESTAMP_BOUND_MS = 31_536_000_000;

export interface ResolvedRemoteWriteOptions {
  readonly url: string;
  /** `url` with its password replaced by `***`: the form to print. */
  readonly displayUrl: string;
  readonly shards: ResolvedShards;
  readonly maxSamplesPerRequest: number;
  readonly maxDelayMs: number;
  readonly retry: RetryPolicy;
  readonly onMaxRetriesExceeded: 'fail' | 'discard';
  readonly onNonRetryable: 'discard' | 'fail';
  readonly failFastAfterRejections: number;
  readonly maxRefusalSplits: number;
  readonly timeoutMs: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly signer: RequestSigner | undefined;
  readonly validation: ValidationMode;
  readonly compression: Compression;
  readonly seriesIdleTimeoutMs: number;
  readonly maxFutureMs: number;
  readonly maxAgeMs: number;
  /** The clock of the timestamp bounds. */
  readonly now: () => number;
  readonly maxPendingSamples: number;
  readonly logger: Logger;
  readonly metrics: RemoteWriteMetrics;
  readonly scheduler: SchedulerLike | undefined;
  readonly client: WriteClient | undefined;
  readonly state: StateSlot<RemoteWriteState> | undefined;
  readonly spool: ResolvedSpoolOptions | undefined;
  readonly highWaterMark: number;
  readonly lowWaterMark: number;
}

export interface ResolvedSpoolOptions {
  readonly directory: string;
  readonly maxBytes: number;
  readonly segmentBytes: number;
  readonly whenFull: SpoolFullPolicy;
  readonly fsync: SpoolFsyncPolicy;
  readonly fsyncIntervalMs: number;
  readonly memoryBatches: number;
}

export function resolveRemoteWriteOptions(options: RemoteWriteOptions): ResolvedRemoteWriteOptions {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'an object with at least `url`', options);
  const url = checkUrl(options.url);
  const userAgent = options.userAgent ?? RXPROM_USER_AGENT;
  if (typeof userAgent !== 'string' || userAgent === '' || !HEADER_VALUE.test(userAgent)) {
    throw new ConfigError('userAgent', 'a non-empty string without CR, LF or other control characters', userAgent);
  }
  const headers = checkHeaders(options.headers);
  Object.assign(headers, {
    'Content-Type': 'application/x-protobuf',
    'Content-Encoding': 'snappy',
    'X-Prometheus-Remote-Write-Version': '0.1.0',
    'User-Agent': userAgent,
  });
  const logger = loggerOption(options.logger, consoleLogger);
  if (options.metrics !== undefined && !(options.metrics instanceof RemoteWriteMetrics)) {
    throw new ConfigError('metrics', 'a RemoteWriteMetrics instance', options.metrics);
  }
  if (options.retry !== undefined && (typeof options.retry !== 'object' || options.retry === null)) {
    throw new ConfigError('retry', 'an object', options.retry);
  }
  const spool = checkSpool(options.spool);
  const requestedShards = checkShards(options.shards);
  // A spooled sink keeps a fixed lane count (4 unless given; a range's max): each lane has its own
  // spool folder, and moving a series to another lane would first need its old lane's backlog on
  // disk sent.
  const shards: ResolvedShards = !spool
    ? requestedShards
    : options.shards === undefined
      ? { ...requestedShards, min: SPOOLED_SHARDS, max: SPOOLED_SHARDS }
      : { ...requestedShards, min: requestedShards.max };
  const maxSamplesPerRequest = numberOption('maxSamplesPerRequest', options.maxSamplesPerRequest, 2000, { min: 1, max: 1_000_000 });
  const maxPendingSamples = numberOption('maxPendingSamples', options.maxPendingSamples, spool ? 1_000_000 : 10_000_000, { min: 1, max: 1e9 });
  const marks = checkBackpressure(options.backpressure, spool ? Math.min(maxPendingSamples, 4 * shards.max * maxSamplesPerRequest) : Math.max(1, Math.floor(maxPendingSamples * 0.8)), maxPendingSamples);
  // With a spool an outage is no reason to give up: the data waits on disk.
  const retry = spool && options.retry?.maxRetries === undefined ? { ...options.retry, maxRetries: 1_000_000 } : options.retry;
  return {
    url,
    displayUrl: redactUrl(url),
    shards,
    maxSamplesPerRequest,
    maxDelayMs: numberOption('maxDelayMs', options.maxDelayMs, 5000, { min: 0, max: 3_600_000 }),
    retry: new RetryPolicy(retry),
    onMaxRetriesExceeded: enumOption('onMaxRetriesExceeded', options.onMaxRetriesExceeded, ['fail', 'discard'], 'fail'),
    onNonRetryable: enumOption('onNonRetryable', options.onNonRetryable, ['discard', 'fail'], 'discard'),
    failFastAfterRejections: numberOption('failFastAfterRejections', options.failFastAfterRejections, 0, { min: 0, max: 1_000_000 }),
    maxRefusalSplits: numberOption('maxRefusalSplits', options.maxRefusalSplits, 32, { min: 0, max: 1000 }),
    timeoutMs: numberOption('timeoutMs', options.timeoutMs, 5000, { min: 1, max: 600_000 }),
    headers,
    signer: checkSigner(options.signer),
    validation: enumOption('validation', options.validation, VALIDATION_MODES, 'strict'),
    compression: enumOption('compression', options.compression, COMPRESSIONS, 'snappy'),
    seriesIdleTimeoutMs: numberOption('seriesIdleTimeoutMs', options.seriesIdleTimeoutMs, 900_000, { min: 1000, max: 7 * 86_400_000 }),
    maxFutureMs: timestampBound('maxFutureMs', options.maxFutureMs, 600_000, 0),
    maxAgeMs: timestampBound('maxAgeMs', options.maxAgeMs, Infinity, 1000),
    now: checkClock(options.clock),
    maxPendingSamples,
    logger,
    metrics: options.metrics ?? new RemoteWriteMetrics(),
    scheduler: schedulerOption(options.scheduler, undefined),
    client: checkClient(options.client),
    state: checkState(options.state),
    spool,
    highWaterMark: marks.high,
    lowWaterMark: marks.low,
  };
}

function checkSpool(value: RemoteWriteSpoolOptions | undefined): ResolvedSpoolOptions | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) throw new ConfigError('spool', 'an object with at least `directory`', value);
  if (typeof value.directory !== 'string' || value.directory.length === 0) throw new ConfigError('spool.directory', 'a non-empty string (a directory path)', value.directory);
  const segmentBytes = numberOption('spool.segmentBytes', value.segmentBytes, 16 * 1024 * 1024, { min: 64 });
  return {
    directory: value.directory,
    segmentBytes,
    maxBytes: numberOption('spool.maxBytes', value.maxBytes, Math.max(256 * 1024 * 1024, segmentBytes), { min: segmentBytes }),
    whenFull: enumOption('spool.whenFull', value.whenFull, ['block', 'drop-oldest'], 'block'),
    fsync: enumOption('spool.fsync', value.fsync, ['always', 'interval', 'never'], 'interval'),
    fsyncIntervalMs: numberOption('spool.fsyncIntervalMs', value.fsyncIntervalMs, 500, { min: 1, max: 3_600_000 }),
    memoryBatches: numberOption('spool.memoryBatches', value.memoryBatches, 4, { min: 1, max: 1000 }),
  };
}

function checkBackpressure(value: BackpressureOptions | undefined, defaultHigh: number, maxPendingSamples: number): { high: number; low: number } {
  if (value !== undefined && (typeof value !== 'object' || value === null)) throw new ConfigError('backpressure', 'an object', value);
  const high = numberOption('backpressure.highWaterMark', value?.highWaterMark, defaultHigh, { min: 1, max: maxPendingSamples });
  const low = numberOption('backpressure.lowWaterMark', value?.lowWaterMark, Math.floor(high / 2), { min: 0, max: high - 1 });
  return { high, low };
}

function checkState(value: unknown): StateSlot<RemoteWriteState> | undefined {
  if (value === undefined) return undefined;
  const slot = value as StateSlot<RemoteWriteState>;
  if (typeof value !== 'object' || value === null || typeof slot.take !== 'function' || typeof slot.attach !== 'function') {
    throw new ConfigError('state', 'a StateSlot (from PipelineState.slot(name))', value);
  }
  return slot;
}

/** `shards`: a fixed count, or a range whose bounds are checked against each other. */
function checkShards(value: unknown): ResolvedShards {
  if (value === undefined) return DEFAULT_SHARDS;
  if (typeof value === 'number') {
    const count = numberOption('shards', value, undefined, { min: 1, max: MAX_SHARDS });
    return { min: count, max: count, updateEveryMs: DEFAULT_SHARDS.updateEveryMs };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError('shards', `an integer in [1, ${MAX_SHARDS}] or a range { min, max } within it`, value);
  }
  const range = value as ShardRange;
  const min = numberOption('shards.min', range.min, DEFAULT_SHARDS.min, { min: 1, max: MAX_SHARDS });
  const max = numberOption('shards.max', range.max, Math.max(min, DEFAULT_SHARDS.max), { min, max: MAX_SHARDS });
  const updateEveryMs = numberOption('shards.updateEveryMs', range.updateEveryMs, DEFAULT_SHARDS.updateEveryMs, { min: 100, max: 600_000 });
  return { min, max, updateEveryMs };
}

/** An object literal (or one without a prototype): what `Object.entries` reads completely. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** Checks an http(s) URL option; a bad one is shown with its password as `***`. */
export function checkUrl(value: unknown): string {
  if (typeof value !== 'string') throw new ConfigError('url', 'an http(s) URL string', value);
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError('url', 'an http(s) URL string', redactUrl(value));
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigError('url', 'an http(s) URL string', redactUrl(value));
  return value;
}

/**
 * Checks `headers`; returns a fresh copy. Values are never printed: any of them may be a
 * credential. `reserved`: headers the caller sets itself (lower-case name → what it is), refused.
 */
export function checkHeaders(value: unknown, reserved: Readonly<Record<string, string>> = SINK_HEADERS): Record<string, string> {
  const headers: Record<string, string> = {};
  if (value === undefined) return headers;
  if (!isPlainObject(value)) {
    // A Map or a fetch Headers object has no own entries: its headers would be dropped silently.
    const what = Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value === 'object' ? `a ${value.constructor?.name ?? 'object'}` : `a ${typeof value}`;
    throw new ConfigError('headers', 'an object of header names to string values', new Undisclosed(what));
  }
  const seen = new Set<string>();
  for (const [name, headerValue] of Object.entries(value)) {
    if (!HEADER_NAME.test(name)) {
      throw new ConfigError('headers', "an object whose names are HTTP tokens (letters, digits and !#$%&'*+-.^_`|~; no spaces)", name);
    }
    const option = `headers.${name}`;
    const lower = name.toLowerCase();
    const owner = reserved[lower];
    if (owner !== undefined) throw new ConfigError(option, `absent: this header is ${owner}`, new Undisclosed('a value'));
    if (seen.has(lower)) throw new ConfigError('headers', 'an object naming each header once (names are case-insensitive)', name);
    seen.add(lower);
    if (typeof headerValue !== 'string') throw new ConfigError(option, 'a string', new Undisclosed(headerValue === null ? 'null' : `a ${typeof headerValue}`));
    if (!HEADER_VALUE.test(headerValue)) {
      throw new ConfigError(option, 'a string without CR, LF or other control characters', new Undisclosed('a value that has some (not shown)'));
    }
    headers[name] = headerValue;
  }
  return headers;
}

/** The clock of the timestamp bounds: read once here, so a clock that cannot tell the time is refused now. */
function checkClock(value: unknown): () => number {
  const expected = 'a function returning the time in ms since the epoch (a finite number)';
  if (value === undefined) return Date.now;
  if (typeof value !== 'function') throw new ConfigError('clock', expected, value);
  let reading: unknown;
  try {
    reading = (value as () => unknown)();
  } catch {
    throw new ConfigError('clock', expected, new Undisclosed('a function that threw'));
  }
  if (typeof reading !== 'number' || !Number.isFinite(reading)) throw new ConfigError('clock', expected, new Undisclosed(`a function that returned ${String(reading)}`));
  return value as () => number;
}

/** A timestamp bound: an integer in [min, a year] or `Infinity` (no bound). */
function timestampBound(option: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (value === Infinity) return value;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_TIMESTAMP_BOUND_MS) {
    throw new ConfigError(option, `an integer in [${min}, ${MAX_TIMESTAMP_BOUND_MS}] (ms) or Infinity (no bound)`, value);
  }
  return value;
}

/** `signer`: a function. Anything else is not printed: a token put there by mistake (`signer: process.env.TOKEN`) is a credential. */
export function checkSigner(value: unknown): RequestSigner | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') {
    throw new ConfigError('signer', 'a function (request) => void | Promise<void>, e.g. bearerTokenSigner(token)', new Undisclosed(value === null ? 'null' : `a ${typeof value}`));
  }
  return value as RequestSigner;
}

function checkClient(value: unknown): WriteClient | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || typeof (value as WriteClient).send !== 'function') {
    throw new ConfigError('client', 'an object with a send(body, signal) method', value);
  }
  return value as WriteClient;
}
