/**
 * `enrich` from a lookup function, sync or async. Results and misses are cached (LRU, optional
 * TTL); at most `concurrency` lookups run at once, one per key (elements whose key is being
 * looked up share the lookup); the output keeps the input order. A lookup that throws or rejects
 * never fails the pipeline: its elements are misses with reason `'lookup-error'`, not cached.
 */
import type { Logger } from '../../src/core/logger.js';
import type { EnrichSlot } from './enrich-output.js';
import type { EnrichStrategy, EnrichStrategyContext } from './enrich-strategy.js';
import type { LruTtlCache } from './lru-ttl-cache.js';

export type EnrichLookup<K, R> = (key: K) => R | undefined | PromiseLike<R | undefined>;

export interface EnrichLookupSettings<K, R> {
  readonly concurrency: number;
  /** This subscription's cache of results and misses. */
  readonly cache: LruTtlCache<K, R | undefined>;
  readonly counters: { lookups: number; cacheHits: number };
  readonly logger?: Logger;
}

const isPromiseLike = <V>(value: unknown): value is PromiseLike<V> =>
  value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<V>).then === 'function';

export function enrichFromLookup<T, K, R, U>(lookup: EnrichLookup<K, R>, context: EnrichStrategyContext<T, K, R, U>, settings: EnrichLookupSettings<K, R>): EnrichStrategy<T, K> {
  const { output, resolve, overflow, maxWaiting, guard } = context;
  const { concurrency, cache, counters, logger } = settings;
  // Slots waiting for each key's lookup; keys waiting for room to start theirs.
  const pending = new Map<K, EnrichSlot<T, K>[]>();
  let blocked: K[] = [];
  let blockedHead = 0;
  let running = 0;
  let disposed = false;

  /** Fills every slot waiting for `key`. */
  const settle = (key: K, value: R | undefined, failed: boolean, cause?: unknown): void => {
    const slots = pending.get(key);
    pending.delete(key);
    if (failed) logger?.debug?.({ reason: 'lookup-error', error: String(cause) }, 'enrich: lookup failed');
    else cache.set(key, value);
    if (slots === undefined) return;
    for (const slot of slots) output.fill(slot, resolve(slot.element, !failed && value !== undefined, value, failed ? 'lookup-error' : 'missing'));
  };

  const finish = (key: K, value: R | undefined, failed: boolean, cause?: unknown): void => {
    running--;
    if (disposed) return; // unsubscribed meanwhile: the result is ignored
    settle(key, value, failed, cause);
    pump();
    output.flush();
  };

  const start = (key: K): void => {
    running++;
    counters.lookups++;
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

  return {
    accept(element, key) {
      const hit = cache.get(key);
      if (hit !== undefined) {
        counters.cacheHits++;
        if (output.waiting === 0) return output.emit(resolve(element, hit.value !== undefined, hit.value, 'missing'));
        // Behind a pending lookup: wait in line to keep the order.
        if (output.waiting >= maxWaiting) return overflow(element);
        output.fill(output.enqueue(element, key), resolve(element, hit.value !== undefined, hit.value, 'missing'));
        return;
      }
      if (output.waiting >= maxWaiting) return overflow(element);
      const slot = output.enqueue(element, key);
      const group = pending.get(key);
      if (group !== undefined) return void group.push(slot);
      pending.set(key, [slot]);
      if (running < concurrency) start(key);
      else blocked.push(key);
      output.flush();
    },
    dispose() {
      disposed = true;
      pending.clear();
      blocked = [];
      blockedHead = 0;
      cache.clear();
    },
  };
}
