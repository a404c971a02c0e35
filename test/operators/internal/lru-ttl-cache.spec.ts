import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LruTtlCache } from '../../../operators/internal/lru-ttl-cache.js';

/** A clock the test moves by hand. */
const fakeClock = (): { now: () => number; advance: (ms: number) => void } => {
  let t = 1000;
  return { now: () => t, advance: (ms) => void (t += ms) };
};

describe('LruTtlCache', () => {
  it('evicts the least recently used entry beyond capacity; a get or a set makes an entry the most recent', () => {
    const cache = new LruTtlCache<string, number>(3, Infinity, () => 0);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    assert.deepEqual(cache.keys(), ['a', 'b', 'c']);
    assert.equal(cache.get('a')?.value, 1); // a is now the most recent
    cache.set('d', 4); // evicts b
    assert.deepEqual(cache.keys(), ['c', 'a', 'd']);
    assert.equal(cache.get('b'), undefined);
    cache.set('c', 30); // c refreshed
    cache.set('e', 5); // evicts a
    assert.deepEqual(cache.keys(), ['d', 'c', 'e']);
    assert.equal(cache.get('c')?.value, 30);
    assert.equal(cache.size, 3);
  });

  it('caches undefined (a miss) as an entry, told apart from absence', () => {
    const cache = new LruTtlCache<string, number | undefined>(2, Infinity, () => 0);
    cache.set('gone', undefined);
    const entry = cache.get('gone');
    assert.notEqual(entry, undefined);
    assert.equal(entry?.value, undefined);
    assert.equal(cache.get('never'), undefined);
  });

  it('expires an entry ttlMs after it was set, on the given clock, and removes it when read', () => {
    const clock = fakeClock();
    const cache = new LruTtlCache<string, number>(10, 100, clock.now);
    cache.set('a', 1);
    clock.advance(60);
    cache.set('b', 2);
    clock.advance(39);
    assert.equal(cache.get('a')?.value, 1, 'at 99 ms still valid');
    clock.advance(1);
    assert.equal(cache.get('a'), undefined, 'at 100 ms expired');
    assert.deepEqual(cache.keys(), ['b']);
    // A hit does not extend the time to live.
    clock.advance(59);
    assert.equal(cache.get('b')?.value, 2);
    clock.advance(1);
    assert.equal(cache.get('b'), undefined);
    // Setting again starts a new time to live.
    cache.set('b', 3);
    clock.advance(99);
    assert.equal(cache.get('b')?.value, 3);
  });

  it('keeps nothing with capacity 0, and clear() empties it', () => {
    const none = new LruTtlCache<string, number>(0, Infinity, () => 0);
    none.set('a', 1);
    assert.equal(none.get('a'), undefined);
    assert.equal(none.size, 0);
    const some = new LruTtlCache<string, number>(2, Infinity, () => 0);
    some.set('a', 1);
    some.clear();
    assert.equal(some.size, 0);
  });
});
