import { asyncScheduler, Observable, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { ConfigError } from '../src/core/errors.js';
import { enumOption, functionOption, numberOption } from '../src/core/options.js';

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

export type ReorderByWatermarkOperator<T> = OperatorFunction<T, T> & { readonly stats: ReorderStats };

/**
 * One key's watermark and buffer. The buffer is a binary min-heap on (event time, arrival
 * sequence) kept as three parallel arrays, so holding an element allocates nothing of its own.
 * Keys holding elements are also in an intrusive list, least recently active first.
 */
class KeyState<T> {
  /** Largest event time accepted for the key. */
  maxTime = -Infinity;
  /** Elements strictly behind this are released on sight (and late when they arrive). */
  watermark = -Infinity;
  /** Processing time of the key's last accepted element, for the idle rule. */
  lastArrival = 0;
  readonly times: number[] = [];
  readonly seqs: number[] = [];
  readonly values: T[] = [];
  prev: KeyState<T> | null = null;
  next: KeyState<T> | null = null;
  linked = false;

  push(time: number, seq: number, value: T): void {
    const { times, seqs, values } = this;
    let i = times.length;
    times.push(time);
    seqs.push(seq);
    values.push(value);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pt = times[parent];
      if (pt < time || (pt === time && seqs[parent] < seq)) break;
      times[i] = pt;
      seqs[i] = seqs[parent];
      values[i] = values[parent];
      i = parent;
    }
    times[i] = time;
    seqs[i] = seq;
    values[i] = value;
  }

  /** Removes and returns the earliest element; the caller checks that there is one. */
  pop(): T {
    const { times, seqs, values } = this;
    const top = values[0];
    const lastTime = times.pop() as number;
    const lastSeq = seqs.pop() as number;
    const lastValue = values.pop() as T;
    const n = times.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && (times[right] < times[child] || (times[right] === times[child] && seqs[right] < seqs[child]))) child = right;
      const ct = times[child];
      if (lastTime < ct || (lastTime === ct && lastSeq < seqs[child])) break;
      times[i] = ct;
      seqs[i] = seqs[child];
      values[i] = values[child];
      i = child;
    }
    times[i] = lastTime;
    seqs[i] = lastSeq;
    values[i] = lastValue;
    return top;
  }

  clear(): void {
    this.times.length = 0;
    this.seqs.length = 0;
    this.values.length = 0;
  }
}

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
  const emitLate = lateMode === 'emit';
  const stats: ReorderStats = { released: 0, late: 0, invalid: 0, forcedReleases: 0, idleReleases: 0, buffered: 0 };

  const operator = (source: Observable<T>): Observable<T> =>
    new Observable<T>((subscriber) => {
      const keys = new Map<string, KeyState<T>>();
      // Without `key` the whole stream is one key and needs no lookup.
      const single = keyOf === undefined ? new KeyState<T>() : null;
      // Keys holding elements, least recently active first.
      let head: KeyState<T> | null = null;
      let tail: KeyState<T> | null = null;
      let buffered = 0;
      let seq = 0;
      let timer: Subscription | null = null;

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
        subscriber.next(value);
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
        while (state.times.length > 0) {
          stats.idleReleases++;
          releaseTop(state);
        }
      };

      const onIdle = (): void => {
        timer = null;
        const timeout = idleTimeoutMs as number;
        const now = scheduler.now();
        while (head !== null && head.lastArrival + timeout <= now && !subscriber.closed) releaseAll(head);
        armIdleTimer();
      };

      // One timer for all keys, due when the least recently active key goes quiet. Arrivals only
      // make keys later, so a timer already set fires early at worst, finds nothing, and re-arms.
      const armIdleTimer = (): void => {
        if (head === null || subscriber.closed) return;
        const delay = head.lastArrival + (idleTimeoutMs as number) - scheduler.now();
        timer = scheduler.schedule(onIdle, delay > 0 ? delay : 0);
      };

      const subscription = source.subscribe({
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
          if (time < state.watermark) {
            stats.late++;
            onLate?.(element);
            if (emitLate) subscriber.next(element);
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
              releaseReady(state);
            }
          }
          // Over the bound: the quietest key gives up its earliest element, and its watermark
          // moves up to it so that nothing released later from that key can be older.
          while (buffered > maxBuffered && head !== null) {
            const quiet: KeyState<T> = head;
            const forcedTime = quiet.times[0];
            if (forcedTime > quiet.watermark) quiet.watermark = forcedTime;
            stats.forcedReleases++;
            releaseTop(quiet);
            if (quiet.times.length === 0) unlink(quiet);
          }
          if (idleTimeoutMs !== undefined && timer === null) armIdleTimer();
        },
        error(error: unknown) {
          subscriber.error(error);
        },
        complete() {
          timer?.unsubscribe();
          timer = null;
          // Everything left, in event-time order across keys (arrival order on ties).
          const rest: Array<{ time: number; seq: number; state: KeyState<T> }> = [];
          for (let state = head; state !== null; state = state.next) {
            for (let i = 0; i < state.times.length; i++) rest.push({ time: state.times[i], seq: state.seqs[i], state });
          }
          rest.sort((a, b) => a.time - b.time || a.seq - b.seq);
          // Each key's heap pops in the same order as its entries sort, so popping per entry releases them in order.
          for (const entry of rest) {
            if (subscriber.closed) break;
            releaseTop(entry.state);
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
      };
    });

  return Object.assign(operator, { stats });
}
