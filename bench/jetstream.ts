/**
 * JetStream into the sink: events/s from a partitioned stream (6 partitions, 1000 devices, one
 * sample per event) through 1, 2 and 3 worker processes (`jetstream-worker.ts`, partition p →
 * worker p mod N) into a real Prometheus, and what each process spent in CPU (nats-server,
 * Prometheus, workers) to see what bounds it. The stream is filled before each run's clock starts.
 * Also the cost of delayed acknowledgement: one worker whose consumers may hold only 500
 * unacknowledged messages, committing every 500 ms (throughput ≈ partitions × 500 / 0.5 s at most),
 * against the default 50,000.
 */
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type PubAck } from '@nats-io/jetstream';
import { startNats, startPrometheus, type NatsServer } from '../test/harness/servers.js';
import { partitionOf } from '../src/sources/jetstream/partitions.js';
import { benchScript, figure, fmt, runNodeJson, sleep, type BenchContext, type Figure } from './common.js';
import { processCpuSeconds } from './procstat.js';

const PARTITIONS = 6;
const DEVICES = 1000;

interface WorkerResult {
  readonly events: number;
  readonly seconds: number;
  readonly eventsPerSec: number;
  readonly pauses: number;
  readonly ackPendingStalls: number;
}

async function fill(nats: NatsServer, events: number): Promise<number[]> {
  const nc = await connect({ servers: nats.url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'BENCH', subjects: ['bench.>'] });
  const js = jetstream(nc);
  const perPartition = new Array<number>(PARTITIONS).fill(0);
  const base = Date.now() - 30 * 60_000;
  let inFlight: Promise<PubAck>[] = [];
  for (let i = 0; i < events; i++) {
    const device = `dev-${i % DEVICES}`;
    const partition = partitionOf(device, PARTITIONS);
    perPartition[partition]++;
    const reading = { device, timestamp: base + Math.floor(i / DEVICES) * 10, temperature: 20 + (i % 97) / 10 };
    inFlight.push(js.publish(`bench.${partition}.${device}`, JSON.stringify(reading)));
    if (inFlight.length >= 2000) {
      await Promise.all(inFlight);
      inFlight = [];
    }
  }
  await Promise.all(inFlight);
  await nc.close();
  return perPartition;
}

interface RunFigures {
  readonly eventsPerSec: number;
  readonly seconds: number;
  readonly natsCpu: number;
  readonly prometheusCpu: number;
  readonly workersCpu: number;
  readonly stalls: number;
  readonly pauses: number;
}

async function run(nats: NatsServer, perPartition: number[], workers: number, tag: string, extra: string[] = []): Promise<RunFigures> {
  const prometheus = await startPrometheus();
  try {
    await sleep(300);
    const nats0 = processCpuSeconds(nats.pid);
    const prom0 = processCpuSeconds(prometheus.pid);
    const started = Date.now();
    const runs = await Promise.all(
      Array.from({ length: workers }, (_, worker) => {
        const expect = perPartition.filter((_, p) => p % workers === worker).reduce((x, y) => x + y, 0);
        const args = [benchScript('jetstream-worker'), '--nats', nats.url, '--url', prometheus.writeUrl, '--durable', tag, '--worker', String(worker), '--workers', String(workers), '--partitions', String(PARTITIONS), '--expect', String(expect), ...extra];
        return runNodeJson<WorkerResult>(args, 600_000);
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    const events = runs.reduce((n, r) => n + r.result.events, 0);
    const slowest = Math.max(...runs.map((r) => r.result.seconds));
    return {
      eventsPerSec: events / slowest,
      seconds,
      natsCpu: processCpuSeconds(nats.pid) - nats0,
      prometheusCpu: processCpuSeconds(prometheus.pid) - prom0,
      workersCpu: runs.reduce((n, r) => n + r.cpuSeconds, 0),
      stalls: runs.reduce((n, r) => n + r.result.ackPendingStalls, 0),
      pauses: runs.reduce((n, r) => n + r.result.pauses, 0),
    };
  } finally {
    await prometheus.stop();
  }
}

export async function jetstreamBenchmark(context: BenchContext): Promise<Figure[]> {
  const events = context.quick ? 60_000 : 300_000;
  const nats = await startNats();
  const figures: Figure[] = [];
  try {
    context.log(`jetstream: filling the stream with ${fmt(events)} readings in ${PARTITIONS} partitions`);
    const perPartition = await fill(nats, events);
    let single: RunFigures | undefined;
    for (const workers of [1, 2, 3]) {
      const r = await run(nats, perPartition, workers, `w${workers}`);
      single ??= r;
      const perMillion = (cpu: number): string => fmt((cpu / events) * 1e6);
      const note =
        `${fmt(events)} events in ${fmt(r.seconds)} s; CPU s per million events: nats-server ${perMillion(r.natsCpu)}, Prometheus ${perMillion(r.prometheusCpu)}, ` +
        `workers ${perMillion(r.workersCpu)} (all ${workers} together); sink backlog pauses ${r.pauses}, maxAckPending stalls ${r.stalls}`;
      context.log(`jetstream: ${workers} worker(s): ${fmt(r.eventsPerSec)} events/s — ${note}`);
      figures.push(
        figure('jetstream', `events/s through JetStream into Prometheus, ${workers} worker${workers > 1 ? 's' : ''}`, r.eventsPerSec, 'events/s', {
          ...(workers > 1 ? { comparison: { name: '1 worker', value: single.eventsPerSec } } : {}),
          note,
        }),
      );
    }
    const narrow = await run(nats, perPartition, 1, 'narrow', ['--max-ack-pending', '500', '--commit-ms', '500']);
    const wide = await run(nats, perPartition, 1, 'wide', ['--max-ack-pending', '50000', '--commit-ms', '500']);
    figures.push(
      figure('jetstream', 'delayed acks: maxAckPending 500, commits every 500 ms, 1 worker', narrow.eventsPerSec, 'events/s', {
        comparison: { name: 'maxAckPending 50,000', value: wide.eventsPerSec },
        note: `bound: ${PARTITIONS} partitions × 500 / 0.5 s = ${fmt((PARTITIONS * 500) / 0.5)} events/s; stalls ${narrow.stalls} vs ${wide.stalls}`,
      }),
    );
  } finally {
    await nats.stop();
  }
  return figures;
}
