/**
 * The JetStream source end to end: real nats-server, real Prometheus. Readings published to a
 * stream arrive in Prometheus once each, across a broker restart in the middle of the run (killed
 * and started again on the same store); malformed payloads among them are counted by reason.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { map, tap, type Subscription } from 'rxjs';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { remoteWrite, sample, type WriteOutcome } from '../../../src/index.js';
import { JetStreamSource } from '../../../src/sources/jetstream/index.js';
import { startNats, startPrometheus, unavailable, type NatsServer, type TsdbServer } from '../../harness/servers.js';

interface Reading {
  device: string;
  value: number;
  at: number;
}

const DEVICES = 10;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually(check: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('JetStream source into Prometheus', { skip: unavailable('nats') || unavailable('prometheus') }, () => {
  let nats: NatsServer;
  let prometheus: TsdbServer;
  before(async () => {
    nats = await startNats();
    prometheus = await startPrometheus();
  });
  after(async () => {
    await nats?.stop();
    await prometheus?.stop();
  });

  it('readings arrive once each; the broker killed and restarted mid-run loses nothing; bad payloads are counted by reason', { timeout: 120_000 }, async () => {
    const base = Date.now() - 10 * 60_000;
    const reading = (i: number): Reading => ({ device: `d${i % DEVICES}`, value: i, at: base + i * 10 });
    const nc: NatsConnection = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'E2E', subjects: ['e2e.>'] });
    const js = jetstream(nc);
    /** Publishes, retrying while the broker is down (a publish without a stored ack is retried; JetStream dedupes by message id). */
    const publish = async (subject: string, payload: string, id: string): Promise<void> => {
      for (;;) {
        try {
          await js.publish(subject, payload, { msgID: id, timeout: 2000 });
          return;
        } catch {
          await sleep(100);
        }
      }
    };
    const publishRange = async (from: number, to: number): Promise<void> => {
      for (let i = from; i < to; i++) {
        const r = reading(i);
        await publish(`e2e.${r.device}`, JSON.stringify(r), `r${i}`);
        if (i % 250 === 0) await publish('e2e.bad', i % 500 === 0 ? '{"device":' : 'NaN', `bad${i}`);
      }
    };

    const source = new JetStreamSource<Reading>({ servers: nats.url, stream: 'E2E', durable: 'e2e', reconnectTimeWaitMs: 100 });
    const sink = remoteWrite({ url: prometheus.writeUrl, maxDelayMs: 200 });
    let written = 0;
    let last = 0;
    const subscription: Subscription = source
      .resumeFrom()
      .pipe(
        map((element) => {
          const r = element.value;
          if (typeof r.value !== 'number') throw new Error(`not a reading: ${JSON.stringify(r)}`);
          last = element.position;
          return sample({ __name__: 'jetstream_reading', device: r.device }, r.value, r.at);
        }),
        sink,
        tap((outcome: WriteOutcome) => {
          if (outcome.type === 'written') written += outcome.samples;
        }),
      )
      .subscribe();

    const N = 2000;
    await publishRange(0, N / 2);
    await eventually(() => written === N / 2, 'the first half written');
    await source.commit(last);
    await nats.restart({ kill: true, downMs: 500 });
    await publishRange(N / 2, N);
    await eventually(() => written === N, 'every reading written');
    await source.commit(last);
    subscription.unsubscribe();

    const stats = source.stats();
    assert.ok(stats.reconnects >= 1, 'the client reconnected');
    assert.equal(stats.emitted, N, 'each reading emitted once');
    assert.equal(stats.badPayloads, N / 250);
    assert.equal(Object.keys(stats.badPayloadReasons).length, 2, JSON.stringify(stats.badPayloadReasons));
    assert.equal(Object.values(stats.badPayloadReasons).reduce((a, b) => a + b, 0), N / 250);
    assert.equal(stats.pendingAcks, 0);
    assert.equal(sink.metrics.snapshot().samplesDroppedTotal, 0);
    // The server applies acknowledgements asynchronously to the consumer: wait for it to show them.
    await eventually(async () => (await jsm.consumers.info('E2E', 'e2e')).num_ack_pending === 0, 'the server to hold every acknowledgement', 10_000);

    const series = await prometheus.readSeries('jetstream_reading', base - 1000, Date.now());
    assert.equal(series.length, DEVICES);
    for (const s of series) {
      const device = Number(s.labels['device'].slice(1));
      const want = Array.from({ length: N / DEVICES }, (_, k): [number, number] => [reading(device + k * DEVICES).at, device + k * DEVICES]);
      assert.deepEqual(s.samples, want, `device ${s.labels['device']}: every reading once`);
    }
    await source.close();
    await nc.close();
  });
});
