/**
 * The sink changes its lane count under load, several times, into a real Prometheus (which refuses
 * any out-of-order sample): everything lands, every series in order, nothing refused.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { lastValueFrom, Subject, toArray } from 'rxjs';
import { remoteWrite } from '../../operators/remote-write.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Labels, Sample } from '../../src/core/model.js';
import { startPrometheus, unavailable, type TsdbServer } from '../harness/servers.js';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.js';

const METRIC = 'rxprom_it_adaptive_lanes';
const SERIES = 400;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('adaptive lanes into Prometheus', { skip: unavailable('prometheus') }, () => {
  let prometheus: TsdbServer;
  let proxy: FaultProxy;
  before(async () => {
    prometheus = await startPrometheus();
    proxy = await startFaultProxy(prometheus.writeUrl);
    // Prometheus 25 ms away: a request's time is then mostly the trip, as for a remote receiver.
    proxy.respond(() => ({ delayMs: 25 }));
  });
  after(async () => {
    await proxy?.stop();
    await prometheus?.stop();
  });

  it('reshards up and down as the rate steps, and Prometheus stores every series complete and in order', async () => {
    const refused: number[] = [];
    proxy.observe((exchange) => {
      if (exchange.upstreamStatus !== undefined && exchange.upstreamStatus >= 300) refused.push(exchange.upstreamStatus);
    });
    const sink = remoteWrite({
      url: proxy.url,
      shards: { min: 1, max: 8, updateEveryMs: 250 },
      maxSamplesPerRequest: 500,
      maxDelayMs: 20,
      logger: silentLogger,
    });
    const labels: Labels[] = Array.from({ length: SERIES }, (_, i) => ({ __name__: METRIC, device: `d${i}` }));
    const base = Date.now() - 600_000;
    const source = new Subject<Sample>();
    const outcomes = lastValueFrom(source.pipe(sink, toArray()));
    let n = 0;
    const lanesByPhase: number[] = [];
    // Samples per second, phase by phase: low, high, low, high, low.
    for (const [rate, ms] of [[2000, 1500], [40_000, 2000], [2000, 2000], [40_000, 2000], [2000, 2000]] as const) {
      let most = 0;
      let least = Infinity;
      for (let elapsed = 0; elapsed < ms; elapsed += 10) {
        for (let i = 0; i < rate / 100; i++, n++) {
          source.next({ labels: labels[n % SERIES], value: n, timestamp: base + Math.floor(n / SERIES) });
        }
        most = Math.max(most, sink.metrics.lanes);
        least = Math.min(least, sink.metrics.lanes);
        await sleep(10);
      }
      lanesByPhase.push(rate > 2000 ? most : least);
    }
    source.complete();
    await outcomes;
    const m = sink.metrics.snapshot();
    assert.equal(m.samplesIn, n);
    assert.equal(m.samplesWritten, n, `every sample written (dropped: ${JSON.stringify(m.samplesDropped)})`);
    assert.deepEqual(refused, [], 'Prometheus refused nothing (no sample out of order)');
    assert.ok(m.reshards >= 4, `resharded up and down several times (${m.reshards}; lanes by phase ${lanesByPhase.join(', ')})`);
    assert.ok(lanesByPhase[1] > lanesByPhase[0] && lanesByPhase[3] > lanesByPhase[2], `more lanes at the high rate: ${lanesByPhase.join(', ')}`);

    const stored = await prometheus.readSeries(METRIC, base - 1, base + Math.floor(n / SERIES) + 1);
    assert.equal(stored.length, SERIES, 'every series');
    for (const series of stored) {
      const device = Number(series.labels['device'].slice(1));
      const expected: Array<[number, number]> = [];
      for (let v = device; v < n; v += SERIES) expected.push([base + Math.floor(v / SERIES), v]);
      assert.deepEqual(series.samples, expected, `d${device}: complete and in order`);
    }
  });
});
