import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { from, lastValueFrom, toArray, Subject, firstValueFrom, filter, take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import fc from 'fast-check';
import { remoteWrite } from '../../operators/remote-write.js';
import { decodeWriteRequest, type DecodedWriteRequest } from '../../src/protocol/reference.js';
import { snappyUncompress } from '../../src/protocol/snappy.js';
import { silentLogger, type Logger } from '../../src/core/logger.js';
import { ConfigError, RemoteWriteError } from '../../src/core/errors.js';
import { basicAuthSigner } from '../../src/remote-write/http/signers.js';
import type { DropReason, Labels, Sample, WriteOutcome } from '../../src/core/model.js';
import { RemoteWriteMetrics } from '../../src/remote-write/metrics.js';
import { ScriptedClient, status, written } from '../remote-write/scripted-client.js';
import { startReceiver, type Receiver } from '../../src/testing/index.js';
import type { DelayFault, Fault } from '../../src/testing/faults.js';

/** A scripted receiver: each request takes the next answer (a fault of the shared vocabulary, no delays); with none left it answers 204. */
type Answer = Exclude<Fault, DelayFault>;

interface Received {
  request: DecodedWriteRequest;
  /** The body as sent (snappy block) and decompressed. */
  bodyBytes: number;
  rawBytes: number;
  headers: http.IncomingHttpHeaders;
  at: number;
}

class ScriptedServer {
  readonly received: Received[] = [];
  readonly answers: Answer[] = [];
  aborted = 0;
  private server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = this.answers.shift() ?? { status: 204 };
      if ('reset' in answer) return req.socket.destroy();
      if ('hang' in answer) {
        res.on('close', () => this.aborted++);
        return;
      }
      if (answer.status < 300) {
        const body = Buffer.concat(chunks);
        const raw = snappyUncompress(body, 1 << 26);
        this.received.push({ request: decodeWriteRequest(raw), bodyBytes: body.length, rawBytes: raw.length, headers: req.headers, at: Date.now() });
      }
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body ?? '');
    });
  });
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/v1/write`;
  }

  reset(): void {
    this.received.length = 0;
    this.answers.length = 0;
    this.aborted = 0;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** Samples received per series key `name{series}`, in arrival order. */
  samplesBySeries(): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const { request } of this.received) {
      for (const ts of request.timeseries) {
        const key = ts.labels.map((l) => `${l.name}=${l.value}`).join(',');
        const list = out.get(key) ?? [];
        list.push(...ts.samples.map((s) => s.timestamp));
        out.set(key, list);
      }
    }
    return out;
  }
}

function series(count: number, perSeries: number, start = 1_700_000_000_000): Sample[] {
  const labels = Array.from({ length: count }, (_, i) => ({ __name__: 'test_metric', series: `s${i}` }));
  const out: Sample[] = [];
  for (let t = 0; t < perSeries; t++) for (const l of labels) out.push({ labels: l, value: t, timestamp: start + t * 1000 });
  return out;
}

const total = (outcomes: WriteOutcome[], type?: WriteOutcome['type']): number =>
  outcomes.filter((o) => type === undefined || o.type === type).reduce((n, o) => n + o.samples, 0);

const fast = { initialDelayMs: 1, maxDelayMs: 5, jitter: 0 };

describe('remoteWrite', () => {
  const server = new ScriptedServer();
  before(() => server.start());
  after(() => server.stop());
  beforeEach(() => server.reset());

  it('writes every sample once, in order per series, with the protocol headers', async () => {
    const input = series(50, 20);
    const sink = remoteWrite({ url: server.url, shards: 3, maxSamplesPerRequest: 64, maxDelayMs: 10, logger: silentLogger });
    const outcomes = await lastValueFrom(from(input).pipe(sink, toArray()));
    assert.equal(total(outcomes, 'written'), input.length);
    assert.ok(outcomes.every((o) => o.samples <= 64 && o.attempts === 1 && o.status === 204));
    const bySeries = server.samplesBySeries();
    assert.equal(bySeries.size, 50);
    for (const [key, timestamps] of bySeries) {
      assert.deepEqual(timestamps, Array.from({ length: 20 }, (_, t) => 1_700_000_000_000 + t * 1000), key);
    }
    const headers = server.received[0].headers;
    assert.equal(headers['content-encoding'], 'snappy');
    assert.equal(headers['content-type'], 'application/x-protobuf');
    assert.equal(headers['x-prometheus-remote-write-version'], '0.1.0');
    assert.match(String(headers['user-agent']), /^rxprom\//);
    const m = sink.metrics.snapshot();
    assert.equal(m.samplesIn, input.length);
    assert.equal(m.samplesWritten, input.length);
    assert.equal(m.requestsWritten, server.received.length);
    assert.equal(m.samplesPending, 0);
    assert.equal(m.activeSeries, 50);
  });

  it("with compression 'literal', sends literal-only snappy blocks that decode to the same requests", async () => {
    const input = series(40, 10);
    const results = [];
    for (const compression of ['snappy', 'literal'] as const) {
      server.reset();
      const sink = remoteWrite({ url: server.url, shards: 1, maxSamplesPerRequest: 100, maxDelayMs: 10, compression, logger: silentLogger });
      const outcomes = await lastValueFrom(from(input).pipe(sink, toArray()));
      assert.equal(total(outcomes, 'written'), input.length);
      assert.equal(server.received[0].headers['content-encoding'], 'snappy');
      const bodies = server.received.reduce((n, r) => n + r.bodyBytes, 0);
      const raw = server.received.reduce((n, r) => n + r.rawBytes, 0);
      assert.equal(sink.metrics.snapshot().bytesWritten, bodies);
      results.push({ requests: server.received.map((r) => r.request), bodies, raw });
    }
    const [snappy, literal] = results;
    assert.deepEqual(literal.requests, snappy.requests);
    assert.ok(snappy.bodies < snappy.raw / 2, `snappy compresses (${snappy.bodies} of ${snappy.raw})`);
    // Each literal body is the raw request plus a preamble and a literal tag: a few bytes each.
    assert.ok(literal.bodies > literal.raw && literal.bodies <= literal.raw + 10 * literal.requests.length, `literal (${literal.bodies} of ${literal.raw})`);
  });

  it('drops invalid, out-of-order and duplicate samples alone, before they reach a request', async () => {
    const t = 1_700_000_000_000;
    const input: Sample[] = [
      { labels: { __name__: 'm', k: 'a' }, value: 1, timestamp: t },
      { labels: { __name__: 'm', 'bad-name': 'x' }, value: 1, timestamp: t },
      { labels: { __name__: 'm', k: 'a' }, value: 2, timestamp: t - 1 },
      { labels: { __name__: 'm', k: 'a' }, value: 3, timestamp: t },
      { labels: { __name__: 'm', k: 'a' }, value: 4, timestamp: t + 1 },
      { labels: { __name__: 'm', k: 'a' }, value: Number('x'), timestamp: t + 2 },
      { labels: { __name__: 'm', k: 'a' }, value: 5, timestamp: Infinity },
      JSON.parse('{"labels":{"__name__":"m","__proto__":"x"},"value":1,"timestamp":1}') as Sample,
      null as unknown as Sample,
    ];
    const sink = remoteWrite({ url: server.url, maxDelayMs: 5, logger: silentLogger });
    const outcomes = await lastValueFrom(from(input).pipe(sink, toArray()));
    const drops = outcomes.filter((o) => o.type === 'dropped').map((o) => `${o.reason}: ${o.message}`);
    assert.deepEqual(drops, [
      'invalid: invalid label name "bad-name"',
      'out-of-order: timestamp 1699999999999 is older than the newest accepted for its series',
      'duplicate: timestamp 1700000000000 is the same as the newest accepted for its series',
      'invalid: timestamp is not a finite number',
      'invalid: reserved label name "__proto__"',
      'invalid: not a sample object',
    ]);
    assert.equal(outcomes.find((o) => o.reason === 'duplicate')?.sample, input[3]);
    assert.deepEqual([...server.samplesBySeries().values()], [[t, t + 1, t + 2]]);
    assert.equal(total(outcomes), input.length);
    assert.deepEqual(sink.metrics.snapshot().samplesDropped, { invalid: 4, 'out-of-order': 1, duplicate: 1, 'non-retryable': 0, 'max-retries': 0, fatal: 0, overflow: 0, 'too-far-in-future': 0, 'too-old': 0, aborted: 0, replayed: 0, spooled: 0 });
  });

  it('retries 503, 429 and resets in place, so a lane never reorders', async () => {
    server.answers.push({ status: 503 }, { status: 429 }, { reset: true }, { status: 500, body: 'boom' });
    const input = series(4, 30);
    const sink = remoteWrite({ url: server.url, shards: 2, maxSamplesPerRequest: 10, maxDelayMs: 5, retry: fast, logger: silentLogger });
    const outcomes = await lastValueFrom(from(input).pipe(sink, toArray()));
    assert.equal(total(outcomes, 'written'), input.length);
    assert.equal(sink.metrics.snapshot().requestRetries, 4);
    assert.equal(outcomes.reduce((n, o) => n + o.attempts - 1, 0), 4);
    for (const timestamps of server.samplesBySeries().values()) {
      assert.deepEqual(timestamps, [...timestamps].sort((a, b) => a - b));
      assert.equal(timestamps.length, 30);
    }
  });

  it('honours Retry-After over the computed backoff', async () => {
    server.answers.push({ status: 429, headers: { 'Retry-After': '1' } });
    const started = Date.now();
    const sink = remoteWrite({ url: server.url, maxDelayMs: 1, retry: fast, logger: silentLogger });
    const outcomes = await lastValueFrom(from(series(1, 1)).pipe(sink, toArray()));
    assert.equal(outcomes[0].type, 'written');
    assert.equal(outcomes[0].attempts, 2);
    assert.ok(server.received[0].at - started >= 950, `retried after ${server.received[0].at - started} ms`);
  });

  it('retries a timed-out attempt', async () => {
    server.answers.push({ hang: true });
    const sink = remoteWrite({ url: server.url, maxDelayMs: 1, timeoutMs: 100, retry: fast, logger: silentLogger });
    const outcomes = await lastValueFrom(from(series(2, 3)).pipe(sink, toArray()));
    assert.equal(total(outcomes, 'written'), 6);
    // Exactly one request (the one whose first attempt hung) needed a second attempt.
    assert.equal(outcomes.filter((o) => o.attempts === 2).length, 1);
    assert.ok(outcomes.every((o) => o.attempts <= 2));
  });

  it('with maxRefusalSplits 0, discards a batch answered 400 whole, logs its body, and carries on', async () => {
    server.answers.push({ status: 400, body: 'out of order sample' });
    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (fields, message) => warnings.push(`${message} ${String(fields['responseBody'])}`) };
    const sink = remoteWrite({ url: server.url, shards: 1, maxSamplesPerRequest: 5, maxDelayMs: 5, maxRefusalSplits: 0, logger });
    const outcomes = await lastValueFrom(from(series(1, 15)).pipe(sink, toArray()));
    assert.deepEqual(outcomes.map((o) => [o.type, o.samples, o.reason, o.status, o.attempts]), [
      ['dropped', 5, 'non-retryable', 400, 1],
      ['written', 5, undefined, 204, 1],
      ['written', 5, undefined, 204, 1],
    ]);
    assert.equal(outcomes[0].responseBody, 'out of order sample');
    assert.deepEqual(warnings, ['receiver rejected the request with 400; request discarded out of order sample']);
    const m = sink.metrics.snapshot();
    assert.equal(m.samplesDropped['non-retryable'], 5);
    assert.equal(m.requestsPermanentlyFailed, 1);
  });

  it('fails on 400 when onNonRetryable is fail', async () => {
    server.answers.push({ status: 400, body: 'nope' });
    const sink = remoteWrite({ url: server.url, maxDelayMs: 1, onNonRetryable: 'fail', logger: silentLogger });
    await assert.rejects(lastValueFrom(from(series(1, 1)).pipe(sink)), (e: unknown) => e instanceof RemoteWriteError && e.status === 400 && e.responseBody === 'nope');
  });

  for (const status of [401, 403, 404]) {
    it(`fails the pipeline on ${status} with a RemoteWriteError, after accounting for the batch`, async () => {
      server.answers.push({ status, body: 'denied' });
      const sink = remoteWrite({ url: server.url, maxDelayMs: 1, logger: silentLogger });
      const seen: WriteOutcome[] = [];
      const error = await new Promise<unknown>((resolve) => from(series(1, 3)).pipe(sink).subscribe({ next: (o) => seen.push(o), error: resolve }));
      assert.ok(error instanceof RemoteWriteError);
      assert.equal(error.status, status);
      assert.equal(error.responseBody, 'denied');
      assert.deepEqual(seen.map((o) => [o.type, o.reason, o.samples]), [['dropped', 'fatal', 3]]);
    });
  }

  it('on reaching the retry limit: discard and go on, or fail', async () => {
    server.answers.push({ status: 503 }, { status: 503 }, { status: 503 });
    const discarding = remoteWrite({ url: server.url, shards: 1, maxSamplesPerRequest: 2, maxDelayMs: 1, retry: { ...fast, maxRetries: 2 }, onMaxRetriesExceeded: 'discard', logger: silentLogger });
    const outcomes = await lastValueFrom(from(series(1, 4)).pipe(discarding, toArray()));
    assert.deepEqual(outcomes.map((o) => [o.type, o.reason, o.samples, o.attempts]), [
      ['dropped', 'max-retries', 2, 3],
      ['written', undefined, 2, 1],
    ]);
    assert.equal(discarding.metrics.snapshot().samplesDropped['max-retries'], 2);

    server.answers.push({ status: 503 }, { status: 503 });
    const failing = remoteWrite({ url: server.url, maxDelayMs: 1, retry: { ...fast, maxRetries: 1 }, logger: silentLogger });
    await assert.rejects(lastValueFrom(from(series(1, 1)).pipe(failing)), (e: unknown) => e instanceof RemoteWriteError && e.status === 503 && e.attempts === 2);
  });

  it('retries an unreachable endpoint until it comes back', async () => {
    const later = new ScriptedServer();
    await later.start();
    const url = later.url;
    await later.stop();
    const sink = remoteWrite({ url, maxDelayMs: 1, retry: { initialDelayMs: 20, maxDelayMs: 50, jitter: 0 }, logger: silentLogger });
    const done = lastValueFrom(from(series(2, 2)).pipe(sink, toArray()));
    await new Promise((r) => setTimeout(r, 200));
    // Same port again.
    const port = Number(new URL(url).port);
    const revived = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((resolve) => revived.listen(port, '127.0.0.1', resolve));
    try {
      const outcomes = await done;
      assert.equal(total(outcomes, 'written'), 4);
      assert.ok(outcomes[0].attempts > 1);
    } finally {
      revived.closeAllConnections();
      await new Promise((r) => revived.close(r));
    }
  });

  it('completion flushes every batch and waits for in-flight requests', async () => {
    const source = new Subject<Sample>();
    const sink = remoteWrite({ url: server.url, maxSamplesPerRequest: 1000, maxDelayMs: 60_000, logger: silentLogger });
    const done = lastValueFrom(source.pipe(sink, toArray()));
    for (const s of series(10, 3)) source.next(s);
    source.complete();
    const outcomes = await done;
    assert.equal(total(outcomes, 'written'), 30);
    assert.equal(server.samplesBySeries().size, 10);
  });

  it('unsubscription aborts in-flight requests and clears every timer', async () => {
    server.answers.push({ hang: true });
    const testScheduler = new TestScheduler(() => undefined);
    const source = new Subject<Sample>();
    const sink = remoteWrite({ url: server.url, maxSamplesPerRequest: 1, maxDelayMs: 10_000, timeoutMs: 60_000, scheduler: testScheduler, logger: silentLogger });
    const subscription = source.pipe(sink).subscribe();
    const [first, second] = series(2, 1);
    source.next(first); // sent at once (batch of 1), hangs
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(sink.metrics.snapshot().requestsInFlight, 1);
    assert.ok(testScheduler.actions.length >= 1, 'housekeeping timer scheduled');
    subscription.unsubscribe();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(server.aborted, 1, 'the hung request was aborted');
    assert.equal(testScheduler.actions.length, 0, 'no timer left');
    assert.equal(source.observed, false);
    source.next(second);
    assert.equal(server.received.length, 0);
  });

  it('bounds what waits to be sent: beyond maxPendingSamples a sample is dropped as overflow', async () => {
    server.answers.push({ hang: true });
    const sink = remoteWrite({ url: server.url, shards: 1, maxSamplesPerRequest: 2, maxDelayMs: 1, maxPendingSamples: 5, timeoutMs: 300, retry: fast, logger: silentLogger });
    // A synchronous source pushes all eight before the first request is even answered.
    const outcomes = await lastValueFrom(from(series(1, 8)).pipe(sink, toArray()));
    assert.equal(total(outcomes, 'written'), 5);
    assert.deepEqual(outcomes.filter((o) => o.type === 'dropped').map((o) => [o.reason, o.sample?.timestamp]), [
      ['overflow', 1_700_000_005_000],
      ['overflow', 1_700_000_006_000],
      ['overflow', 1_700_000_007_000],
    ]);
    assert.equal(sink.metrics.snapshot().samplesDropped.overflow, 3);
  });

  it('a sample dropped as overflow does not become its series\' newest: sent again once there is room, it is written', async () => {
    const client = new ScriptedClient({ result: written, delayMs: 5 });
    const sink = remoteWrite({ url: 'http://127.0.0.1:1/api/v1/write', client, shards: 1, maxSamplesPerRequest: 1, maxDelayMs: 0, maxPendingSamples: 1, logger: silentLogger });
    const source = new Subject<Sample>();
    const outcomes: WriteOutcome[] = [];
    const done = new Promise<void>((resolve) => source.pipe(sink).subscribe({ next: (o) => outcomes.push(o), complete: resolve }));
    const [first, second] = series(1, 2);
    source.next(first); // accepted, its request answered after 5 ms
    source.next(second); // no room yet: overflow
    await tick();
    source.next(second); // the source sends it again (e.g. redelivery) once there is room
    source.complete();
    await done;
    assert.deepEqual(outcomes.map((o) => [o.type, o.reason]), [['dropped', 'overflow'], ['written', undefined], ['written', undefined]]);
    assert.deepEqual(client.requests.map((r) => r.request.timeseries[0].samples.map((x) => Number(x.timestamp))), [[first.timestamp], [second.timestamp]]);
    assertSettled(sink.metrics, 3);
  });

  it('signs every attempt, with the body it sends', async () => {
    server.answers.push({ status: 503 });
    const bodies: number[] = [];
    const sink = remoteWrite({
      url: server.url,
      shards: 1,
      maxDelayMs: 1,
      retry: fast,
      logger: silentLogger,
      headers: { 'X-Scope-OrgID': 'tenant-1' },
      signer: async (request) => {
        bodies.push(request.body.length);
        await basicAuthSigner('user', 'secret')(request);
      },
    });
    await lastValueFrom(from(series(3, 1)).pipe(sink, toArray()));
    assert.equal(bodies.length, 2);
    assert.ok(bodies[0] > 0 && bodies[0] === bodies[1]);
    assert.equal(server.received[0].headers['authorization'], `Basic ${Buffer.from('user:secret').toString('base64')}`);
    assert.equal(server.received[0].headers['x-scope-orgid'], 'tenant-1');
  });

  it('accounts for every sample with exactly one outcome (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ s: fc.integer({ min: 0, max: 5 }), dt: fc.integer({ min: -2, max: 3 }), bad: fc.boolean() }), { maxLength: 80 }),
        fc.array(fc.constantFrom(204, 400, 503), { maxLength: 6 }),
        async (steps, statuses) => {
          server.reset();
          server.answers.push(...statuses.map((status) => ({ status })));
          const clocks = new Map<number, number>();
          const input = steps.map(({ s, dt, bad }): Sample => {
            const t = (clocks.get(s) ?? 1_700_000_000_000) + dt;
            clocks.set(s, t);
            return { labels: bad && dt === 0 ? { job: 'no-name' } : { __name__: 'p', s: String(s) }, value: 1, timestamp: t };
          });
          const sink = remoteWrite({ url: server.url, shards: 2, maxSamplesPerRequest: 7, maxDelayMs: 1, retry: { ...fast, maxRetries: 1 }, onMaxRetriesExceeded: 'discard', logger: silentLogger });
          const outcomes = await lastValueFrom(from(input).pipe(sink, toArray()));
          const m = sink.metrics.snapshot();
          assert.equal(total(outcomes), input.length);
          assert.equal(m.samplesWritten + m.samplesDroppedTotal, input.length);
          assert.equal(total(outcomes, 'written'), m.samplesWritten);
          let received = 0;
          for (const timestamps of server.samplesBySeries().values()) {
            received += timestamps.length;
            for (let i = 1; i < timestamps.length; i++) assert.ok(timestamps[i] > timestamps[i - 1], 'strictly increasing per series');
          }
          assert.equal(received, m.samplesWritten);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('rejects bad options at creation, naming the option and the accepted range', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{}, /"url" must be an http\(s\) URL string/],
      [{ url: 'ftp://x' }, /"url"/],
      [{ url: 'http://x', shards: 0 }, /"shards" must be an integer in \[1, 256\] \(got 0\)/],
      [{ url: 'http://x', maxSamplesPerRequest: 1.5 }, /"maxSamplesPerRequest" must be an integer in \[1, 1000000\]/],
      [{ url: 'http://x', timeoutMs: 0 }, /"timeoutMs"/],
      [{ url: 'http://x', onMaxRetriesExceeded: 'retry' }, /"onMaxRetriesExceeded" must be one of 'fail', 'discard'/],
      [{ url: 'http://x', validation: 'loose' }, /"validation" must be one of 'strict', 'lenient', 'off'/],
      [{ url: 'http://x', compression: 'gzip' }, /"compression" must be one of 'snappy', 'literal'/],
      [{ url: 'http://x', retry: { maxRetries: -1 } }, /"retry.maxRetries"/],
      [{ url: 'http://x', headers: { 'Content-Encoding': 'gzip' } }, /"headers.Content-Encoding" must be absent: this header is the protocol's/],
      [{ url: 'http://x', signer: 'token' }, /"signer" must be a function/],
    ];
    for (const [options, message] of cases) {
      assert.throws(() => remoteWrite(options as never), (e: unknown) => e instanceof ConfigError && message.test(e.message), JSON.stringify(options));
    }
  });

  it('exposes its counters in the Prometheus text format', async () => {
    const sink = remoteWrite({ url: server.url, maxDelayMs: 1, logger: silentLogger });
    await firstValueFrom(from(series(2, 2)).pipe(sink, filter((o) => o.type === 'written')));
    const text = sink.metrics.toPrometheusText();
    assert.match(text, /^rxprom_remote_write_samples_in_total 4$/m);
    assert.match(text, /^rxprom_remote_write_samples_dropped_total\{reason="invalid"\} 0$/m);
  });
});

/** samplesIn = written + dropped (all reasons) + pending, and nothing pending or in flight. */
function assertSettled(metrics: RemoteWriteMetrics, samplesIn: number): void {
  const m = metrics.snapshot();
  assert.equal(m.samplesIn, samplesIn, 'samplesIn');
  assert.equal(m.samplesPending, 0, 'samplesPending back to 0');
  assert.equal(m.requestsInFlight, 0, 'requestsInFlight back to 0');
  assert.equal(m.samplesWritten + m.samplesDroppedTotal + m.samplesPending, m.samplesIn, 'samplesIn = written + dropped + pending');
}

const tick = (ms = 20): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const aborted = (outcomes: WriteOutcome[]): number => outcomes.filter((o) => (o.reason as string) === 'aborted').reduce((n, o) => n + o.samples, 0);

describe('remoteWrite: every way a pipeline ends accounts for every sample', () => {
  it('source error with lanes full and requests in flight: every accepted sample is dropped as aborted before the error', async () => {
    const client = new ScriptedClient();
    client.fallback = { hang: true };
    const sink = remoteWrite({ url: 'http://127.0.0.1:1/api/v1/write', client, shards: 4, maxSamplesPerRequest: 1000, maxDelayMs: 60_000, logger: silentLogger });
    const source = new Subject<Sample>();
    const outcomes: WriteOutcome[] = [];
    const failure = new Error('source broke');
    const ended = new Promise<unknown>((resolve) => source.pipe(sink).subscribe({ next: (o) => outcomes.push(o), error: resolve, complete: () => resolve('completed') }));
    for (const s of series(100, 200)) source.next(s);
    await tick();
    assert.equal(sink.metrics.snapshot().requestsInFlight, 4, 'one request in flight per lane');
    source.error(failure);
    assert.equal(await ended, failure);
    assert.equal(total(outcomes), 20_000, 'every sample has an outcome before the error');
    assert.equal(aborted(outcomes), 20_000);
    assert.ok(outcomes.every((o) => o.series > 0 && o.attempts === 0));
    assertSettled(sink.metrics, 20_000);
    assert.equal(sink.metrics.snapshot().samplesDropped['aborted' as DropReason], 20_000);
    await tick();
    assert.equal(client.aborted, 4, 'the hung requests were aborted');
  });

  it('unsubscribe midway with requests in flight: metrics count what had no outcome as aborted', async () => {
    const client = new ScriptedClient(...Array.from({ length: 30 }, () => ({ result: written, delayMs: 1 })));
    client.fallback = { hang: true };
    const sink = remoteWrite({ url: 'http://127.0.0.1:1/api/v1/write', client, shards: 4, maxSamplesPerRequest: 500, maxDelayMs: 60_000, logger: silentLogger });
    const source = new Subject<Sample>();
    const outcomes: WriteOutcome[] = [];
    const subscription = source.pipe(sink).subscribe((o) => outcomes.push(o));
    const input = series(500, 281);
    for (let i = 0; i < input.length; i += 5000) {
      for (const s of input.slice(i, i + 5000)) source.next(s);
      await tick(5);
    }
    assert.ok(sink.metrics.snapshot().requestsInFlight > 0, 'requests in flight');
    subscription.unsubscribe();
    const writtenSamples = total(outcomes, 'written');
    assert.ok(writtenSamples > 0 && writtenSamples < input.length, `some written (${writtenSamples})`);
    assert.equal(writtenSamples, client.samplesWritten());
    assertSettled(sink.metrics, input.length);
    const m = sink.metrics.snapshot();
    assert.equal(m.samplesWritten, writtenSamples);
    assert.equal(m.samplesDropped['aborted' as DropReason], input.length - writtenSamples);
    await tick();
    assert.equal(client.aborted, 4);
  });

  it("'fail' with 8 lanes in flight: one failed batch, everything else aborted, all before the error", async () => {
    const client = new ScriptedClient({ result: status(503, 'busy', 3), delayMs: 30 });
    client.fallback = { hang: true };
    const sink = remoteWrite({ url: 'http://127.0.0.1:1/api/v1/write', client, shards: 8, maxSamplesPerRequest: 60, maxDelayMs: 60_000, logger: silentLogger });
    const input = series(80, 115);
    const outcomes: WriteOutcome[] = [];
    const error = await new Promise<unknown>((resolve) => from(input).pipe(sink).subscribe({ next: (o) => outcomes.push(o), error: resolve }));
    assert.ok(error instanceof RemoteWriteError && error.status === 503);
    assert.equal(client.requests.length, 8, 'one request per lane');
    const failed = outcomes.filter((o) => o.reason === 'max-retries');
    assert.deepEqual(failed.map((o) => [o.samples, o.attempts]), [[60, 3]]);
    assert.equal(total(outcomes), input.length);
    assert.equal(aborted(outcomes), input.length - 60);
    assertSettled(sink.metrics, input.length);
  });

  it('two sinks sharing one metrics object do not share the pending budget', async () => {
    const metrics = new RemoteWriteMetrics();
    const hung = new ScriptedClient();
    hung.fallback = { hang: true };
    const a = remoteWrite({ url: 'http://127.0.0.1:1/api/v1/write', client: hung, metrics, maxPendingSamples: 50_000, maxSamplesPerRequest: 2000, maxDelayMs: 10, logger: silentLogger });
    const b = remoteWrite({ url: 'http://127.0.0.1:1/api/v1/write', client: new ScriptedClient(), metrics, maxPendingSamples: 50_000, maxSamplesPerRequest: 2000, maxDelayMs: 10, logger: silentLogger });
    const stuck = from(series(100, 500)).pipe(a).subscribe();
    assert.equal(metrics.snapshot().samplesPending, 50_000);
    const outcomes = await lastValueFrom(from(series(100, 500, 1_750_000_000_000)).pipe(b, toArray()));
    assert.equal(total(outcomes, 'written'), 50_000, 'sink B is not held back by sink A');
    assert.equal(metrics.snapshot().samplesDropped.overflow, 0);
    stuck.unsubscribe();
    assertSettled(metrics, 100_000);
    assert.equal(metrics.snapshot().samplesWritten, 50_000);
  });

  it('a second subscription of the same operator is not charged with a first one that ended without completing', async () => {
    const client = new ScriptedClient();
    client.fallback = { hang: true };
    const sink = remoteWrite({ url: 'http://127.0.0.1:1/api/v1/write', client, maxPendingSamples: 20_000, maxSamplesPerRequest: 1000, maxDelayMs: 10, logger: silentLogger });
    const first = from(series(100, 200)).pipe(sink).subscribe();
    await tick();
    first.unsubscribe();
    client.fallback = { result: written };
    const outcomes = await lastValueFrom(from(series(100, 200, 1_750_000_000_000)).pipe(sink, toArray()));
    assert.equal(total(outcomes, 'written'), 20_000);
    assert.equal(sink.metrics.snapshot().samplesDropped.overflow, 0);
    assertSettled(sink.metrics, 40_000);
  });

  it('under random answers (2xx, 400, 401, 503, resets, slow, never, a client that throws) and any ending, every sample is written, dropped or counted unfinished, in order per series (property)', async () => {
    type Answer = 'ok' | 'slow' | 'b400' | 'f401' | 's503' | 'reset' | 'never' | 'throws';
    const answerOf = (kind: Answer): ConstructorParameters<typeof ScriptedClient>[0] => {
      if (kind === 'never') return { hang: true };
      if (kind === 'throws') return { throws: 'broken client' };
      if (kind === 'reset') return { result: { kind: 'network-error', message: 'ECONNRESET', code: 'ECONNRESET', attempts: 3 } };
      const code = kind === 'b400' ? 400 : kind === 'f401' ? 401 : kind === 's503' ? 503 : 204;
      return { result: status(code), delayMs: kind === 'slow' ? 3 : 0 };
    };
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ s: fc.integer({ min: 0, max: 5 }), dt: fc.integer({ min: -1, max: 3 }), pause: fc.boolean() }), { maxLength: 60 }),
        fc.array(fc.constantFrom<Answer>('ok', 'ok', 'ok', 'slow', 'b400', 'f401', 's503', 'reset', 'never', 'throws'), { maxLength: 12 }),
        fc.constantFrom('complete', 'error', 'unsubscribe'),
        fc.record({ shards: fc.constantFrom(1, 3, { min: 1, max: 4, updateEveryMs: 100 }), fail: fc.boolean(), size: fc.integer({ min: 1, max: 8 }), stopAt: fc.nat(60) }),
        async (steps, answers, ending, { shards, fail, size, stopAt }) => {
          const client = new ScriptedClient(...answers.map((kind) => answerOf(ending === 'complete' && kind === 'never' ? 'slow' : kind)));
          const sink = remoteWrite({
            url: 'http://127.0.0.1:1/api/v1/write', client, shards, maxSamplesPerRequest: size, maxDelayMs: 1, logger: silentLogger,
            onNonRetryable: fail ? 'fail' : 'discard', onMaxRetriesExceeded: fail ? 'fail' : 'discard',
          });
          const source = new Subject<Sample>();
          const outcomes: WriteOutcome[] = [];
          let ended = false;
          let subscription: { unsubscribe(): void } | undefined;
          const done = new Promise<void>((resolve) => {
            const finish = (): void => {
              ended = true;
              resolve();
            };
            subscription = source.pipe(sink).subscribe({ next: (o) => outcomes.push(o), error: finish, complete: finish });
          });
          const clocks = new Map<number, number>();
          let pushed = 0;
          for (const [i, { s, dt, pause }] of steps.entries()) {
            if (ended || (ending !== 'complete' && i === stopAt)) break;
            const timestamp = (clocks.get(s) ?? 1_700_000_000_000) + dt;
            clocks.set(s, timestamp);
            source.next({ labels: { __name__: 'p', s: String(s) }, value: i, timestamp });
            pushed++;
            if (pause) await tick(2);
          }
          if (ending === 'complete') source.complete();
          else if (ending === 'error') source.error(new Error('the source failed'));
          else subscription?.unsubscribe();
          if (ending !== 'unsubscribe') await done;
          const m = sink.metrics.snapshot();
          const seed = JSON.stringify({ ending, shards, fail, size, answers, samples: pushed });
          assert.equal(m.samplesIn, pushed, seed);
          assert.equal(m.samplesWritten + m.samplesDroppedTotal, m.samplesIn, `in = written + dropped, nothing left pending: ${seed}`);
          assert.equal(m.samplesPending, 0, seed);
          assert.equal(m.requestsInFlight, 0, seed);
          if (ending !== 'unsubscribe') {
            assert.equal(total(outcomes), pushed, `one outcome per sample: ${seed}`);
            assert.equal(total(outcomes, 'written'), m.samplesWritten, seed);
          }
          // What the receiver answered 2xx, before the end, is what the sink counts written; each series in order.
          const bySeries = new Map<string, number[]>();
          let received = 0;
          for (const r of client.requests) {
            if (!('result' in r.answer) || r.answer.result.kind !== 'response' || r.answer.result.status >= 300) continue;
            for (const ts of r.request.timeseries) {
              const key = ts.labels.map((l) => l.value).join(',');
              const list = bySeries.get(key) ?? [];
              for (const sample of ts.samples) list.push(Number(sample.timestamp));
              bySeries.set(key, list);
            }
          }
          for (const [key, timestamps] of bySeries) {
            received += timestamps.length;
            for (let i = 1; i < timestamps.length; i++) assert.ok(timestamps[i]! > timestamps[i - 1]!, `series ${key} in order: ${seed}`);
          }
          assert.ok(received >= m.samplesWritten, seed); // a slow answer aborted by the end was answered 2xx but counted aborted
        },
      ),
      { numRuns: 60, seed: 20261126 },
    );
  });
});

describe('remoteWrite: one bad sample never crashes the pipeline', () => {
  const t = 1_700_000_000_000;
  const labels = { __name__: 'm', k: 'a' };
  const boom = (): never => {
    throw new Error('boom');
  };

  /** Runs good, bad, good through a sink; returns the outcomes and what the client was sent. */
  async function around(bad: unknown, options: { validation?: 'strict' | 'off'; logger?: Logger } = {}): Promise<{ outcomes: WriteOutcome[]; client: ScriptedClient }> {
    const client = new ScriptedClient();
    const sink = remoteWrite({ url: 'http://127.0.0.1:1/api/v1/write', client, shards: 1, maxDelayMs: 5, logger: silentLogger, ...options });
    const input = [{ labels, value: 1, timestamp: t }, bad as Sample, { labels, value: 2, timestamp: t + 1 }];
    const outcomes = await lastValueFrom(from(input).pipe(sink, toArray()));
    assert.equal(total(outcomes), 3);
    assert.equal(total(outcomes, 'written'), 2);
    assert.equal(client.samplesWritten(), 2);
    assertSettled(sink.metrics, 3);
    return { outcomes, client };
  }

  const unreadable = async (bad: unknown, message: RegExp, options: { validation?: 'strict' | 'off' } = {}): Promise<void> => {
    const { outcomes } = await around(bad, options);
    const dropped = outcomes.filter((o) => o.type === 'dropped');
    assert.equal(dropped.length, 1);
    assert.equal(dropped[0].reason, 'invalid');
    assert.equal(dropped[0].sample, bad);
    assert.match(dropped[0].message ?? '', message);
  };

  it('a throwing getter on value', () => unreadable({ labels, timestamp: t, get value() { return boom(); } }, /could not be read.*boom/));
  it('a throwing getter on labels', () => unreadable({ value: 1, timestamp: t, get labels() { return boom(); } }, /could not be read.*boom/));
  it('a throwing getter on one label', () =>
    unreadable({ value: 1, timestamp: t, labels: { __name__: 'm', get k() { return boom(); } } }, /could not be read.*boom/));
  it('labels behind a Proxy whose ownKeys throws', () =>
    unreadable({ value: 1, timestamp: t, labels: new Proxy({ __name__: 'm' }, { ownKeys: boom }) }, /could not be read.*boom/));
  it('a revoked Proxy as the sample, and as its labels', async () => {
    const sample = Proxy.revocable({ labels, value: 1, timestamp: t }, {});
    sample.revoke();
    await unreadable(sample.proxy, /could not be read: .*revoked/);
    const labelSet = Proxy.revocable({ __name__: 'm' }, {});
    labelSet.revoke();
    await unreadable({ value: 1, timestamp: t, labels: labelSet.proxy }, /could not be read: .*revoked/);
  });
  it("with validation 'lenient', label names that are one name in UTF-8 (lone surrogates) are dropped alone, never sent as a repeated label name", async () => {
    const client = new ScriptedClient();
    const sink = remoteWrite({ url: 'http://127.0.0.1:1/api/v1/write', client, validation: 'lenient', maxDelayMs: 1, logger: silentLogger });
    const twice = JSON.parse('{"__name__":"m","a\\ud800":"x","a\\udc00":"y"}') as Labels;
    const input: Sample[] = [
      { labels: { __name__: 'm', a: 'ok' }, value: 1, timestamp: t },
      { labels: twice, value: 2, timestamp: t },
    ];
    const outcomes = await lastValueFrom(from(input).pipe(sink, toArray()));
    assert.deepEqual(outcomes.filter((o) => o.type === 'dropped').map((o) => [o.reason, o.sample?.value]), [['invalid', 2]]);
    for (const { request } of client.requests) {
      for (const series of request.timeseries) {
        const names = series.labels.map((l) => l.name);
        assert.equal(new Set(names).size, names.length, `repeated label name in ${JSON.stringify(names)}`);
      }
    }
    assert.equal(sink.metrics.snapshot().samplesWritten, 1);
  });

  it("a label value whose toString throws, with validation 'off'", () =>
    unreadable({ value: 1, timestamp: t, labels: { __name__: 'm', k: { toString: boom } } }, /could not be read.*boom/, { validation: 'off' }));

  it('a logger whose warn throws costs no outcome, for a sample or for a request', async () => {
    const logger: Logger = { ...silentLogger, warn: boom, error: boom };
    const { outcomes } = await around({ labels: { __name__: 'm', 'bad-name': 'x' }, value: 1, timestamp: t }, { logger });
    assert.deepEqual(outcomes.filter((o) => o.type === 'dropped').map((o) => o.reason), ['invalid']);

    const client = new ScriptedClient({ result: status(400, 'bad sample') });
    const sink = remoteWrite({ url: 'http://127.0.0.1:1/api/v1/write', client, shards: 1, maxSamplesPerRequest: 1, maxDelayMs: 5, logger });
    const refused = await lastValueFrom(from(series(1, 2)).pipe(sink, toArray()));
    assert.deepEqual(refused.map((o) => [o.type, o.reason, o.samples]), [['dropped', 'non-retryable', 1], ['written', undefined, 1]]);
    assertSettled(sink.metrics, 2);
  });

  it('a logger whose methods return rejected promises (an async log service that is down) neither crashes the process nor costs an outcome', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const down = async (): Promise<void> => {
        throw new Error('log service down');
      };
      const logger = { info: down, warn: down, error: down, debug: down } as unknown as Logger;
      const client = new ScriptedClient({ result: status(400, 'bad sample') });
      const sink = remoteWrite({ url: 'http://127.0.0.1:1/api/v1/write', client, shards: 1, maxSamplesPerRequest: 1, maxDelayMs: 5, logger });
      const input: Sample[] = [{ labels: { __name__: 'm', 'bad-name': 'x' }, value: 1, timestamp: t }, ...series(1, 2)];
      const outcomes = await lastValueFrom(from(input).pipe(sink, toArray()));
      assert.deepEqual(outcomes.map((o) => [o.type, o.reason, o.samples]), [['dropped', 'invalid', 1], ['dropped', 'non-retryable', 1], ['written', undefined, 1]]);
      assertSettled(sink.metrics, 3);
      await new Promise((resolve) => setTimeout(resolve, 50)); // unhandled rejections are reported after a turn
      assert.deepEqual(unhandled.map(String), []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('drops summed up in the log interval are logged when the subscriber unsubscribes, not lost from the logs', () => {
    const warnings: Array<Record<string, unknown>> = [];
    const logger: Logger = { ...silentLogger, warn: (fields) => void warnings.push(fields) };
    const sink = remoteWrite({ url: 'http://127.0.0.1:1/api/v1/write', client: new ScriptedClient(), maxDelayMs: 60_000, logger });
    const source = new Subject<Sample>();
    const subscription = source.pipe(sink).subscribe();
    for (let i = 0; i < 3; i++) source.next({ labels: { __name__: 'm' }, value: 'x' as never, timestamp: 1_700_000_000_000 + i });
    // The first drop is logged at once, the next two are summed for the interval.
    assert.deepEqual(warnings.map((w) => [w['reason'], w['samples']]), [['invalid', 1]]);
    subscription.unsubscribe();
    assert.deepEqual(warnings.map((w) => [w['reason'], w['samples']]), [['invalid', 1], ['invalid', 2]]);
    assert.equal(sink.metrics.snapshot().samplesDropped.invalid, 3);
  });
});

describe('remoteWrite: a batch refused with 400 loses only the refused samples', () => {
  let receiver: Receiver;
  before(async () => {
    receiver = await startReceiver({ mode: 'strict' });
  });
  after(() => receiver.close());
  beforeEach(() => receiver.reset());

  const T = 1_700_000_000_000;
  const stale = { __name__: 'refusal_test', device: 'stale' };
  /** `batches` batches of 101: ten series going forward, and in the first batch, at index 37, one sample the receiver refuses (older than what it stored). */
  function workloadWithOneRefused(batches: number): { input: Sample[]; refused: Sample } {
    const good = Array.from({ length: 10 }, (_, i) => ({ __name__: 'refusal_test', device: `d${i}` }));
    const refused: Sample = { labels: stale, value: -1, timestamp: T - 1000 };
    const input: Sample[] = [];
    for (let i = 0; input.length < 101 * batches; i++) {
      if (input.length === 37) input.push(refused);
      input.push({ labels: good[i % 10], value: i, timestamp: T + Math.floor(i / 10) * 1000 });
    }
    return { input, refused };
  }

  /** What the receiver stores, as `labels@timestamp=value`, the series stored beforehand left out. */
  const stored = (): string[] => receiver.samples().filter((s) => s.labels['device'] !== 'stale').map((s) => `${s.labels['device']}@${s.timestamp}=${s.value}`).sort();
  const expected = (samples: Sample[]): string[] => samples.map((s) => `${s.labels['device']}@${s.timestamp}=${s.value}`).sort();

  async function storeStaleSeries(): Promise<void> {
    const outcomes = await lastValueFrom(from([{ labels: stale, value: 0, timestamp: T }]).pipe(remoteWrite({ url: receiver.url, maxDelayMs: 1, logger: silentLogger }), toArray()));
    assert.equal(total(outcomes, 'written'), 1);
  }

  it('halves and resends a refused batch, in order: 1 bad sample in 101 → 100 written, 1 dropped, and the next batches after them', async () => {
    await storeStaleSeries();
    const { input, refused } = workloadWithOneRefused(3);
    const sink = remoteWrite({ url: receiver.url, shards: 1, maxSamplesPerRequest: 101, maxDelayMs: 60_000, logger: silentLogger });
    const outcomes = await lastValueFrom(from(input).pipe(sink, toArray()));
    const dropped = outcomes.filter((o) => o.type === 'dropped');
    assert.deepEqual(dropped.map((o) => [o.reason, o.samples, o.status]), [['non-retryable', 1, 400]]);
    assert.deepEqual(dropped[0].sample, refused);
    assert.match(dropped[0].responseBody ?? '', /out of order/);
    assert.equal(total(outcomes, 'written'), 302);
    // The receiver refuses out-of-order samples: had a later batch overtaken a half, more would be refused.
    assert.deepEqual(stored(), expected(input.filter((s) => s !== refused)));
    const m = sink.metrics.snapshot();
    assert.equal(m.samplesWritten, 302);
    assert.equal(m.requestsPermanentlyFailed, 1);
    const extra = receiver.stats().requests - 4; // the stale series' request and the three batches
    assert.ok(extra >= Math.log2(101) - 1 && extra <= 2 * Math.ceil(Math.log2(101)), `${extra} extra requests`);
    assert.equal(m.requestsSplit, Math.ceil(Math.log2(101)));
    assertSettled(sink.metrics, 303);
  });

  it('stops halving at maxRefusalSplits: the refused piece is dropped whole, the rest written', async () => {
    await storeStaleSeries();
    const { input, refused } = workloadWithOneRefused(1);
    const sink = remoteWrite({ url: receiver.url, shards: 1, maxSamplesPerRequest: 101, maxDelayMs: 60_000, maxRefusalSplits: 2, logger: silentLogger });
    const outcomes = await lastValueFrom(from(input).pipe(sink, toArray()));
    const dropped = outcomes.filter((o) => o.type === 'dropped');
    assert.equal(dropped.length, 1);
    // [0, 101) refused → [0, 51) refused → [0, 26) written, [26, 51) (holding index 37) refused: no halving left, dropped whole.
    assert.equal(dropped[0].samples, 25);
    assert.equal(sink.metrics.snapshot().requestsSplit, 2);
    assert.equal(total(outcomes, 'written'), 76);
    const droppedSamples = input.slice(26, 51);
    assert.ok(droppedSamples.includes(refused));
    assert.deepEqual(stored(), expected(input.filter((s) => !droppedSamples.includes(s))));
    assertSettled(sink.metrics, 101);
  });

  it("with onNonRetryable 'fail', halves too: the pipeline fails on the refused sample itself, what was sent before it written", async () => {
    await storeStaleSeries();
    const { input, refused } = workloadWithOneRefused(1);
    const sink = remoteWrite({ url: receiver.url, shards: 1, maxSamplesPerRequest: 101, maxDelayMs: 60_000, onNonRetryable: 'fail', logger: silentLogger });
    const outcomes: WriteOutcome[] = [];
    const error = await new Promise<unknown>((resolve) => from(input).pipe(sink).subscribe({ next: (o) => outcomes.push(o), error: resolve }));
    assert.ok(error instanceof RemoteWriteError && error.status === 400);
    const refusedOutcomes = outcomes.filter((o) => o.reason === 'non-retryable');
    assert.equal(refusedOutcomes.length, 1);
    assert.equal(refusedOutcomes[0].samples, 1);
    assert.deepEqual(refusedOutcomes[0].sample, refused);
    const written = outcomes.filter((o) => o.type === 'written').reduce((n, o) => n + o.samples, 0);
    const aborted = outcomes.filter((o) => o.reason === 'aborted').reduce((n, o) => n + o.samples, 0);
    assert.ok(written >= 37, `the 37 samples before the refused one are written (${written})`);
    assert.equal(written + aborted + 1, 101);
    assert.equal(stored().length, written, 'the receiver stores exactly what the outcomes call written');
    assertSettled(sink.metrics, 101);
  });
});

describe('remoteWrite: samples pushed while the pipeline ends', () => {
  it('a subscriber that unsubscribes while a synchronous source is still pushing stops the sink: nothing more is accepted or sent', async () => {
    const client = new ScriptedClient();
    const sink = remoteWrite({ url: 'http://127.0.0.1:1/api/v1/write', client, shards: 1, maxSamplesPerRequest: 10, maxDelayMs: 60_000, logger: silentLogger });
    const unreadable: Sample = { labels: { __name__: 'm' }, value: 'not a number' as never, timestamp: 1_700_000_000_000 };
    // take(1) unsubscribes on the first outcome (the unreadable sample's), while from() still pushes the other 100.
    const outcomes = await lastValueFrom(from([unreadable, ...series(1, 100)]).pipe(sink, take(1), toArray()));
    assert.deepEqual(outcomes.map((o) => o.reason), ['invalid']);
    await tick();
    assert.equal(client.requests.length, 0, 'no request is sent after the unsubscription');
    assertSettled(sink.metrics, 101);
    assert.equal(sink.metrics.snapshot().samplesDropped['aborted' as DropReason], 100);
  });

  it('a sample pushed from a handler of the aborted outcomes is counted as aborted, not left pending', async () => {
    const client = new ScriptedClient({ result: status(401, 'denied') });
    const sink = remoteWrite({ url: 'http://127.0.0.1:1/api/v1/write', client, shards: 1, maxSamplesPerRequest: 2, maxDelayMs: 60_000, logger: silentLogger });
    const source = new Subject<Sample>();
    const [first, second, third, late] = series(1, 4);
    let pushed = false;
    const outcomes: WriteOutcome[] = [];
    const ended = new Promise<unknown>((resolve) =>
      source.pipe(sink).subscribe({
        next: (o) => {
          outcomes.push(o);
          if ((o.reason as string) === 'aborted' && !pushed) {
            pushed = true;
            source.next(late); // the source is still live: the sink is ending because a request failed
          }
        },
        error: resolve,
      }),
    );
    source.next(first);
    source.next(second); // a full batch: sent, answered 401
    source.next(third); // open
    assert.ok((await ended) instanceof RemoteWriteError);
    assert.ok(pushed);
    assert.deepEqual(outcomes.map((o) => [o.reason, o.samples]), [['fatal', 2], ['aborted', 1]]);
    assertSettled(sink.metrics, 4);
    assert.equal(sink.metrics.snapshot().samplesDropped['aborted' as DropReason], 2);
  });
});

describe('remoteWrite: series handles and label objects that arrive fresh', () => {
  let receiver: Receiver;
  before(async () => {
    receiver = await startReceiver({ mode: 'strict' });
  });
  after(() => receiver.close());
  beforeEach(() => receiver.reset());

  const T = 1_700_000_000_000;
  const stored = (): string[] => receiver.samples().map((s) => `${JSON.stringify(s.labels)}@${s.timestamp}=${s.value}`).sort();

  it('sink.series() returns a frozen, canonical label object that the sink writes, and throws for labels it would refuse', async () => {
    const sink = remoteWrite({ url: receiver.url, maxDelayMs: 1, logger: silentLogger });
    const kitchen = sink.series({ room: 'kitchen', __name__: 'room_temperature_celsius', floor: '' });
    assert.deepEqual(Object.keys(kitchen), ['__name__', 'room']);
    assert.ok(Object.isFrozen(kitchen));
    assert.equal(Object.getPrototypeOf(kitchen), null);
    assert.throws(() => sink.series({ room: 'hall' }), (error: unknown) => error instanceof TypeError && /missing __name__/.test(error.message));
    assert.throws(() => sink.series({ __name__: 'm', __reserved: 'x' }), /reserved label name "__reserved"/);
    const outcomes = await lastValueFrom(from([1, 2, 3].map((i) => ({ labels: kitchen, value: 20 + i, timestamp: T + i * 1000 }))).pipe(sink, toArray()));
    assert.equal(total(outcomes, 'written'), 3);
    assert.deepEqual(stored(), [1, 2, 3].map((i) => `{"__name__":"room_temperature_celsius","room":"kitchen"}@${T + i * 1000}=${20 + i}`));
  });

  it('writes the same series from fresh label objects in any key order as from reused ones, and guards their order', async () => {
    const devices = Array.from({ length: 30 }, (_, i) => ({ __name__: 'fresh_test', device: `d${i}`, room: `r${i % 4}` }));
    const input = (fresh: boolean): Sample[] => {
      const out: Sample[] = [];
      for (let t = 0; t < 5; t++) {
        devices.forEach((labels, i) => {
          // Fresh: a new object per sample, its keys in one of three orders.
          const own = !fresh ? labels : [{ ...labels }, { room: labels.room, device: labels.device, __name__: labels.__name__ }, { device: labels.device, __name__: labels.__name__, room: labels.room, empty: '' }][(i + t) % 3];
          out.push({ labels: own, value: t, timestamp: T + t * 1000 });
        });
      }
      // A duplicate and an older sample, each in a fresh object.
      out.push({ labels: { room: 'r1', device: 'd1', __name__: 'fresh_test' }, value: 99, timestamp: T + 4000 });
      out.push({ labels: { __name__: 'fresh_test', device: 'd2', room: 'r2' }, value: 99, timestamp: T });
      return out;
    };
    const results: string[][] = [];
    for (const fresh of [false, true]) {
      receiver.reset();
      const sink = remoteWrite({ url: receiver.url, shards: 3, maxSamplesPerRequest: 40, maxDelayMs: 1, logger: silentLogger });
      const outcomes = await lastValueFrom(from(input(fresh)).pipe(sink, toArray()));
      assert.equal(total(outcomes, 'written'), 150);
      assert.deepEqual(outcomes.filter((o) => o.type === 'dropped').map((o) => o.reason), ['duplicate', 'out-of-order']);
      assert.equal(sink.metrics.snapshot().activeSeries, 30);
      results.push(stored());
    }
    assert.equal(results[1].length, 150);
    assert.deepEqual(results[1], results[0]);
  });
});
