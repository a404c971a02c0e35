/**
 * The gateway pipeline end to end into a real Prometheus (out-of-order window 0): simulated devices
 * with jitter, late and repeated readings, spikes and unregistered devices → enrich → dropOutliers
 * → reorderByWatermark → tumblingWindow → remoteWrite. The aggregates read back from Prometheus
 * must equal a brute-force computation over the readings the simulator knows to be genuine.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { from, lastValueFrom, toArray } from 'rxjs';
import { remoteWrite } from '../../operators/remote-write.js';
import { silentLogger } from '../../src/core/logger.js';
import { simulateFleet, type DeviceReading } from '../../examples/fleet.js';
import { gatewayPipeline } from '../../examples/gateway-pipeline.js';
import { startPrometheus, unavailable, type TsdbServer } from '../harness/servers.js';

describe('gateway pipeline into Prometheus', { skip: unavailable('prometheus') }, () => {
  let prometheus: TsdbServer;
  before(async () => {
    prometheus = await startPrometheus();
  });
  after(() => prometheus?.stop());

  it('writes window aggregates equal to a brute-force reference, with zero out-of-order rejections', async () => {
    const windowMs = 10_000;
    const start = Math.floor((Date.now() - 15 * 60_000) / windowMs) * windowMs;
    const fleet = simulateFleet({ devices: 240, seed: 42, startTime: start, lateFraction: 0.01, duplicateFraction: 0.02, spikeFraction: 0.005 });
    const readings: DeviceReading[] = [];
    // What is still in flight at the end never arrives (as when a gateway stops): a late reading
    // that arrived with nothing newer after it could not be told from a timely one.
    for (let t = start + 100; t <= start + 180_000; t += 100) readings.push(...fleet.advance(t));

    const pipeline = gatewayPipeline({ registry: fleet.registry, windowMs });
    const sink = remoteWrite({ url: prometheus.writeUrl, shards: 4, maxSamplesPerRequest: 500, maxDelayMs: 50, logger: silentLogger });
    const outcomes = await lastValueFrom(from(readings).pipe(pipeline.operator, sink, toArray()));

    // Brute force over the ground truth: genuine readings of registered devices, per window, metric, site and room.
    const groups = new Map<string, number[]>();
    for (const r of readings) {
      const context = fleet.registry.get(r.device);
      if (r.kind !== 'genuine' || context === undefined) continue;
      const end = Math.floor(r.timestamp / windowMs) * windowMs + windowMs;
      for (const [metric, value] of [['room_temperature_celsius', r.temperature], ['room_humidity_percent', r.humidity]] as const) {
        const key = `${metric}|${context.site}|${context.room}|${end}`;
        const list = groups.get(key) ?? [];
        list.push(value);
        groups.set(key, list);
      }
    }
    const stats = pipeline.stats();
    const m = sink.metrics.snapshot();
    const expectedSamples = groups.size * 6;
    assert.equal(stats.lateWindow, 0, 'no element reached a closed window');
    assert.equal(stats.samplesOut, expectedSamples);
    assert.equal(m.samplesWritten, expectedSamples, 'everything written');
    assert.equal(m.samplesDroppedTotal, 0, 'no out-of-order rejections, nothing dropped');
    assert.equal(outcomes.filter((o) => o.type === 'dropped').length, 0);
    // What the pipeline filtered is exactly what the simulator injected.
    const injected = (kind: DeviceReading['kind']): number => readings.filter((r) => r.kind === kind && fleet.registry.has(r.device)).length;
    assert.equal(stats.unregistered, readings.filter((r) => !fleet.registry.has(r.device)).length);
    // Every spike is an outlier; a very late reading may be judged an outlier (by MAD) before it is judged late.
    assert.ok(stats.outliers >= injected('spike'));
    assert.equal(stats.outliers + stats.lateReorder + stats.duplicates, injected('spike') + injected('late') + injected('duplicate'));

    const checked = { series: 0, samples: 0 };
    const fromMs = start;
    const toMs = start + 200_000;
    for (const metric of ['room_temperature_celsius', 'room_humidity_percent']) {
      for (const [aggregation, suffix] of [['count', '_count'], ['sum', '_sum'], ['min', '_min'], ['max', '_max'], ['avg', '_avg'], ['p90', '']] as const) {
        const stored = await prometheus.readSeries(metric + suffix, fromMs, toMs);
        for (const series of stored) {
          if (aggregation === 'p90') assert.equal(series.labels['quantile'], '0.9');
          checked.series++;
          for (const [timestamp, value] of series.samples) {
            const values = groups.get(`${metric}|${series.labels['site']}|${series.labels['room']}|${timestamp}`);
            assert.ok(values, `unexpected sample ${metric}${suffix} ${JSON.stringify(series.labels)} @${timestamp}`);
            const sum = values.reduce((a, b) => a + b, 0);
            const sorted = [...values].sort((a, b) => a - b);
            const want = { count: values.length, sum, min: sorted[0], max: sorted[sorted.length - 1], avg: sum / values.length, p90: sorted[Math.floor(0.9 * (values.length - 1))] }[aggregation];
            const tolerance = aggregation === 'p90' ? Math.abs(want) * 0.01 : Math.abs(want) * 1e-9;
            assert.ok(Math.abs(value - want) <= tolerance, `${metric}${suffix} ${JSON.stringify(series.labels)} @${timestamp}: ${value} vs ${want}`);
            checked.samples++;
          }
        }
      }
    }
    assert.equal(checked.samples, expectedSamples, 'every aggregate read back and compared');
  });
});
