import { Observable, type OperatorFunction, type Subscription } from 'rxjs';
import { ConfigError, functionOption, numberOption } from '../src/errors.js';

/** Where reference data comes from. */
export type EnrichReference<K, R> =
  /** A fixed map. */
  | ReadonlyMap<K, R>
  /** A lookup, sync or async (e.g. a database or HTTP call); results are cached. `undefined` means missing. */
  | ((key: K) => R | undefined | PromiseLike<R | undefined>)
  /** Snapshots that replace each other while the stream runs (e.g. a registry reloaded every minute). */
  | Observable<ReadonlyMap<K, R>>;

/** Why `enrich` did not join an element. */
export type EnrichDropReason = 'missing' | 'lookup-error' | 'overflow';

export interface EnrichOptions<T, K, R, U> {
  /** The join key of an element. */
  readonly key: (element: T) => K;
  readonly reference: EnrichReference<K, R>;
  /** Builds the output from an element and its reference data. */
  readonly join: (element: T, reference: R) => U;
  /**
   * A key without reference data (or whose lookup failed): `'drop'` it (default), join it with
   * `{ default: value }`, or `{ keep: (element) => output }`. Counted either way.
   */
  readonly onMissing?: 'drop' | { readonly default: R } | { readonly keep: (element: T) => U };
  /** Called for every element not joined with its own reference data. */
  readonly onMiss?: (element: T, reason: EnrichDropReason) => void;
  /** Async lookups running at once, 1 to 10,000 (default 16). Output order is input order regardless. */
  readonly concurrency?: number;
  /** Lookup results kept (least recently used go first), 0 to 10,000,000 (default 100,000). Misses are cached too. */
  readonly cacheSize?: number;
  /** How long a cached lookup result stays valid (ms). Default: forever. */
  readonly cacheTtlMs?: number;
  /**
   * Elements waiting (for an async lookup ahead of them, or for the first snapshot) at most,
   * 1 to 100,000,000 (default 100,000); beyond it an element is dropped with reason `'overflow'`.
   */
  readonly maxWaiting?: number;
}

/** Counters of an `enrich` operator, summed over its subscriptions. */
export interface EnrichStats {
  joined: number;
  /** Elements without reference data, by what was done: dropped, defaulted or kept. */
  missing: number;
  lookupErrors: number;
  overflow: number;
  dropped: number;
  lookups: number;
  cacheHits: number;
}

export type EnrichOperator<T, U> = OperatorFunction<T, U> & { readonly stats: EnrichStats };

/** A slot in the output queue: filled when its element's reference is known. */
interface Slot<T, K> {
  readonly element: T;
  readonly key: K;
  done: boolean;
  output: unknown;
  emit: boolean;
}

const isObservable = <K, R>(value: EnrichReference<K, R>): value is Observable<ReadonlyMap<K, R>> =>
  value instanceof Observable;

/**
 * Joins each element with reference data from a map, an async lookup (cached, several at once,
 * output in input order) or an Observable of snapshots that changes while the stream runs.
 * Elements without reference data are dropped, defaulted or kept, and counted.
 */
export function enrich<T, K, R, U>(options: EnrichOptions<T, K, R, U>): EnrichOperator<T, U> {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'an object', options);
  const keyOf = functionOption<(element: T) => K>('key', options.key, true) as (element: T) => K;
  const join = functionOption<(element: T, reference: R) => U>('join', options.join, true) as (element: T, reference: R) => U;
  const onMiss = functionOption<(element: T, reason: EnrichDropReason) => void>('onMiss', options.onMiss, false);
  const concurrency = numberOption('concurrency', options.concurrency, 16, { min: 1, max: 10_000 });
  const cacheSize = numberOption('cacheSize', options.cacheSize, 100_000, { min: 0, max: 10_000_000 });
  const cacheTtlMs = options.cacheTtlMs === undefined ? Infinity : numberOption('cacheTtlMs', options.cacheTtlMs, undefined, { min: 1 });
  const maxWaiting = numberOption('maxWaiting', options.maxWaiting, 100_000, { min: 1, max: 100_000_000 });
  const onMissing = options.onMissing ?? 'drop';
  if (!(onMissing === 'drop' || (typeof onMissing === 'object' && onMissing !== null && ('default' in onMissing || typeof (onMissing as { keep?: unknown }).keep === 'function')))) {
    throw new ConfigError('onMissing', "'drop', { default: value } or { keep: (element) => output }", onMissing);
  }
  const reference = options.reference;
  if (!(reference instanceof Map || typeof reference === 'function' || reference instanceof Observable)) {
    throw new ConfigError('reference', 'a Map, a lookup function or an Observable of Maps', reference);
  }
  const stats: EnrichStats = { joined: 0, missing: 0, lookupErrors: 0, overflow: 0, dropped: 0, lookups: 0, cacheHits: 0 };

  /** The output for an element, or `undefined` to drop it (counted here). */
  const resolve = (element: T, found: R | undefined, has: boolean, reason: EnrichDropReason): { emit: boolean; output: unknown } => {
    if (has) {
      stats.joined++;
      return { emit: true, output: join(element, found as R) };
    }
    if (reason === 'lookup-error') stats.lookupErrors++;
    else stats.missing++;
    onMiss?.(element, reason);
    if (onMissing === 'drop') {
      stats.dropped++;
      return { emit: false, output: undefined };
    }
    if ('default' in onMissing) return { emit: true, output: join(element, onMissing.default) };
    return { emit: true, output: onMissing.keep(element) };
  };

  const operator = (source: Observable<T>): Observable<U> =>
    new Observable<U>((subscriber) => {
      let sourceDone = false;
      const queue: Slot<T, K>[] = [];
      let head = 0;
      let referenceSubscription: Subscription | undefined;
      let closed = false;

      const flush = (): void => {
        while (head < queue.length && queue[head].done) {
          const slot = queue[head];
          queue[head++] = undefined as unknown as Slot<T, K>;
          if (slot.emit) subscriber.next(slot.output as U);
        }
        if (head > 1024 && head * 2 > queue.length) {
          queue.splice(0, head);
          head = 0;
        }
        if (sourceDone && head === queue.length) subscriber.complete();
      };
      const waiting = (): number => queue.length - head;
      const overflow = (element: T): void => {
        stats.overflow++;
        stats.dropped++;
        onMiss?.(element, 'overflow');
      };

      let accept: (element: T) => void;

      if (reference instanceof Map) {
        accept = (element) => {
          const key = keyOf(element);
          const found = reference.get(key);
          const r = resolve(element, found, found !== undefined || reference.has(key), 'missing');
          if (r.emit) subscriber.next(r.output as U);
        };
      } else if (isObservable(reference)) {
        let current: ReadonlyMap<K, R> | undefined;
        const joinNow = (element: T, key: K): { emit: boolean; output: unknown } => {
          const map = current as ReadonlyMap<K, R>;
          const found = map.get(key);
          return resolve(element, found, found !== undefined || map.has(key), 'missing');
        };
        referenceSubscription = reference.subscribe({
          next(snapshot) {
            current = snapshot;
            // Elements that waited for the first snapshot go out now, in order.
            for (let i = head; i < queue.length; i++) Object.assign(queue[i], joinNow(queue[i].element, queue[i].key), { done: true });
            flush();
          },
          error(error: unknown) {
            subscriber.error(error);
          },
          complete() {
            if (current !== undefined) return;
            // No snapshot will ever come: what waits is missing its reference.
            for (let i = head; i < queue.length; i++) Object.assign(queue[i], resolve(queue[i].element, undefined, false, 'missing'), { done: true });
            current = new Map();
            flush();
          },
        });
        accept = (element) => {
          const key = keyOf(element);
          if (current !== undefined) {
            const r = joinNow(element, key);
            if (r.emit) subscriber.next(r.output as U);
          } else if (waiting() >= maxWaiting) overflow(element);
          else queue.push({ element, key, done: false, output: undefined, emit: false });
        };
      } else {
        const lookup = reference as (key: K) => R | undefined | PromiseLike<R | undefined>;
        const cache = new Map<K, { value: R | undefined; expires: number }>();
        const inFlight = new Map<K, Slot<T, K>[]>();
        const blocked: K[] = [];
        let running = 0;
        const remember = (key: K, value: R | undefined): void => {
          if (cacheSize === 0) return;
          cache.delete(key);
          cache.set(key, { value, expires: cacheTtlMs === Infinity ? Infinity : Date.now() + cacheTtlMs });
          if (cache.size > cacheSize) cache.delete(cache.keys().next().value as K);
        };
        const settle = (key: K, value: R | undefined, error: boolean): void => {
          const slots = inFlight.get(key) ?? [];
          inFlight.delete(key);
          for (const slot of slots) Object.assign(slot, resolve(slot.element, value, !error && value !== undefined, error ? 'lookup-error' : 'missing'), { done: true });
        };
        const start = (key: K): void => {
          running++;
          stats.lookups++;
          let result: R | undefined | PromiseLike<R | undefined>;
          try {
            result = lookup(key);
          } catch {
            running--;
            settle(key, undefined, true);
            return;
          }
          if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<R>).then === 'function') {
            (result as PromiseLike<R | undefined>).then(
              (value) => finish(key, value, false),
              () => finish(key, undefined, true),
            );
          } else {
            running--;
            remember(key, result as R | undefined);
            settle(key, result as R | undefined, false);
          }
        };
        const finish = (key: K, value: R | undefined, error: boolean): void => {
          running--;
          if (closed) return;
          if (!error) remember(key, value);
          settle(key, value, error);
          while (running < concurrency && blocked.length > 0) start(blocked.shift() as K);
          flush();
        };
        accept = (element) => {
          const key = keyOf(element);
          const cached = cache.get(key);
          if (cached !== undefined && cached.expires > Date.now()) {
            stats.cacheHits++;
            const r = resolve(element, cached.value, cached.value !== undefined, 'missing');
            if (head === queue.length) {
              if (r.emit) subscriber.next(r.output as U);
            } else queue.push({ element, key, done: true, ...r });
            return;
          }
          if (waiting() >= maxWaiting) return overflow(element);
          const slot: Slot<T, K> = { element, key, done: false, output: undefined, emit: false };
          queue.push(slot);
          const pending = inFlight.get(key);
          if (pending !== undefined) {
            pending.push(slot);
            return;
          }
          inFlight.set(key, [slot]);
          if (running < concurrency) start(key);
          else blocked.push(key);
          flush();
        };
      }

      const subscription = source.subscribe({
        next: (element) => accept(element),
        error: (error: unknown) => subscriber.error(error),
        complete() {
          sourceDone = true;
          flush();
        },
      });

      return () => {
        closed = true;
        subscription.unsubscribe();
        referenceSubscription?.unsubscribe();
        queue.length = 0;
        head = 0;
      };
    });

  return Object.assign(operator, { stats });
}
