/**
 * Test support for "a user callback that throws errors the stream, never escapes": a scheduler
 * that counts its live timers, and a runner that subscribes with real timers and records what
 * reaches each channel plus any uncaught exception meanwhile.
 */
import { asyncScheduler, type Observable, type SchedulerAction, type SchedulerLike, type Subscription } from 'rxjs';

export interface TrackingScheduler extends SchedulerLike {
  /** Timers armed and neither run nor cancelled. */
  readonly live: number;
  /** Timers armed so far. */
  readonly armed: number;
}

/** `asyncScheduler` (real time), counting timers. */
export function trackingScheduler(): TrackingScheduler {
  const active = new Set<Subscription>();
  let armed = 0;
  return {
    now: () => asyncScheduler.now(),
    schedule<S>(work: (this: SchedulerAction<S>, state?: S) => void, delay?: number, state?: S): Subscription {
      armed++;
      let timer: Subscription | undefined;
      timer = asyncScheduler.schedule<S>(function (this: SchedulerAction<S>, s?: S) {
        if (timer !== undefined) active.delete(timer);
        work.call(this, s);
      }, delay, state);
      active.add(timer);
      timer.add(() => active.delete(timer as Subscription));
      return timer;
    },
    get live() {
      return active.size;
    },
    get armed() {
      return armed;
    },
  };
}

export interface Run<T> {
  readonly values: T[];
  readonly error: unknown;
  readonly errored: boolean;
  readonly completed: boolean;
  /** Uncaught exceptions seen while the run lasted (and a little after, for rxjs' deferred reports). */
  readonly uncaught: unknown[];
}

/** Subscribes, waits for error or completion (at most `timeoutMs`), then a little longer for stray reports. */
export async function run<T>(observable: Observable<T>, timeoutMs = 2000): Promise<Run<T>> {
  const uncaught: unknown[] = [];
  const listener = (error: unknown): void => void uncaught.push(error);
  process.on('uncaughtException', listener);
  const values: T[] = [];
  let error: unknown;
  let errored = false;
  let completed = false;
  try {
    await new Promise<void>((resolve) => {
      const timeout = setTimeout(resolve, timeoutMs);
      observable.subscribe({
        next: (value) => void values.push(value),
        error: (e: unknown) => {
          error = e;
          errored = true;
          clearTimeout(timeout);
          resolve();
        },
        complete: () => {
          completed = true;
          clearTimeout(timeout);
          resolve();
        },
      });
    });
    // rxjs reports an error thrown by a plain observer on a later timer: give it the time to.
    await new Promise((resolve) => setTimeout(resolve, 30));
  } finally {
    process.off('uncaughtException', listener);
  }
  return { values, error, errored, completed, uncaught };
}

/** An Error to throw from a callback, recognisable by identity. */
export class Boom extends Error {
  constructor(where: string) {
    super(`boom in ${where}`);
  }
}

/** A callback that throws `boom` when `when(argument)` holds, and otherwise returns `otherwise(argument)`. */
export function throwingWhen<A extends unknown[], R>(boom: Boom, when: (...args: A) => boolean, otherwise: (...args: A) => R): (...args: A) => R {
  return (...args: A): R => {
    if (when(...args)) throw boom;
    return otherwise(...args);
  };
}
