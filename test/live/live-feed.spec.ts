/**
 * The live fan-out on a real node:http server with real sockets: history then live points, a
 * stalled client (a raw socket that never reads) cut off or skipped and counted while a healthy
 * client gets every point, the buffered bytes bounded, tokens, CORS, shutdown.
 */
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { Subject, toArray, lastValueFrom, of, throwError } from 'rxjs';
import { ConfigError } from '../../src/index.js';
import { liveFeed, type LiveFeed } from '../../src/live/index.js';

interface Started { server: Server; url: string }

async function serve<T>(feed: LiveFeed<T>): Promise<Started> {
  const server = createServer((req, res) => feed.handle(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { server, url: `http://127.0.0.1:${address.port}/` };
}

/** An SSE reader: collects `id`s and `data`s as they arrive. */
class SseReader {
  readonly ids: number[] = [];
  readonly data: string[] = [];
  response!: IncomingMessage;
  private rest = '';
  private waiters: (() => void)[] = [];
  ended = false;

  static open(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
    return new Promise((resolve, reject) => {
      const reader = new SseReader();
      const req = httpRequest(url, { headers: { Accept: 'text/event-stream', ...headers } }, (res) => {
        reader.response = res;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => reader.feed(chunk));
        res.on('close', () => {
          reader.ended = true;
          reader.wake();
        });
        resolve(reader);
      });
      req.on('error', reject);
      req.end();
    });
  }

  private feed(chunk: string): void {
    this.rest += chunk;
    let end: number;
    while ((end = this.rest.indexOf('\n\n')) >= 0) {
      const event = this.rest.slice(0, end);
      this.rest = this.rest.slice(end + 2);
      for (const line of event.split('\n')) {
        if (line.startsWith('id: ')) this.ids.push(Number(line.slice(4)));
        else if (line.startsWith('data: ')) this.data.push(line.slice(6));
      }
    }
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  async until(condition: () => boolean): Promise<void> {
    while (!condition()) {
      if (this.ended) throw new Error(`stream ended; got ${this.data.length} points`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  close(): void {
    this.response.destroy();
  }
}

/** A client that sends the request and then never reads a byte. */
async function stalledClient(url: string): Promise<Socket> {
  const { port } = new URL(url);
  const socket = connect(Number(port), '127.0.0.1');
  await once(socket, 'connect');
  socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
  socket.pause();
  return socket;
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

let cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

function track<T>(feed: LiveFeed<T>, started: Started): void {
  cleanup.push(() => feed.close(), () => new Promise<void>((resolve) => started.server.close(() => resolve())));
}

describe('liveFeed', () => {
  it('sends a new client the last N points first, then live ones, in order', async () => {
    const feed = liveFeed<{ n: number }>({ history: 3 });
    const started = await serve(feed);
    track(feed, started);
    for (let n = 1; n <= 5; n++) feed.publish({ n });
    const reader = await SseReader.open(started.url);
    assert.equal(reader.response.headers['content-type'], 'text/event-stream; charset=utf-8');
    await reader.until(() => reader.data.length >= 3);
    feed.publish({ n: 6 });
    await reader.until(() => reader.data.length >= 4);
    assert.deepEqual(reader.data.map((d) => (JSON.parse(d) as { n: number }).n), [3, 4, 5, 6]);
    assert.deepEqual(reader.ids, [3, 4, 5, 6]);
    const stats = feed.stats();
    assert.equal(stats.pointsIn, 6);
    assert.equal(stats.pointsDelivered, 4);
    assert.equal(stats.clients, 1);
    reader.close();
    // A client that goes away is forgotten.
    while (feed.stats().clients > 0) await tick();
    feed.publish({ n: 7 });
    assert.equal(feed.stats().pointsDelivered, 4);
  });

  it('resumes after Last-Event-ID without repeating points', async () => {
    const feed = liveFeed<number>({ history: 10 });
    const started = await serve(feed);
    track(feed, started);
    for (let n = 1; n <= 6; n++) feed.publish(n);
    const reader = await SseReader.open(started.url, { 'Last-Event-ID': '4' });
    await reader.until(() => reader.data.length >= 2);
    assert.deepEqual(reader.data, ['5', '6']);
    reader.close();
  });

  it('replays the whole history to a Last-Event-ID it never sent (a browser back after a restart)', async () => {
    // The old process had sent ids up to 500; this one starts again at 1.
    const feed = liveFeed<number>({ history: 10 });
    const started = await serve(feed);
    track(feed, started);
    for (let n = 1; n <= 4; n++) feed.publish(n);
    const reader = await SseReader.open(started.url, { 'Last-Event-ID': '500' });
    await reader.until(() => reader.data.length >= 4);
    feed.publish(5);
    await reader.until(() => reader.data.length >= 5);
    assert.deepEqual(reader.data, ['1', '2', '3', '4', '5']);
    assert.deepEqual(reader.ids, [1, 2, 3, 4, 5]);
    // The newest id this feed sent still means "seen everything".
    const current = await SseReader.open(started.url, { 'Last-Event-ID': '5' });
    feed.publish(6);
    await current.until(() => current.data.length >= 1);
    assert.deepEqual(current.data, ['6']);
    reader.close();
    current.close();
  });

  for (const policy of ['disconnect', 'skip'] as const) {
    it(`a stalled client (${policy}) never holds back a healthy one, and buffered bytes stay bounded`, async () => {
      const maxBufferedBytes = 256 * 1024;
      // A short stall limit so that 'skip' also ends with the stalled client cut off.
      const feed = liveFeed<string>({ history: 0, maxBufferedBytes, slowClient: policy, stalledAfterMs: 200 });
      const started = await serve(feed);
      track(feed, started);
      const stalled = await stalledClient(started.url);
      cleanup.push(() => void stalled.destroy());
      const healthy = await SseReader.open(started.url);
      while (feed.stats().clients < 2) await tick();

      // 16 MiB in 4 KiB points: far more than the kernel's socket buffers and the feed's bound.
      const payload = 'x'.repeat(4096);
      const points = 4096;
      let maxBuffered = 0;
      for (let i = 0; i < points; i++) {
        feed.publish(payload);
        if (i % 16 === 15) {
          maxBuffered = Math.max(maxBuffered, feed.stats().bufferedBytes);
          await tick(); // let the healthy client's socket drain, as a pipeline's event loop does
        }
      }
      await healthy.until(() => healthy.data.length >= points);
      // Give a skipping client time to be judged stalled, then one more point to judge it.
      if (policy === 'skip') {
        await new Promise((resolve) => setTimeout(resolve, 250));
        feed.publish(payload);
        await healthy.until(() => healthy.data.length >= points + 1);
      }
      const stats = feed.stats();
      assert.equal(healthy.data.length, policy === 'skip' ? points + 1 : points, 'the healthy client got every point');
      assert.deepEqual(healthy.ids.slice(0, 3), [1, 2, 3]);
      assert.equal(stats.slowDisconnects, 1, 'the stalled client was cut off');
      assert.equal(stats.clients, 1);
      if (policy === 'skip') assert.ok(stats.pointsSkipped > 0, `points skipped: ${stats.pointsSkipped}`);
      // Each client's buffer stays under the bound: the total never exceeds clients × bound.
      assert.ok(stats.maxBufferedBytesSeen <= 2 * maxBufferedBytes, `max buffered ${stats.maxBufferedBytesSeen}`);
      assert.ok(maxBuffered <= 2 * maxBufferedBytes);
      assert.ok(stats.maxBufferedBytesSeen > 0, 'the stalled client did fill its buffer');
      healthy.close();
    });
  }

  it('requires the bearer token when one is set (header or access_token query)', async () => {
    const feed = liveFeed<number>({ token: 's3cret' });
    const started = await serve(feed);
    track(feed, started);
    feed.publish(1);
    const anonymous = await SseReader.open(started.url);
    assert.equal(anonymous.response.statusCode, 401);
    assert.equal(anonymous.response.headers['www-authenticate'], 'Bearer');
    const wrong = await SseReader.open(started.url, { Authorization: 'Bearer s3cre' });
    assert.equal(wrong.response.statusCode, 401);
    const byHeader = await SseReader.open(started.url, { Authorization: 'Bearer s3cret' });
    assert.equal(byHeader.response.statusCode, 200);
    const byQuery = await SseReader.open(`${started.url}?access_token=s3cret`);
    assert.equal(byQuery.response.statusCode, 200);
    await byQuery.until(() => byQuery.data.length >= 1);
    assert.equal(feed.stats().rejected, 2);
    byHeader.close();
    byQuery.close();
  });

  it('answers CORS preflight and sets the allowed origin only', async () => {
    const feed = liveFeed<number>({ cors: { origin: ['http://dash.example'] } });
    const started = await serve(feed);
    track(feed, started);
    const preflight = await fetch(started.url, { method: 'OPTIONS', headers: { Origin: 'http://dash.example' } });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'http://dash.example');
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /Authorization/);
    const allowed = await SseReader.open(started.url, { Origin: 'http://dash.example' });
    assert.equal(allowed.response.headers['access-control-allow-origin'], 'http://dash.example');
    const other = await SseReader.open(started.url, { Origin: 'http://evil.example' });
    assert.equal(other.response.headers['access-control-allow-origin'], undefined);
    allowed.close();
    other.close();
  });

  it('a cors.origin predicate that throws answers 500 and is counted; the server and other clients go on', async () => {
    const feed = liveFeed<number>({
      cors: {
        origin: (origin) => {
          if (origin === 'http://bad.example') throw new Error('lookup failed');
          return origin === 'http://dash.example';
        },
      },
    });
    const started = await serve(feed);
    track(feed, started);
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown): void => void uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    cleanup.push(() => void process.off('uncaughtException', onUncaught));
    const preflight = await fetch(started.url, { method: 'OPTIONS', headers: { Origin: 'http://bad.example' } });
    assert.equal(preflight.status, 500);
    const refused = await fetch(started.url, { headers: { Origin: 'http://bad.example' } });
    assert.equal(refused.status, 500);
    assert.equal(await refused.text(), 'origin check failed\n');
    const allowed = await SseReader.open(started.url, { Origin: 'http://dash.example' });
    assert.equal(allowed.response.statusCode, 200);
    assert.equal(allowed.response.headers['access-control-allow-origin'], 'http://dash.example');
    feed.publish(1);
    await allowed.until(() => allowed.data.length >= 1);
    assert.deepEqual(allowed.data, ['1']);
    const stats = feed.stats();
    assert.equal(stats.originCheckFailures, 2);
    assert.equal(stats.rejected, 2);
    assert.equal(stats.connections, 1);
    assert.deepEqual(uncaught, []);
    allowed.close();
  });

  it('close() ends every stream, stops connected sources and refuses new clients', async () => {
    const feed = liveFeed<number>();
    const started = await serve(feed);
    cleanup.push(() => new Promise<void>((resolve) => started.server.close(() => resolve())));
    const source = new Subject<number>();
    feed.connect(source);
    const reader = await SseReader.open(started.url);
    source.next(1);
    await reader.until(() => reader.data.length >= 1);
    feed.close();
    await reader.until(() => reader.ended);
    assert.equal(source.observed, false, 'unsubscribed from the source');
    const late = await SseReader.open(started.url);
    assert.equal(late.response.statusCode, 503);
    assert.equal(feed.stats().clients, 0);
  });

  it('as an operator passes values through; a throwing serialize errors the stream', async () => {
    const feed = liveFeed<number>({ serialize: (n) => String(n) });
    assert.deepEqual(await lastValueFrom(of(1, 2, 3).pipe(feed.tap, toArray())), [1, 2, 3]);
    assert.equal(feed.stats().pointsIn, 3);
    const failing = liveFeed<number>({ serialize: () => { throw new Error('boom'); } });
    await assert.rejects(lastValueFrom(of(1).pipe(failing.tap)), /boom/);
    // connect(): the error stops the feed and is reported in stats, never thrown into the source.
    const connected = liveFeed<number>({ serialize: () => { throw new Error('bang'); } });
    connected.connect(of(1));
    assert.match(String(connected.stats().error), /bang/);
    const errored = liveFeed<number>();
    errored.connect(throwError(() => new Error('source failed')));
    assert.match(String(errored.stats().error), /source failed/);
    feed.close();
    failing.close();
  });

  it('refuses bad options with a ConfigError naming the option', () => {
    assert.throws(() => liveFeed({ history: -1 }), (e: unknown) => e instanceof ConfigError && e.option === 'history');
    assert.throws(() => liveFeed({ maxBufferedBytes: 10 }), (e: unknown) => e instanceof ConfigError && e.option === 'maxBufferedBytes');
    assert.throws(() => liveFeed({ slowClient: 'wait' as 'skip' }), (e: unknown) => e instanceof ConfigError && e.option === 'slowClient');
    assert.throws(() => liveFeed({ token: '' }), (e: unknown) => e instanceof ConfigError && e.option === 'token');
    // Each of these was accepted and failed later: at the first point, or at the first request with an Origin.
    const later: [string, Record<string, unknown>][] = [
      ['serialize', { serialize: 'json' }],
      ['serialize', { serialize: null }],
      ['event', { event: 42 }],
      ['event', { event: { name: 'x' } }],
      ['event', { event: '' }],
      ['cors', { cors: 'https://ops.example' }],
      ['cors', { cors: null }],
      ['cors.origin', { cors: {} }],
      ['cors.origin', { cors: { origin: 42 } }],
      ['cors.origin', { cors: { origin: ['https://ops.example', 42] } }],
      ['cors.credentials', { cors: { origin: '*', credentials: 'yes' } }],
    ];
    for (const [option, options] of later) {
      assert.throws(() => liveFeed(options as never), (e: unknown) => e instanceof ConfigError && e.option === option, `${option}: ${JSON.stringify(options)}`);
    }
    for (const origin of ['*', 'https://ops.example', ['https://a.example', 'https://b.example'], (o: string) => o.endsWith('.example')]) {
      liveFeed({ cors: { origin, credentials: true }, event: 'reading', serialize: String }).close();
    }
  });
});
