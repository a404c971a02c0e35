/**
 * Benchmark: checkpoints of a window pipeline under DurablePipeline.
 *
 * 1. The cost of one checkpoint with 100,000 open window series (tumblingWindow with its state
 *    slot, five aggregations): the synchronous pass (every stage's snapshot and its JSON), the
 *    bytes, and the save (write, fsync, rename) — repeated, the median reported.
 * 2. Throughput of the same window pipeline fed from an in-memory acknowledged source, with a
 *    checkpoint every 5 s against the same pipeline without checkpoints, alternating A/B runs in
 *    one process so both see the same machine (quick: 1 s checkpoints over shorter runs).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Observable } from 'rxjs';
import type { Labels } from '../src/core/model.js';
import { DurablePipeline, type CheckpointInfo } from '../src/durable/durable-pipeline.js';
import type { PipelineState } from '../src/durable/pipeline-state.js';
import type { AcknowledgedSource, Positioned } from '../src/sources/acknowledged.js';
import { tumblingWindow } from '../operators/tumbling-window.js';
import { figure, type BenchContext, type Figure } from './common.js';

interface Reading {
  readonly labels: Labels;
  readonly value: number;
  readonly time: number;
}

const SERIES = 100_000;
const T0 = 1_700_000_000_000;

/** Reading i: series i % SERIES, one reading per series per simulated second. */
function reading(i: number, labels: readonly Labels[]): Reading {
  const series = i % SERIES;
  return { labels: labels[series]!, value: 20 + ((i * 7919) % 1000) / 200, time: T0 + Math.floor(i / SERIES) * 1000 + (series % 1000) };
}

/**
 * Readings 0..count-1 (or without end), emitted in chunks of `chunk` per macrotask so that timers
 * (the checkpoints) run between chunks, as with a real source; position = index + 1.
 */
class GeneratedSource implements AcknowledgedSource<Reading, number> {
  committed: number | undefined;
  emitted = 0;
  constructor(
    private readonly labels: readonly Labels[],
    private readonly count: number,
    /** Complete after the last reading (else stay open, as a live source does). */
    private readonly completes = true,
    private readonly chunk = 2000,
  ) {}
  resumeFrom(position = 0): Observable<Positioned<Reading, number>> {
    return new Observable((subscriber) => {
      let next = position;
      let stopped = false;
      const tick = (): void => {
        if (stopped) return;
        const end = Math.min(this.count, next + this.chunk);
        for (; next < end; next++) subscriber.next({ value: reading(next, this.labels), position: next + 1 });
        this.emitted = next;
        if (next < this.count) setImmediate(tick);
        else if (this.completes) subscriber.complete();
      };
      setImmediate(tick);
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

const windowStage = (state: PipelineState) =>
  tumblingWindow<Reading>({
    sizeMs: 10_000,
    aggregations: ['count', 'sum', 'min', 'max', 'avg'],
    eventTime: (r) => r.time,
    labels: (r) => r.labels,
    value: (r) => r.value,
    state: state.slot('window'),
  });

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function checkpointBenchmark(context: BenchContext): Promise<Figure[]> {
  const labels: Labels[] = [];
  for (let s = 0; s < SERIES; s++) labels.push({ __name__: 'room_temperature', device: `dev${s}`, site: `site${s % 50}` });
  const root = await mkdtemp(join(tmpdir(), 'rxprom-bench-checkpoint-'));
  const figures: Figure[] = [];
  try {
    // 1. One checkpoint of 100,000 open windows: feed one reading per series (all in one window), then checkpoint repeatedly.
    {
      const source = new GeneratedSource(labels, SERIES, false);
      const pipeline = await DurablePipeline.start({ directory: join(root, 'size'), pipeline: 'bench-checkpoint', source, build: windowStage, checkpointIntervalMs: 3_600_000 });
      while (source.emitted < SERIES) await new Promise((resolve) => setTimeout(resolve, 20));
      const runs: CheckpointInfo<number>[] = [];
      for (let i = 0; i < (context.quick ? 3 : 7); i++) runs.push(await pipeline.checkpoint());
      await pipeline.stop();
      const snapshotMs = median(runs.map((r) => r.snapshotMs));
      const saveMs = median(runs.map((r) => r.saveMs));
      const bytes = runs[0]!.stateBytes;
      context.log(`checkpoint of ${SERIES} open window series: snapshot ${snapshotMs.toFixed(1)} ms, ${(bytes / 1e6).toFixed(1)} MB, save ${saveMs.toFixed(1)} ms (median of ${runs.length})`);
      figures.push(
        figure('checkpoint', 'checkpoint of 100k open window series: synchronous snapshot pass (median)', Math.round(snapshotMs * 10) / 10, 'ms', { note: `every stage's snapshot + JSON, in one pass between two elements; ${runs.length} checkpoints` }),
        figure('checkpoint', 'checkpoint of 100k open window series: state size', bytes, 'bytes'),
        figure('checkpoint', 'checkpoint of 100k open window series: save (flush, write, fsync, rename; median)', Math.round(saveMs * 10) / 10, 'ms', { note: 'asynchronous: elements keep flowing meanwhile, except for the SHA-256 and copy done in the save call' }),
      );
    }
    // 2. Throughput with and without checkpoints, alternating.
    {
      const intervalMs = context.quick ? 1000 : 5000;
      // Long enough for several checkpoints per run at about 2M events/s (a run shorter than the
      // interval would compare two runs without any checkpoint).
      const events = context.quick ? 4_000_000 : 40_000_000;
      const rates: { with: number[]; without: number[]; checkpoints: number[] } = { with: [], without: [], checkpoints: [] };
      const rounds = context.quick ? 1 : 2;
      for (let round = 0; round < rounds; round++) {
        for (const checkpointing of [false, true]) {
          const source = new GeneratedSource(labels, events);
          const started = performance.now();
          const pipeline = await DurablePipeline.start({
            directory: join(root, `throughput-${round}-${checkpointing}`),
            pipeline: 'bench-throughput',
            source,
            build: windowStage,
            // Without: an interval longer than the run (only the final checkpoint at completion, excluded below).
            checkpointIntervalMs: checkpointing ? intervalMs : 3_600_000,
          });
          let endedAt = 0;
          const summary = await new Promise<Awaited<typeof pipeline.done>>((resolve) => {
            const poll = setInterval(() => {
              if (source.emitted >= events) {
                endedAt = performance.now();
                clearInterval(poll);
                void pipeline.done.then(resolve);
              }
            }, 5);
          });
          const seconds = ((endedAt || performance.now()) - started) / 1000;
          const rate = events / seconds;
          (checkpointing ? rates.with : rates.without).push(rate);
          if (checkpointing) rates.checkpoints.push(summary.checkpoints - 1);
          context.log(`window pipeline ${checkpointing ? `with checkpoints every ${intervalMs} ms` : 'without checkpoints'}: ${Math.round(rate)} events/s (${seconds.toFixed(1)} s${checkpointing ? `, ${summary.checkpoints - 1} checkpoints` : ''})`);
        }
      }
      const withRate = median(rates.with);
      const withoutRate = median(rates.without);
      figures.push(
        figure('checkpoint', `window pipeline (100k series) with a checkpoint every ${intervalMs / 1000} s`, Math.round(withRate), 'events/s', {
          comparison: { name: 'same pipeline without checkpoints', value: Math.round(withoutRate) },
          // Met only when checkpoints were really taken in every run compared.
          floor: { text: '>= 0.8x without', met: withRate / withoutRate >= 0.8 && rates.checkpoints.every((count) => count >= 1) },
          note: `${events} events per run, ${rounds} alternating round(s); checkpoints per run: ${rates.checkpoints.join(', ')}`,
        }),
      );
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  return figures;
}
