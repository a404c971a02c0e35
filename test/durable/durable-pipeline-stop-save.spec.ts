/**
 * `stop()` whose time runs out while the last checkpoint's file is being written: the save cannot
 * be taken back, so what the stop reports must be what happened to it (saved, failed, or still
 * being written and then logged as saved late), checked against the file read back.
 */
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Observable, type OperatorFunction } from 'rxjs';
import { CheckpointStore } from '../../src/durable/checkpoint-store.js';
import { DurablePipeline, type DurableProblem } from '../../src/durable/durable-pipeline.js';
import type { PipelineState } from '../../src/durable/pipeline-state.js';
import type { Logger } from '../../src/core/logger.js';
import type { AcknowledgedSource, Pausable, Positioned } from '../../src/sources/acknowledged.js';
import { until } from '../harness/until.js';

/** Numbers 1, 2, ... (position = the number), one per macrotask while not paused. */
class Counter implements AcknowledgedSource<number, number>, Pausable {
  committed: number | undefined;
  readonly commits: number[] = [];
  paused = false;
  resumeFrom(position = this.committed ?? 0): Observable<Positioned<number, number>> {
    return new Observable((subscriber) => {
      let next = position + 1;
      let timer: NodeJS.Timeout;
      const tick = (): void => {
        if (!this.paused) subscriber.next({ value: next, position: next++ });
        timer = setTimeout(tick, 1);
      };
      timer = setTimeout(tick, 1);
      return () => clearTimeout(timer);
    });
  }
  async commit(position: number): Promise<void> {
    this.commits.push(position);
    this.committed = position;
  }
  comparePositions(a: number, b: number): number {
    return a - b;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
}

/** A stage that keeps the sum of what it saw in its slot. */
const build = (state: PipelineState): OperatorFunction<number, number> => {
  const slot = state.slot<number>('sum');
  return (input) =>
    new Observable<number>((subscriber) => {
      let sum = slot.take() ?? 0;
      const detach = slot.attach({ snapshot: () => sum });
      const inner = input.subscribe({ next: (n) => (sum += n), error: (e: unknown) => subscriber.error(e), complete: () => subscriber.complete() });
      return () => {
        detach();
        inner.unsubscribe();
      };
    });
};

/** A logger that keeps its messages and calls `onMessage` with each. */
function recordingLogger(onMessage: (message: string) => void = () => {}): Logger & { messages: string[] } {
  const messages: string[] = [];
  const log = (_fields: object, message: string): void => {
    messages.push(message);
    onMessage(message);
  };
  return { messages, info: log, warn: log, error: log, debug: log };
}

/** Scripts every CheckpointStore's save: from the `from`-th call on, each waits for `gate` before writing. */
function slowSaves(from: number): { gate: () => void; started: Promise<void> } {
  const original = CheckpointStore.prototype.save;
  let calls = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  let markStarted!: () => void;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  CheckpointStore.prototype.save = async function (this: CheckpointStore<unknown>, ...args: Parameters<typeof original>) {
    if (++calls >= from) {
      markStarted();
      await opened;
    }
    return original.apply(this, args);
  } as typeof original;
  restore = () => {
    CheckpointStore.prototype.save = original;
    open();
  };
  return { gate: open, started };
}
let restore = (): void => {};

let root: string;
let dirs = 0;
const freshDir = (): string => join(root, `state-${++dirs}`);
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rxprom-durable-stop-save-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});
afterEach(() => restore());

describe('DurablePipeline.stop() and a slow last save', () => {
  it('a stop whose time runs out while the last checkpoint is being written waits for that save and reports it saved, as the file read back says', async () => {
    const directory = freshDir();
    const source = new Counter();
    const problems: DurableProblem[] = [];
    let slow: ReturnType<typeof slowSaves> | undefined;
    // The gate opens once the stop has said it is waiting for the save: its first bound has passed.
    const logger = recordingLogger((message) => {
      if (/being written/.test(message)) slow?.gate();
    });
    const pipeline = await DurablePipeline.start({ directory, pipeline: 'p', source, build, checkpointIntervalMs: 3_600_000, fsync: false, logger, onProblem: (p) => problems.push(p) });
    const first = await pipeline.checkpoint();
    await until(() => pipeline.summary().elements > (first.position ?? 0) + 2, 'elements after the first checkpoint');
    slow = slowSaves(1);
    // The gate holds the save past the first bound whatever it is; the second bound is wide so that
    // the save, let go, lands within it even on a loaded machine.
    const summary = await pipeline.stop({ timeoutMs: 2000 });

    const onDisk = await new CheckpointStore<{ position: number }>({ directory, pipeline: 'p' }).load();
    assert.equal(summary.ending, 'stopped');
    assert.equal(summary.lastCheckpoint?.reason, 'stop', `the stop's checkpoint is reported (messages: ${logger.messages.join(' | ')})`);
    assert.equal(summary.lastCheckpoint?.sequence, onDisk?.sequence, 'the reported checkpoint is the newest on disk');
    assert.equal(onDisk?.sequence, first.sequence + 1);
    assert.equal(onDisk?.state.position, summary.position, 'it covers every element read');
    assert.equal(summary.checkpointFailures, 0, 'not counted as failed');
    assert.deepEqual(problems, [], 'no problem reported');
    assert.equal(source.committed, summary.position, 'the source was told once the checkpoint was on disk');
    const restarted = await DurablePipeline.start({ directory, pipeline: 'p', source: new Counter(), build, fsync: false });
    assert.equal(restarted.restored?.sequence, summary.lastCheckpoint?.sequence, 'a restart resumes from what the stop reported');
    await restarted.stop();
  });

  it('a save still being written after the second bound is reported as such, and as saved late (summary() updated) when it lands', async () => {
    const directory = freshDir();
    const source = new Counter();
    const problems: DurableProblem[] = [];
    const logger = recordingLogger();
    const pipeline = await DurablePipeline.start({ directory, pipeline: 'p', source, build, checkpointIntervalMs: 3_600_000, fsync: false, logger, onProblem: (p) => problems.push(p) });
    const first = await pipeline.checkpoint();
    await until(() => pipeline.summary().elements > (first.position ?? 0) + 2, 'elements after the first checkpoint');
    const slow = slowSaves(1);
    const summary = await pipeline.stop({ timeoutMs: 20 });
    assert.equal(summary.ending, 'stopped');
    assert.equal(summary.checkpointFailures, 1);
    assert.equal(summary.lastCheckpoint?.sequence, first.sequence);
    assert.equal(problems.length, 1);
    const message = (problems[0] as { error: Error }).error.message;
    assert.match(message, /still being written/, message);
    assert.match(message, /if it lands, it is the one a restart resumes from/, message);
    assert.doesNotMatch(message, /abandoned/, message);

    slow.gate();
    await until(() => pipeline.summary().lastCheckpoint?.reason === 'stop', 'the late save reported');
    const late = pipeline.summary();
    const onDisk = await new CheckpointStore<{ position: number }>({ directory, pipeline: 'p' }).load();
    assert.equal(late.lastCheckpoint?.sequence, onDisk?.sequence);
    assert.equal(onDisk?.state.position, summary.position);
    assert.equal(late.checkpoints, 2);
    assert.equal(late.checkpointFailures, 0, 'the save the stop could not wait for did not fail');
    assert.ok(logger.messages.some((m) => /saved late/.test(m)), logger.messages.join(' | '));
  });

  it('a stop whose checkpoint has not started writing when its time runs out still abandons it: nothing is written afterwards', async () => {
    const directory = freshDir();
    const source = new Counter();
    const pipeline = await DurablePipeline.start({ directory, pipeline: 'p', source, build, checkpointIntervalMs: 3_600_000, fsync: false });
    const first = await pipeline.checkpoint();
    // An interval checkpoint whose save is slow is under way; the stop's own checkpoint waits behind it.
    const slow = slowSaves(1);
    const manual = pipeline.checkpoint();
    await slow.started;
    const stopping = pipeline.stop({ timeoutMs: 20 });
    const summary = await stopping;
    assert.equal(summary.checkpointFailures, 1, 'the stop checkpoint counted as failed');
    slow.gate();
    const landed = await manual;
    await new Promise((resolve) => setTimeout(resolve, 30));
    const onDisk = await new CheckpointStore<{ position: number }>({ directory, pipeline: 'p' }).load();
    assert.equal(onDisk?.sequence, landed.sequence, 'the save under way landed; the stop checkpoint was never written');
    assert.equal(landed.sequence, first.sequence + 1);
    assert.equal(pipeline.summary().lastCheckpoint?.sequence, landed.sequence);
  });
});
