/**
 * remoteWrite against a real Prometheus and a real VictoriaMetrics, read back through their
 * query APIs; faults injected by a proxy in front of the real Prometheus.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { from, lastValueFrom, toArray } from 'rxjs';
import { remoteWrite } from '../../operators/remote-write.js';
import { RemoteWriteError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Labels, Sample, WriteOutcome } from '../../src/core/model.js';
import { startPrometheus, startVictoriaMetrics, unavailable, type TsdbServer } from '../harness/servers.js';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.js';

const fastRetry = { initialDelayMs: 10, maxDelayMs: 200, jitter: 0.2 };

/** `count` series × `perSeries` samples, one second apart, ending a minute ago, series interleaved. */
function workload(metric: string, count: number, perSeries: number): { samples: Sample[]; from: number; to: number } {
  const start = Date.now() - 60_000 - perSeries * 1000;
  const labels: Labels[] = Array.from({ length: count }, (_, i) => ({ __name__: metric, device: `d${i}`, room: `r${i % 7}` }));
  const samples: Sample[] = [];
  for (let t = 0; t < perSeries; t++) {
    for (let i = 0; i < count; i++) samples.push({ labels: labels[i], value: i * 1000 + t + 0.25, timestamp: start + t * 1000 });
  }
  return { samples, from: start - 1000, to: start + perSeries * 1000 };
}

const sum = (outcomes: WriteOutcome[], type: WriteOutcome['type']): number =>
  outcomes.filter((o) => o.type === type).reduce((n, o) => n + o.samples, 0);

/** Reads back and checks that every series holds exactly its samples, in order. */
async function assertStored(server: TsdbServer, metric: string, expected: Sample[], fromMs: number, toMs: number): Promise<void> {
  await server.flush();
  const stored = await server.readSeries(metric, fromMs, toMs);
  const want = new Map<string, Array<[number, number]>>();
  for (const s of expected) {
    const key = s.labels['device'];
    const list = want.get(key) ?? [];
    list.push([s.timestamp, s.value]);
    want.set(key, list);
  }
  assert.equal(stored.length, want.size, `${server.name}: series count`);
  for (const series of stored) {
    const { __name__, device, room, ...rest } = series.labels;
    assert.equal(__name__, metric);
    assert.deepEqual(rest, {}, 'no extra labels');
    assert.equal(room, `r${Number(device.slice(1)) % 7}`);
    assert.deepEqual(series.samples, want.get(device), `${server.name}: samples of ${device}`);
  }
}

for (const start of [startPrometheus, startVictoriaMetrics]) {
  const prometheus = start === startPrometheus;
  describe(`remoteWrite into ${prometheus ? 'Prometheus' : 'VictoriaMetrics'}`, { skip: unavailable(prometheus ? 'prometheus' : 'victoriametrics') }, () => {
    let server: TsdbServer;
    before(async () => {
      server = await start();
    });
    after(() => server?.stop());

    it('lands many series over several shards complete, with their labels, values and timestamps, in order', async () => {
      const { samples, from: fromMs, to } = workload('rxprom_it_bulk', 300, 40);
      const sink = remoteWrite({ url: server.writeUrl, shards: 4, maxSamplesPerRequest: 700, maxDelayMs: 50, logger: silentLogger });
      const outcomes = await lastValueFrom(from(samples).pipe(sink, toArray()));
      assert.equal(sum(outcomes, 'written'), samples.length);
      assert.equal(sink.metrics.snapshot().samplesDroppedTotal, 0);
      await assertStored(server, 'rxprom_it_bulk', samples, fromMs, to);
    });

    it("accepts literal-only snappy bodies (compression: 'literal') just the same", async () => {
      const { samples, from: fromMs, to } = workload('rxprom_it_literal', 120, 10);
      const sink = remoteWrite({ url: server.writeUrl, shards: 2, maxSamplesPerRequest: 500, maxDelayMs: 50, compression: 'literal', logger: silentLogger });
      const outcomes = await lastValueFrom(from(samples).pipe(sink, toArray()));
      assert.equal(sum(outcomes, 'written'), samples.length);
      assert.equal(sink.metrics.snapshot().samplesDroppedTotal, 0);
      await assertStored(server, 'rxprom_it_literal', samples, fromMs, to);
    });

    it('drops an out-of-order sample and an invalid label set client-side; their batch-mates land', async () => {
      const { samples, from: fromMs, to } = workload('rxprom_it_guard', 5, 6);
      const late: Sample = { labels: samples[0].labels, value: -1, timestamp: samples[0].timestamp - 500 };
      const invalid: Sample = { labels: { __name__: 'rxprom_it_guard', 'bad.name': 'x', device: 'bad' }, value: 1, timestamp: to - 1 };
      // One batch holds them all: without the client-side guard, Prometheus would refuse it whole.
      const input = [...samples.slice(0, 10), late, invalid, ...samples.slice(10)];
      const sink = remoteWrite({ url: server.writeUrl, shards: 1, maxSamplesPerRequest: 1000, maxDelayMs: 50, logger: silentLogger });
      const outcomes = await lastValueFrom(from(input).pipe(sink, toArray()));
      const drops = outcomes.filter((o) => o.type === 'dropped');
      assert.deepEqual(drops.map((o) => [o.reason, o.sample]), [['out-of-order', late], ['invalid', invalid]]);
      assert.match(drops[1].message ?? '', /invalid label name "bad\.name"/);
      assert.equal(sum(outcomes, 'written'), samples.length);
      await assertStored(server, 'rxprom_it_guard', samples, fromMs, to);
    });
  });
}

describe('remoteWrite through a fault-injecting proxy into Prometheus', { skip: unavailable('prometheus') }, () => {
  let prometheus: TsdbServer;
  let proxy: FaultProxy;
  before(async () => {
    prometheus = await startPrometheus();
    proxy = await startFaultProxy(prometheus.writeUrl);
  });
  after(async () => {
    await proxy?.stop();
    await prometheus?.stop();
  });

  it('rides out 429 (with and without Retry-After), 503, resets, slow answers and timeouts: everything lands, in order', async () => {
    const { samples, from: fromMs, to } = workload('rxprom_it_faults', 40, 25);
    proxy.plan([
      { status: 429, headers: { 'Retry-After': '1' } },
      { status: 429 },
      { status: 503, body: 'unavailable' },
      { reset: true },
      { delayMs: 250 },
      { hang: true },
      { status: 503 },
      { reset: true },
    ]);
    // The timeout is for the planned hang; it is long enough that a loaded machine's slow answer
    // from Prometheus is not timed out too (an eighth retry).
    const sink = remoteWrite({ url: proxy.url, shards: 2, maxSamplesPerRequest: 100, maxDelayMs: 20, timeoutMs: 1500, retry: fastRetry, logger: silentLogger });
    const outcomes = await lastValueFrom(from(samples).pipe(sink, toArray()));
    const m = sink.metrics.snapshot();
    assert.equal(sum(outcomes, 'written'), samples.length);
    assert.equal(m.samplesDroppedTotal, 0, 'no out-of-order rejections, nothing dropped');
    assert.equal(m.requestRetries, 7);
    await assertStored(prometheus, 'rxprom_it_faults', samples, fromMs, to);
  });

  it('a batch answered 400 for no fault of its samples is halved and resent: everything lands', async () => {
    const { samples, from: fromMs, to } = workload('rxprom_it_400', 1, 30);
    proxy.plan([{ status: 400, body: 'out of order sample' }]);
    const sink = remoteWrite({ url: proxy.url, shards: 1, maxSamplesPerRequest: 10, maxDelayMs: 20, logger: silentLogger });
    const outcomes = await lastValueFrom(from(samples).pipe(sink, toArray()));
    assert.equal(sum(outcomes, 'written'), 30);
    assert.equal(sum(outcomes, 'dropped'), 0);
    assert.ok(sink.metrics.snapshot().requestsSplit >= 1);
    await assertStored(prometheus, 'rxprom_it_400', samples, fromMs, to);
  });

  it('1 sample Prometheus refuses in a batch of 101: 100 written, 1 dropped as non-retryable, and Prometheus stores what the outcomes call written', async () => {
    const metric = 'rxprom_it_isolate';
    const { samples, from: fromMs, to } = workload(metric, 10, 10);
    // Stored first, so that a fresh sink (whose order guard knows nothing) sends an older sample of it.
    const staleLabels = { __name__: metric, device: 'd10', room: 'r3' };
    const first = await lastValueFrom(from([{ labels: staleLabels, value: 1, timestamp: to }]).pipe(remoteWrite({ url: prometheus.writeUrl, maxDelayMs: 20, logger: silentLogger }), toArray()));
    assert.equal(sum(first, 'written'), 1);
    const refused: Sample = { labels: staleLabels, value: 2, timestamp: to - 5000 };
    const input = [...samples.slice(0, 37), refused, ...samples.slice(37)];
    const sink = remoteWrite({ url: prometheus.writeUrl, shards: 1, maxSamplesPerRequest: 101, maxDelayMs: 60_000, logger: silentLogger });
    const outcomes = await lastValueFrom(from(input).pipe(sink, toArray()));
    const dropped = outcomes.filter((o) => o.type === 'dropped');
    assert.deepEqual(dropped.map((o) => [o.reason, o.samples, o.status]), [['non-retryable', 1, 400]]);
    assert.deepEqual(dropped[0].sample, refused);
    assert.equal(sum(outcomes, 'written'), 100);
    assert.equal(sink.metrics.snapshot().samplesWritten, 100);
    await assertStored(prometheus, metric, [...samples, { labels: staleLabels, value: 1, timestamp: to }], fromMs, to);
  });

  it('at the retry limit, discards and goes on, or fails', async () => {
    const { samples, from: fromMs, to } = workload('rxprom_it_limit', 1, 20);
    proxy.plan([{ status: 503 }, { status: 503 }, { status: 503 }]);
    const discarding = remoteWrite({ url: proxy.url, shards: 1, maxSamplesPerRequest: 10, maxDelayMs: 20, retry: { ...fastRetry, maxRetries: 2 }, onMaxRetriesExceeded: 'discard', logger: silentLogger });
    const outcomes = await lastValueFrom(from(samples).pipe(discarding, toArray()));
    assert.deepEqual(outcomes.map((o) => [o.type, o.reason, o.attempts]), [['dropped', 'max-retries', 3], ['written', undefined, 1]]);
    await assertStored(prometheus, 'rxprom_it_limit', samples.slice(10), fromMs, to);

    proxy.plan([{ status: 503 }, { status: 503 }]);
    const failing = remoteWrite({ url: proxy.url, maxDelayMs: 20, retry: { ...fastRetry, maxRetries: 1 }, logger: silentLogger });
    const more = workload('rxprom_it_limit_fail', 1, 2).samples;
    await assert.rejects(lastValueFrom(from(more).pipe(failing)), (e: unknown) => e instanceof RemoteWriteError && e.status === 503 && e.attempts === 2);
  });

  for (const status of [401, 403, 404]) {
    it(`fails on ${status} with a RemoteWriteError carrying status and body`, async () => {
      proxy.plan([{ status, body: `denied ${status}` }]);
      const sink = remoteWrite({ url: proxy.url, maxDelayMs: 20, logger: silentLogger });
      await assert.rejects(
        lastValueFrom(from(workload(`rxprom_it_${status}`, 1, 3).samples).pipe(sink)),
        (e: unknown) => e instanceof RemoteWriteError && e.status === status && e.responseBody === `denied ${status}`,
      );
      assert.equal(sink.metrics.snapshot().samplesDropped.fatal, 3);
    });
  }

  it('keeps retrying an unreachable endpoint and delivers everything when it comes back', async () => {
    const { samples, from: fromMs, to } = workload('rxprom_it_down', 10, 10);
    await proxy.down();
    const sink = remoteWrite({ url: proxy.url, shards: 2, maxSamplesPerRequest: 25, maxDelayMs: 20, retry: { initialDelayMs: 20, maxDelayMs: 100 }, logger: silentLogger });
    const done = lastValueFrom(from(samples).pipe(sink, toArray()));
    // Retried while it is down (however long the first attempts take on a busy machine), nothing written.
    for (const deadline = Date.now() + 30_000; sink.metrics.snapshot().requestRetries < 3 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(sink.metrics.snapshot().samplesWritten, 0);
    assert.ok(sink.metrics.snapshot().requestRetries >= 3, `retried (${sink.metrics.snapshot().requestRetries})`);
    await proxy.up();
    const outcomes = await done;
    assert.equal(sum(outcomes, 'written'), samples.length);
    await assertStored(prometheus, 'rxprom_it_down', samples, fromMs, to);
  });
});
