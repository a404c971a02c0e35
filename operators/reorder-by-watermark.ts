import { asyncScheduler, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { ConfigError } from '../src/core/errors.js';
import { enumOption, functionOption, numberOption, schedulerOption } from '../src/core/options.js';
import type { StateSlot } from '../src/durable/pipeline-state.js';
import { operate } from './internal/operate.js';
import { KeyTable, type StateKey } from './internal/key-table.js';
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
  /**
   * One watermark per key (e.g. per device), so one slow device does not make another one late.
   * A string, or a number: a small whole number (0 to 4,194,303, e.g. a device's index in a
   * registry) is found in an array slot, without hashing a string, which pays with many keys.
   * A checkpoint names a key by its value, so a number key must mean the same key after a
   * restart. A key that is a number but not finite makes the element invalid. Default: one for the stream.
   */
  readonly key?: (element: T) => StateKey;
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
  /** Called with every element dropped because its event time, or a `key` that is a number, is not a finite number. */
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
  /** Elements dropped because their event time, or a number key, was not a finite number. */
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
  const keyOf = functionOption<(element: T) => StateKey>('key', options.key, false);
  const idleTimeoutMs = options.idleTimeoutMs === undefined ? undefined : numberOption('idleTimeoutMs', options.idleTimeoutMs, undefined, { min: 1, max: 86_400_000 });
  const lateMode = enumOption('late', options.late, ['drop', 'emit'], 'drop');
  const onLate = functionOption<(element: T) => void>('onLate', options.onLate, false);
  const onInvalid = functionOption<(element: T) => void>('onInvalid', options.onInvalid, false);
  const maxBuffered = numberOption('maxBuffered', options.maxBuffered, 1_000_000, { min: 1, max: 100_000_000 });
  const scheduler = schedulerOption(options.scheduler, asyncScheduler);
  const slot = stateOption<SavedReorder>(options.state);
  const emitLate = lateMode === 'emit';
  const stats: ReorderStats = { released: 0, late: 0, invalid: 0, forcedReleases: 0, idleReleases: 0, buffered: 0 };

  // Subscriptions' output watermarks, for `watermark`; the bookkeeping starts when it is first read.
  const live: Array<{ published: number; track(): void }> = [];
  let watched = false;

  const operator = operate<T, T>(({ destination, schedule }) => {
    const keys = new KeyTable<KeyState<T>>();
    // Without `key` the whole stream is one key and needs no lookup.
    const single = keyOf === undefined ? new KeyState<T>() : null;
    // Read before anything is registered: a state that does not fit errors the stream here.
    const restored = slot === undefined ? undefined : takeRestored(slot, REORDER_STATE.operator, REORDER_STATE.version, (saved) => loadReorder<T>(saved, single));
    // Keys holding elements (unordered: joining and leaving touch no other key).
    const holding: Array<KeyState<T>> = [];
    // Least recently active first, found without moving anything per element: a key is stamped
    // when it accepts an element, and the holding keys are sorted by stamp only when a forced or
    // idle release needs the quietest. A key stamped since the sort is more recent than every key
    // left in it and is skipped; an exhausted queue is sorted anew. (A list kept in recency order
    // relinked two other keys per element: cold memory with thousands of keys.)
    let recency = 0;
    let queue: Array<KeyState<T>> = [];
    let queueHead = 0;
    let queueSortedAt = 0;
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
        if (single !== null) {
          heap.insert(single);
          watchEmpty(single);
        } else
          keys.forEach((state) => {
            if (state.idle) return;
            heap.insert(state);
            watchEmpty(state);
          });
        // Not published yet: this may run while a key is releasing elements behind its watermark.
      },
    };
    // Elements going out right now: an element fed back from downstream meanwhile must not publish
    // the watermark, as the release under way may still hold elements behind it (it publishes after).
    let releasing = 0;
    const publish = (): void => {
      if (releasing > 0) return;
      const min = heap.min();
      if (min !== Infinity && min > output.published) output.published = min;
    };
    // Keys in the output watermark's heap that hold nothing: emptied by a forced release, or new
    // (or back from idle) with only late elements. The idle rule, which releases what a key holds,
    // never meets them, yet their watermark holds the output one back: once quiet for
    // idleTimeoutMs they stop holding it back, as a key released as idle does.
    const empty = new Set<KeyState<T>>();
    const watchEmpty = (state: KeyState<T>): void => {
      if (idleTimeoutMs === undefined || !tracking || state.times.length > 0 || state.idle || empty.has(state)) return;
      empty.add(state);
      if (timer === null && !destination.closed) armIdleTimer();
    };
    const detach = slot?.attach({ snapshot: () => save() });
    live.push(output);

    const hold = (state: KeyState<T>): void => {
      state.holdingIndex = holding.length;
      holding.push(state);
    };

    const unhold = (state: KeyState<T>): void => {
      const i = state.holdingIndex;
      if (i < 0) return;
      const last = holding.pop() as KeyState<T>;
      if (last !== state) {
        holding[i] = last;
        last.holdingIndex = i;
      }
      state.holdingIndex = -1;
    };

    const byRecency = (): Array<KeyState<T>> => holding.slice().sort((a, b) => a.stamp - b.stamp);

    /** The holding key least recently active, null when none holds anything. */
    const quietest = (): KeyState<T> | null => {
      if (holding.length === 0) return null;
      for (;;) {
        while (queueHead < queue.length) {
          const state = queue[queueHead];
          if (state.holdingIndex >= 0 && state.stamp <= queueSortedAt) return state;
          queueHead++;
        }
        queue = byRecency();
        queueHead = 0;
        queueSortedAt = recency;
      }
    };

    const releaseTop = (state: KeyState<T>): void => {
      const value = state.pop();
      buffered--;
      stats.buffered--;
      stats.released++;
      // Emptied keys leave the holding ones before the element goes out: an element fed back
      // from downstream may force a release, which must not find this key with nothing in it.
      if (state.times.length === 0) unhold(state);
      releasing++;
      try {
        destination.next(value);
      } finally {
        releasing--;
      }
    };

    /** Releases what the key's watermark has passed. */
    const releaseReady = (state: KeyState<T>): void => {
      const times = state.times;
      while (times.length > 0 && times[0] < state.watermark) releaseTop(state);
      if (times.length === 0) unhold(state);
    };

    /** Releases everything the key holds (idle); its watermark moves up to its newest element. */
    const releaseAll = (state: KeyState<T>): void => {
      unhold(state);
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
      for (let state = quietest(); state !== null && state.lastArrival + timeout <= now && !destination.closed; state = quietest()) releaseAll(state);
      for (const state of empty) {
        if (state.holdingIndex >= 0 || state.idle) empty.delete(state);
        else if (state.lastArrival + timeout <= now) {
          empty.delete(state);
          releaseAll(state);
        }
      }
      if (tracking) publish();
      armIdleTimer();
    };

    // One timer for all keys, due when the least recently active key goes quiet. Arrivals only
    // make keys later, so a timer already set fires early at worst, finds nothing, and re-arms.
    const armIdleTimer = (): void => {
      // An element fed back from downstream during an idle release may have armed one already.
      timer?.unsubscribe();
      timer = null;
      if (destination.closed) return;
      const head = quietest();
      let quietSince = head === null ? Infinity : head.lastArrival;
      for (const state of empty) {
        // One holding elements again is the idle rule's again.
        if (state.holdingIndex >= 0 || state.idle) empty.delete(state);
        else if (state.lastArrival < quietSince) quietSince = state.lastArrival;
      }
      if (quietSince === Infinity) return;
      const delay = quietSince + (idleTimeoutMs as number) - scheduler.now();
      timer = schedule(scheduler, onIdle, delay > 0 ? delay : 0);
      timerDue = scheduler.now() + (delay > 0 ? delay : 0);
    };

    const save = (): SavedReorder => {
      const now = idleTimeoutMs === undefined ? 0 : scheduler.now();
      const quietMs = (state: KeyState<T>): number => (idleTimeoutMs === undefined ? 0 : Math.max(0, now - state.lastArrival));
      const saved: SavedReorderKey[] = [];
      // Keys holding elements, least recently active first, then the others.
      const names = new Map<KeyState<T>, StateKey>();
      keys.forEach((state, key) => void names.set(state, key));
      for (const state of byRecency()) saved.push(saveReorderKey(single === null ? (names.get(state) as StateKey) : null, state, quietMs(state)));
      if (single !== null && single.holdingIndex < 0) saved.push(saveReorderKey(null, single, quietMs(single)));
      keys.forEach((state, key) => {
        if (state.holdingIndex < 0) saved.push(saveReorderKey(key, state, quietMs(state)));
      });
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
        state.stamp = ++recency;
        if (state.times.length > 0) hold(state);
        buffered += state.times.length;
      }
      stats.buffered += buffered;
      for (const name of REORDER_COUNTERS) stats[name] += restored.counters[name];
      seq = restored.seq;
      output.published = restored.published;
      // Tracked before: new keys are held to the published watermark as in an uninterrupted run.
      if (restored.tracking) watched = true;
    }
    if (restored !== undefined && idleTimeoutMs !== undefined) {
      if (restored.idleTimerMs === null) armIdleTimer();
      else {
        timer = schedule(scheduler, onIdle, restored.idleTimerMs);
        timerDue = scheduler.now() + restored.idleTimerMs;
      }
    }
    // After the restored timer: keys holding nothing arm one only when none is.
    if (watched) output.track();

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
          const key = (keyOf as (element: T) => StateKey)(element);
          if (typeof key === 'number' && !Number.isFinite(key)) {
            stats.invalid++;
            onInvalid?.(element);
            return;
          }
          let found = keys.get(key);
          if (found === undefined) keys.set(key, (found = new KeyState<T>()));
          state = found;
        }
        state.idle = false;
        if (tracking && state.heapEntry < 0) {
          // A new key, or one back from idle: held to the output watermark already published.
          if (state.watermark < output.published) state.watermark = output.published;
          heap.insert(state);
          // Its quiet time starts now, even if this element is late and it accepts nothing.
          if (idleTimeoutMs !== undefined) state.lastArrival = scheduler.now();
        }
        if (time < state.watermark) {
          stats.late++;
          if (tracking && state.holdingIndex < 0) watchEmpty(state);
          onLate?.(element);
          if (emitLate) destination.next(element);
          return;
        }
        state.push(time, seq++, element);
        buffered++;
        stats.buffered++;
        if (idleTimeoutMs !== undefined) state.lastArrival = scheduler.now();
        state.stamp = ++recency;
        if (state.holdingIndex < 0) hold(state);
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
        while (buffered > maxBuffered) {
          const quiet = quietest();
          if (quiet === null) break;
          const forcedTime = quiet.times[0];
          if (forcedTime > quiet.watermark) {
            quiet.watermark = forcedTime;
            if (tracking) heap.raised(quiet);
          }
          stats.forcedReleases++;
          releaseTop(quiet);
          if (quiet.times.length === 0) {
            unhold(quiet);
            watchEmpty(quiet);
          }
        }
        if (tracking) publish();
        if (idleTimeoutMs !== undefined && timer === null) armIdleTimer();
      },
      complete() {
        timer?.unsubscribe();
        timer = null;
        // Everything left, in event-time order across keys (arrival order on ties).
        releaseInOrder(holding.slice(), (state) => {
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
        for (const state of holding) {
          state.clear();
          state.holdingIndex = -1;
        }
        holding.length = 0;
        queue = [];
        empty.clear();
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
