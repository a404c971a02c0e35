import { asyncScheduler, isObservable, Observable, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { ConfigError } from '../src/core/errors.js';
import type { Logger } from '../src/core/logger.js';
import { functionOption, numberOption } from '../src/core/options.js';

/** Where reference data comes from. */
export type EnrichReference<K, R> =
  /** A fixed map (anything with `get` and `has`). */
  | ReadonlyMap<K, R>
  /**
   * A lookup, sync or async (e.g. a database or HTTP call). `undefined` means "no reference data".
   * Results and misses are cached; a throw or a rejection is a miss with reason `'lookup-error'`.
   */
  | ((key: K) => R | undefined | PromiseLike<R | undefined>)
  /** Snapshots that replace each other while the stream runs (e.g. a registry reloaded every minute). */
  | Observable<ReadonlyMap<K, R>>;

/** Why `enrich` did not join an element with its own reference data. */
export type EnrichDropReason =
  /** The reference has no entry for the key (or the reference Observable completed without a snapshot). */
  | 'missing'
  /** The async lookup threw or rejected. Not cached: the next element with that key tries again. */
  | 'lookup-error'
  /** More than `maxWaiting` elements were waiting; this one was dropped, whatever `onMissing` says. */
  | 'overflow';

/**
 * What becomes of an element without reference data (reason `'missing'` or `'lookup-error'`):
 * - `'drop'` (default): not emitted;
 * - `{ default: value }`: joined with `value` instead;
 * - `{ keep: (element) => output }`: emitted as `keep(element)`.
 * For "emit the element itself" use `onMissing: 'keep'` (see {@link EnrichKeepOptions}).
 */
export type EnrichMissingPolicy<T, R, U> = 'drop' | { readonly default: R } | { readonly keep: (element: T) => U };

/** Options shared by every form of `enrich`. */
export interface EnrichCommonOptions<T, K, R, U> {
  /** The join key of an element. */
  readonly key: (element: T) => K;
  readonly reference: EnrichReference<K, R>;
  /** Builds the output from an element and its reference data. */
  readonly join: (element: T, reference: R) => U;
  /** Called for every element not joined with its own reference data, with the reason (whatever `onMissing` does with it). */
  readonly onMiss?: (element: T, reason: EnrichDropReason) => void;
  /** Async lookups running at once, 1 to 10,000 (default 16). Output order is input order regardless. */
  readonly concurrency?: number;
  /** Lookup results (and misses) cached, least recently used evicted first; 0 (no cache) to 10,000,000, default 100,000. */
  readonly cacheSize?: number;
  /** How long a cached lookup result (or miss) stays valid, in ms (>= 1). Default: until evicted. */
  readonly cacheTtlMs?: number;
  /**
   * Elements waiting (behind a pending async lookup, or for the first snapshot) at most,
   * 1 to 100,000,000 (default 100,000); beyond it an element is dropped with reason `'overflow'`.
   */
  readonly maxWaiting?: number;
  /** Clock for `cacheTtlMs` (default `asyncScheduler`; tests pass a `TestScheduler`). */
  readonly scheduler?: SchedulerLike;
  /** Misses are logged here at debug level (default: not logged; they are always counted and given to `onMiss`). */
  readonly logger?: Logger;
}

/** `enrich` options: the output is `join(...)`, or what `onMissing` makes of an element without reference data. */
export interface EnrichOptions<T, K, R, U> extends EnrichCommonOptions<T, K, R, U> {
  readonly onMissing?: EnrichMissingPolicy<T, R, U>;
}

/** `enrich` options that pass an element without reference data through unchanged: the output is `U | T`. */
export interface EnrichKeepOptions<T, K, R, U> extends EnrichCommonOptions<T, K, R, U> {
  readonly onMissing: 'keep';
}

/**
 * Counters of an `enrich` operator, summed over its subscriptions.
 * Every input element is either emitted (`joined` + misses not dropped) or in `dropped`.
 */
export interface EnrichStats {
  /** Elements joined with their own reference data. */
  joined: number;
  /** Elements whose key had no reference data (dropped, defaulted or kept per `onMissing`). */
  missing: number;
  /** Elements whose lookup threw or rejected (dropped, defaulted or kept per `onMissing`). */
  lookupErrors: number;
  /** Elements dropped because more than `maxWaiting` were waiting. */
  overflow: number;
  /** Elements not emitted: misses under `onMissing: 'drop'`, plus `overflow`. */
  dropped: number;
  /** Lookup calls made. */
  lookups: number;
  /** Elements answered from the lookup cache. */
  cacheHits: number;
}

export type EnrichOperator<T, U> = OperatorFunction<T, U> & { readonly stats: EnrichStats };

/** A place in the output queue, filled when its element's reference data is known. */
interface Slot<T, K> {
  readonly element: T;
  readonly key: K;
  done: boolean;
  emit: boolean;
  output: unknown;
}

interface Outcome {
  emit: boolean;
  output: unknown;
}

interface CacheEntry<R> {
  readonly value: R | undefined;
  readonly expires: number;
}

type Lookup<K, R> = (key: K) => R | undefined | PromiseLike<R | undefined>;

const isMapLike = <K, R>(value: unknown): value is ReadonlyMap<K, R> =>
  typeof value === 'object' && value !== null && typeof (value as Map<K, R>).get === 'function' && typeof (value as Map<K, R>).has === 'function';

const isPromiseLike = <V>(value: unknown): value is PromiseLike<V> =>
  value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<V>).then === 'function';

/**
 * Joins each element with reference data looked up by `key(element)`:
 * - from a `Map` (synchronous);
 * - from a lookup function, sync or async: results and misses are cached (`cacheSize`, LRU;
 *   `cacheTtlMs`), at most `concurrency` lookups run at once (one per key: elements with a key
 *   already being looked up share the lookup), and the output keeps the input order; a thrown or
 *   rejected lookup never fails the pipeline, it is a miss with reason `'lookup-error'`;
 * - from an Observable of snapshots: elements arriving before the first snapshot wait (at most
 *   `maxWaiting`), each later snapshot replaces the previous one at once; if it errors the output
 *   errors, if it completes the last snapshot stays (none at all: every key is missing).
 *
 * Elements without reference data are dropped, defaulted or kept per `onMissing`, counted in
 * `stats` and given to `onMiss` with the reason. Completion waits for pending lookups;
 * unsubscription drops the reference subscription and ignores lookups still pending.
 * A throwing `key`, `join`, `keep` or `onMiss` errors the output.
 *
 * @example
 * const withRoom = enrich({ key: (r: Reading) => r.device, reference: registry, join: (r, c) => ({ ...r, room: c.room }) });
 * readings$.pipe(withRoom); // withRoom.stats.missing counts unknown devices
 */
export function enrich<T, K, R, U>(options: EnrichKeepOptions<T, K, R, U>): EnrichOperator<T, U | T>;
export function enrich<T, K, R, U>(options: EnrichOptions<T, K, R, U>): EnrichOperator<T, U>;
export function enrich<T, K, R, U>(options: EnrichOptions<T, K, R, U> | EnrichKeepOptions<T, K, R, U>): EnrichOperator<T, U | T> {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'an object', options);
  const keyOf = functionOption<(element: T) => K>('key', options.key, true) as (element: T) => K;
  const join = functionOption<(element: T, reference: R) => U>('join', options.join, true) as (element: T, reference: R) => U;
  const onMiss = functionOption<(element: T, reason: EnrichDropReason) => void>('onMiss', options.onMiss, false);
  const concurrency = numberOption('concurrency', options.concurrency, 16, { min: 1, max: 10_000 });
  const cacheSize = numberOption('cacheSize', options.cacheSize, 100_000, { min: 0, max: 10_000_000 });
  const cacheTtlMs = options.cacheTtlMs === undefined ? Infinity : numberOption('cacheTtlMs', options.cacheTtlMs, undefined, { min: 1 });
  const maxWaiting = numberOption('maxWaiting', options.maxWaiting, 100_000, { min: 1, max: 100_000_000 });
  const scheduler = options.scheduler ?? asyncScheduler;
  if (typeof scheduler !== 'object' || scheduler === null || typeof scheduler.now !== 'function') {
    throw new ConfigError('scheduler', 'a SchedulerLike (with now())', scheduler);
  }
  const logger = options.logger;
  const onMissing: EnrichMissingPolicy<T, R, U> | 'keep' = options.onMissing ?? 'drop';
  const validPolicy =
    onMissing === 'drop' ||
    onMissing === 'keep' ||
    (typeof onMissing === 'object' && onMissing !== null && ('default' in onMissing || typeof (onMissing as { keep?: unknown }).keep === 'function'));
  if (!validPolicy) throw new ConfigError('onMissing', "'drop', 'keep', { default: value } or { keep: (element) => output }", onMissing);
  const reference = options.reference;
  if (!(isObservable(reference) || typeof reference === 'function' || isMapLike(reference))) {
    throw new ConfigError('reference', 'a Map, a lookup function or an Observable of Maps', reference);
  }
  const stats: EnrichStats = { joined: 0, missing: 0, lookupErrors: 0, overflow: 0, dropped: 0, lookups: 0, cacheHits: 0 };

  /** What to emit for an element, given whether its reference data was found. Counts the outcome. */
  const resolve = (element: T, found: boolean, value: R | undefined, reason: 'missing' | 'lookup-error'): Outcome => {
    if (found) {
      stats.joined++;
      return { emit: true, output: join(element, value as R) };
    }
    if (reason === 'lookup-error') stats.lookupErrors++;
    else stats.missing++;
    logger?.debug?.({ reason }, `enrich: no reference data (${reason})`);
    onMiss?.(element, reason);
    if (onMissing === 'drop') {
      stats.dropped++;
      return { emit: false, output: undefined };
    }
    if (onMissing === 'keep') return { emit: true, output: element };
    if ('default' in onMissing) return { emit: true, output: join(element, onMissing.default) };
    return { emit: true, output: onMissing.keep(element) };
  };

  const fromMap = (map: ReadonlyMap<K, R>, element: T, key: K): Outcome => {
    const value = map.get(key);
    return resolve(element, value !== undefined || map.has(key), value, 'missing');
  };

  const operator = (source: Observable<T>): Observable<U | T> =>
    new Observable<U | T>((subscriber) => {
      // Elements in input order; `head` is the first not yet emitted.
      let queue: Slot<T, K>[] = [];
      let head = 0;
      let sourceDone = false;
      let closed = false;
      let referenceSubscription: Subscription | undefined;
      let sourceSubscription: Subscription | undefined;
      let cache: Map<K, CacheEntry<R>> | undefined;
      let inFlight: Map<K, Slot<T, K>[]> | undefined;
      let blocked: K[] = [];

      const teardown = (): void => {
        closed = true;
        sourceSubscription?.unsubscribe();
        referenceSubscription?.unsubscribe();
        queue = [];
        head = 0;
        cache?.clear();
        inFlight?.clear();
        blocked = [];
      };

      /** Runs `fn`; a throwing user callback errors the output instead of escaping into rxjs or a promise. */
      const guard = (fn: () => void): void => {
        try {
          fn();
        } catch (error) {
          subscriber.error(error);
        }
      };

      const waiting = (): number => queue.length - head;

      const overflow = (element: T): void => {
        stats.overflow++;
        stats.dropped++;
        logger?.debug?.({ reason: 'overflow', maxWaiting }, 'enrich: too many elements waiting, dropped one');
        onMiss?.(element, 'overflow');
      };

      const emit = (outcome: Outcome): void => {
        if (outcome.emit) subscriber.next(outcome.output as U | T);
      };

      /** Emits the done prefix of the queue; completes once the source is done and nothing waits. */
      const flush = (): void => {
        while (!closed && head < queue.length && queue[head].done) {
          const slot = queue[head];
          queue[head++] = undefined as unknown as Slot<T, K>;
          emit(slot);
        }
        if (closed) return;
        if (head === queue.length) {
          queue.length = 0;
          head = 0;
        } else if (head > 1024 && head * 2 > queue.length) {
          queue.splice(0, head);
          head = 0;
        }
        if (sourceDone && head === queue.length) subscriber.complete();
      };

      const fill = (slot: Slot<T, K>, outcome: Outcome): void => {
        slot.done = true;
        slot.emit = outcome.emit;
        slot.output = outcome.output;
      };

      let accept: (element: T) => void;

      if (isObservable(reference)) {
        let current: ReadonlyMap<K, R> | undefined;
        referenceSubscription = reference.subscribe({
          next: (snapshot) =>
            guard(() => {
              current = snapshot;
              // Elements that waited for the first snapshot go out now, in order.
              for (let i = head; i < queue.length; i++) fill(queue[i], fromMap(snapshot, queue[i].element, queue[i].key));
              flush();
            }),
          error: (error: unknown) => subscriber.error(error),
          complete: () =>
            guard(() => {
              if (current !== undefined) return;
              // No snapshot will ever come: whatever waits has no reference data.
              current = new Map<K, R>();
              for (let i = head; i < queue.length; i++) fill(queue[i], resolve(queue[i].element, false, undefined, 'missing'));
              flush();
            }),
        });
        accept = (element) => {
          const key = keyOf(element);
          if (current !== undefined) emit(fromMap(current, element, key));
          else if (waiting() >= maxWaiting) overflow(element);
          else queue.push({ element, key, done: false, emit: false, output: undefined });
        };
      } else if (typeof reference === 'function') {
        const lookup = reference as Lookup<K, R>;
        const entries = (cache = new Map<K, CacheEntry<R>>());
        const pending = (inFlight = new Map<K, Slot<T, K>[]>());
        let blockedHead = 0;
        let running = 0;

        const cached = (key: K): CacheEntry<R> | undefined => {
          const entry = entries.get(key);
          if (entry === undefined) return undefined;
          entries.delete(key);
          if (entry.expires <= scheduler.now()) return undefined;
          // Re-inserted: the Map's order is least recently used first.
          entries.set(key, entry);
          return entry;
        };
        const remember = (key: K, value: R | undefined): void => {
          if (cacheSize === 0) return;
          entries.delete(key);
          entries.set(key, { value, expires: cacheTtlMs === Infinity ? Infinity : scheduler.now() + cacheTtlMs });
          if (entries.size > cacheSize) entries.delete(entries.keys().next().value as K);
        };
        /** Fills every slot waiting for `key`. */
        const settle = (key: K, value: R | undefined, failed: boolean, cause?: unknown): void => {
          const slots = pending.get(key);
          pending.delete(key);
          if (failed) logger?.debug?.({ reason: 'lookup-error', error: String(cause) }, 'enrich: lookup failed');
          else remember(key, value);
          if (slots === undefined) return;
          for (const slot of slots) fill(slot, resolve(slot.element, !failed && value !== undefined, value, failed ? 'lookup-error' : 'missing'));
        };
        const finish = (key: K, value: R | undefined, failed: boolean, cause?: unknown): void => {
          running--;
          if (closed) return; // unsubscribed meanwhile: the result is ignored
          settle(key, value, failed, cause);
          pump();
          flush();
        };
        const start = (key: K): void => {
          running++;
          stats.lookups++;
          let result: R | undefined | PromiseLike<R | undefined>;
          try {
            result = lookup(key);
          } catch (error) {
            running--;
            settle(key, undefined, true, error);
            return;
          }
          if (isPromiseLike<R | undefined>(result)) {
            result.then(
              (value) => guard(() => finish(key, value, false)),
              (error: unknown) => guard(() => finish(key, undefined, true, error)),
            );
          } else {
            running--;
            settle(key, result, false);
          }
        };
        /** Starts blocked lookups while there is room. */
        const pump = (): void => {
          while (running < concurrency && blockedHead < blocked.length) start(blocked[blockedHead++]);
          if (blockedHead === blocked.length) {
            blocked.length = 0;
            blockedHead = 0;
          } else if (blockedHead > 1024 && blockedHead * 2 > blocked.length) {
            blocked.splice(0, blockedHead);
            blockedHead = 0;
          }
        };

        accept = (element) => {
          const key = keyOf(element);
          const hit = cached(key);
          if (hit !== undefined) {
            stats.cacheHits++;
            if (head === queue.length) return emit(resolve(element, hit.value !== undefined, hit.value, 'missing'));
            // Behind a pending lookup: wait in line to keep the order.
            if (waiting() >= maxWaiting) return overflow(element);
            const slot: Slot<T, K> = { element, key, done: false, emit: false, output: undefined };
            queue.push(slot);
            fill(slot, resolve(element, hit.value !== undefined, hit.value, 'missing'));
            return;
          }
          if (waiting() >= maxWaiting) return overflow(element);
          const slot: Slot<T, K> = { element, key, done: false, emit: false, output: undefined };
          queue.push(slot);
          const group = pending.get(key);
          if (group !== undefined) return void group.push(slot);
          pending.set(key, [slot]);
          if (running < concurrency) start(key);
          else blocked.push(key);
          flush();
        };
      } else {
        const map = reference as ReadonlyMap<K, R>;
        accept = (element) => emit(fromMap(map, element, keyOf(element)));
      }

      // The reference may have failed synchronously: then the source is never subscribed.
      if (!subscriber.closed) {
        sourceSubscription = source.subscribe({
          next: (element) => guard(() => accept(element)),
          error: (error: unknown) => subscriber.error(error),
          complete: () =>
            guard(() => {
              sourceDone = true;
              flush();
            }),
        });
      }
      return teardown;
    });

  return Object.assign(operator, { stats });
}
