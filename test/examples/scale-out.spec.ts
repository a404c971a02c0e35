/**
 * Scale-out: 3 worker processes (under the example's supervisor) over 6 JetStream partitions, into
 * a real Prometheus; one worker is killed with SIGKILL mid-run and restarted by the supervisor.
 * Prometheus must end up with exactly the aggregates an in-process run of each partition's input
 * produces, every series written by the one worker that owns its partition, nothing dropped.
 */
import { describe, it, afterEach } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { from, lastValueFrom, toArray } from 'rxjs';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { NOT_LOST_REASONS, type DropReason, type Sample } from '../../src/index.js';
import { partitionsOfWorker } from '../../src/sources/jetstream/index.js';
import { simulateFleet, type DeviceReading } from '../../examples/fleet.js';
import { gatewayPipeline } from '../../examples/gateway-pipeline.js';
import { natsPublisher, READINGS_STREAM, roomPartition } from '../../examples/publishers/nats.js';
import { publishFleet } from '../../examples/publishers/publish-fleet.js';
import { startNats, startPrometheus, unavailable, type NatsServer, type TsdbServer } from '../harness/servers.js';

const SUPERVISOR = fileURLToPath(new URL('../../examples/scale-out/supervisor.js', import.meta.url));
const WORKERS = 3;
const PARTITIONS = 6;
const DEVICES = 300;
const SEED = 7;
const WINDOW_MS = 2000;
const KILLED = 1;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const seriesKey = (labels: Record<string, string>): string =>
  JSON.stringify(Object.entries(labels).filter(([name]) => name !== 'worker').sort(([a], [b]) => (a < b ? -1 : 1)));

interface SupervisorEvent {
  event: 'started' | 'exited' | 'summary' | 'done';
  worker?: number;
  pid?: number;
  summary?: { worker: number; written: number; samplesIn: number; dropped: Record<string, number>; restored?: Array<number | null>; endings?: string[] };
  restarts?: number;
}

describe('scale-out over JetStream partitions', { skip: unavailable('nats') || unavailable('prometheus') }, () => {
  let nats: NatsServer | undefined;
  let prometheus: TsdbServer | undefined;
  let supervisor: ChildProcess | undefined;
  let stateDir: string | undefined;
  afterEach(async () => {
    if (supervisor && supervisor.exitCode === null) supervisor.kill('SIGKILL');
    await nats?.stop();
    await prometheus?.stop();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
    nats = prometheus = stateDir = undefined;
  });

  it('durable workers (--state-dir), one SIGKILLed and restarted: exactly the expected aggregates in an in-order Prometheus, 0 refused, each series from one worker', { timeout: 180_000 }, async () => {
    nats = await startNats();
    // No out-of-order window: a sample written twice or out of order would be refused (and counted).
    prometheus = await startPrometheus();
    stateDir = await mkdtemp(join(tmpdir(), 'rxprom-scale-out-'));
    await scenario(nats, prometheus, ['--state-dir', stateDir, '--checkpoint-ms', '500'], true);
  });

  it('at-least-once workers (no state), one SIGKILLed and restarted: the replay rewrites identical aggregates, Prometheus keeps one copy', { timeout: 180_000 }, async () => {
    nats = await startNats();
    // A restarted worker rewrites the aggregates it wrote before the kill, identical; the
    // out-of-order window lets Prometheus keep one copy instead of refusing them.
    prometheus = await startPrometheus({ outOfOrderWindow: '1h' });
    await scenario(nats, prometheus, [], false);
  });

  async function scenario(nats: NatsServer, prometheus: TsdbServer, workerArgs: string[], durable: boolean): Promise<void> {
    const events: SupervisorEvent[] = [];
    supervisor = spawn(
      process.execPath,
      [SUPERVISOR, '--workers', String(WORKERS), '--', '--nats', nats.url, '--url', prometheus.writeUrl, '--partitions', String(PARTITIONS), '--devices', String(DEVICES), '--seed', String(SEED), '--window-ms', String(WINDOW_MS), '--worker-label', ...workerArgs],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let buffered = '';
    supervisor.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) events.push(JSON.parse(line) as SupervisorEvent);
    });
    const running = supervisor;
    const exited = new Promise<number | null>((resolve) => running.once('exit', (code) => resolve(code)));

    // Publish while the workers run; kill one once it is well into its partitions.
    const perPartition: DeviceReading[][] = Array.from({ length: PARTITIONS }, () => []);
    const startTime = Date.now() - 60_000;
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    const killedPartitions = partitionsOfWorker(KILLED, WORKERS, PARTITIONS);
    let killedPid: number | undefined;
    const killer = (async () => {
      for (;;) {
        await sleep(100);
        const started = events.find((e) => e.event === 'started' && e.worker === KILLED);
        if (!started?.pid) continue;
        let held = 0;
        let acknowledged = 0;
        for (const p of killedPartitions) {
          try {
            const info = await jsm.consumers.info(READINGS_STREAM, `partition-${p}`);
            held += info.delivered.consumer_seq;
            acknowledged += info.ack_floor.stream_seq;
          } catch {
            // not created yet
          }
        }
        // Durable: once a checkpoint has been acknowledged and some of its aggregates are stored,
        // so the restart has state to continue from and writes to avoid repeating.
        const ready = durable ? acknowledged > 0 && held >= 1000 && (await prometheus.countSeries(`{worker="${KILLED}"}`)) > 0 : held >= 1000;
        if (ready) {
          process.kill(started.pid, 'SIGKILL');
          killedPid = started.pid;
          return;
        }
      }
    })();
    // Readings published as they arrive in the simulation, on the wall clock: 8 s of a 300-device fleet.
    const publisher = await natsPublisher(nats.url, { partitions: PARTITIONS, onPublish: (reading, partition) => perPartition[partition].push(reading) });
    const published = await publishFleet(publisher, { devices: DEVICES, rate: 4, durationMs: 8_000, seed: SEED, startTime, pace: 'realtime', maxInFlight: 1000 });
    await publisher.close();
    await killer;
    assert.ok(killedPid !== undefined);
    assert.equal(perPartition.reduce((n, list) => n + list.length, 0), published);
    assert.ok(published > 8_000, `published ${published}`);

    // Wait for the restarted worker, then for every partition to be delivered in full.
    const deadline = Date.now() + 60_000;
    for (;;) {
      assert.ok(Date.now() < deadline, 'partitions not drained in 60 s');
      const restarted = events.some((e) => e.event === 'started' && e.worker === KILLED && e.pid !== killedPid);
      let pending = 0;
      for (let p = 0; p < PARTITIONS; p++) {
        try {
          pending += (await jsm.consumers.info(READINGS_STREAM, `partition-${p}`)).num_pending;
        } catch {
          pending++; // being recreated by the restarted worker
        }
      }
      if (restarted && pending === 0) break;
      await sleep(200);
    }
    await sleep(1000);
    running.kill('SIGTERM');
    assert.equal(await exited, 0);
    await nc.close();

    // Nothing lost by any worker's final run; the killed worker was restarted once.
    const summaries = events.filter((e) => e.event === 'summary').map((e) => e.summary!);
    assert.deepEqual(summaries.map((s) => s.worker).sort(), [0, 1, 2]);
    for (const summary of summaries) {
      assert.equal(summary.dropped['out-of-order'], 0, `worker ${summary.worker}: refused as out of order`);
      // 'replayed' (regenerated after the restart, already spooled or written before it) is an outcome, not a loss.
      const lost = Object.entries(summary.dropped).filter(([reason]) => !NOT_LOST_REASONS.includes(reason as DropReason));
      assert.equal(lost.reduce((n, [, count]) => n + count, 0), 0, `worker ${summary.worker} lost ${JSON.stringify(summary.dropped)}`);
      if (!durable) assert.equal(summary.written, summary.samplesIn, `worker ${summary.worker}: every sample written`);
    }
    assert.equal(events.find((e) => e.event === 'done')?.restarts, 1);
    if (durable) {
      const restarted = summaries.find((s) => s.worker === KILLED)!;
      assert.ok(restarted.restored?.some((position) => position !== null && position > 0), `the restarted worker continued from checkpoints: ${JSON.stringify(restarted.restored)}`);
      for (const summary of summaries) assert.deepEqual(summary.endings, ['completed', 'completed'], `worker ${summary.worker} drained`);
    }

    // The same input, in-process: each partition through its own pipeline, as each worker runs it.
    const { registry } = simulateFleet({ devices: DEVICES, seed: SEED, startTime: 0 });
    const expected = new Map<string, Array<[number, number]>>();
    const owner = new Map<string, number>();
    const names = new Set<string>();
    for (let p = 0; p < PARTITIONS; p++) {
      const samples: Sample[] = await lastValueFrom(from(perPartition[p]).pipe(gatewayPipeline({ registry, windowMs: WINDOW_MS }).operator, toArray()));
      for (const s of samples) {
        const key = seriesKey(s.labels);
        names.add(s.labels['__name__']);
        if (!expected.has(key)) expected.set(key, []);
        expected.get(key)!.push([s.timestamp, s.value]);
        owner.set(key, p % WORKERS);
        assert.equal(roomPartition(s.labels['site'], s.labels['room'], PARTITIONS), p, 'a room is in one partition');
      }
    }
    assert.ok(expected.size > 0);

    const stored = new Map<string, Array<[number, number]>>();
    for (const name of names) {
      for (const series of await prometheus.readSeries(name, startTime - 60_000, Date.now() + 60_000)) {
        const key = seriesKey(series.labels);
        assert.ok(!stored.has(key), `series ${key} written by two workers (worker ${series.labels['worker']} and another)`);
        assert.equal(Number(series.labels['worker']), owner.get(key), `series ${key} written by worker ${series.labels['worker']}, its partition belongs to ${owner.get(key)}`);
        stored.set(key, series.samples);
      }
    }
    assert.equal(stored.size, expected.size, 'series count');
    for (const [key, samples] of expected) {
      assert.deepEqual(stored.get(key), samples.sort((a, b) => a[0] - b[0]), `series ${key}`);
    }
  }
});
