/**
 * The HTTP client behind the `WriteClient` seam: POSTs one encoded request, retrying it in place per the retry policy.
 * axios carries the request over keep-alive connections; axios-retry runs the retry loop with
 * rxprom's classification and backoff. The transport never throws for a status: it resolves with
 * the final answer, and rejects only when aborted.
 *
 * What this client keeps to itself rather than trusting to axios or axios-retry:
 * - the attempt count (a per-send counter, not axios-retry's private state);
 * - the response body, read as a stream up to `MAX_BODY_BYTES` and cut there (never buffered whole);
 * - redirects: 307 and 308 are followed here (same method, same body, signed again) up to
 *   `MAX_REDIRECTS`, on the same host only; any other 3xx is returned as is, for the sink to fail on.
 *   Once a redirect leaves the configured URL's origin (another port or scheme), the rest of that
 *   send goes unsigned and without the user's credential headers;
 * - a signer that throws: a failed attempt (code `ESIGNER`), retried like a network error;
 * - abort: one listener on the caller's signal however many requests are in flight.
 */
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import axios, { AxiosError, type AxiosInstance, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import axiosRetry from 'axios-retry';
import { classifyStatus } from './classify.js';
import { readBoundedBody } from './bounded-body.js';
import { LinkedAbort } from './linked-abort.js';
import { RetryPolicy } from './retry-policy.js';
import { ConfigError, Undisclosed } from '../../core/errors.js';
import { functionOption, numberOption } from '../../core/options.js';
import { checkHeaders, checkSigner, checkUrl } from '../options.js';
import type { RequestSigner } from './signers.js';
import type { WriteAbortSignal, WriteClient, WriteResult } from './write-client.js';
import { redirectTarget, sameOrigin, withoutCredentials } from './redirect-rule.js';
import { redactUrl } from '../../core/redact.js';
export { MAX_REDIRECTS } from './redirect-rule.js';

/** Longest response body kept for logs and outcomes. */
const MAX_BODY_CHARS = 1024;
/** Most of a response body ever read: beyond it the connection is closed instead of drained. */
export const MAX_BODY_BYTES = 64 * 1024;
/** Most redirects followed for one request. */

/** Error code of an attempt whose signer threw or rejected. */
export const SIGNER_ERROR_CODE = 'ESIGNER';

export interface RetryEvent {
  /** 1 for the first retry. */
  readonly retry: number;
  readonly delayMs: number;
  readonly status?: number;
  readonly error?: string;
}

export interface AxiosWriteClientOptions {
  readonly url: string;
  readonly timeoutMs: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly retry: RetryPolicy;
  /** Concurrent connections: one per lane. */
  readonly maxSockets: number;
  readonly signer?: RequestSigner;
  readonly onRetry?: (event: RetryEvent) => void;
}

/**
 * The client is public: its options are checked as the sink's are (a ConfigError naming the
 * option; a header value or a URL's password never shown). The sink's own headers are allowed.
 */
function checkClientOptions(options: AxiosWriteClientOptions): void {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'an object with url, timeoutMs, headers, retry and maxSockets', options);
  checkUrl(options.url);
  numberOption('timeoutMs', options.timeoutMs, undefined, { min: 1, max: 600_000 });
  // Required here (the sink passes its own with the user's), checked as the sink checks the user's.
  if (options.headers === undefined) throw new ConfigError('headers', 'an object of header names to string values', new Undisclosed('undefined'));
  checkHeaders(options.headers, {});
  if (!(options.retry instanceof RetryPolicy)) throw new ConfigError('retry', 'a RetryPolicy', new Undisclosed(options.retry === null ? 'null' : `a ${typeof options.retry}`));
  numberOption('maxSockets', options.maxSockets, undefined, { min: 1, max: 1024 });
  checkSigner(options.signer);
  functionOption('onRetry', options.onRetry, false);
}

/** What one `send` carries through axios and axios-retry: its own attempt counter. */
class SendState {
  attempts = 0;
  /** False once a redirect left the configured URL's origin: no signer, no credential headers from then on. */
  credentialed = true;
}

/** The config key under which a request carries its `SendState` (a class instance: axios passes it by reference). */
const SEND_STATE = 'rxpromSend';
type ConfigWithState = InternalAxiosRequestConfig & { [SEND_STATE]?: SendState };

export class AxiosWriteClient implements WriteClient {
  private readonly client: AxiosInstance;
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly aborts = new LinkedAbort();
  /** The user's headers as sent to another origin than the configured URL's. */
  private readonly headersElsewhere: Readonly<Record<string, string>>;

  constructor(private readonly options: AxiosWriteClientOptions) {
    checkClientOptions(options);
    this.headersElsewhere = withoutCredentials(options.headers);
    this.httpAgent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets });
    this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets: options.maxSockets });
    this.client = axios.create({
      // Without a proxy in the environment, axios would still look for one in it on every request
      // (several environment reads per request, a measurable share of the sink's CPU): decided once.
      ...(proxyInEnvironment() ? {} : { proxy: false as const }),
      timeout: options.timeoutMs,
      httpAgent: this.httpAgent,
      httpsAgent: this.httpsAgent,
      maxRedirects: 0,
      maxBodyLength: Infinity,
      // A stream, so that the body is read by readBoundedBody and never buffered whole.
      responseType: 'stream',
      // The body is always a Buffer, which axios' default request transform returns as it is after
      // a dozen type checks per request; the response is a stream, read below.
      transformRequest: [(data: unknown) => data],
      transformResponse: [(data: unknown) => data],
      // Every status reaches the response interceptor below, which reads the body first.
      validateStatus: () => true,
    });

    // Registered before axios-retry's, so it runs before it: counts the attempt, then signs it
    // (every attempt, so time-limited signatures stay fresh across retries).
    const signer = options.signer;
    this.client.interceptors.request.use(async (config: InternalAxiosRequestConfig) => {
      const state = (config as ConfigWithState)[SEND_STATE];
      if (state) state.attempts++;
      if (signer === undefined || state?.credentialed === false) return config;
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(config.headers.toJSON())) {
        if (typeof value === 'string') headers[name] = value;
      }
      try {
        await signer({ url: config.url ?? options.url, method: 'POST', headers, body: config.data as Uint8Array });
      } catch (caught) {
        const reason = caught instanceof Error ? caught.message : String(caught);
        throw new AxiosError(`request signer failed: ${reason}`, SIGNER_ERROR_CODE, config);
      }
      for (const [name, value] of Object.entries(headers)) config.headers.set(name, value);
      return config;
    });

    // Reads the body within bounds, then turns a non-2xx into the error axios-retry looks at.
    this.client.interceptors.response.use(async (response: AxiosResponse) => {
      if (response.status === 204 || (response.status >= 200 && response.status < 300 && headerOf(response, 'content-length') === '0')) {
        // The usual answer (204, or 200 with no body): nothing to read or bound; drained so that
        // its keep-alive connection goes back to the pool.
        (response.data as Readable).resume();
        response.data = '';
        return response;
      }
      const body = await readBoundedBody(response.data as Readable, {
        maxBytes: MAX_BODY_BYTES,
        keepChars: MAX_BODY_CHARS,
        timeoutMs: options.timeoutMs,
      });
      response.data = body.text;
      if (response.status >= 200 && response.status < 300) return response;
      const code = response.status >= 500 ? AxiosError.ERR_BAD_RESPONSE : AxiosError.ERR_BAD_REQUEST;
      throw new AxiosError(`Request failed with status code ${response.status}`, code, response.config, response.request, response);
    });

    axiosRetry(this.client, {
      retries: options.retry.maxRetries,
      shouldResetTimeout: true,
      retryCondition: (error) => isRetryable(error),
      retryDelay: (retry, error) => {
        const delayMs = options.retry.delayMs(retry, headerOf(error.response, 'retry-after'));
        options.onRetry?.({
          retry,
          delayMs,
          ...(error.response ? { status: error.response.status } : { error: describeNetworkError(error) }),
        });
        return delayMs;
      },
    });
  }

  async send(body: Uint8Array, signal: WriteAbortSignal): Promise<WriteResult> {
    // axios sends a Buffer as it is, but a plain Uint8Array view as its whole underlying ArrayBuffer.
    const payload = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    const state = new SendState();
    const linked = this.aborts.link(signal as AbortSignal);
    try {
      let url = this.options.url;
      // The URLs this request went to, for loops: only a redirect needs them (a URL parse per request otherwise).
      let visited: Set<string> | undefined;
      for (let redirects = 0; ; redirects++) {
        const answer = await this.post(url, payload, state, linked.signal);
        if (signal.aborted) throw (signal as AbortSignal).reason;
        if (answer.result.kind !== 'response' || answer.result.status < 300 || answer.result.status >= 400) {
          return state.credentialed ? answer.result : withoutCredentialsExplained(answer.result, url);
        }
        visited ??= new Set<string>([new URL(this.options.url).href]);
        const next = redirectTarget(url, answer.result.status, answer.location, redirects, visited);
        if (typeof next !== 'string') return { ...answer.result, ...next };
        visited.add(next);
        if (state.credentialed && !sameOrigin(next, this.options.url)) state.credentialed = false;
        url = next;
      }
    } finally {
      linked.release();
    }
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  /** One request to `url`, retried per the policy by axios-retry. */
  private async post(url: string, body: Buffer, state: SendState, signal: AbortSignal): Promise<{ result: WriteResult; location?: string }> {
    const attempts = (): number => Math.max(1, state.attempts);
    try {
      const response = await this.client.post<string>(url, body, {
        headers: { ...(state.credentialed ? this.options.headers : this.headersElsewhere), 'Content-Length': String(body.length) },
        signal,
        [SEND_STATE]: state,
      } as Parameters<AxiosInstance['post']>[2]);
      return { result: { kind: 'response', status: response.status, body: response.data, attempts: attempts() } };
    } catch (caught) {
      if (signal.aborted || axios.isCancel(caught)) throw caught;
      if (!axios.isAxiosError(caught)) throw caught;
      if (caught.response) {
        const location = headerOf(caught.response, 'location');
        const text = typeof caught.response.data === 'string' ? caught.response.data : '';
        return {
          result: { kind: 'response', status: caught.response.status, body: text, attempts: attempts() },
          ...(location !== undefined ? { location } : {}),
        };
      }
      return { result: { kind: 'network-error', message: describeNetworkError(caught), code: caught.code, attempts: attempts() } };
    }
  }
}

/** The environment variables axios (proxy-from-env) reads a proxy from, in both cases. */
const PROXY_VARIABLES = ['http_proxy', 'https_proxy', 'all_proxy'];

/** Whether the environment names a proxy at all (then axios keeps looking it up per request, `no_proxy` included). */
export function proxyInEnvironment(env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  return PROXY_VARIABLES.some((name) => Boolean(env[name]) || Boolean(env[name.toUpperCase()]));
}

function isRetryable(error: AxiosError): boolean {
  if (error.code === 'ERR_CANCELED') return false; // aborted by unsubscription
  if (error.response) return classifyStatus(error.response.status) === 'retryable';
  return true; // network errors, resets, timeouts, a failing signer: the endpoint restarting is normal
}

/** A 401 or 403 from an origin the credentials were not sent to says so (the sink fails on it with this message). */
function withoutCredentialsExplained(result: WriteResult, url: string): WriteResult {
  if (result.kind !== 'response' || (result.status !== 401 && result.status !== 403)) return result;
  const shown = redactUrl(url);
  return {
    ...result,
    message: `receiver answered ${result.status} at ${shown}, reached by a redirect to another origin (scheme, host or port) where the request's credentials are not sent: set url to the endpoint it names (${shown})`,
  };
}

function headerOf(response: AxiosResponse | undefined, name: string): string | undefined {
  const value: unknown = response?.headers[name];
  return typeof value === 'string' ? value : undefined;
}

function describeNetworkError(error: AxiosError): string {
  return error.code ? `${error.code}: ${error.message}` : error.message;
}
