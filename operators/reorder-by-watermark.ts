import { asyncScheduler, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { ConfigError } from '../src/core/errors.js';
import { enumOption, functionOption, numberOption } from '../src/core/options.js';
import type { StateSlot } from '../src/durable/pipeline-state.js';
import { operate } from './internal/operate.js';
import { KeyState } from './internal/reorder-key-state.js';
import { loadReorder, REORDER_COUNTERS, REORDER_STATE, saveReorderKey, type SavedReorder, type SavedReorderKey } from './internal/reorder-state.js';
import { saveNumber, stateOption, takeRestored } from './internal/state-codec.js';
import { releaseInOrder } from './internal/release-in-order.js';
import { WatermarkHeap } from './internal/watermark-heap.js';

export interface ReorderByWatermarkOptions<T> {
  /** Event time of an element (ms). Required. An element whose event time is not a finite number is dropped as invalid. */
  readonly eventTime: (element: T) => number;
  /**
   * The disorder bound (ms), 0 to 86,400,000. The watermark is the largest event time seen minus
   * this; an element is released once its event time is strictly behind the watermark, and an
   * element that arrives strictly behind it is late. So an element delayed by at most this much
   * (relative to the newest element seen before it) is never late.
   */
  readonly maxOutOfOrderMs: number;
  /** One watermark per key (e.g. per device), so one slow device does not make another one late. Default: one for the stream. */
  readonly key?: (element: T) => string;
  /**
   * After this long without an accepted element for a key (processing time, ms), release
   * everything that key holds and move its watermark up to its largest event time. 1 to
   * 86,400,000. Default: never (only the watermark, `maxBuffered` and completion release).
   */
  readonly idleTimeoutMs?: number;
  /** Elements behind the watermark when they arrive: `'drop'` (default) or `'emit'` them as they come (out of order). Counted either way. */
  readonly late?: 'drop' | 'emit';
  /** Called with every late element (dropped or emitted). */
  readonly onLate?: (element: T) => void;
  /** Called with every element dropped because its event time is not a finite number. */
  readonly onInvalid?: (element: T) => void;
  /**
   * Most elements held at once, 1 to 100,000,000 (default 1,000,000). Beyond it the earliest
   * element of the key that has been quiet longest is released early (counted in
   * `forcedReleases`), and that key's watermark moves up to it, so what arrives behind it later is late.
   */
  readonly maxBuffered?: number;
  /** Scheduler for the idle timer and processing time (default `asyncScheduler`). */
  readonly scheduler?: SchedulerLike;
  /**
   * Checkpoint this operator's state in a pipeline's state (`PipelineState.slot(name)`). A
   * subscription starts from the state restored for the slot, if any, and a checkpoint saves
   * every key's watermark and the elements held, as they are: the elements must survive
   * `JSON.stringify` / `JSON.parse` unchanged (plain data, no `Date`, `Map` or class instances).
   * A key's quiet time for `idleTimeoutMs` continues from what it was when saved (time down does
   * not count). The `stats` counters continue from the checkpoint. Default: no checkpoints.
   */
  readonly state?: StateSlot<SavedReorder>;
}

/** Counters of a `reorderByWatermark` operator, summed over its subscriptions. */
export interface ReorderStats {
  /** Elements released in order (watermark, idle, forced or completion). */
  released: number;
  /** Elements behind the watermark on arrival (dropped or, with `late: 'emit'`, emitted). */
  late: number;
  /** Elements dropped because their event time was not a finite number. */
  invalid: number;
  /** Elements released before the watermark reached them because `maxBuffered` was exceeded. */
  forcedReleases: number;
  /** Elements released because their key went quiet for `idleTimeoutMs`. */
  idleReleases: number;
  /** Elements held right now. */
  buffered: number;
}

export type ReorderByWatermarkOperator<T> = OperatorFunction<T, T> & {
  readonly stats: ReorderStats;
  /**
   * The output watermark: no element emitted from now on has an event time below it (late
   * elements under `late: 'emit'` excepted). It is the smallest watermark among the keys, so a
   * window downstream may close on it even though the keys' outputs interleave
   * (`tumblingWindow({ watermark: thisOperator })`). A key that appears, or comes back after
   * `idleTimeoutMs`, starts at this watermark (what it brings from behind it is late), and a key
   * released as idle stops holding it back. Reading it the first time starts the bookkeeping
   * (a heap of keys); an operator whose watermark is never read pays nothing for it.
   * With several subscriptions: the smallest of theirs. -Infinity while none is subscribed.
   */
  readonly watermark: number;
};

/**
 * Puts out-of-order elements back into event-time order with a watermark: the largest event
 * time seen (per key when `key` is given) minus `maxOutOfOrderMs`. Elements wait in a min-heap
 * until the watermark passes them and come out ordered by event time, ties in arrival order.
 * Elements behind the watermark on arrival are late: dropped or emitted, and always counted.
 *
 * Memory is bounded by `maxBuffered`; a quiet key is released after `idleTimeoutMs` (one timer
 * for all keys, armed only while something is held). Completion releases everything held in
 * event-time order (across keys), then completes; unsubscription clears buffers and the timer.
 * A key's watermark is remembered for as long as the subscription lives.
 */
export function reorderByWatermark<T>(options: ReorderByWatermarkOptions<T>): ReorderByWatermarkOperator<T> {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'an object', options);
  const eventTime = functionOption<(element: T) => number>('eventTime', options.eventTime, true) as (element: T) => number;
  const maxOutOfOrderMs = numberOption('maxOutOfOrderMs', options.maxOutOfOrderMs, undefined, { min: 0, max: 86_400_000, integer: false });
  const keyOf = functionOption<(element: T) => string>('key', options.key, false);
  const idleTimeoutMs = options.idleTimeoutMs === undefined ? undefined : numberOption('idleTimeoutMs', options.idleTimeoutMs, undefined, { min: 1, max: 86_400_000 });
  const lateMode = enumOption('late', options.late, ['drop', 'emit'], 'drop');
  const onLate = functionOption<(element: T) => void>('onLate', options.onLate, false);
  const onInvalid = functionOption<(element: T) => void>('onInvalid', options.onInvalid, false);
  const maxBuffered = numberOption('maxBuffered', options.maxBuffered, 1_000_000, { min: 1, max: 100_000_000 });
  const scheduler = options.scheduler ?? asyncScheduler;
  const slot = stateOption<SavedReorder>(options.state);
  const emitLate = lateMode === 'emit';
  const stats: ReorderStats = { released: 0, late: 0, invalid: 0, forcedReleases: 0, idleReleases: 0, buffered: 0 };

  // Subscriptions' output watermarks, for `watermark`; the bookkeeping starts when it is first read.
  const live: Array<{ published: number; track(): void }> = [];
  let watched = false;

  const operator = operate<T, T>(({ destination, schedule }) => {
    const keys = new Map<string, KeyState<T>>();
    // Without `key` the whole stream is one key and needs no lookup.
    const single = keyOf === undefined ? new KeyState<T>() : null;
    // Read before anything is registered: a state that does not fit errors the stream here.
    const restored = slot === undefined ? undefined : takeRestored(slot, REORDER_STATE.operator, REORDER_STATE.version, (saved) => loadReorder<T>(saved, single));
    // Keys holding elements, least recently active first.
    let head: KeyState<T> | null = null;
    let tail: KeyState<T> | null = null;
    let buffered = 0;
    let seq = 0;
    let timer: Subscription | null = null;
    // When the idle timer fires, for checkpoints (it may fire early and publish the watermark on the way).
    let timerDue = 0;
    // The output watermark, when tracked: the smallest watermark among the active keys, published
    // only once what it passed has been released (a window downstream reads it between elements).
    let tracking = false;
    const heap = new WatermarkHeap<KeyState<T>>();
    const output = {
      published: -Infinity,
      track(): void {
        if (tracking) return;
        tracking = true;
        if (single !== null) heap.insert(single);
        else for (const state of keys.values()) if (!state.idle) heap.insert(state);
        // Not published yet: this may run while a key is releasing elements behind its watermark.
      },
    };
    const publish = (): void => {
      const min = heap.min();
      if (min !== Infinity && min > output.published) output.published = min;
    };
    const detach = slot?.attach({ snapshot: () => save() });
    live.push(output);

    const unlink = (state: KeyState<T>): void => {
      if (!state.linked) return;
      if (state.prev === null) head = state.next;
      else state.prev.next = state.next;
      if (state.next === null) tail = state.prev;
      else state.next.prev = state.prev;
      state.prev = state.next = null;
      state.linked = false;
    };

    const append = (state: KeyState<T>): void => {
      state.prev = tail;
      if (tail === null) head = state;
      else tail.next = state;
      tail = state;
      state.linked = true;
    };

    const releaseTop = (state: KeyState<T>): void => {
      const value = state.pop();
      buffered--;
      stats.buffered--;
      stats.released++;
      destination.next(value);
    };

    /** Releases what the key's watermark has passed. */
    const releaseReady = (state: KeyState<T>): void => {
      const times = state.times;
      while (times.length > 0 && times[0] < state.watermark) releaseTop(state);
      if (times.length === 0) unlink(state);
    };

    /** Releases everything the key holds (idle); its watermark moves up to its newest element. */
    const releaseAll = (state: KeyState<T>): void => {
      unlink(state);
      if (state.maxTime > state.watermark) state.watermark = state.maxTime;
      while (state.times.length > 0 && !destination.closed) {
        stats.idleReleases++;
        releaseTop(state);
      }
      // An idle key no longer holds the output watermark back.
      state.idle = true;
      if (tracking) heap.remove(state);
    };

    const onIdle = (): void => {
      timer = null;
      const timeout = idleTimeoutMs as number;
      const now = scheduler.now();
      while (head !== null && head.lastArrival + timeout <= now && !destination.closed) releaseAll(head);
      if (tracking) publish();
      armIdleTimer();
    };

    // One timer for all keys, due when the least recently active key goes quiet. Arrivals only
    // make keys later, so a timer already set fires early at worst, finds nothing, and re-arms.
    const armIdleTimer = (): void => {
      if (head === null || destination.closed) return;
      const delay = head.lastArrival + (idleTimeoutMs as number) - scheduler.now();
      timer = schedule(scheduler, onIdle, delay > 0 ? delay : 0);
      timerDue = scheduler.now() + (delay > 0 ? delay : 0);
    };

    const save = (): SavedReorder => {
      const now = idleTimeoutMs === undefined ? 0 : scheduler.now();
      const quietMs = (state: KeyState<T>): number => (idleTimeoutMs === undefined ? 0 : Math.max(0, now - state.lastArrival));
      const saved: SavedReorderKey[] = [];
      // Keys holding elements in list order (least recently active first), then the others.
      const names = new Map<KeyState<T>, string>();
      for (const [key, state] of keys) names.set(state, key);
      for (let state = head; state !== null; state = state.next) saved.push(saveReorderKey(single === null ? (names.get(state) as string) : null, state, quietMs(state)));
      if (single !== null && !single.linked) saved.push(saveReorderKey(null, single, quietMs(single)));
      for (const [key, state] of keys) if (!state.linked) saved.push(saveReorderKey(key, state, quietMs(state)));
      const counters = {} as SavedReorder['counters'];
      for (const name of REORDER_COUNTERS) counters[name] = stats[name];
      const idleTimerMs = timer === null ? null : Math.max(0, timerDue - now);
      return { ...REORDER_STATE, keyed: single === null, seq, idleTimerMs, published: saveNumber(output.published), tracking, keys: saved, counters };
    };

    if (restored !== undefined) {
      const now = scheduler.now();
      for (const { key, state, quietMs } of restored.keys) {
        if (key !== null) keys.set(key, state);
        state.lastArrival = now - quietMs;
        if (state.times.length > 0) append(state);
        buffered += state.times.length;
      }
      stats.buffered += buffered;
      for (const name of REORDER_COUNTERS) stats[name] += restored.counters[name];
      seq = restored.seq;
      output.published = restored.published;
      // Tracked before: new keys are held to the published watermark as in an uninterrupted run.
      if (restored.tracking) watched = true;
    }
    if (watched) output.track();
    if (restored !== undefined && idleTimeoutMs !== undefined) {
      if (restored.idleTimerMs === null) armIdleTimer();
      else {
        timer = schedule(scheduler, onIdle, restored.idleTimerMs);
        timerDue = scheduler.now() + restored.idleTimerMs;
      }
    }

    return {
      next(element) {
        const time = eventTime(element);
        if (typeof time !== 'number' || !Number.isFinite(time)) {
          stats.invalid++;
          onInvalid?.(element);
          return;
        }
        let state: KeyState<T>;
        if (single !== null) state = single;
        else {
          const key = (keyOf as (element: T) => string)(element);
          let found = keys.get(key);
          if (found === undefined) keys.set(key, (found = new KeyState<T>()));
          state = found;
        }
        state.idle = false;
        if (tracking && state.heapIndex < 0) {
          // A new key, or one back from idle: held to the output watermark already published.
          if (state.watermark < output.published) state.watermark = output.published;
          heap.insert(state);
        }
        if (time < state.watermark) {
          stats.late++;
          onLate?.(element);
          if (emitLate) destination.next(element);
          return;
        }
        state.push(time, seq++, element);
        buffered++;
        stats.buffered++;
        if (idleTimeoutMs !== undefined) state.lastArrival = scheduler.now();
        if (state !== tail) {
          unlink(state);
          append(state);
        }
        if (time > state.maxTime) {
          state.maxTime = time;
          const watermark = time - maxOutOfOrderMs;
          if (watermark > state.watermark) {
            state.watermark = watermark;
            if (tracking) heap.raised(state);
            releaseReady(state);
          }
        }
        // Over the bound: the quietest key gives up its earliest element, and its watermark
        // moves up to it so that nothing released later from that key can be older.
        while (buffered > maxBuffered && head !== null) {
          const quiet: KeyState<T> = head;
          const forcedTime = quiet.times[0];
          if (forcedTime > quiet.watermark) {
            quiet.watermark = forcedTime;
            if (tracking) heap.raised(quiet);
          }
          stats.forcedReleases++;
          releaseTop(quiet);
          if (quiet.times.length === 0) unlink(quiet);
        }
        if (tracking) publish();
        if (idleTimeoutMs !== undefined && timer === null) armIdleTimer();
      },
      complete() {
        timer?.unsubscribe();
        timer = null;
        // Everything left, in event-time order across keys (arrival order on ties).
        const holding: Array<KeyState<T>> = [];
        for (let state = head; state !== null; state = state.next) holding.push(state);
        releaseInOrder(holding, (state) => {
          releaseTop(state);
          return !destination.closed;
        });
        if (!destination.closed) destination.complete();
      },
      finalize() {
        detach?.();
        live.splice(live.indexOf(output), 1);
        timer = null;
        stats.buffered -= buffered;
        buffered = 0;
        for (let state = head; state !== null; ) {
          const next: KeyState<T> | null = state.next;
          state.clear();
          state.prev = state.next = null;
          state.linked = false;
          state = next;
        }
        head = tail = null;
        single?.clear();
        keys.clear();
        heap.clear();
      },
    };
  });

  return Object.defineProperties(operator, {
    stats: { value: stats, enumerable: true },
    watermark: {
      enumerable: true,
      get(): number {
        if (!watched) {
          watched = true;
          for (const output of live) output.track();
        }
        if (live.length === 0) return -Infinity;
        let min = live[0].published;
        for (let i = 1; i < live.length; i++) if (live[i].published < min) min = live[i].published;
        return min;
      },
    },
  }) as ReorderByWatermarkOperator<T>;
}
