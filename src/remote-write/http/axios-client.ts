/**
 * The HTTP client behind the `WriteClient` seam: POSTs one encoded request, retrying it in place per the retry policy.
 * axios carries the request over keep-alive connections; axios-retry runs the retry loop with
 * rxprom's classification and backoff. The transport never throws for a status: it resolves with
 * the final answer, and rejects only when aborted.
 */
import http from 'node:http';
import https from 'node:https';
import axios, { type AxiosError, type AxiosInstance, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import axiosRetry from 'axios-retry';
import { classifyStatus } from './classify.js';
import type { RetryPolicy } from './retry-policy.js';
import type { RequestSigner } from './signers.js';
import type { WriteAbortSignal, WriteClient, WriteResult } from './write-client.js';

/** Longest response body kept for logs and outcomes. */
const MAX_BODY_CHARS = 1024;


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

export class AxiosWriteClient implements WriteClient {
  private readonly client: AxiosInstance;
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;

  constructor(private readonly options: AxiosWriteClientOptions) {
    this.httpAgent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets });
    this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets: options.maxSockets });
    this.client = axios.create({
      timeout: options.timeoutMs,
      httpAgent: this.httpAgent,
      httpsAgent: this.httpsAgent,
      maxRedirects: 0,
      maxBodyLength: Infinity,
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
      validateStatus: (status) => status >= 200 && status < 300,
    });
    const signer = options.signer;
    if (signer !== undefined) {
      // Signing in an interceptor signs every attempt, retries included.
      this.client.interceptors.request.use(async (config: InternalAxiosRequestConfig) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(config.headers.toJSON())) {
          if (typeof value === 'string') headers[name] = value;
        }
        await signer({ url: options.url, method: 'POST', headers, body: config.data as Uint8Array });
        for (const [name, value] of Object.entries(headers)) config.headers.set(name, value);
        return config;
      });
    }
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
    try {
      const response = await this.client.post<string>(this.options.url, payload, {
        headers: { ...this.options.headers, 'Content-Length': String(body.length) },
        signal,
      });
      return { kind: 'response', status: response.status, body: truncate(response.data), attempts: attemptsOf(response.config) };
    } catch (caught) {
      if (signal.aborted || axios.isCancel(caught)) throw caught;
      if (!axios.isAxiosError(caught)) throw caught;
      const attempts = caught.config ? attemptsOf(caught.config) : 1;
      if (caught.response) {
        return { kind: 'response', status: caught.response.status, body: truncate(caught.response.data), attempts };
      }
      return { kind: 'network-error', message: describeNetworkError(caught), code: caught.code, attempts };
    }
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

function isRetryable(error: AxiosError): boolean {
  if (error.code === 'ERR_CANCELED') return false; // aborted by unsubscription
  if (error.response) return classifyStatus(error.response.status) === 'retryable';
  return true; // network errors, resets, timeouts: the endpoint restarting is normal
}

function attemptsOf(config: InternalAxiosRequestConfig): number {
  const state = (config as InternalAxiosRequestConfig & { 'axios-retry'?: { retryCount?: number } })['axios-retry'];
  return (state?.retryCount ?? 0) + 1;
}

function headerOf(response: AxiosResponse | undefined, name: string): string | undefined {
  const value: unknown = response?.headers[name];
  return typeof value === 'string' ? value : undefined;
}

function describeNetworkError(error: AxiosError): string {
  return error.code ? `${error.code}: ${error.message}` : error.message;
}

function truncate(data: unknown): string {
  const text = typeof data === 'string' ? data : data == null ? '' : String(data);
  return text.length > MAX_BODY_CHARS ? `${text.slice(0, MAX_BODY_CHARS)}...` : text;
}
