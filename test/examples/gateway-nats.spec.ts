/**
 * `npm run fleet -- --nats` and `npm start -- --nats`: the fleet published into JetStream by the
 * publisher's CLI, read by the gateway into a real Prometheus. An uninterrupted run stores exactly what the same input
 * produces in-process; a run killed with SIGKILL and started again ends with the same.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { from, lastValueFrom, toArray } from 'rxjs';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { Sample } from '../../src/index.js';
import { simulateFleet, type DeviceReading } from '../../examples/fleet.js';
import { gatewayPipeline } from '../../examples/gateway-pipeline.js';
import { publishFleet } from '../../examples/publishers/publish-fleet.js';
import type { ReadingPublisher } from '../../examples/publishers/publisher.js';
import { untilGatewayRead } from '../harness/gateway-readings.js';
import { freePort, startNats, startPrometheus, unavailable, type NatsServer, type StoredSeries, type TsdbServer } from '../harness/servers.js';

const gateway = fileURLToPath(new URL('../../examples/gateway.js', import.meta.url));
const fleetCli = fileURLToPath(new URL('../../examples/fleet-publish.js', import.meta.url));
const DEVICES = 100;
const SEED = 3;
const WINDOW_MS = 2000;

interface Summary {
  ending: string;
  eventsIn: number;
  samplesToSink: number;
  samplesWritten: number;
  samplesDropped: Record<string, number>;
  jetstream: { emitted: number; pendingAcks: number; acked: number; badPayloads: number };
}

function start(args: string[], script = gateway): { child: ChildProcess; done: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

const lastJson = (stdout: string): Summary => JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Summary;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('the gateway from JetStream (npm start -- --nats)', { skip: unavailable('nats') || unavailable('prometheus') }, () => {
  let nats: NatsServer;
  let prometheus: TsdbServer;
  let readings: DeviceReading[];
  let startTime: number;
  let expected: Map<string, Array<[number, number]>>;
  before(async () => {
    nats = await startNats();
    // The killed run's aggregates are written again, identical, by the restarted run (at least
    // once): Prometheus' out-of-order window keeps one copy of each instead of refusing the repeat.
    prometheus = await startPrometheus({ outOfOrderWindow: '1h' });
    // The readings the seed gives, in publishing order, computed in-process; then the CLI publishes them.
    readings = [];
    startTime = Date.now() - 60_000;
    const recorder: ReadingPublisher = { target: 'memory', publish: async (r) => void readings.push(r), close: async () => {} };
    const flags = { devices: DEVICES, rate: 4, durationMs: 15_000, seed: SEED, startTime };
    await publishFleet(recorder, { ...flags, pace: 'max', maxInFlight: 1 });
    const fleet = start(['--nats', nats.url, '--devices', String(DEVICES), '--rate', '4', '--duration', '15s', '--seed', String(SEED), '--start', String(startTime), '--pace', 'max', '--json'], fleetCli);
    const published = await fleet.done;
    assert.equal(published.code, 0, published.stderr);
    assert.equal((JSON.parse(published.stdout.trim().split('\n').pop() ?? '{}') as { published: number }).published, readings.length, 'the CLI says how many');
    const { registry } = simulateFleet({ devices: DEVICES, seed: SEED, startTime: 0 });
    const samples: Sample[] = await lastValueFrom(from(readings).pipe(gatewayPipeline({ registry, windowMs: WINDOW_MS }).operator, toArray()));
    expected = new Map();
    for (const s of samples) {
      const key = JSON.stringify(s.labels);
      if (!expected.has(key)) expected.set(key, []);
      expected.get(key)!.push([s.timestamp, s.value]);
    }
  });
  after(async () => {
    await nats?.stop();
    await prometheus?.stop();
  });

  async function stored(): Promise<Map<string, Array<[number, number]>>> {
    const names = new Set([...expected.keys()].map((key) => (JSON.parse(key) as Record<string, string>)['__name__']));
    const out = new Map<string, Array<[number, number]>>();
    for (const name of names) {
      const series: StoredSeries[] = await prometheus.readSeries(name, startTime - 60_000, Date.now() + 60_000);
      for (const s of series) {
        const labels = Object.fromEntries(Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : 1)));
        out.set(JSON.stringify(labels), s.samples);
      }
    }
    return out;
  }
  const canonical = (map: Map<string, Array<[number, number]>>): Map<string, Array<[number, number]>> =>
    new Map([...map].map(([key, samples]) => [JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(key) as Record<string, string>).sort(([a], [b]) => (a < b ? -1 : 1)))), [...samples].sort((a, b) => a[0] - b[0])]));

  it('killed with SIGKILL after writing, started again: Prometheus holds exactly what the input produces, nothing dropped', { timeout: 420_000 }, async () => {
    const common = ['--nats', nats.url, '--url', prometheus.writeUrl, '--devices', String(DEVICES), '--seed', String(SEED), '--window', `${WINDOW_MS}ms`, '--json'];
    const args = [...common, '--dashboard', 'off'];
    const first = start([...args, '--duration', '60s']);
    // Kill once some aggregates are stored (they will be written again by the next run).
    // Deadlines, not expectations: generous for a loaded 2-core machine.
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (Date.now() > deadline) first.child.kill('SIGKILL');
      assert.ok(Date.now() < deadline, 'nothing written within 120 s');
      const series = await prometheus.readSeries('room_temperature_celsius_count', startTime - 60_000, Date.now() + 60_000);
      if (series.some((s) => s.samples.length > 0)) break;
      await sleep(100);
    }
    first.child.kill('SIGKILL');
    const killed = await first.done;
    assert.equal(killed.signal, 'SIGKILL');

    // Run until the consumer (recreated by the second run: the first left it holding every
    // reading unacknowledged) has delivered everything, then stop it as a user would.
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    const firstConsumer = (await jsm.consumers.info('READINGS', 'gateway')).created;
    // With its /metrics on a free port: how many readings it has taken in.
    const metricsPort = await freePort();
    const second = start([...common, '--dashboard', String(metricsPort)]);
    const until = Date.now() + 180_000;
    let last = '';
    for (;;) {
      if (Date.now() > until) second.child.kill('SIGKILL');
      assert.ok(Date.now() < until, `the second run did not read everything in 180 s (consumer: ${last})`);
      try {
        const info = await jsm.consumers.info('READINGS', 'gateway');
        last = JSON.stringify({ created: info.created, pending: info.num_pending, ackPending: info.num_ack_pending, redelivered: info.num_redelivered });
        if (info.created !== firstConsumer && info.num_pending === 0 && info.num_ack_pending === readings.length) break;
      } catch {
        // not created yet
      }
      await sleep(200);
    }
    await nc.close();
    // Delivered is not yet taken in: the last fetched batch may still wait on a busy machine. Stop
    // it once every reading has entered its pipeline (or it gave up: the summary then tells).
    await untilGatewayRead(`http://127.0.0.1:${metricsPort}/metrics`, readings.length, () => second.child.exitCode === null, 120_000);
    second.child.kill('SIGTERM');
    const { code, stdout, stderr } = await second.done;
    assert.equal(code, 0, stderr);
    const summary = lastJson(stdout);
    assert.equal(summary.ending, 'completed');
    // Nothing was acknowledged before the kill: the second run read every reading again.
    assert.equal(summary.eventsIn, readings.length);
    assert.equal(summary.jetstream.emitted, readings.length);
    assert.equal(summary.jetstream.acked, readings.length, 'acknowledged once written');
    assert.equal(summary.jetstream.pendingAcks, 0);
    assert.equal(Object.values(summary.samplesDropped).reduce((a, b) => a + b, 0), 0, JSON.stringify(summary.samplesDropped));
    assert.equal(summary.samplesWritten, summary.samplesToSink);

    const want = canonical(expected);
    const got = await stored();
    assert.equal(got.size, want.size, 'series');
    for (const [key, samples] of want) assert.deepEqual(got.get(key), samples, key);

    // A third run finds everything acknowledged: nothing to read, nothing written.
    const third = start([...args, '--duration', '2s']);
    const after = await third.done;
    assert.equal(after.code, 0, after.stderr);
    assert.equal(lastJson(after.stdout).eventsIn, 0);
  });
});
