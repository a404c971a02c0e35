/**
 * End to end through real servers: readings published with QoS 1 to a real mosquitto, read by
 * the MQTT source, written by `remoteWrite` into a real Prometheus, read back. Each reading is
 * stored exactly once (a reading published twice is refused by the sink as a duplicate and
 * counted), also when the broker restarts mid-run; positions are committed only once the sink
 * has written everything fed to it.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connectAsync, type MqttClient } from 'mqtt';
import { tap, map } from 'rxjs';
import { remoteWrite } from '../../../operators/remote-write.js';
import type { WriteOutcome } from '../../../src/core/model.js';
import { silentLogger } from '../../../src/core/logger.js';
import { jsonPayload, mqttSamples, mqttSource } from '../../../src/sources/mqtt/index.js';
import { createMqttSession } from '../../harness/mqtt-session.js';
import { startMosquitto, startPrometheus, unavailable, type MosquittoServer, type TsdbServer } from '../../harness/servers.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const DEVICES = 12;
const READINGS = 150;
const value = (device: number, i: number): number => Math.round((20 + device + Math.sin(i / 7) * 3) * 100) / 100;

describe('MQTT → remoteWrite → Prometheus', { skip: unavailable('mosquitto') || unavailable('prometheus') }, () => {
  let broker: MosquittoServer;
  let prometheus: TsdbServer;
  let publisher: MqttClient;
  before(async () => {
    [broker, prometheus] = await Promise.all([startMosquitto(), startPrometheus()]);
    publisher = await connectAsync(broker.url, { clientId: 'e2e-publisher', clean: false, reconnectPeriod: 100 });
  });
  after(async () => {
    await publisher?.endAsync();
    await Promise.all([broker?.stop(), prometheus?.stop()]);
  });

  for (const restartBroker of [false, true]) {
    it(restartBroker ? 'with the broker restarted mid-run: still each reading once, nothing lost' : 'each reading published with QoS 1 is stored once, values and timestamps as published', async () => {
      const metric = restartBroker ? 'mqtt_restart_temperature_celsius' : 'mqtt_temperature_celsius';
      // The session exists before anything is published, however long the source takes to subscribe.
      await createMqttSession(broker.url, `e2e-${metric}`, 'sensors/{site}/{room}/{device}');
      const source = mqttSource({ url: broker.url, clientId: `e2e-${metric}`, topics: 'sensors/{site}/{room}/{device}', payload: jsonPayload({ value: 'temperature', timestamp: 'ts' }), reconnectDelayMs: 100 });
      const sink = remoteWrite({ url: prometheus.writeUrl, maxDelayMs: 100, maxFutureMs: 600_000, logger: silentLogger });
      let fed: number | undefined;
      const outcomes: WriteOutcome[] = [];
      const subscription = source
        .resumeFrom()
        .pipe(
          mqttSamples(metric),
          tap(({ position }) => (fed = position)),
          map(({ value }) => value),
          sink,
        )
        .subscribe((outcome) => {
          outcomes.push(outcome);
          // Everything fed so far has its outcome: the checkpoint contract's "durable downstream".
          if (sink.metrics.samplesPending === 0 && fed !== undefined) void source.commit(fed);
        });
      const start = Date.now() - READINGS * 1000;
      let published = 0;
      for (let i = 0; i < READINGS; i++) {
        for (let d = 0; d < DEVICES; d++) {
          const payload = JSON.stringify({ temperature: value(d, i), ts: start + i * 1000 + d });
          await publisher.publishAsync(`sensors/site-${d % 2}/room-${d % 4}/dev-${d}`, payload, { qos: 1 });
          published++;
          // Every 50th reading is sent twice, as devices do after a lost PUBACK.
          if (published % 50 === 0) await publisher.publishAsync(`sensors/site-${d % 2}/room-${d % 4}/dev-${d}`, payload, { qos: 1 });
        }
        if (restartBroker && i === Math.floor(READINGS / 2)) await broker.restart();
      }
      const expected = DEVICES * READINGS;
      // Every reading written, and every copy emitted has its outcome (without a restart: all
      // the copies published, each reading once and the 1-in-50 twice, have arrived).
      const copies = expected + Math.floor(expected / 50);
      const settled = (): boolean =>
        sink.metrics.samplesWritten >= expected && sink.metrics.samplesPending === 0 && source.stats().emitted === sink.metrics.samplesIn && (restartBroker || source.stats().received >= copies);
      const deadline = Date.now() + 60_000;
      while (!settled() && Date.now() < deadline) await sleep(50);
      subscription.unsubscribe();

      const stored = await prometheus.readSeries(metric, start - 1, start + READINGS * 1000 + 1000);
      assert.equal(stored.length, DEVICES, 'one series per device');
      for (const series of stored) {
        const d = Number(series.labels['device'].slice('dev-'.length));
        assert.deepEqual(series.labels, { __name__: metric, site: `site-${d % 2}`, room: `room-${d % 4}`, device: `dev-${d}` });
        assert.deepEqual(series.samples, Array.from({ length: READINGS }, (_, i) => [start + i * 1000 + d, value(d, i)]), `dev-${d}: every reading once, as published`);
      }
      const metrics = sink.metrics.snapshot();
      assert.equal(metrics.samplesWritten, expected);
      const stats = source.stats();
      // The extra copies: the 1-in-50 repeats, plus (after the restart) what the broker delivered again.
      assert.equal(metrics.samplesIn - metrics.samplesWritten, metrics.samplesDropped['duplicate'] + metrics.samplesDropped['out-of-order']);
      assert.ok(metrics.samplesDropped['duplicate'] >= Math.floor(expected / 50));
      assert.equal(stats.emitted, metrics.samplesIn);
      if (restartBroker) {
        assert.ok(stats.disconnects >= 1 && stats.sessionsLost === 0, JSON.stringify(stats));
      } else {
        assert.equal(metrics.samplesDropped['duplicate'], Math.floor(expected / 50));
        assert.equal(stats.redelivered, 0);
      }
    });
  }
});
