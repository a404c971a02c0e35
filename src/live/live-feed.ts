/**
 * A live fan-out of any stream to browsers over Server-Sent Events: each new client gets the
 * last `history` points first, then live ones. Publishing never waits for a client: each client
 * has a bounded send buffer, and one that cannot keep up is cut off ('disconnect') or skips
 * points until it drains ('skip'), counted either way, so a slow or stalled browser can neither
 * slow the pipeline nor grow memory.
 *
 * Works with any Node HTTP server: `feed.handle(req, res)` takes Node's own request and response
 * (node:http, express; fastify via `reply.hijack()` and `request.raw` / `reply.raw`).
 */
import { timingSafeEqual } from 'node:crypto';
import type { LiveFeedStats } from './live-feed-stats.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Observable, type MonoTypeOperatorFunction, type Subscription } from 'rxjs';
import { ConfigError } from '../core/errors.js';

export type SlowClientPolicy = 'disconnect' | 'skip';

export interface LiveFeedCors {
  /** Allowed origins: '*', one origin, a list, or a predicate (one that throws answers the request 500, counted in `originCheckFailures`). */
  readonly origin: '*' | string | readonly string[] | ((origin: string) => boolean);
  /** Send `Access-Control-Allow-Credentials: true` (default false). */
  readonly credentials?: boolean;
}

export interface LiveFeedOptions<T> {
  /** Points a new client receives first (default 120; 0 to 100000). */
  readonly history?: number;
  /** Most bytes waiting to be sent to one client (default 1 MiB; 1 KiB to 1 GiB). */
  readonly maxBufferedBytes?: number;
  /** What to do with a client whose buffer is full: cut it off (default) or skip points until it drains. */
  readonly slowClient?: SlowClientPolicy;
  /** With `slowClient: 'skip'`, cut off a client that has drained nothing for this long (default 30 s). */
  readonly stalledAfterMs?: number;
  /** One point as the `data:` of an event (default JSON.stringify); must not contain newlines. */
  readonly serialize?: (value: T) => string;
  /** The SSE event name (default: none, i.e. "message"). */
  readonly event?: string;
  /** Require `Authorization: Bearer <token>` (or `?access_token=` for EventSource, which cannot set headers). */
  readonly token?: string;
  /** Cross-origin access for pages served from elsewhere. */
  readonly cors?: LiveFeedCors;
  /** A comment line this often keeps proxies from closing idle streams (default 15 s; 0 = off). */
  readonly heartbeatMs?: number;
  /** The reconnect delay the browser is told to use (default 1000 ms). */
  readonly retryMs?: number;
}


export interface LiveFeed<T> {
  /** Serves one request as an event stream (also answers CORS preflight and refuses bad tokens). */
  handle(request: IncomingMessage, response: ServerResponse): void;
  /** Sends a point to every client now; never waits. Throws what `serialize` throws. */
  publish(value: T): void;
  /** Publishes every value of `source` until it ends or the feed closes. */
  connect(source: Observable<T>): Subscription;
  /** An operator that publishes every value passing through (a throwing `serialize` errors the stream). */
  readonly tap: MonoTypeOperatorFunction<T>;
  stats(): LiveFeedStats;
  /** Ends every client's stream, unsubscribes from connected sources, refuses new clients. */
  close(): void;
}

interface Client {
  readonly response: ServerResponse;
  /** When the client's buffer filled in 'skip' mode and it has not drained since. */
  skippingSince: number | undefined;
}

function integer(option: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(option, `an integer in [${min}, ${max}]`, n);
  return n;
}

function checkCors(cors: unknown): void {
  if (cors === undefined) return;
  if (typeof cors !== 'object' || cors === null) throw new ConfigError('cors', "an object { origin, credentials? }", cors);
  const { origin, credentials } = cors as Partial<LiveFeedCors>;
  const originOk = typeof origin === 'string' || typeof origin === 'function' || (Array.isArray(origin) && origin.every((o) => typeof o === 'string'));
  if (!originOk) throw new ConfigError('cors.origin', "'*', an origin, a list of origins or a function (origin) => boolean", Array.isArray(origin) ? 'a list holding a non-string' : origin);
  if (credentials !== undefined && typeof credentials !== 'boolean') throw new ConfigError('cors.credentials', 'a boolean', credentials);
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function liveFeed<T>(options: LiveFeedOptions<T> = {}): LiveFeed<T> {
  const historySize = integer('history', options.history, 120, 0, 100_000);
  const maxBufferedBytes = integer('maxBufferedBytes', options.maxBufferedBytes, 1 << 20, 1024, 1 << 30);
  const stalledAfterMs = integer('stalledAfterMs', options.stalledAfterMs, 30_000, 1, 86_400_000);
  const heartbeatMs = integer('heartbeatMs', options.heartbeatMs, 15_000, 0, 86_400_000);
  const retryMs = integer('retryMs', options.retryMs, 1000, 0, 86_400_000);
  const slowClient = options.slowClient ?? 'disconnect';
  if (slowClient !== 'disconnect' && slowClient !== 'skip') throw new ConfigError('slowClient', "'disconnect' or 'skip'", slowClient);
  if (options.event !== undefined && (typeof options.event !== 'string' || !/^[^\r\n:]+$/.test(options.event))) throw new ConfigError('event', 'a name without newlines or colons', options.event);
  if (options.serialize !== undefined && typeof options.serialize !== 'function') throw new ConfigError('serialize', 'a function', options.serialize);
  checkCors(options.cors);
  if (options.token !== undefined && (typeof options.token !== 'string' || options.token === '')) throw new ConfigError('token', 'a non-empty string', '<redacted>');
  const serialize = options.serialize ?? ((value: T) => JSON.stringify(value));
  const eventLine = options.event === undefined ? '' : `event: ${options.event}\n`;

  const clients = new Set<Client>();
  // Serialized frames of the last points, oldest first, with their ids.
  const history: { id: number; frame: string }[] = [];
  const connected = new Set<Subscription>();
  let nextId = 1;
  let closed = false;
  let failure: unknown;
  let connections = 0;
  let rejected = 0;
  let pointsIn = 0;
  let pointsDelivered = 0;
  let pointsSkipped = 0;
  let slowDisconnects = 0;
  let maxBufferedBytesSeen = 0;
  let originCheckFailures = 0;

  const heartbeat =
    heartbeatMs > 0
      ? setInterval(() => {
          for (const client of clients) send(client, ':\n\n', false);
        }, heartbeatMs)
      : undefined;
  heartbeat?.unref();

  const bufferedBytes = (): number => {
    let total = 0;
    for (const client of clients) total += client.response.writableLength;
    if (total > maxBufferedBytesSeen) maxBufferedBytesSeen = total;
    return total;
  };

  const cutOff = (client: Client): void => {
    slowDisconnects++;
    clients.delete(client);
    // destroy(): end() would wait for a buffer the client is not reading.
    client.response.destroy();
  };

  /** Writes a frame unless it would overflow the client's buffer; returns whether it was written. */
  function send(client: Client, frame: string, isPoint: boolean): boolean {
    const response = client.response;
    if (response.writableLength + Buffer.byteLength(frame) > maxBufferedBytes) {
      if (slowClient === 'disconnect') {
        cutOff(client);
        return false;
      }
      const now = Date.now();
      client.skippingSince ??= now;
      if (now - client.skippingSince >= stalledAfterMs) cutOff(client);
      else if (isPoint) pointsSkipped++;
      return false;
    }
    client.skippingSince = undefined;
    response.write(frame);
    if (isPoint) pointsDelivered++;
    return true;
  }

  const refuse = (response: ServerResponse, status: number, headers: Record<string, string>, text: string): void => {
    rejected++;
    response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
    response.end(text);
  };

  /** The CORS headers for the request's origin; null when the `cors.origin` predicate threw. */
  const corsHeaders = (request: IncomingMessage): Record<string, string> | null => {
    const cors = options.cors;
    const origin = request.headers.origin;
    if (cors === undefined || origin === undefined) return {};
    let allowed: boolean;
    try {
      allowed =
        cors.origin === '*' ||
        (typeof cors.origin === 'string' && cors.origin === origin) ||
        (Array.isArray(cors.origin) && cors.origin.includes(origin)) ||
        (typeof cors.origin === 'function' && Boolean(cors.origin(origin)));
    } catch {
      // Thrown out of `handle` it would reach the HTTP server's 'request' listener and end the process.
      originCheckFailures++;
      return null;
    }
    if (!allowed) return {};
    const headers: Record<string, string> = { 'Access-Control-Allow-Origin': cors.origin === '*' && !cors.credentials ? '*' : origin, Vary: 'Origin' };
    if (cors.credentials) headers['Access-Control-Allow-Credentials'] = 'true';
    return headers;
  };

  const authorized = (request: IncomingMessage): boolean => {
    if (options.token === undefined) return true;
    const header = request.headers.authorization;
    if (header !== undefined && /^Bearer /i.test(header)) return sameSecret(header.slice(7).trim(), options.token);
    const query = new URL(request.url ?? '/', 'http://localhost').searchParams.get('access_token');
    return query !== null && sameSecret(query, options.token);
  };

  function handle(request: IncomingMessage, response: ServerResponse): void {
    const cors = corsHeaders(request);
    if (cors === null) return refuse(response, 500, {}, 'origin check failed\n');
    if (request.method === 'OPTIONS') {
      response.writeHead(204, {
        ...cors,
        'Access-Control-Allow-Methods': 'GET, OPTIONS',
        'Access-Control-Allow-Headers': 'Authorization, Last-Event-ID, Cache-Control',
        'Access-Control-Max-Age': '600',
      });
      response.end();
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') return refuse(response, 405, { ...cors, Allow: 'GET, OPTIONS' }, 'method not allowed\n');
    if (closed) return refuse(response, 503, cors, 'feed closed\n');
    if (!authorized(request)) return refuse(response, 401, { ...cors, 'WWW-Authenticate': 'Bearer' }, 'unauthorized\n');

    connections++;
    response.writeHead(200, {
      ...cors,
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      // Tell reverse proxies (nginx) not to buffer the stream.
      'X-Accel-Buffering': 'no',
    });
    if (request.method === 'HEAD') {
      response.end();
      return;
    }
    response.socket?.setNoDelay(true);
    const client: Client = { response, skippingSince: undefined };
    clients.add(client);
    const forget = (): void => {
      clients.delete(client);
    };
    // The response closes with the connection (a request's own 'close' can come at its end).
    response.on('close', forget);

    // A reconnecting browser says which point it saw last: send only newer ones. An id this feed
    // never sent (one from before a restart: ids start at 1 in every process) says nothing of
    // what the browser has of this feed's points, so it gets the whole history.
    const lastSeen = Number(request.headers['last-event-id']);
    const replay = Number.isFinite(lastSeen) && lastSeen < nextId ? history.filter((h) => h.id > lastSeen) : history;
    // The newest points that fit in the client's buffer, oldest first.
    let budget = maxBufferedBytes - 64;
    let from = replay.length;
    while (from > 0) {
      const size = Buffer.byteLength(replay[from - 1].frame);
      if (size > budget) break;
      budget -= size;
      from--;
    }
    const head = `retry: ${retryMs}\n\n`;
    response.write(head + replay.slice(from).map((h) => h.frame).join(''));
    pointsDelivered += replay.length - from;
  }

  function publish(value: T): void {
    if (closed) return;
    const data = serialize(value);
    if (typeof data !== 'string' || /[\r\n]/.test(data)) {
      throw new TypeError('rxprom liveFeed: serialize must return a string without newlines');
    }
    const id = nextId++;
    const frame = `id: ${id}\n${eventLine}data: ${data}\n\n`;
    pointsIn++;
    if (historySize > 0) {
      history.push({ id, frame });
      if (history.length > historySize) history.shift();
    }
    for (const client of clients) send(client, frame, true);
    bufferedBytes();
  }

  function stop(error: unknown): void {
    failure = error;
    if (!closed) close();
  }

  function connect(source: Observable<T>): Subscription {
    const subscription = source.subscribe({
      next: (value) => {
        try {
          publish(value);
        } catch (error) {
          // A throwing serializer stops the feed rather than escaping into the source.
          stop(error);
        }
      },
      error: (error: unknown) => stop(error),
    });
    if (closed) subscription.unsubscribe();
    else {
      connected.add(subscription);
      subscription.add(() => connected.delete(subscription));
    }
    return subscription;
  }

  const tap: MonoTypeOperatorFunction<T> = (source) =>
    new Observable<T>((subscriber) =>
      source.subscribe({
        next(value) {
          try {
            publish(value);
          } catch (error) {
            subscriber.error(error);
            return;
          }
          subscriber.next(value);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      }),
    );

  function close(): void {
    if (closed) return;
    closed = true;
    if (heartbeat) clearInterval(heartbeat);
    for (const subscription of [...connected]) subscription.unsubscribe();
    for (const client of clients) {
      // A client still holding unsent bytes would keep the server from closing: drop it.
      if (client.response.writableLength > 0) client.response.destroy();
      else client.response.end();
    }
    clients.clear();
  }

  return {
    handle,
    publish,
    connect,
    tap,
    stats: () => ({
      clients: clients.size,
      connections,
      rejected,
      pointsIn,
      pointsDelivered,
      pointsSkipped,
      slowDisconnects,
      bufferedBytes: bufferedBytes(),
      maxBufferedBytesSeen,
      originCheckFailures,
      error: failure,
    }),
    close,
  };
}

export type { LiveFeedStats };
