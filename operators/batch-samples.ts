import { asyncScheduler, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { operate } from './internal/operate.js';
import { ConfigError } from '../src/core/errors.js';
import { numberOption, schedulerOption } from '../src/core/options.js';

export interface BatchSamplesOptions {
  /** Emit as soon as a batch holds this many samples. 1 to 1,000,000. */
  readonly maxSamples: number;
  /** Emit a batch once its oldest sample has waited this long (ms). 0 to 3,600,000. */
  readonly maxDelayMs: number;
  /** Scheduler for the delay timer (default `asyncScheduler`; tests pass a `TestScheduler`). */
  readonly scheduler?: SchedulerLike;
}

/**
 * Collects samples into batches: `bufferCount` and `bufferTime` in one, counted in samples.
 * A batch is emitted when it is full or when its oldest sample has waited `maxDelayMs`; never
 * an empty batch; what is left is emitted when the source completes. The timer runs only while
 * a batch is open, so an idle stream costs nothing.
 */
export function batchSamples<T>(options: BatchSamplesOptions): OperatorFunction<T, T[]> {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'an object', options);
  const maxSamples = numberOption('maxSamples', options.maxSamples, undefined, { min: 1, max: 1_000_000 });
  const maxDelayMs = numberOption('maxDelayMs', options.maxDelayMs, undefined, { min: 0, max: 3_600_000 });
  const scheduler = schedulerOption(options.scheduler, asyncScheduler);

  return operate<T, T[]>(({ destination, schedule }) => {
    let batch: T[] = [];
    let timer: Subscription | null = null;

    const emit = (): void => {
      timer?.unsubscribe();
      timer = null;
      if (batch.length === 0) return;
      const full = batch;
      batch = [];
      destination.next(full);
    };

    return {
      next(value) {
        batch.push(value);
        if (batch.length >= maxSamples) emit();
        else if (timer === null) timer = schedule(scheduler, emit, maxDelayMs);
      },
      error() {
        batch = [];
      },
      complete() {
        emit();
        destination.complete();
      },
      finalize() {
        timer = null;
        batch = [];
      },
    };
  });
}
