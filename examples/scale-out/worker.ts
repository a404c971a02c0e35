/**
 * One scale-out worker: consumes its partitions of the READINGS stream (partition p belongs to
 * worker p mod workers), one durable consumer and one gateway pipeline per partition, and writes
 * the room aggregates to a remote-write endpoint. Each room is in one partition, so each output
 * series is written by one worker, in order.
 *
 *   node dist/examples/scale-out/worker.js --nats nats://127.0.0.1:4222 --url http://127.0.0.1:9090/api/v1/write \
 *        --worker 0 --workers 3 --partitions 6 --devices 300 --seed 1
 *
 * Delivery: a partition's messages are acknowledged once its pipeline has drained on SIGTERM and
 * every aggregate is written. A worker killed before that resumes its partitions from their last
 * acknowledged position and replays them: the pipeline is deterministic, so the replay rebuilds the
 * same windows and writes the same aggregates again (at least once; Prometheus keeps one copy of
 * an identical sample when its out-of-order window admits the repeat). Checkpointing the operators'
 * state with the source position (src/durable) turns this into exactly once in effect without the
 * replay.
 *
 * On exit it prints one JSON line: `{"worker":…,"partitions":[…],"written":…,"dropped":{…},…}`.
 */
import { parseArgs } from 'node:util';
import { Subject, merge, map, takeUntil, lastValueFrom, tap, type Observable } from 'rxjs';
import { remoteWrite, type Labels, type Sample, type WriteOutcome } from '../../src/index.js';
import { JetStreamSource, partitionFilter, partitionsOfWorker } from '../../src/sources/jetstream/index.js';
import { simulateFleet, type DeviceReading } from '../fleet.js';
import { gatewayPipeline } from '../gateway-pipeline.js';
import { READINGS_PREFIX, READINGS_STREAM } from '../publishers/nats.js';
import { natsReadingPayload } from '../publishers/nats-payload.js';

function fail(message: string): never {
  console.error(`worker: ${message}`);
  process.exit(2);
}

function integer(name: string, text: string | undefined, min: number, max: number): number {
  const n = Number(text);
  if (text === undefined || !Number.isInteger(n) || n < min || n > max) fail(`option --${name} must be an integer in [${min}, ${max}] (got ${text})`);
  return n;
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      nats: { type: 'string' },
      url: { type: 'string' },
      worker: { type: 'string' },
      workers: { type: 'string' },
      partitions: { type: 'string', default: '6' },
      devices: { type: 'string', default: '300' },
      seed: { type: 'string', default: '1' },
      'window-ms': { type: 'string', default: '10000' },
      'worker-label': { type: 'boolean', default: false },
    },
  });
  if (!args.nats) fail('--nats nats://HOST:PORT is required');
  if (!args.url) fail('--url (the remote-write endpoint) is required');
  const workers = integer('workers', args.workers, 1, 1000);
  const worker = integer('worker', args.worker, 0, workers - 1);
  const partitions = integer('partitions', args.partitions, 1, 10_000);
  const devices = integer('devices', args.devices, 1, 1_000_000);
  const seed = integer('seed', args.seed, 0, 2 ** 31);
  const windowMs = integer('window-ms', args['window-ms'], 100, 3_600_000);
  const owned = partitionsOfWorker(worker, workers, partitions);
  // The registry the publisher's fleet uses: same devices and seed, same placement.
  const { registry } = simulateFleet({ devices, seed, startTime: 0 });

  const stop$ = new Subject<void>();
  const sink = remoteWrite({ url: args.url, maxDelayMs: 500 });
  const workerLabel = String(worker);
  const labelled = new WeakMap<Labels, Labels>();
  const withWorker = (sample: Sample): Sample => {
    let labels = labelled.get(sample.labels);
    if (!labels) labelled.set(sample.labels, (labels = { ...sample.labels, worker: workerLabel }));
    return { labels, value: sample.value, timestamp: sample.timestamp };
  };

  const lanes = owned.map((partition) => {
    const source = new JetStreamSource<DeviceReading>({
      servers: args.nats as string,
      stream: READINGS_STREAM,
      durable: `partition-${partition}`,
      filterSubject: partitionFilter(READINGS_PREFIX, partition),
      name: `worker-${worker}-partition-${partition}`,
      parse: natsReadingPayload,
      logger: { info: () => {}, warn: (fields, message) => console.error(`worker ${worker}: ${message} ${JSON.stringify(fields)}`), error: (fields, message) => console.error(`worker ${worker}: ${message} ${JSON.stringify(fields)}`) },
    });
    let last: number | undefined;
    const pipeline = gatewayPipeline({ registry, windowMs });
    const samples$: Observable<Sample> = source.resumeFrom().pipe(
      takeUntil(stop$),
      tap((element) => (last = element.position)),
      map((element) => element.value),
      pipeline.operator,
    );
    return { partition, source, pipeline, samples$, last: () => last };
  });

  let written = 0;
  const outcomes$ = merge(...lanes.map((lane) => lane.samples$)).pipe(
    args['worker-label'] ? map(withWorker) : (s: Observable<Sample>) => s,
    sink,
    tap((outcome: WriteOutcome) => {
      if (outcome.type === 'written') written += outcome.samples;
    }),
  );
  process.once('SIGTERM', () => stop$.next());
  process.once('SIGINT', () => stop$.next());
  console.error(`worker ${worker}/${workers}: partitions ${owned.join(', ')} of ${partitions} (pid ${process.pid})`);
  await lastValueFrom(outcomes$, { defaultValue: undefined });
  // Everything read is written: acknowledge it, so a restart continues after it.
  for (const lane of lanes) {
    const position = lane.last();
    if (position !== undefined) await lane.source.commit(position);
    await lane.source.close();
  }
  const metrics = sink.metrics.snapshot();
  console.log(
    JSON.stringify({
      worker,
      pid: process.pid,
      partitions: owned,
      written,
      samplesIn: metrics.samplesIn,
      dropped: metrics.samplesDropped,
      sources: Object.fromEntries(lanes.map((lane) => [lane.partition, { position: lane.last(), ...lane.source.stats() }])),
      pipelines: Object.fromEntries(lanes.map((lane) => [lane.partition, lane.pipeline.stats()])),
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
