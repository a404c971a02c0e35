import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { enrichFromLookup } from '../../../operators/internal/enrich-from-lookup.js';
import { LruTtlCache } from '../../../operators/internal/lru-ttl-cache.js';
import { harness } from './enrich-harness.js';

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1));

describe('enrichFromLookup', () => {
  it('one lookup per key in flight, at most `concurrency` at once, output in input order, results and misses cached', async () => {
    const h = harness();
    const calls: string[] = [];
    const resolvers = new Map<string, (value: string | undefined) => void>();
    const lookup = (key: string): Promise<string | undefined> => {
      calls.push(key);
      return new Promise((resolve) => resolvers.set(key, resolve));
    };
    const counters = { lookups: 0, cacheHits: 0 };
    const cache = new LruTtlCache<string, string | undefined>(10, Infinity, () => 0);
    const strategy = enrichFromLookup(lookup, h.context, { concurrency: 2, cache, counters });
    for (const x of ['a', 'b', 'a', 'c']) strategy.accept(x, x);
    assert.deepEqual(calls, ['a', 'b'], 'c waits for room; the second a shares the first lookup');
    resolvers.get('b')?.('B');
    await settle();
    assert.deepEqual(h.values, [], 'b waits behind a');
    assert.deepEqual(calls, ['a', 'b', 'c']);
    resolvers.get('a')?.(undefined);
    resolvers.get('c')?.('C');
    await settle();
    assert.deepEqual(h.values, ['b:B', 'c:C']);
    assert.deepEqual(h.misses, [['a', 'missing'], ['a', 'missing']]);
    strategy.accept('a', 'a');
    strategy.accept('b', 'b');
    assert.deepEqual(h.values, ['b:B', 'c:C', 'b:B'], 'answered from the cache, a miss included');
    assert.deepEqual(counters, { lookups: 3, cacheHits: 2 });
  });

  it('a lookup that throws or rejects is a lookup-error miss, not cached; results after dispose are ignored', async () => {
    const h = harness();
    let calls = 0;
    const cache = new LruTtlCache<string, string | undefined>(10, Infinity, () => 0);
    const strategy = enrichFromLookup((key: string) => {
      calls++;
      if (key === 'sync') throw new Error('down');
      return Promise.reject(new Error('down'));
    }, h.context, { concurrency: 4, cache, counters: { lookups: 0, cacheHits: 0 } });
    strategy.accept('sync', 'sync');
    strategy.accept('async', 'async');
    await settle();
    strategy.accept('sync', 'sync');
    assert.deepEqual(h.misses, [['sync', 'lookup-error'], ['async', 'lookup-error'], ['sync', 'lookup-error']]);
    assert.equal(calls, 3, 'failures are not cached');
    const late = harness();
    let resolveLate!: (value: string) => void;
    const disposed = enrichFromLookup(() => new Promise<string>((resolve) => (resolveLate = resolve)), late.context, { concurrency: 1, cache: new LruTtlCache(1, Infinity, () => 0), counters: { lookups: 0, cacheHits: 0 } });
    disposed.accept('a', 'a');
    disposed.dispose();
    resolveLate('A');
    await settle();
    assert.deepEqual(late.values, []);
  });
});
