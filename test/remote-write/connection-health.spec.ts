import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { from, lastValueFrom, toArray } from 'rxjs';
import { remoteWrite } from '../../operators/remote-write.js';
import { ConfigError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Sample } from '../../src/core/model.js';
import { ConnectionHealth, REJECTIONS_BEFORE_ERROR, type ConnectionHealthOptions } from '../../src/remote-write/connection-health.js';
import { RemoteWriteError } from '../../src/core/errors.js';
import type { Logger } from '../../src/core/logger.js';
import type { WriteOutcome } from '../../src/core/model.js';
import { RemoteWriteMetrics } from '../../src/remote-write/metrics.js';
import { ScriptedClient } from './scripted-client.js';

interface Line {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields: Record<string, unknown>;
}

function setup(options: Partial<ConnectionHealthOptions> = {}): { health: ConnectionHealth; lines: Line[]; clock: { now: number } } {
  const lines: Line[] = [];
  const log = (level: Line['level']) => (fields: Record<string, unknown>, message: string) => void lines.push({ level, message, fields });
  const logger: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
  const clock = { now: 1_000_000 };
  const health = new ConnectionHealth({
    url: 'http://user:secret@db.local:8428/api/v1/writ?token=abc',
    logger,
    summaryIntervalMs: 10_000,
    pending: () => ({ samples: 1234, requests: 4 }),
    now: () => clock.now,
    ...options,
  });
  return { health, lines, clock };
}

const written: WriteOutcome = { type: 'written', samples: 10, series: 2, attempts: 1, status: 204 };
const rejected = (status: number): WriteOutcome => ({ type: 'dropped', reason: 'non-retryable', samples: 10, series: 2, attempts: 1, status, responseBody: 'unsupported path' });

describe('ConnectionHealth', () => {
  describe('outages', () => {
    it('warns at the first failed attempt, summarises at most once per interval, and says when it recovered', () => {
      const { health, lines, clock } = setup();
      health.attemptFailed({ error: 'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:8428' });
      assert.equal(health.down, true);
      // Every second for 25 s: four lanes failing together (the summary comes with the first failure after each 10 s).
      for (let s = 1; s <= 25; s++) {
        clock.now += 1000;
        for (let lane = 0; lane < 4; lane++) health.attemptFailed({ status: 503 });
      }
      clock.now += 500;
      health.observe(written);
      assert.equal(health.down, false);
      assert.deepEqual(lines.map((l) => `${l.level} ${l.message}`), [
        'warn remote-write endpoint is failing (ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:8428); retrying, samples wait in memory',
        'warn remote-write endpoint still failing after 10 s: 38 failed attempts, last status 503; 1234 samples pending, 4 requests in flight',
        'warn remote-write endpoint still failing after 20 s: 78 failed attempts, last status 503; 1234 samples pending, 4 requests in flight',
        'info remote-write endpoint recovered after 26 s (101 failed attempts)',
      ]);
      assert.deepEqual(lines[3].fields, { url: 'http://db.local:8428/api/v1/writ', downMs: 25_500, failedAttempts: 101 });
      assert.equal(lines[0].fields['url'], 'http://db.local:8428/api/v1/writ', 'no credentials, no query in logs');
      assert.deepEqual(lines[1].fields, {
        url: 'http://db.local:8428/api/v1/writ', cause: 'status 503', downMs: 10_000, failedAttempts: 38, pendingSamples: 1234, requestsInFlight: 4,
      });
    });

    it('a new outage after a recovery starts a new count', () => {
      const { health, lines, clock } = setup();
      health.attemptFailed({ status: 500 });
      clock.now += 2000;
      health.observe(written);
      health.observe(written);
      clock.now += 60_000;
      health.attemptFailed({ status: 502 });
      clock.now += 3000;
      health.observe(written);
      assert.deepEqual(lines.map((l) => l.message), [
        'remote-write endpoint is failing (status 500); retrying, samples wait in memory',
        'remote-write endpoint recovered after 2.0 s (1 failed attempts)',
        'remote-write endpoint is failing (status 502); retrying, samples wait in memory',
        'remote-write endpoint recovered after 3.0 s (1 failed attempts)',
      ]);
    });

    it('says nothing while healthy', () => {
      const { health, lines } = setup();
      for (let i = 0; i < 5; i++) assert.equal(health.observe(written), undefined);
      assert.deepEqual(lines, []);
    });
  });

  describe('a wrong URL path', () => {
    it(`logs one ERROR with a hint after ${REJECTIONS_BEFORE_ERROR} same-status rejections before anything was written`, () => {
      const { health, lines } = setup();
      for (let i = 0; i < 10; i++) assert.equal(health.observe(rejected(400)), undefined);
      assert.equal(lines.length, 1);
      assert.equal(lines[0].level, 'error');
      assert.match(lines[0].message, /every request so far \(3\) was rejected with 400 and nothing was ever written to http:\/\/db\.local:8428\/api\/v1\/writ: check the URL path \(e\.g\. \/api\/v1\/write/);
      assert.equal(lines[0].fields['responseBody'], 'unsupported path');
    });

    it('says nothing once something was written, or when the statuses differ', () => {
      const { health, lines } = setup();
      health.observe(rejected(400));
      health.observe(rejected(409));
      health.observe(rejected(400));
      health.observe(rejected(409));
      health.observe(written);
      for (let i = 0; i < 10; i++) health.observe(rejected(400));
      assert.deepEqual(lines, []);
    });

    it('ignores drops that are not a rejected request', () => {
      const { health, lines } = setup();
      for (let i = 0; i < 5; i++) {
        health.observe({ type: 'dropped', reason: 'invalid', samples: 1, series: 1, attempts: 0 });
        health.observe({ type: 'dropped', reason: 'max-retries', samples: 1, series: 1, attempts: 3, status: 503 });
      }
      assert.deepEqual(lines, []);
    });

    it('with failFastAfterRejections, returns the error to fail the pipeline with at that count', () => {
      const { health, lines } = setup({ failFastAfterRejections: 2 });
      assert.equal(health.observe(rejected(400)), undefined);
      const error = health.observe(rejected(400));
      assert.ok(error instanceof RemoteWriteError);
      assert.equal(error.status, 400);
      assert.equal(error.responseBody, 'unsupported path');
      assert.match(error.message, /^rxprom: every request so far \(2\) was rejected with 400.*check the URL path/);
      assert.deepEqual(lines.map((l) => l.level), ['error']);
    });
  });

  describe('wired into remoteWrite', () => {
    const samples = (n: number): Sample[] => Array.from({ length: n }, (_, i) => ({ labels: { __name__: 'm' }, value: i, timestamp: 1_700_000_000_000 + i }));

    async function serve(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
      const server = http.createServer(handler);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: async () => {
          server.closeAllConnections();
          await new Promise((resolve) => server.close(resolve));
        },
      };
    }

    it('the default logger path: WARN when the endpoint fails, INFO when it is back', async () => {
      let failuresLeft = 3;
      const server = await serve((req, res) => {
        req.resume();
        req.on('end', () => res.writeHead(failuresLeft-- > 0 ? 503 : 204).end());
      });
      const lines: string[] = [];
      const logger = { ...silentLogger, info: (_: unknown, m: string) => void lines.push(`info ${m}`), warn: (_: unknown, m: string) => void lines.push(`warn ${m}`) };
      try {
        const sink = remoteWrite({ url: `${server.url}/api/v1/write`, shards: 1, maxDelayMs: 1, retry: { initialDelayMs: 1, maxDelayMs: 2, jitter: 0 }, logger });
        const outcomes = await lastValueFrom(from(samples(2)).pipe(sink, toArray()));
        assert.equal(outcomes[0].attempts, 4);
        assert.equal(lines.length, 2);
        assert.equal(lines[0], 'warn remote-write endpoint is failing (status 503); retrying, samples wait in memory');
        assert.match(lines[1], /^info remote-write endpoint recovered after \d+\.\d s \(3 failed attempts\)$/);
      } finally {
        await server.close();
      }
    });

    it("the outage WARN counts the subscription's own pending samples and requests, not those of other sinks sharing its metrics", async () => {
      let failuresLeft = 1;
      const server = await serve((req, res) => {
        req.resume();
        req.on('end', () => res.writeHead(failuresLeft-- > 0 ? 503 : 204).end());
      });
      const metrics = new RemoteWriteMetrics();
      const hung = new ScriptedClient();
      hung.fallback = { hang: true };
      // Another sink on the same metrics, with 5 samples in 5 requests that never end.
      const other = from(samples(5)).pipe(remoteWrite({ url: 'http://127.0.0.1:1/api/v1/write', client: hung, metrics, shards: 1, maxSamplesPerRequest: 1, maxDelayMs: 1, logger: silentLogger })).subscribe();
      const warnings: Array<Record<string, unknown>> = [];
      const logger = { ...silentLogger, warn: (fields: Record<string, unknown>) => void warnings.push(fields) };
      try {
        await new Promise((resolve) => setTimeout(resolve, 10));
        assert.equal(metrics.requestsInFlight, 1, "the other sink's request is in flight");
        const sink = remoteWrite({ url: `${server.url}/api/v1/write`, metrics, shards: 1, maxDelayMs: 1, retry: { initialDelayMs: 1, maxDelayMs: 2, jitter: 0 }, logger });
        const outcomes = await lastValueFrom(from(samples(2)).pipe(sink, toArray()));
        assert.equal(outcomes[0].attempts, 2);
        assert.equal(warnings.length, 1);
        assert.equal(warnings[0]['pendingSamples'], 2);
        assert.equal(warnings[0]['requestsInFlight'], 1);
      } finally {
        other.unsubscribe();
        await server.close();
      }
    });

    it('failFastAfterRejections fails the pipeline when nothing was written and every request got the same 400', async () => {
      const server = await serve((req, res) => {
        req.resume();
        req.on('end', () => res.writeHead(400).end(`unsupported path requested: ${req.url}`));
      });
      const errors: string[] = [];
      const logger = { ...silentLogger, error: (_: unknown, m: string) => void errors.push(m) };
      try {
        const sink = remoteWrite({ url: `${server.url}/api/v1/writ`, shards: 1, maxSamplesPerRequest: 1, maxDelayMs: 1, failFastAfterRejections: 4, logger });
        const outcomes: string[] = [];
        const error = await new Promise<unknown>((resolve) => from(samples(10)).pipe(sink).subscribe({ next: (o) => outcomes.push(`${o.type} ${o.reason}`), error: resolve, complete: () => resolve(undefined) }));
        assert.ok(error instanceof RemoteWriteError);
        assert.equal(error.status, 400);
        assert.equal(error.responseBody, 'unsupported path requested: /api/v1/writ');
        assert.match(error.message, /check the URL path/);
        // The 4 rejected requests, then every other accepted sample as aborted before the error.
        assert.deepEqual(outcomes, [...Array(4).fill('dropped non-retryable'), ...Array(6).fill('dropped aborted')]);
        assert.equal(errors.length, 1, 'one ERROR');
      } finally {
        await server.close();
      }
    });

    it('failFastAfterRejections reached while a refused batch is being halved: the answered half dropped, the rest of the batch aborted, each sample once', async () => {
      const client = new ScriptedClient();
      client.fallback = { result: { kind: 'response', status: 400, body: 'unsupported path', attempts: 1 } };
      const sink = remoteWrite({ url: 'http://127.0.0.1:1/api/v1/writ', client, shards: 1, maxSamplesPerRequest: 8, maxDelayMs: 60_000, failFastAfterRejections: 2, logger: silentLogger });
      const outcomes: WriteOutcome[] = [];
      const error = await new Promise<unknown>((resolve) => from(samples(8)).pipe(sink).subscribe({ next: (o) => outcomes.push(o), error: resolve, complete: () => resolve(undefined) }));
      assert.ok(error instanceof RemoteWriteError);
      assert.match(error.message, /check the URL path/);
      // The batch of 8 refused (1), its first half refused (2): the check stops there.
      assert.deepEqual(client.requests.map((r) => r.samples), [8, 4]);
      assert.deepEqual(outcomes.map((o) => [o.reason, o.samples]), [['non-retryable', 4], ['aborted', 4]]);
      const m = sink.metrics.snapshot();
      assert.deepEqual([m.samplesIn, m.samplesDropped['non-retryable'], m.samplesDropped.aborted, m.samplesPending, m.requestsInFlight], [8, 4, 4, 0, 0]);
      assert.equal(m.samplesWritten + m.samplesDroppedTotal + m.samplesPending, m.samplesIn);
    });

    it('a sample refused alone that reaches failFastAfterRejections is named in its outcome, as any sample refused alone', async () => {
      const client = new ScriptedClient();
      client.fallback = { result: { kind: 'response', status: 400, body: 'unsupported path', attempts: 1 } };
      const sink = remoteWrite({ url: 'http://127.0.0.1:1/api/v1/writ', client, shards: 1, maxSamplesPerRequest: 1, maxDelayMs: 60_000, failFastAfterRejections: 2, logger: silentLogger });
      const input = samples(3);
      const outcomes: WriteOutcome[] = [];
      const error = await new Promise<unknown>((resolve) => from(input).pipe(sink).subscribe({ next: (o) => outcomes.push(o), error: resolve, complete: () => resolve(undefined) }));
      assert.ok(error instanceof RemoteWriteError);
      assert.deepEqual(outcomes.map((o) => [o.reason, o.samples, o.sample?.value]), [['non-retryable', 1, 0], ['non-retryable', 1, 1], ['aborted', 1, undefined]]);
      assert.deepEqual(outcomes[1].sample, input[1]);
    });

    it('validates failFastAfterRejections', () => {
      for (const bad of [-1, 1.5, 'yes', 2_000_000]) {
        assert.throws(
          () => remoteWrite({ url: 'http://x/api/v1/write', failFastAfterRejections: bad as number }),
          (e: unknown) => e instanceof ConfigError && /"failFastAfterRejections" must be an integer in \[0, 1000000\]/.test(e.message),
        );
      }
      remoteWrite({ url: 'http://x/api/v1/write', failFastAfterRejections: 0 });
    });
  });
});
