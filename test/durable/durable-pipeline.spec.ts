import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Observable, Subject, type OperatorFunction } from 'rxjs';
import { ConfigError } from '../../src/core/errors.js';
import { CheckpointError, CheckpointStore } from '../../src/durable/checkpoint-store.js';
import { DurablePipeline, type CheckpointInfo, type DurableProblem } from '../../src/durable/durable-pipeline.js';
import type { PipelineState, StateSlot } from '../../src/durable/pipeline-state.js';
import type { AcknowledgedSource, Pausable, Positioned } from '../../src/sources/acknowledged.js';

/** Numbers 1..n; the position of the i-th is i. Emits a few per macrotask, so timers interleave; pausable. */
class CountingSource implements AcknowledgedSource<number, number>, Pausable {
  committed: number | undefined;
  commits: number[] = [];
  paused = false;
  pauseCalls = 0;
  onCommit: ((position: number) => Promise<void>) | undefined;
  constructor(
    private readonly n: number,
    private readonly perTick = 3,
  ) {}
  resumeFrom(position = this.committed ?? 0): Observable<Positioned<number, number>> {
    return new Observable((subscriber) => {
      let next = position + 1;
      let timer: NodeJS.Timeout | undefined;
      const tick = (): void => {
        if (!this.paused) {
          for (let i = 0; i < this.perTick && next <= this.n; i++, next++) subscriber.next({ value: next, position: next });
          if (next > this.n) return subscriber.complete();
        }
        timer = setTimeout(tick, 1);
      };
      timer = setTimeout(tick, 1);
      return () => clearTimeout(timer);
    });
  }
  async commit(position: number): Promise<void> {
    await this.onCommit?.(position);
    this.commits.push(position);
    if (this.committed === undefined || position > this.committed) this.committed = position;
  }
  comparePositions(a: number, b: number): number {
    return a - b;
  }
  pause(): void {
    this.pauseCalls++;
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
}

/** A stateful stage: sums `size` consecutive numbers into one output (a "window"), keeping the open one in its slot. */
function windowOf(size: number, slot: StateSlot<{ sum: number; count: number }>): OperatorFunction<number, string> {
  return (source) =>
    new Observable<string>((subscriber) => {
      const open = slot.take() ?? { sum: 0, count: 0 };
      const detach = slot.attach({ snapshot: () => ({ ...open }) });
      const inner = source.subscribe({
        next: (n) => {
          open.sum += n;
          open.count++;
          if (open.count === size) {
            subscriber.next(`sum=${open.sum}`);
            open.sum = 0;
            open.count = 0;
          }
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => {
          if (open.count > 0) subscriber.next(`partial sum=${open.sum}`);
          subscriber.complete();
        },
      });
      return () => {
        detach();
        inner.unsubscribe();
      };
    });
}

let root: string;
let dirs = 0;
const freshDir = (): string => join(root, `state-${++dirs}`);
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rxprom-durable-pipeline-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const build = (state: PipelineState) => windowOf(10, state.slot('window'));

describe('DurablePipeline', () => {
  it('runs the chain to the end and its last checkpoint holds the end position', async () => {
    const source = new CountingSource(95);
    const outputs: string[] = [];
    const pipeline = await DurablePipeline.start({ directory: freshDir(), pipeline: 'p', source, build, checkpointIntervalMs: 10, fsync: false, onOutput: (o) => outputs.push(o) });
    const summary = await pipeline.done;
    assert.equal(summary.ending, 'completed');
    assert.equal(summary.elements, 95);
    assert.deepEqual(outputs, [...Array.from({ length: 9 }, (_, w) => `sum=${(w * 10 + 1 + w * 10 + 10) * 5}`), `partial sum=${91 + 92 + 93 + 94 + 95}`]);
    assert.equal(summary.lastCheckpoint?.reason, 'completed');
    assert.equal(summary.lastCheckpoint?.position, 95);
    assert.equal(source.committed, 95);
  });

  it("saves the source's checkpointCovered(position) with each checkpoint and gives it back to resumeFrom on restart", async () => {
    class CoveringSource extends CountingSource {
      asked: number[] = [];
      resumedWith: Array<[number | undefined, unknown]> = [];
      checkpointCovered(position: number): unknown {
        this.asked.push(position);
        return { upTo: position, ids: [position * 2] };
      }
      override resumeFrom(position?: number, covered?: unknown): Observable<Positioned<number, number>> {
        this.resumedWith.push([position, covered]);
        return super.resumeFrom(position);
      }
    }
    const directory = freshDir();
    const first = new CoveringSource(95);
    const summary = await (await DurablePipeline.start({ directory, pipeline: 'p', source: first, build, checkpointIntervalMs: 10, fsync: false })).done;
    assert.deepEqual(first.resumedWith, [[undefined, undefined]]);
    // Asked at each checkpoint's snapshot, with its position (a checkpoint before the first element has none).
    assert.equal(first.asked.at(-1), 95);
    assert.ok(first.asked.length >= 1 && first.asked.length <= summary.checkpoints);
    const second = new CoveringSource(95);
    await (await DurablePipeline.start({ directory, pipeline: 'p', source: second, build, checkpointIntervalMs: 10, fsync: false })).done;
    assert.deepEqual(second.resumedWith, [[95, { upTo: 95, ids: [190] }]]);
  });

  it('commits a position only after the checkpoint covering it is on disk, and checkpoints never overlap', async () => {
    const directory = freshDir();
    const source = new CountingSource(400, 2);
    let flushing = 0;
    let overlapped = false;
    source.onCommit = async (position) => {
      const newest = await new CheckpointStore<{ position: number }>({ directory, pipeline: 'p' }).load();
      assert.equal(newest?.state.position, position, 'the newest durable checkpoint covers the committed position');
    };
    const slowBuild = (state: PipelineState): OperatorFunction<number, string> => {
      const slot = state.slot<number>('slow');
      const window = windowOf(10, state.slot('window'));
      return (input) =>
        new Observable<string>((subscriber) => {
          // A stage whose flush outlasts the interval: the next checkpoint must wait for it.
          const detach = slot.attach({
            snapshot: () => 0,
            flush: async () => {
              flushing++;
              if (flushing > 1) overlapped = true;
              await new Promise((resolve) => setTimeout(resolve, 25));
              flushing--;
            },
          });
          const inner = input.pipe(window).subscribe(subscriber);
          return () => {
            detach();
            inner.unsubscribe();
          };
        });
    };
    const checkpoints: CheckpointInfo<number>[] = [];
    const pipeline = await DurablePipeline.start({ directory, pipeline: 'p', source, build: slowBuild, checkpointIntervalMs: 10, fsync: false, onCheckpoint: (c) => checkpoints.push(c) });
    const summary = await pipeline.done;
    assert.equal(overlapped, false);
    assert.ok(checkpoints.length >= 3, `several checkpoints (${checkpoints.length})`);
    assert.deepEqual(source.commits, checkpoints.map((c) => c.position));
    assert.deepEqual(checkpoints.map((c) => c.sequence), checkpoints.map((_, i) => i + 1));
    assert.equal(summary.checkpointFailures, 0);
  });

  it('stop() saves the open window instead of emitting it; a restart continues it: the outputs equal one uninterrupted run', async () => {
    const reference: string[] = [];
    await (await DurablePipeline.start({ directory: freshDir(), pipeline: 'p', source: new CountingSource(203), build, checkpointIntervalMs: 1000, fsync: false, onOutput: (o) => reference.push(o) })).done;

    const directory = freshDir();
    const source = new CountingSource(203);
    const outputs: string[] = [];
    const restoredWindows: unknown[] = [];
    for (let run = 0; ; run++) {
      const pipeline = await DurablePipeline.start({ directory, pipeline: 'p', source, build, checkpointIntervalMs: 1000, fsync: false, onOutput: (o) => outputs.push(o) });
      if (run > 0) {
        assert.ok(pipeline.restored, 'a restart restores the checkpoint');
        restoredWindows.push(pipeline.restored.stages['window']);
      }
      const stopAfter = new Promise<'stop'>((resolve) => setTimeout(() => resolve('stop'), 7 + run * 3));
      const ended = await Promise.race([pipeline.done, stopAfter]);
      if (ended !== 'stop') break;
      const summary = await pipeline.stop();
      if (summary.ending === 'completed') break; // the source ended just as the stop came
      assert.equal(summary.ending, 'stopped');
      assert.equal(summary.lastCheckpoint?.reason, 'stop');
      assert.equal(source.committed, summary.lastCheckpoint?.position, 'the stop checkpoint is committed');
      assert.ok(!outputs.some((o) => o.startsWith('partial')), 'no partial window at a stop');
    }
    assert.ok(restoredWindows.length >= 2, `restarted at least twice (${restoredWindows.length})`);
    assert.ok(restoredWindows.some((w) => (w as { count: number }).count > 0), 'some restart continued an open window');
    assert.deepEqual(outputs, reference);
  });

  it('skips a damaged newest checkpoint with a report and resumes from the previous one', async () => {
    const directory = freshDir();
    const source = new CountingSource(1_000_000, 1);
    const first = await DurablePipeline.start({ directory, pipeline: 'p', source, build, checkpointIntervalMs: 1000, fsync: false });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const good = await first.checkpoint();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const summary = await first.stop();
    const torn = summary.lastCheckpoint!;
    assert.ok(torn.sequence > good.sequence && torn.position! > good.position!);
    await truncate(torn.file, 40);

    const problems: DurableProblem[] = [];
    const second = await DurablePipeline.start({ directory, pipeline: 'p', source: new CountingSource(1_000_000, 1), build, fsync: false, onProblem: (p) => problems.push(p) });
    assert.equal(second.restored?.sequence, good.sequence);
    assert.equal(second.restored?.position, good.position);
    assert.deepEqual(problems.map((p) => p.kind), ['damaged-checkpoint']);
    assert.match((problems[0] as { reason: string }).reason, /truncated/);
    assert.equal(second.summary().damagedCheckpoints.length, 1);
    await second.stop();
  });

  it('refuses the state directory of another pipeline, naming both', async () => {
    const directory = freshDir();
    const first = await DurablePipeline.start({ directory, pipeline: 'gateway-a', source: new CountingSource(50), build, fsync: false });
    await first.done;
    await assert.rejects(
      DurablePipeline.start({ directory, pipeline: 'gateway-b', source: new CountingSource(50), build, fsync: false }),
      (error: unknown) => error instanceof CheckpointError && /pipeline "gateway-a".*not of "gateway-b"/.test(error.message),
    );
  });

  it('a failed checkpoint (full disk) is counted and reported, nothing is committed, the previous stays valid, and the pipeline keeps running', async () => {
    const directory = freshDir();
    const first = await DurablePipeline.start({ directory, pipeline: 'p', source: new CountingSource(1_000_000, 1), build, checkpointIntervalMs: 10_000, fsync: false });
    await new Promise((resolve) => setTimeout(resolve, 10));
    const good = (await first.stop()).lastCheckpoint!;

    // The same directory with a byte budget smaller than what is already there plus one more file: every save fails as ENOSPC.
    const source = new CountingSource(1_000_000, 1);
    const problems: DurableProblem[] = [];
    const full = await DurablePipeline.start({ directory, pipeline: 'p', source, build, checkpointIntervalMs: 10, fsync: false, maxBytes: 300, onProblem: (p) => problems.push(p) });
    assert.equal(full.restored?.sequence, good.sequence);
    // Three attempts failed, however long each one takes on this machine (not a count of ticks in a fixed time).
    for (const deadline = Date.now() + 30_000; full.summary().checkpointFailures < 3; ) {
      assert.ok(Date.now() < deadline, `three failed checkpoints within 30 s (${full.summary().checkpointFailures})`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(full.summary().ending, 'running', 'by default a failed checkpoint does not stop the pipeline');
    const elementsSoFar = full.summary().elements;
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(full.summary().elements > elementsSoFar, 'still reading');
    const summary = await full.stop();
    assert.ok(summary.checkpointFailures >= 3, `failures counted (${summary.checkpointFailures})`);
    assert.equal(summary.checkpoints, 0);
    assert.deepEqual(source.commits, [], 'nothing committed without a durable checkpoint');
    const failed = problems.filter((p): p is Extract<DurableProblem, { kind: 'checkpoint-failed' }> => p.kind === 'checkpoint-failed');
    assert.equal(failed.length, summary.checkpointFailures);
    assert.match(failed[0]!.error.message, /no space left \(ENOSPC\).*checkpoint \d+ stays the newest/);
    assert.deepEqual(failed.map((p) => p.consecutive), failed.map((_, i) => i + 1));
    const newest = await new CheckpointStore<{ position: number }>({ directory, pipeline: 'p' }).load();
    assert.equal(newest?.sequence, good.sequence, 'the last good checkpoint is still the newest');
    assert.equal(newest?.state.position, good.position);
  });

  it('with failAfterCheckpointFailures it fails after that many failures in a row, with a clear error', async () => {
    const source = new CountingSource(1_000_000, 1);
    const pipeline = await DurablePipeline.start({ directory: freshDir(), pipeline: 'p', source, build, checkpointIntervalMs: 10, fsync: false, maxBytes: 1, failAfterCheckpointFailures: 3 });
    const summary = await pipeline.done;
    assert.equal(summary.ending, 'failed');
    assert.equal(summary.checkpointFailures, 3);
    assert.ok(summary.error instanceof CheckpointError);
    assert.match(summary.error.message, /3 checkpoints in a row failed .*failAfterCheckpointFailures: 3.*ENOSPC/);
    const position = summary.position!;
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(pipeline.summary().position, position, 'the source is unsubscribed');
  });

  it("connects the sink's pressure to the source's pause and resume", async () => {
    const source = new CountingSource(1_000_000, 1);
    const pressure = new Subject<boolean>();
    const pipeline = await DurablePipeline.start({ directory: freshDir(), pipeline: 'p', source, build: (state) => ({ operator: build(state), pressure }), fsync: false });
    await new Promise((resolve) => setTimeout(resolve, 10));
    pressure.next(true);
    assert.equal(source.paused, true);
    const held = pipeline.summary().elements;
    await new Promise((resolve) => setTimeout(resolve, 15));
    assert.equal(pipeline.summary().elements, held, 'no element while paused');
    pressure.next(false);
    assert.equal(source.paused, false);
    await new Promise((resolve) => setTimeout(resolve, 15));
    assert.ok(pipeline.summary().elements > held);
    const summary = await pipeline.stop();
    assert.equal(summary.pauses, 1);
  });

  it('reports restored state that no stage took (a renamed stage)', async () => {
    const directory = freshDir();
    const first = await DurablePipeline.start({ directory, pipeline: 'p', source: new CountingSource(1_000_000, 1), build, fsync: false });
    await new Promise((resolve) => setTimeout(resolve, 10));
    await first.stop();
    const problems: DurableProblem[] = [];
    const renamed = await DurablePipeline.start({ directory, pipeline: 'p', source: new CountingSource(1_000_000, 1), build: (state) => windowOf(10, state.slot('window-v2')), fsync: false, onProblem: (p) => problems.push(p) });
    assert.deepEqual(problems, [{ kind: 'untaken-state', stages: ['window'] }]);
    assert.deepEqual(renamed.restored?.untaken, ['window']);
    await renamed.stop();
  });

  it('tells checkpointed() the oldest checkpoint still kept, so a fallback to it finds what it refers to', async () => {
    const told: number[] = [];
    let sequence = 0;
    const listening = (state: PipelineState): OperatorFunction<number, string> => {
      const slot = state.slot<number>('sink');
      const window = build(state);
      return (input) =>
        new Observable<string>((subscriber) => {
          const detach = slot.attach({ snapshot: () => ++sequence, checkpointed: (snapshot) => told.push(snapshot) });
          const inner = input.pipe(window).subscribe(subscriber);
          return () => {
            detach();
            inner.unsubscribe();
          };
        });
    };
    const pipeline = await DurablePipeline.start({ directory: freshDir(), pipeline: 'p', source: new CountingSource(1_000_000, 1), build: listening, keep: 2, fsync: false });
    for (let i = 0; i < 4; i++) await pipeline.checkpoint();
    await pipeline.stop();
    // Snapshots 1..5; with two kept, each save releases up to the older of the two.
    assert.deepEqual(told, [1, 1, 2, 3, 4]);
  });

  it('stop() abandons a last checkpoint that does not finish in time (a flush that waits forever): counted, never written late', async () => {
    const directory = freshDir();
    let hang = false;
    const hanging = (state: PipelineState): OperatorFunction<number, string> => {
      const slot = state.slot<number>('stuck');
      const window = build(state);
      return (input) =>
        new Observable<string>((subscriber) => {
          const detach = slot.attach({ snapshot: () => 0, flush: () => (hang ? new Promise<void>(() => {}) : Promise.resolve()) });
          const inner = input.pipe(window).subscribe(subscriber);
          return () => {
            detach();
            inner.unsubscribe();
          };
        });
    };
    const problems: DurableProblem[] = [];
    const pipeline = await DurablePipeline.start({ directory, pipeline: 'p', source: new CountingSource(1_000_000, 1), build: hanging, fsync: false, onProblem: (p) => problems.push(p) });
    const good = await pipeline.checkpoint();
    hang = true;
    const summary = await pipeline.stop({ timeoutMs: 50 });
    assert.equal(summary.ending, 'stopped');
    assert.equal(summary.checkpointFailures, 1);
    assert.equal(summary.lastCheckpoint?.sequence, good.sequence);
    assert.match((problems[0] as { error: Error }).error.message, /did not finish within 50 ms.*checkpoint #1 stays/);
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal((await new CheckpointStore({ directory, pipeline: 'p' }).load())?.sequence, good.sequence, 'nothing written after the stop');
    await assert.rejects(pipeline.stop({ timeoutMs: -1 }), ConfigError);
  });

  it('a throwing onOutput fails the pipeline instead of escaping', async () => {
    const pipeline = await DurablePipeline.start({
      directory: freshDir(),
      pipeline: 'p',
      source: new CountingSource(100),
      build,
      fsync: false,
      onOutput: () => {
        throw new Error('callback broke');
      },
    });
    const summary = await pipeline.done;
    assert.equal(summary.ending, 'failed');
    assert.equal(summary.error?.message, 'callback broke');
  });

  it('refuses bad options at start, naming the option', async () => {
    const base = { directory: freshDir(), pipeline: 'p', source: new CountingSource(1), build };
    await assert.rejects(DurablePipeline.start({ ...base, checkpointIntervalMs: 0 }), (e: unknown) => e instanceof ConfigError && e.option === 'checkpointIntervalMs');
    await assert.rejects(DurablePipeline.start({ ...base, failAfterCheckpointFailures: -1 }), (e: unknown) => e instanceof ConfigError && e.option === 'failAfterCheckpointFailures');
    await assert.rejects(DurablePipeline.start({ ...base, source: {} as AcknowledgedSource<number, number> }), (e: unknown) => e instanceof ConfigError && e.option === 'source');
    await assert.rejects(DurablePipeline.start({ ...base, pipeline: '' }), (e: unknown) => e instanceof ConfigError && e.option === 'pipeline');
    await assert.rejects(DurablePipeline.start({ ...base, build: undefined as unknown as typeof build }), (e: unknown) => e instanceof ConfigError && e.option === 'build');
  });

  it('refuses a checkpoint file of the same pipeline not written by DurablePipeline', async () => {
    const directory = freshDir();
    await new CheckpointStore({ directory, pipeline: 'p', fsync: false }).save({ something: 'else' });
    await assert.rejects(DurablePipeline.start({ directory, pipeline: 'p', source: new CountingSource(1), build }), /not one written by DurablePipeline/);
  });
});
