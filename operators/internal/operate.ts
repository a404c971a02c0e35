/**
 * The skeleton every operator in `operators/` is built on (the idea of RxJS 7's `operate` and
 * `createOperatorSubscriber`, written for our needs): an operator describes what one subscription
 * does with the source's events, and the skeleton makes the guarantees once for all of them.
 *
 * - State lives inside the subscription: `init` runs once per subscriber.
 * - A user callback that throws (an accessor, a drop callback, a join...) errors the output,
 *   wherever it runs: in `next`, on completion, in a timer, in a promise callback. It never
 *   escapes as an uncaught exception (RxJS reports a throw from a plain observer asynchronously,
 *   and the element is lost while the stream carries on).
 * - After the output has closed (error, completion, unsubscription), source events are ignored.
 * - `finalize` runs exactly once, when the output closes however it closes: it clears timers and
 *   buffers. Timers armed with `context.schedule` are cancelled before it runs.
 */
import { Observable, Subscriber, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';

/** What an operator's subscription may use. */
export interface OperatorContext<R> {
  /** The output. Emit with `destination.next`; check `destination.closed` in loops that emit. */
  readonly destination: Subscriber<R>;
  /** Runs `work`; a throw errors the output. For callbacks the skeleton does not call itself (promises, other subscriptions). */
  guard(work: () => void): void;
  /**
   * Arms a timer on `scheduler` whose work is guarded like `next`. Cancelled when the output
   * closes; cancel it earlier with the returned subscription.
   */
  schedule(scheduler: SchedulerLike, work: () => void, delay: number): Subscription;
}

/** What one subscription does with the source's events. Each runs guarded. */
export interface OperatorHooks<T> {
  next(value: T): void;
  /** On source completion. Default: complete the output. When given, it completes the output itself (now or later). */
  complete?(): void;
  /** On a source error, before it is forwarded to the output (e.g. to drop buffers). */
  error?(error: unknown): void;
  /** Runs once when the output closes (error, completion or unsubscription): clear buffers here. */
  finalize?(): void;
}

/** Errors the output unless it has closed already (then the error has nowhere to go, and rethrowing would escape). */
function fail(destination: Subscriber<unknown>, error: unknown): void {
  if (!destination.closed) destination.error(error);
}

/**
 * The subscriber handed to the source. Being a `Subscriber`, the source calls it directly: no
 * wrapping observer and no second try/catch per element, and one guarded call to the hook.
 */
class HookSubscriber<T, R> extends Subscriber<T> {
  constructor(
    private readonly output: Subscriber<R>,
    private readonly hooks: OperatorHooks<T>,
  ) {
    // No destination: the operator's teardown unsubscribes this; events go to the hooks.
    super();
  }

  protected override _next(value: T): void {
    // The output may close while the source is still emitting synchronously, before the teardown is registered.
    if (this.output.closed) return;
    try {
      this.hooks.next(value);
    } catch (error) {
      fail(this.output, error);
    }
  }

  // The source has ended: like any Subscriber, this one then unsubscribes (the source's teardown runs now,
  // even when the operator completes its output later).
  protected override _error(error: unknown): void {
    try {
      this.forwardError(error);
    } finally {
      this.unsubscribe();
    }
  }

  protected override _complete(): void {
    try {
      this.forwardComplete();
    } finally {
      this.unsubscribe();
    }
  }

  private forwardError(error: unknown): void {
    const output = this.output;
    if (output.closed) return;
    if (this.hooks.error !== undefined) {
      try {
        this.hooks.error(error);
      } catch (hookError) {
        return fail(output, hookError);
      }
    }
    output.error(error);
  }

  private forwardComplete(): void {
    const output = this.output;
    if (output.closed) return;
    if (this.hooks.complete === undefined) return output.complete();
    try {
      this.hooks.complete();
    } catch (error) {
      fail(output, error);
    }
  }
}

/** Builds an operator from what one subscription does. */
export function operate<T, R>(init: (context: OperatorContext<R>) => OperatorHooks<T>): OperatorFunction<T, R> {
  return (source) =>
    new Observable<R>((destination) => {
      const timers = new Set<Subscription>();
      const context: OperatorContext<R> = {
        destination,
        guard(work) {
          try {
            work();
          } catch (error) {
            fail(destination, error);
          }
        },
        schedule(scheduler, work, delay) {
          let timer: Subscription | undefined;
          const armed = scheduler.schedule(() => {
            if (timer !== undefined) timers.delete(timer);
            if (destination.closed) return;
            try {
              work();
            } catch (error) {
              fail(destination, error);
            }
          }, delay);
          // A scheduler may run the work synchronously (delay 0 on a queue scheduler): then it is done already.
          if (!armed.closed) timers.add((timer = armed));
          return armed;
        },
      };

      let hooks: OperatorHooks<T>;
      try {
        hooks = init(context);
      } catch (error) {
        destination.error(error);
        return undefined;
      }
      let finalized = false;
      const finalize = (): void => {
        if (finalized) return;
        finalized = true;
        for (const timer of timers) timer.unsubscribe();
        timers.clear();
        hooks.finalize?.();
      };
      // The setup may have closed the output already (a reference that failed synchronously).
      if (destination.closed) {
        finalize();
        return undefined;
      }
      const upstream = new HookSubscriber<T, R>(destination, hooks);
      source.subscribe(upstream);
      return () => {
        upstream.unsubscribe();
        finalize();
      };
    });
}
