/**
 * A benchmark worker for `jetstream.ts`: reads its partitions of the stream (one JetStream source
 * each), turns every reading into one sample and writes it through `remoteWrite`; commits each
 * partition's position every `--commit-ms` (as a checkpoint interval would, after the samples are
 * written); the sink's backlog pauses the sources. Exits once it has written `--expect` samples and
 * prints `{"events":…,"seconds":…}`.
 */
import { parseArgs } from 'node:util';
import { merge, map, tap, type Subscription } from 'rxjs';
import { remoteWrite, type Labels, type Sample } from '../src/index.js';
import { JetStreamSource, partitionFilter, partitionsOfWorker } from '../src/sources/jetstream/index.js';

interface BenchReading {
  readonly device: string;
  readonly timestamp: number;
  readonly temperature: number;
}

const { values: a } = parseArgs({
  options: {
    nats: { type: 'string' },
    url: { type: 'string' },
    stream: { type: 'string', default: 'BENCH' },
    durable: { type: 'string', default: 'bench' },
    worker: { type: 'string', default: '0' },
    workers: { type: 'string', default: '1' },
    partitions: { type: 'string', default: '6' },
    expect: { type: 'string' },
    'commit-ms': { type: 'string', default: '1000' },
    'max-ack-pending': { type: 'string', default: '50000' },
    'batch-size': { type: 'string', default: '1000' },
  },
});
const worker = Number(a.worker);
const owned = partitionsOfWorker(worker, Number(a.workers), Number(a.partitions));
const expect = Number(a.expect);
const sink = remoteWrite({ url: String(a.url), maxDelayMs: 200, shards: 4 });
const labels = new Map<string, Labels>();
const HIGH_WATER = 20_000;
const LOW_WATER = 5_000;

const lanes = owned.map((partition) => {
  const source = new JetStreamSource<BenchReading>({
    servers: String(a.nats),
    stream: String(a.stream),
    durable: `${a.durable}-${partition}`,
    filterSubject: partitionFilter('bench', partition),
    maxAckPending: Number(a['max-ack-pending']),
    batchSize: Number(a['batch-size']),
  });
  return { source, last: 0 };
});

const started = Date.now();
let written = 0;
let pauses = 0;
const samples$ = merge(
  ...lanes.map((lane) =>
    lane.source.resumeFrom().pipe(
      tap((element) => {
        lane.last = element.position;
        if (sink.metrics.snapshot().samplesPending > HIGH_WATER && !lane.source.paused) {
          pauses++;
          for (const l of lanes) l.source.pause();
        }
      }),
      map((element): Sample => {
        const r = element.value;
        let l = labels.get(r.device);
        if (!l) labels.set(r.device, (l = { __name__: 'bench_temperature', device: r.device }));
        return { labels: l, value: r.temperature, timestamp: r.timestamp };
      }),
    ),
  ),
);

// Positions read so far, committed once everything sent before them is written (the sink holds nothing older).
const commitTimer = setInterval(() => {
  const m = sink.metrics.snapshot();
  if (m.samplesPending === 0) for (const lane of lanes) if (lane.last > 0) void lane.source.commit(lane.last);
}, Number(a['commit-ms']));

let subscription: Subscription | undefined;
const finished = new Promise<void>((resolve, reject) => {
  subscription = samples$.pipe(sink).subscribe({
    next(outcome) {
      if (outcome.type === 'written') written += outcome.samples;
      else reject(new Error(`dropped ${outcome.samples}: ${JSON.stringify(outcome)}`));
      if (sink.metrics.snapshot().samplesPending < LOW_WATER) for (const l of lanes) if (l.source.paused) l.source.resume();
      if (written >= expect) resolve();
    },
    error: reject,
  });
});
await finished;
const seconds = (Date.now() - started) / 1000;
clearInterval(commitTimer);
subscription?.unsubscribe();
for (const lane of lanes) {
  await lane.source.commit(lane.last);
  await lane.source.close();
}
const stalls = lanes.reduce((n, lane) => n + lane.source.stats().ackPendingStalls, 0);
console.log(JSON.stringify({ worker, events: written, seconds, eventsPerSec: written / seconds, pauses, ackPendingStalls: stalls }));
process.exit(0);
