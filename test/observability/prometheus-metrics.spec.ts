/**
 * rxprom's counters in a prom-client registry, scraped over HTTP and parsed: the values are the
 * sink's snapshot and the operators' stats at scrape time, with Prometheus-style names and help.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { Registry } from 'prom-client';
import { from, lastValueFrom, toArray } from 'rxjs';
import { remoteWrite, reorderByWatermark, tumblingWindow, registerRxpromMetrics, sample, ConfigError, type Sample } from '../../src/index.js';
import { liveFeed } from '../../src/live/index.js';
import { startReceiver } from '../../src/testing/index.js';
import { parseExposition } from './exposition.js';

async function scrape(registry: Registry): Promise<{ text: string; contentType: string | null }> {
  const server = createServer((_req, res) => {
    void registry.metrics().then((text) => {
      res.writeHead(200, { 'Content-Type': registry.contentType });
      res.end(text);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  try {
    const response = await fetch(`http://127.0.0.1:${address.port}/metrics`);
    return { text: await response.text(), contentType: response.headers.get('content-type') };
  } finally {
    server.close();
  }
}

describe('registerRxpromMetrics', () => {
  it('exposes the sink, operators and feeds as scraped Prometheus metrics equal to their counters', async () => {
    const receiver = await startReceiver({ mode: 'strict' });
    try {
      const t0 = 1_700_000_000_000;
      const ordered = reorderByWatermark<Sample>({ eventTime: (s) => s.timestamp, maxOutOfOrderMs: 0 });
      const windows = tumblingWindow({ sizeMs: 1000, aggregations: ['avg', 'max'] });
      const sink = remoteWrite({ url: receiver.url, maxDelayMs: 10 });
      const feed = liveFeed<Sample>();
      const readings = [0, 300, 200, 1200, 1500, 2500, 100].map((dt, i) => sample({ __name__: 'temp', room: 'a' }, 20 + i, t0 + dt));
      const outcomes = await lastValueFrom(from(readings).pipe(ordered, windows, feed.tap, sink, toArray()));
      assert.ok(outcomes.length > 0);

      const registry = new Registry();
      registerRxpromMetrics(registry, { sink, operators: { reorder: ordered, window: windows }, feeds: { aggregates: feed } });
      const { text, contentType } = await scrape(registry);
      assert.match(contentType ?? '', /^text\/plain; version=0\.0\.4/);
      const families = parseExposition(text);
      const m = sink.metrics.snapshot();

      const written = families.get('rxprom_remote_write_samples_written_total');
      assert.equal(written?.type, 'counter');
      assert.equal(written?.help, 'Samples in requests the receiver accepted.');
      assert.equal(written?.samples.get('rxprom_remote_write_samples_written_total'), m.samplesWritten);
      assert.equal(m.samplesWritten, receiver.stats().samplesAccepted, 'the sink wrote what the receiver holds');
      assert.ok(m.samplesWritten > 0);
      assert.equal(families.get('rxprom_remote_write_samples_in_total')?.samples.get('rxprom_remote_write_samples_in_total'), m.samplesIn);
      assert.equal(families.get('rxprom_remote_write_samples_pending')?.type, 'gauge');
      assert.equal(families.get('rxprom_remote_write_samples_dropped_total')?.samples.get('rxprom_remote_write_samples_dropped_total{reason="out-of-order"}'), m.samplesDropped['out-of-order']);

      // Operators: one family per stats field, labelled by operator.
      assert.equal(ordered.stats.late, 2, 'the readings at +200 ms and +100 ms came after the watermark passed them');
      const late = families.get('rxprom_operator_late_total');
      assert.equal(late?.type, 'counter');
      assert.equal(late?.samples.get('rxprom_operator_late_total{operator="reorder"}'), ordered.stats.late);
      assert.equal(late?.samples.get('rxprom_operator_late_total{operator="window"}'), windows.stats.late);
      assert.equal(families.get('rxprom_operator_samples_out_total')?.samples.get('rxprom_operator_samples_out_total{operator="window"}'), windows.stats.samplesOut);
      assert.equal(families.get('rxprom_operator_windows_closed_total')?.samples.get('rxprom_operator_windows_closed_total{operator="window"}'), 3);
      assert.equal(families.get('rxprom_operator_buffered')?.type, 'gauge');
      assert.equal(families.get('rxprom_live_points_in_total')?.samples.get('rxprom_live_points_in_total{feed="aggregates"}'), windows.stats.samplesOut);

      // Every family has a Prometheus-style name, a type and a help text.
      for (const [name, family] of families) {
        assert.match(name, /^rxprom_[a-z0-9_]+$/);
        if (family.type === 'counter') assert.match(name, /_total$/);
        assert.ok(family.help.length > 0, `${name} has help`);
      }
      feed.close();
    } finally {
      await receiver.close();
    }
  });

  it('reads the values at scrape time, and unregister() removes them', async () => {
    const stats = { dropped: { range: 0, rate: 0 }, passed: 0, custom: 5 };
    const registry = new Registry();
    const registered = registerRxpromMetrics(registry, { operators: { outliers: () => stats } });
    stats.dropped.range = 3;
    stats.passed = 7;
    let families = parseExposition((await scrape(registry)).text);
    assert.equal(families.get('rxprom_operator_dropped_total')?.samples.get('rxprom_operator_dropped_total{operator="outliers",reason="range"}'), 3);
    assert.equal(families.get('rxprom_operator_passed_total')?.samples.get('rxprom_operator_passed_total{operator="outliers"}'), 7);
    assert.equal(families.get('rxprom_operator_custom')?.type, 'gauge', 'an unknown field is a gauge');
    stats.passed = 9;
    families = parseExposition((await scrape(registry)).text);
    assert.equal(families.get('rxprom_operator_passed_total')?.samples.get('rxprom_operator_passed_total{operator="outliers"}'), 9);
    registered.unregister();
    assert.equal((await registry.metrics()).trim(), '');
  });

  it('a name already taken fails the call and leaves the registry as it was; fixed, the call succeeds', async () => {
    const registry = new Registry();
    // The user's own metric under a name the live feed families use: registered after the sink's and operators'.
    const own = new (await import('prom-client')).Gauge({ name: 'rxprom_live_clients', help: 'mine', registers: [registry] });
    own.set(4);
    const feed = liveFeed<number>();
    const operator = () => ({ passed: 1 });
    const sink = remoteWrite({ url: 'http://127.0.0.1:9/api/v1/write' });
    assert.throws(() => registerRxpromMetrics(registry, { sink, operators: { check: operator }, feeds: { live: feed } }), /rxprom_live_clients/);
    assert.deepEqual(registry.getMetricsAsArray().map((m) => m.name), ['rxprom_live_clients'], 'nothing of the failed call stays registered');
    const registered = registerRxpromMetrics(registry, { sink, operators: { check: operator }, feeds: { live: feed } }, { prefix: 'gw_' });
    const families = parseExposition((await scrape(registry)).text);
    assert.equal(families.get('rxprom_live_clients')?.samples.get('rxprom_live_clients'), 4);
    assert.equal(families.get('gw_operator_passed_total')?.samples.get('gw_operator_passed_total{operator="check"}'), 1);
    assert.equal(families.get('gw_live_clients')?.samples.get('gw_live_clients{feed="live"}'), 0);
    registered.unregister();
    feed.close();
  });

  it('a stats field that a metric name cannot hold is exposed under a name made valid', async () => {
    const registry = new Registry();
    registerRxpromMetrics(registry, { operators: { parser: () => ({ 'bad-json': 2, 'rate/s': 1.5 }) } });
    const families = parseExposition((await scrape(registry)).text);
    assert.equal(families.get('rxprom_operator_bad_json')?.samples.get('rxprom_operator_bad_json{operator="parser"}'), 2);
    assert.equal(families.get('rxprom_operator_rate_s')?.samples.get('rxprom_operator_rate_s{operator="parser"}'), 1.5);
  });

  it('refuses a bad prefix with a ConfigError', () => {
    assert.throws(() => registerRxpromMetrics(new Registry(), {}, { prefix: '9bad-' }), (e: unknown) => e instanceof ConfigError && e.option === 'prefix');
  });
});
