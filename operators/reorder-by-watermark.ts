import { asyncScheduler, Observable, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { ConfigError, enumOption, functionOption, numberOption } from '../src/errors.js';
import { TimedHeap, type TimedEntry } from '../src/heap.js';

export interface ReorderByWatermarkOptions<T> {
  /** Event time of an element (ms). Required. */
  readonly eventTime: (element: T) => number;
  /**
   * The disorder bound (ms), 0 to 86,400,000: the watermark is the largest event time seen minus
   * this, and an element is released once its event time is at or behind the watermark.
   */
  readonly maxOutOfOrderMs: number;
  /** One watermark per key (e.g. per device), so one slow device does not make another one late. Default: one for the stream. */
  readonly key?: (element: T) => string;
  /**
   * After this long without input for a key (processing time, ms), release what that key holds and
   * move its watermark to its largest event time. Default: never (only completion releases).
   */
  readonly idleTimeoutMs?: number;
  /** Elements at or behind the watermark when they arrive: `'drop'` (default) or `'emit'` them as they come. Counted either way. */
  readonly late?: 'drop' | 'emit';
  /** Called with every late element (dropped or emitted). */
  readonly onLate?: (element: T) => void;
  /**
   * Most elements held at once, 1 to 100,000,000 (default 1,000,000). Beyond it the earliest element of the
   * key that has been quiet longest is released early (counted as `forcedReleases`); its watermark moves up to it.
   */
  readonly maxBuffered?: number;
  /** Scheduler for the idle timer (default `asyncScheduler`). */
  readonly scheduler?: SchedulerLike;
}

/** Counters of a `reorderByWatermark` operator, summed over its subscriptions. */
export interface ReorderStats {
  /** Elements released in order (watermark, idle, forced or completion). */
  released: number;
  /** Elements at or behind the watermark on arrival. */
  late: number;
  /** Elements released before the watermark reached them because `maxBuffered` was exceeded. */
  forcedReleases: number;
  /** Elements released because their key went quiet for `idleTimeoutMs`. */
  idleReleases: number;
  /** Elements held right now. */
  buffered: number;
}

export type ReorderByWatermarkOperator<T> = OperatorFunction<T, T> & { readonly stats: ReorderStats };

interface KeyState<T> {
  readonly key: string;
  /** Largest event time seen for the key. */
  maxTime: number;
  /** Elements at or behind this are released (and late when they arrive). */
  watermark: number;
  readonly heap: TimedHeap<T>;
  /** Processing time of the key's last arrival, for the idle rule. */
  lastArrival: number;
}

/**
 * Puts out-of-order elements back into event-time order using a watermark: the largest event
 * time seen minus `maxOutOfOrderMs`. Elements wait in a heap until the watermark passes them and
 * come out ordered by event time (ties in arrival order), per key when `key` is given. Late
 * elements are dropped or emitted, and always counted. Completion releases everything held, in
 * event-time order across keys; unsubscription clears the buffers and the timer.
 */
export function reorderByWatermark<T>(options: ReorderByWatermarkOptions<T>): ReorderByWatermarkOperator<T> {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'an object', options);
  const eventTime = functionOption<(element: T) => number>('eventTime', options.eventTime, true) as (element: T) => number;
  const maxOutOfOrderMs = numberOption('maxOutOfOrderMs', options.maxOutOfOrderMs, undefined, { min: 0, max: 86_400_000, integer: false });
  const keyOf = functionOption<(element: T) => string>('key', options.key, false);
  const idleTimeoutMs = options.idleTimeoutMs === undefined ? undefined : numberOption('idleTimeoutMs', options.idleTimeoutMs, undefined, { min: 1, max: 86_400_000 });
  const lateMode = enumOption('late', options.late, ['drop', 'emit'], 'drop');
  const onLate = functionOption<(element: T) => void>('onLate', options.onLate, false);
  const maxBuffered = numberOption('maxBuffered', options.maxBuffered, 1_000_000, { min: 1, max: 100_000_000 });
  const scheduler = options.scheduler ?? asyncScheduler;
  const stats: ReorderStats = { released: 0, late: 0, forcedReleases: 0, idleReleases: 0, buffered: 0 };

  const operator = (source: Observable<T>): Observable<T> =>
    new Observable<T>((subscriber) => {
      const keys = new Map<string, KeyState<T>>();
      // Keys holding elements, least recently active first (a Map keeps insertion order; a key is re-inserted on arrival).
      const holding = new Map<string, KeyState<T>>();
      let buffered = 0;
      let seq = 0;
      let timer: Subscription | null = null;
      let timerDue = Infinity;

      const release = (entry: TimedEntry<T>): void => {
        buffered--;
        stats.buffered--;
        stats.released++;
        subscriber.next(entry.value);
      };

      const releaseUpTo = (state: KeyState<T>): void => {
        const heap = state.heap;
        let top = heap.peek();
        while (top !== undefined && top.time <= state.watermark) {
          heap.pop();
          release(top);
          top = heap.peek();
        }
        if (heap.size === 0) holding.delete(state.key);
      };

      const releaseAll = (state: KeyState<T>): number => {
        let n = 0;
        for (let entry = state.heap.pop(); entry !== undefined; entry = state.heap.pop()) {
          if (entry.time > state.watermark) state.watermark = entry.time;
          release(entry);
          n++;
        }
        holding.delete(state.key);
        return n;
      };

      const onIdle = (): void => {
        timer = null;
        timerDue = Infinity;
        if (idleTimeoutMs === undefined) return;
        const now = scheduler.now();
        for (const state of holding.values()) {
          if (state.lastArrival + idleTimeoutMs > now) break;
          stats.idleReleases += releaseAll(state);
        }
        armIdleTimer();
      };

      const armIdleTimer = (): void => {
        if (idleTimeoutMs === undefined) return;
        const oldest = holding.values().next();
        if (oldest.done) return;
        const due = oldest.value.lastArrival + idleTimeoutMs;
        // Arrivals only move keys later, so a timer already due earlier fires, finds nothing, and re-arms.
        if (timer !== null && timerDue <= due) return;
        timer?.unsubscribe();
        timerDue = due;
        timer = scheduler.schedule(onIdle, Math.max(0, due - scheduler.now()));
      };

      const subscription = source.subscribe({
        next(element) {
          const time = eventTime(element);
          const key = keyOf === undefined ? '' : keyOf(element);
          let state = keys.get(key);
          if (state === undefined) {
            state = { key, maxTime: -Infinity, watermark: -Infinity, heap: new TimedHeap<T>(), lastArrival: 0 };
            keys.set(key, state);
          }
          // NaN compares false with everything: treat it as late rather than letting it jam the heap.
          if (!(time > state.watermark)) {
            stats.late++;
            onLate?.(element);
            if (lateMode === 'emit') subscriber.next(element);
            return;
          }
          state.heap.push({ time, seq: seq++, value: element });
          buffered++;
          stats.buffered++;
          if (idleTimeoutMs !== undefined) state.lastArrival = scheduler.now();
          holding.delete(key);
          holding.set(key, state);
          if (time > state.maxTime) {
            state.maxTime = time;
            const watermark = time - maxOutOfOrderMs;
            if (watermark > state.watermark) state.watermark = watermark;
          }
          releaseUpTo(state);
          while (buffered > maxBuffered) {
            const quiet = holding.values().next().value as KeyState<T>;
            const entry = quiet.heap.pop() as TimedEntry<T>;
            if (entry.time > quiet.watermark) quiet.watermark = entry.time;
            stats.forcedReleases++;
            release(entry);
            releaseUpTo(quiet);
          }
          armIdleTimer();
        },
        error(error: unknown) {
          subscriber.error(error);
        },
        complete() {
          timer?.unsubscribe();
          timer = null;
          // Everything left, in event-time order across keys (arrival order on ties).
          const rest: TimedEntry<T>[] = [];
          for (const state of holding.values()) rest.push(...state.heap.drain());
          holding.clear();
          rest.sort((a, b) => a.time - b.time || a.seq - b.seq);
          for (const entry of rest) {
            if (subscriber.closed) break;
            release(entry);
          }
          subscriber.complete();
        },
      });

      return () => {
        subscription.unsubscribe();
        timer?.unsubscribe();
        timer = null;
        stats.buffered -= buffered;
        buffered = 0;
        for (const state of holding.values()) state.heap.clear();
        holding.clear();
        keys.clear();
      };
    });

  return Object.assign(operator, { stats });
}
