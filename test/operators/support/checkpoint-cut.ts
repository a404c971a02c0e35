/**
 * The checkpoint property every checkpointed operator must have: running on input[0..k), saving
 * the state through a PipelineState (JSON round trip, as a checkpoint file does), unsubscribing,
 * and running a new instance restored from it on input[k..n) gives the same output as one run.
 */
import { Subject, type OperatorFunction } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { PipelineState, type StageSnapshots, type StateSlot } from '../../../src/durable/pipeline-state.js';

export const SLOT = 'stage';

/** Builds the operator under test, with a slot or without one. */
export type MakeOperator<T, R> = (state: StateSlot<never> | undefined) => OperatorFunction<T, R>;

export interface Run<R> {
  readonly output: R[];
  readonly errors: unknown[];
  readonly completed: boolean;
}

/** Feeds `input` synchronously and completes (unless `complete` is false); returns what came out. */
export function feed<T, R>(operator: OperatorFunction<T, R>, input: readonly T[], complete = true, tap?: (value: R) => R): Run<R> & { readonly unsubscribe: () => void } {
  const source = new Subject<T>();
  const output: R[] = [];
  const errors: unknown[] = [];
  let completed = false;
  const subscription = source.pipe(operator).subscribe({
    next: (value) => output.push(tap === undefined ? value : tap(value)),
    error: (error: unknown) => errors.push(error),
    complete: () => (completed = true),
  });
  for (const element of input) source.next(element);
  if (complete) source.complete();
  return { output, errors, get completed() { return completed; }, unsubscribe: () => subscription.unsubscribe() };
}

/** The saved state of a pipeline as a checkpoint gives it back: through JSON. */
export function throughJson(snapshots: StageSnapshots): StageSnapshots {
  return JSON.parse(JSON.stringify(snapshots)) as StageSnapshots;
}

export interface CutRuns<R> {
  /** One uninterrupted run (without a slot: the operator as users have it today). */
  readonly whole: Run<R>;
  /** Before the cut, then after the restore. */
  readonly before: Run<R>;
  readonly after: Run<R>;
  /** What the checkpoint held. */
  readonly saved: StageSnapshots;
}

/** Runs `input` whole, and cut at `k` with a checkpoint and a restore into a new operator. */
export function runCut<T, R>(make: MakeOperator<T, R>, input: readonly T[], k: number): CutRuns<R> {
  return runCutPipeline((pipeline) => make(pipeline?.slot<never>(SLOT)), input, k);
}

/** `runCut` for a chain of stages that take their slots from one pipeline state (undefined: no slots). */
export function runCutPipeline<T, R>(make: (pipeline: PipelineState | undefined) => OperatorFunction<T, R>, input: readonly T[], k: number): CutRuns<R> {
  const whole = feed(make(undefined), input);
  const first = new PipelineState();
  const before = feed(make(first), input.slice(0, k), false);
  const saved = throughJson(first.snapshot());
  const emittedBefore = before.output.length;
  before.unsubscribe();
  if (before.output.length !== emittedBefore) throw new Error('unsubscribing emitted something');
  const second = new PipelineState(saved);
  const after = feed(make(second), input.slice(k));
  if (second.untaken().length > 0) throw new Error(`state not taken: ${second.untaken().join(', ')}`);
  return { whole, before, after, saved };
}

/** An element and how long (virtual ms) after the previous one it arrives. */
export interface Timed<T> {
  readonly element: T;
  readonly gap: number;
}

/** Moves virtual time to `to`, running the timers due on the way. */
function advance(scheduler: TestScheduler, to: number): void {
  scheduler.maxFrames = to;
  scheduler.flush();
  scheduler.frame = to;
}

function feedTimed<T, R>(make: (scheduler: TestScheduler) => OperatorFunction<T, R>, input: ReadonlyArray<Timed<T>>, complete: boolean): Run<R> & { readonly unsubscribe: () => void } {
  const scheduler = new TestScheduler(() => {});
  const source = new Subject<T>();
  const output: R[] = [];
  const errors: unknown[] = [];
  let completed = false;
  const subscription = source.pipe(make(scheduler)).subscribe({ next: (value) => output.push(value), error: (error: unknown) => errors.push(error), complete: () => (completed = true) });
  let now = 0;
  for (const { element, gap } of input) {
    advance(scheduler, (now += gap));
    source.next(element);
  }
  if (complete) source.complete();
  return { output, errors, get completed() { return completed; }, unsubscribe: () => subscription.unsubscribe() };
}

/**
 * `runCut` on virtual time: elements arrive `gap` ms apart (timers due in between run first);
 * the restored run has a new clock starting at 0, and the first element after the cut keeps its gap.
 */
export function runCutTimed<T, R>(make: (scheduler: TestScheduler, state: StateSlot<never> | undefined) => OperatorFunction<T, R>, input: ReadonlyArray<Timed<T>>, k: number): CutRuns<R> {
  const whole = feedTimed((scheduler) => make(scheduler, undefined), input, true);
  const first = new PipelineState();
  const before = feedTimed((scheduler) => make(scheduler, first.slot<never>(SLOT)), input.slice(0, k), false);
  const saved = throughJson(first.snapshot());
  before.unsubscribe();
  const second = new PipelineState(saved);
  const after = feedTimed((scheduler) => make(scheduler, second.slot<never>(SLOT)), input.slice(k), true);
  return { whole, before, after, saved };
}
