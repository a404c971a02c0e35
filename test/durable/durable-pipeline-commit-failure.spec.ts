/**
 * A checkpoint saved whose source commit then fails: the checkpoint is on disk and a restart
 * resumes from it, so it is reported as saved (once), not as a failed checkpoint naming the
 * previous one; the failed commit is told apart.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Observable, type OperatorFunction } from 'rxjs';
import { CheckpointStore } from '../../src/durable/checkpoint-store.js';
import { DurablePipeline, type CheckpointInfo, type DurableProblem } from '../../src/durable/durable-pipeline.js';
import type { PipelineState } from '../../src/durable/pipeline-state.js';
import type { AcknowledgedSource, Positioned } from '../../src/sources/acknowledged.js';

/** Numbers 1, 2, ... (position = the number), one per macrotask; the commits numbered in `failing` reject. */
class Counter implements AcknowledgedSource<number, number> {
  committed: number | undefined;
  calls = 0;
  constructor(private readonly failing: (call: number) => boolean) {}
  resumeFrom(position = this.committed ?? 0): Observable<Positioned<number, number>> {
    return new Observable((subscriber) => {
      let next = position + 1;
      let timer: NodeJS.Timeout;
      const tick = (): void => {
        subscriber.next({ value: next, position: next++ });
        timer = setTimeout(tick, 1);
      };
      timer = setTimeout(tick, 1);
      return () => clearTimeout(timer);
    });
  }
  async commit(position: number): Promise<void> {
    if (this.failing(++this.calls)) throw new Error('the broker connection is closed');
    this.committed = position;
  }
  comparePositions(a: number, b: number): number {
    return a - b;
  }
}

const build = (state: PipelineState): OperatorFunction<number, number> => {
  const slot = state.slot<number>('sum');
  return (input) =>
    new Observable<number>((subscriber) => {
      let sum = slot.take() ?? 0;
      const detach = slot.attach({ snapshot: () => sum });
      const inner = input.subscribe({ next: (n) => (sum += n), error: (e: unknown) => subscriber.error(e) });
      return () => {
        detach();
        inner.unsubscribe();
      };
    });
};

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rxprom-durable-commit-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function elementsPast(pipeline: DurablePipeline<number, number, number>, position: number): Promise<void> {
  for (const deadline = Date.now() + 20_000; pipeline.summary().elements <= position; ) {
    if (Date.now() > deadline) throw new Error('timed out waiting for elements');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('DurablePipeline and a failed source commit', () => {
  it('a saved checkpoint whose commit fails is counted saved once, not failed; the commit failure is reported apart, not as a failed save', async () => {
    const directory = join(root, 'a');
    const source = new Counter((call) => call === 1);
    const problems: DurableProblem[] = [];
    const saved: CheckpointInfo<number>[] = [];
    const pipeline = await DurablePipeline.start({ directory, pipeline: 'p', source, build, checkpointIntervalMs: 3_600_000, fsync: false, failAfterCheckpointFailures: 2, onProblem: (p) => problems.push(p), onCheckpoint: (c) => saved.push(c) });
    await elementsPast(pipeline, 3);
    const first = await pipeline.checkpoint();
    const onDisk = await new CheckpointStore<{ position: number }>({ directory, pipeline: 'p' }).load();
    assert.equal(onDisk?.sequence, first.sequence, 'the checkpoint is on disk');
    assert.equal(onDisk?.state.position, first.position);
    const summary = pipeline.summary();
    assert.equal(summary.ending, 'running', 'a failed commit does not fail the pipeline');
    assert.equal(summary.checkpoints, 1);
    assert.equal(summary.checkpointFailures, 0);
    assert.equal(summary.lastCheckpoint?.sequence, first.sequence);
    assert.deepEqual(saved.map((c) => c.sequence), [first.sequence], 'told once, as saved');
    assert.deepEqual(problems.map((p) => p.kind), ['commit-failed']);
    const problem = problems[0] as Extract<DurableProblem, { kind: 'commit-failed' }>;
    assert.equal(problem.sequence, first.sequence);
    assert.equal(problem.consecutive, 1);
    assert.match(problem.error.message, /broker connection is closed/);
    assert.equal(source.committed, undefined);

    // The next checkpoint commits again, covering everything.
    await elementsPast(pipeline, first.position! + 2);
    const second = await pipeline.checkpoint();
    assert.equal(source.committed, second.position);
    const end = await pipeline.stop();
    assert.equal(end.checkpointFailures, 0);
    assert.equal(end.checkpoints, 3);
  });
  it('a source whose commit fails failAfterCheckpointFailures checkpoints in a row errors the pipeline, naming the saved checkpoint a restart resumes from', async () => {
    const directory = join(root, 'b');
    const source = new Counter(() => true);
    const problems: DurableProblem[] = [];
    const pipeline = await DurablePipeline.start({ directory, pipeline: 'p', source, build, checkpointIntervalMs: 3_600_000, fsync: false, failAfterCheckpointFailures: 2, onProblem: (p) => problems.push(p) });
    await elementsPast(pipeline, 3);
    await pipeline.checkpoint();
    assert.equal(pipeline.summary().ending, 'running', 'one failed commit: still running');
    await elementsPast(pipeline, 6);
    const second = await pipeline.checkpoint();
    const end = await pipeline.done;
    assert.equal(end.ending, 'failed');
    assert.match(String(end.error), /commit failed after 2 checkpoints in a row/);
    assert.match(String(end.error), new RegExp(`checkpoint #${second.sequence} is the one a restart resumes from`));
    assert.equal(end.checkpoints, 2, 'both saved');
    assert.equal(end.checkpointFailures, 0);
    assert.deepEqual(problems.map((p) => [p.kind, (p as { consecutive: number }).consecutive]), [['commit-failed', 1], ['commit-failed', 2]]);
    const onDisk = await new CheckpointStore<{ position: number }>({ directory, pipeline: 'p' }).load();
    assert.equal(onDisk?.sequence, second.sequence);
  });
});
