/**
 * One scale-out worker: consumes its partitions of the READINGS stream (partition p belongs to
 * worker p mod workers), one durable consumer and one gateway pipeline per partition, and writes
 * the room aggregates to a remote-write endpoint. Each room is in one partition, so each output
 * series is written by one worker, in order.
 *
 *   node dist/examples/scale-out/worker.js --nats nats://127.0.0.1:4222 --url http://127.0.0.1:9090/api/v1/write \
 *        --worker 0 --workers 3 --partitions 6 --devices 300 --seed 1
 *
 * Delivery with `--state-dir DIR` (exactly once in effect): each partition runs as a durable
 * pipeline with its checkpoints in DIR/partition-<p> (the operators' state, the sink's order guard
 * and spool, the stream sequence), checkpointed every second and acknowledged after each
 * checkpoint. A worker killed with SIGKILL restarts from its partitions' last checkpoints: nothing
 * is written twice, nothing refused, nothing lost. SIGTERM drains: the sources complete, every
 * window closes and is written, a last checkpoint is saved and acknowledged.
 *
 * Without `--state-dir` (at least once): a partition's messages are acknowledged once its pipeline
 * has drained on SIGTERM. A worker killed before that replays its partitions from the acknowledged
 * position; the pipeline being deterministic, it writes the same aggregates again (Prometheus keeps
 * one copy of an identical sample when its out-of-order window admits the repeat).
 *
 * On exit it prints one JSON line: `{"worker":…,"partitions":[…],"written":…,"dropped":{…},…}`.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Subject, merge, map, takeUntil, lastValueFrom, tap, type Observable } from 'rxjs';
import { DurablePipeline, remoteWrite, type Labels, type Sample, type WriteOutcome } from '../../src/index.js';
import { JetStreamSource, partitionFilter, partitionsOfWorker } from '../../src/sources/jetstream/index.js';
import { simulateFleet, type DeviceReading } from '../fleet.js';
import { gatewayPipeline } from '../gateway-pipeline.js';
import { READINGS_PREFIX, READINGS_STREAM } from '../publishers/nats.js';
import { natsReadingPayload } from '../publishers/nats-payload.js';
import { cliOptions } from '../cli-options.js';

const cli = cliOptions('worker');
const fail: (message: string) => never = cli.fail;
const integer = cli.number;

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
      'state-dir': { type: 'string' },
      'checkpoint-ms': { type: 'string', default: '1000' },
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
  if (args['state-dir'] !== undefined) {
    await runDurable({ nats: args.nats, url: args.url, worker, workers, owned, devices, seed, windowMs, stateDir: args['state-dir'], workerLabel: args['worker-label'] ?? false, checkpointMs: integer('checkpoint-ms', args['checkpoint-ms'], 10, 3_600_000) });
    return;
  }
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

interface DurableRun {
  nats: string;
  url: string;
  worker: number;
  workers: number;
  owned: number[];
  devices: number;
  seed: number;
  windowMs: number;
  stateDir: string;
  workerLabel: boolean;
  checkpointMs: number;
}

/** One durable pipeline per partition: checkpoints in stateDir/partition-<p>, acknowledged after each. */
async function runDurable(run: DurableRun): Promise<void> {
  const { registry } = simulateFleet({ devices: run.devices, seed: run.seed, startTime: 0 });
  const logger = {
    info: () => {},
    warn: (fields: Record<string, unknown>, message: string) => console.error(`worker ${run.worker}: ${message} ${JSON.stringify(fields)}`),
    error: (fields: Record<string, unknown>, message: string) => console.error(`worker ${run.worker}: ${message} ${JSON.stringify(fields)}`),
  };
  const label = String(run.worker);
  const lanes = await Promise.all(
    run.owned.map(async (partition) => {
      const source = new JetStreamSource<DeviceReading>({
        servers: run.nats,
        stream: READINGS_STREAM,
        durable: `partition-${partition}`,
        filterSubject: partitionFilter(READINGS_PREFIX, partition),
        name: `worker-${run.worker}-partition-${partition}`,
        parse: natsReadingPayload,
        logger,
      });
      const directory = join(run.stateDir, `partition-${partition}`);
      const built: { sink?: ReturnType<typeof remoteWrite>; pipeline?: ReturnType<typeof gatewayPipeline> } = {};
      let written = 0;
      const durable = await DurablePipeline.start<DeviceReading, number, WriteOutcome>({
        directory,
        pipeline: `rxprom-scale-out partition=${partition} window=${run.windowMs}ms`,
        source,
        checkpointIntervalMs: run.checkpointMs,
        build: (state) => {
          const pipeline = gatewayPipeline({ registry, windowMs: run.windowMs, state });
          const sink = remoteWrite({ url: run.url, maxDelayMs: 500, logger, state: state.slot('sink'), spool: { directory: join(directory, 'spool') } });
          built.sink = sink;
          built.pipeline = pipeline;
          const labelled = new WeakMap<Labels, Labels>();
          const withWorker = map((sample: Sample): Sample => {
            let labels = labelled.get(sample.labels);
            if (!labels) labelled.set(sample.labels, (labels = { ...sample.labels, worker: label }));
            return { labels, value: sample.value, timestamp: sample.timestamp };
          });
          return { operator: (input) => input.pipe(pipeline.operator, run.workerLabel ? withWorker : (s: Observable<Sample>) => s, sink), pressure: sink.pressure };
        },
        onOutput: (outcome) => {
          if (outcome.type === 'written') written += outcome.samples;
        },
        logger,
      });
      return { partition, source, durable, built, written: () => written };
    }),
  );
  const drain = (): void => {
    for (const lane of lanes) lane.source.drain();
  };
  process.once('SIGTERM', drain);
  process.once('SIGINT', drain);
  console.error(`worker ${run.worker}/${run.workers}: partitions ${run.owned.join(', ')} (durable, state in ${run.stateDir}, pid ${process.pid})`);
  const summaries = await Promise.all(lanes.map((lane) => lane.durable.done));
  for (const lane of lanes) await lane.source.close();
  const dropped: Record<string, number> = {};
  let samplesIn = 0;
  for (const lane of lanes) {
    const m = lane.built.sink!.metrics.snapshot();
    samplesIn += m.samplesIn;
    for (const [reason, n] of Object.entries(m.samplesDropped)) dropped[reason] = (dropped[reason] ?? 0) + n;
  }
  console.log(
    JSON.stringify({
      worker: run.worker,
      pid: process.pid,
      partitions: run.owned,
      written: lanes.reduce((n, lane) => n + lane.written(), 0),
      samplesIn,
      dropped,
      endings: summaries.map((summary) => summary.ending),
      restored: lanes.map((lane) => lane.durable.restored?.position ?? null),
      sources: Object.fromEntries(lanes.map((lane) => [lane.partition, lane.source.stats()])),
    }),
  );
  if (summaries.some((summary) => summary.ending === 'failed')) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
