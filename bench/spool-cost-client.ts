/**
 * The spool-cost benchmark's sender, in its own process so its CPU is its own: the sink-cpu
 * workload (bench/workload.ts: `--series` series, 4 labels, fresh or reused label objects, chunks
 * of 1000 samples per macrotask, paused while the sink holds more than 3 batches per lane) into
 * `remoteWrite`, in one of three modes that differ only in durability:
 *
 * - `plain`: no spool;
 * - `spool`: `spool: { directory }` with its defaults (fsync every 500 ms);
 * - `durable`: the same spool plus `state`, the sink in a `DurablePipeline` over an acknowledged
 *   source of the same samples, checkpointing every `--checkpoint-ms` (5000).
 *
 * The source and the pacing are the same code in all three. Prints one JSON line (`SpoolCostResult`).
 *
 *   node dist/bench/spool-cost-client.js --mode plain|spool|durable --url URL --dir DIR
 *     [--series 10000] [--batch 2000] [--lanes 4] [--samples 4000000] [--label-objects fresh|reused]
 *     [--checkpoint-ms 5000]
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { map, Observable } from 'rxjs';
import type { Labels, Sample, WriteOutcome } from '../src/core/model.js';
import { DurablePipeline } from '../src/durable/durable-pipeline.js';
import type { AcknowledgedSource, Positioned } from '../src/sources/acknowledged.js';
import { remoteWrite, type RemoteWriteOperator } from '../operators/remote-write.js';
import type { RemoteWriteOptions } from '../src/remote-write/options.js';
import { SinkPacer } from './common.js';
import { buildLabelSets, freshLabels } from './workload.js';

export type SpoolCostMode = 'plain' | 'spool' | 'durable';

export interface SpoolCostResult {
  readonly mode: SpoolCostMode;
  readonly seconds: number;
  /** Samples the receiver accepted. */
  readonly samples: number;
  readonly samplesPerSec: number;
  readonly cpuSeconds: number;
  readonly cpuSecondsPerMillion: number;
  readonly dropped: number;
  readonly lastError: string;
  /** Lane folders the spool holds at the end (0 without one): the spool was really used. */
  readonly spoolLanes: number;
  /** Checkpoints taken (durable mode; the last one at completion included). */
  readonly checkpoints: number;
  readonly error: string;
}

const { values: o } = parseArgs({
  options: {
    mode: { type: 'string', default: 'plain' },
    url: { type: 'string', default: '' },
    dir: { type: 'string', default: '' },
    series: { type: 'string', default: '10000' },
    batch: { type: 'string', default: '2000' },
    lanes: { type: 'string', default: '4' },
    samples: { type: 'string', default: '4000000' },
    chunk: { type: 'string', default: '1000' },
    queue: { type: 'string', default: '3' },
    'label-objects': { type: 'string', default: 'fresh' },
    'checkpoint-ms': { type: 'string', default: '5000' },
    pace: { type: 'string', default: 'pending' },
  },
});
/** `pending`: the source waits while the sink holds more than 3 batches per lane without an outcome (on disk or not); `pressure`: while the sink's `pressure` is true (with a spool: samples held in memory only, as a DurablePipeline pauses its source). */
const PACE = o.pace === 'pressure' ? 'pressure' : 'pending';
const mode = o.mode as SpoolCostMode;
if (mode !== 'plain' && mode !== 'spool' && mode !== 'durable') throw new Error('--mode is plain, spool or durable');
if (mode !== 'plain' && !o.dir) throw new Error('--dir is needed with a spool');
const SERIES = Number(o.series);
const BATCH = Number(o.batch);
const LANES = Number(o.lanes);
const CHUNK = Number(o.chunk);
const SAMPLES = Number(o.samples);
const sets = buildLabelSets(SERIES);
const labelsOf: (i: number) => Labels = o['label-objects'] === 'reused' ? (i) => sets[i]! : freshLabels(SERIES);
const startTime = Date.now() - 3_600_000;

/**
 * The workload as an acknowledged source (position: samples emitted), so the durable mode can
 * resume and commit it; the other modes use its values only. `ready()` is awaited between chunks.
 */
class WorkloadSource implements AcknowledgedSource<Sample, number> {
  committed: number | undefined;
  constructor(private readonly ready: () => Promise<void> | undefined) {}
  resumeFrom(position = 0): Observable<Positioned<Sample, number>> {
    return new Observable((subscriber) => {
      let emitted = position;
      let stopped = false;
      const step = (): void => {
        if (stopped) return;
        if (emitted >= SAMPLES) return subscriber.complete();
        const end = Math.min(emitted + CHUNK, SAMPLES);
        for (; emitted < end; emitted++) {
          const series = emitted % SERIES;
          const timestamp = startTime + Math.floor(emitted / SERIES) * 1000;
          subscriber.next({ value: { labels: labelsOf(series), value: Math.random(), timestamp }, position: emitted + 1 });
        }
        const wait = this.ready();
        if (wait) void wait.then(() => setImmediate(step));
        else setImmediate(step);
      };
      setImmediate(step);
      return () => {
        stopped = true;
      };
    });
  }
  async commit(position: number): Promise<void> {
    this.committed = position;
  }
  comparePositions(a: number, b: number): number {
    return a - b;
  }
}

const sinkOptions = (extra: Partial<RemoteWriteOptions>): RemoteWriteOptions => ({
  url: o.url,
  shards: LANES,
  maxSamplesPerRequest: BATCH,
  maxDelayMs: 1000,
  validation: 'strict',
  logger: { info() {}, warn() {}, error() {} },
  ...extra,
});

let sink: RemoteWriteOperator | undefined;
let pacer: SinkPacer | undefined;
let paused: Promise<void> | undefined;
let resume: (() => void) | undefined;
const follow = (operator: RemoteWriteOperator): void => {
  operator.pressure.subscribe((hold) => {
    if (hold && paused === undefined) paused = new Promise<void>((wake) => (resume = wake));
    else if (!hold && paused !== undefined) {
      paused = undefined;
      resume?.();
    }
  });
};
const source = new WorkloadSource(() => (PACE === 'pressure' ? paused : pacer?.ready()));
let dropped = 0;
let lastError = '';
let checkpoints = 0;
let error = '';
const onOutcome = (outcome: WriteOutcome): void => {
  if (outcome.type === 'dropped') {
    dropped += outcome.samples;
    lastError = `${outcome.reason}: ${outcome.message ?? ''} ${outcome.responseBody ?? ''}`.slice(0, 200);
  }
  pacer?.release();
};

const cpuStart = process.cpuUsage();
const started = performance.now();
if (mode === 'durable') {
  const pipeline = await DurablePipeline.start<Sample, number, WriteOutcome>({
    directory: join(o.dir, 'state'),
    pipeline: 'bench-spool-cost',
    source,
    checkpointIntervalMs: Number(o['checkpoint-ms']),
    build: (state) => {
      sink = remoteWrite(sinkOptions({ spool: { directory: join(o.dir, 'spool') }, state: state.slot('sink') }));
      pacer = new SinkPacer(sink.metrics, LANES * BATCH * Number(o.queue));
      if (PACE === 'pressure') follow(sink);
      return sink;
    },
    onOutput: onOutcome,
  });
  const summary = await pipeline.done;
  checkpoints = summary.checkpoints;
  if (summary.ending !== 'completed') error = `${summary.ending}: ${summary.error?.message ?? ''}`;
} else {
  const operator = remoteWrite(sinkOptions(mode === 'spool' ? { spool: { directory: join(o.dir, 'spool') } } : {}));
  sink = operator;
  pacer = new SinkPacer(operator.metrics, LANES * BATCH * Number(o.queue));
  if (PACE === 'pressure') follow(operator);
  await new Promise<void>((resolve) => {
    source
      .resumeFrom()
      .pipe(
        map((positioned) => positioned.value),
        operator,
      )
      .subscribe({
        next: onOutcome,
        error: (caught: unknown) => {
          error = caught instanceof Error ? caught.message : String(caught);
          resolve();
        },
        complete: resolve,
      });
  });
}
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuStart);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const snapshot = sink!.metrics.snapshot();
const result: SpoolCostResult = {
  mode,
  seconds,
  samples: snapshot.samplesWritten,
  samplesPerSec: Math.round(snapshot.samplesWritten / seconds),
  cpuSeconds,
  cpuSecondsPerMillion: snapshot.samplesWritten > 0 ? (cpuSeconds / snapshot.samplesWritten) * 1e6 : Infinity,
  dropped,
  lastError,
  spoolLanes: mode === 'plain' ? 0 : readdirSync(join(o.dir, 'spool')).length,
  checkpoints,
  error,
};
console.log(JSON.stringify(result));
process.exit(0);
