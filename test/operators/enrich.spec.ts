import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TestScheduler } from 'rxjs/testing';
import { from, lastValueFrom, Subject, toArray } from 'rxjs';
import fc from 'fast-check';
import { enrich, type EnrichDropReason } from '../../operators/enrich.js';
import { ConfigError } from '../../src/core/errors.js';
import { interval, map, take, timer } from 'rxjs';
import { Boom, run as runToEnd, throwingWhen } from './support/callback-errors.js';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => assert.deepStrictEqual(actual, expected));
type Reading = { device: string; v: number };
const r = (device: string, v: number): Reading => ({ device, v });
const rooms = new Map([['d1', 'kitchen'], ['d2', 'hall']]);
const joinRoom = (x: Reading, room: string): string => `${x.device}@${room}=${x.v}`;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A promise settled from the test, to make async lookups finish in a chosen order. */
function deferred<V>(): { promise: Promise<V>; resolve: (value: V) => void; reject: (error: unknown) => void } {
  let resolve!: (value: V) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<V>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('enrich', () => {
  it('joins from a static Map; missing keys are dropped, defaulted or kept, and counted', async () => {
    const input = [r('d1', 1), r('zz', 2), r('d2', 3)];
    const misses: Array<[string, EnrichDropReason]> = [];
    const dropping = enrich({ key: (x: Reading) => x.device, reference: rooms, join: joinRoom, onMiss: (x, reason) => misses.push([x.device, reason]) });
    assert.deepEqual(await lastValueFrom(from(input).pipe(dropping, toArray())), ['d1@kitchen=1', 'd2@hall=3']);
    assert.deepEqual(misses, [['zz', 'missing']]);
    assert.deepEqual([dropping.stats.joined, dropping.stats.missing, dropping.stats.dropped], [2, 1, 1]);
    const defaulting = enrich({ key: (x: Reading) => x.device, reference: rooms, join: joinRoom, onMissing: { default: 'unknown' } });
    assert.deepEqual(await lastValueFrom(from(input).pipe(defaulting, toArray())), ['d1@kitchen=1', 'zz@unknown=2', 'd2@hall=3']);
    const keeping = enrich({ key: (x: Reading) => x.device, reference: rooms, join: joinRoom, onMissing: { keep: (x) => `${x.device}=${x.v}` } });
    assert.deepEqual(await lastValueFrom(from(input).pipe(keeping, toArray())), ['d1@kitchen=1', 'zz=2', 'd2@hall=3']);
    assert.equal(keeping.stats.missing, 1);
  });

  it('waits for the first snapshot of an Observable reference, then follows each new snapshot', () => {
    scheduler().run(({ cold, hot, expectObservable }) => {
      const reference = hot('--a---b--', { a: new Map([['d1', 'kitchen']]), b: new Map([['d1', 'attic']]) });
      const source = cold('x y - - z - - w |', { x: r('d1', 1), y: r('d2', 2), z: r('d1', 3), w: r('d1', 4) });
      const op = enrich({ key: (x: Reading) => x.device, reference, join: joinRoom });
      // x and y wait for snapshot a (frame 2); y has no entry there and is dropped; w (frame 7) sees snapshot b.
      expectObservable(source.pipe(op)).toBe('--x-z--w|', { x: 'd1@kitchen=1', z: 'd1@kitchen=3', w: 'd1@attic=4' });
    });
  });

  it('errors when the reference errors, and stops listening to it on unsubscription', () => {
    scheduler().run(({ cold, hot, expectObservable }) => {
      const reference = hot('a--#', { a: rooms });
      expectObservable(cold('x----|', { x: r('d1', 1) }).pipe(enrich({ key: (x: Reading) => x.device, reference, join: joinRoom }))).toBe('x--#', { x: 'd1@kitchen=1' });
    });
    const snapshots = new Subject<Map<string, string>>();
    const source = new Subject<Reading>();
    const subscription = source.pipe(enrich({ key: (x: Reading) => x.device, reference: snapshots, join: joinRoom })).subscribe();
    assert.equal(snapshots.observed, true);
    subscription.unsubscribe();
    assert.equal(snapshots.observed, false);
  });

  it('runs async lookups concurrently, caches them, and emits in input order even when they resolve out of order', async () => {
    let running = 0;
    let peak = 0;
    const calls: string[] = [];
    const lookup = async (device: string): Promise<string | undefined> => {
      calls.push(device);
      running++;
      peak = Math.max(peak, running);
      await sleep(device === 'slow' ? 30 : 5);
      running--;
      return device === 'ghost' ? undefined : `room-of-${device}`;
    };
    const input = [r('slow', 1), r('a', 2), r('ghost', 3), r('b', 4), r('a', 5), r('c', 6)];
    const op = enrich({ key: (x: Reading) => x.device, reference: lookup, join: joinRoom, concurrency: 3 });
    const out = await lastValueFrom(from(input).pipe(op, toArray()));
    assert.deepEqual(out, ['slow@room-of-slow=1', 'a@room-of-a=2', 'b@room-of-b=4', 'a@room-of-a=5', 'c@room-of-c=6']);
    assert.equal(peak, 3, 'at most `concurrency` lookups at once');
    assert.deepEqual(calls, ['slow', 'a', 'ghost', 'b', 'c'], 'one lookup per key while in flight');
    assert.equal(op.stats.missing, 1);
    assert.equal(op.stats.lookups, 5);
  });

  it('counts a failing lookup as a miss with reason lookup-error and goes on', async () => {
    const misses: EnrichDropReason[] = [];
    const op = enrich({
      key: (x: Reading) => x.device,
      reference: async (device: string) => {
        if (device === 'bad') throw new Error('db down');
        return 'ok';
      },
      join: joinRoom,
      onMiss: (_x, reason) => misses.push(reason),
    });
    assert.deepEqual(await lastValueFrom(from([r('bad', 1), r('good', 2)]).pipe(op, toArray())), ['good@ok=2']);
    assert.deepEqual(misses, ['lookup-error']);
    assert.equal(op.stats.lookupErrors, 1);
  });

  it('bounds what waits: beyond maxWaiting an element is dropped as overflow', async () => {
    const op = enrich({ key: (x: Reading) => x.device, reference: async (d: string) => { await sleep(5); return d; }, join: joinRoom, maxWaiting: 2, concurrency: 1 });
    const out = await lastValueFrom(from([r('a', 1), r('b', 2), r('c', 3)]).pipe(op, toArray()));
    assert.deepEqual(out, ['a@a=1', 'b@b=2']);
    assert.equal(op.stats.overflow, 1);
  });

  it('validates its options at creation', () => {
    assert.throws(() => enrich({ key: (x: Reading) => x.device, reference: 42 as unknown as Map<string, string>, join: joinRoom }), (e: unknown) => e instanceof ConfigError && /"reference" must be a Map, a lookup function or an Observable/.test(e.message));
    assert.throws(() => enrich({ key: (x: Reading) => x.device, reference: rooms, join: joinRoom, concurrency: 0 }), /"concurrency" must be an integer in \[1, 10000\]/);
    assert.throws(() => enrich({ key: (x: Reading) => x.device, reference: rooms, join: joinRoom, onMissing: 'skip' as 'drop' }), /"onMissing"/);
  });

  it('output + dropped = input, in input order, for random async lookups (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ device: fc.constantFrom('a', 'b', 'c', 'd', 'x'), v: fc.integer() }), { maxLength: 40 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 5, maxLength: 5 }),
        async (records, concurrency, delays) => {
          const input = records.map(({ device, v }) => ({ device, v }));
          const lookup = async (device: string): Promise<string | undefined> => {
            await sleep(delays['abcdx'.indexOf(device)]);
            return device === 'x' ? undefined : device.toUpperCase();
          };
          const dropped: Reading[] = [];
          const op = enrich({ key: (x: Reading) => x.device, reference: lookup, join: (x, room) => ({ ...x, room }), concurrency, onMiss: (x) => dropped.push(x) });
          const out = await lastValueFrom(from(input).pipe(op, toArray()), { defaultValue: [] });
          assert.deepEqual(out.map(({ device, v }) => ({ device, v })), input.filter((x) => x.device !== 'x'));
          assert.deepEqual(dropped, input.filter((x) => x.device === 'x'));
          for (const x of out) assert.equal(x.room, x.device.toUpperCase());
          assert.equal(op.stats.joined + op.stats.dropped, input.length);
          assert.equal(op.stats.lookups + op.stats.cacheHits <= input.length, true);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("onMissing: 'keep' passes an element without reference data through unchanged", async () => {
    const op = enrich({ key: (x: Reading) => x.device, reference: rooms, join: joinRoom, onMissing: 'keep' });
    const out: Array<string | Reading> = await lastValueFrom(from([r('d1', 1), r('zz', 2)]).pipe(op, toArray()));
    assert.deepEqual(out, ['d1@kitchen=1', r('zz', 2)]);
    assert.deepEqual([op.stats.joined, op.stats.missing, op.stats.dropped], [1, 1, 0]);
  });

  it('bounds the elements waiting for the first snapshot by maxWaiting, counting the overflow', () => {
    const misses: Array<[number, EnrichDropReason]> = [];
    scheduler().run(({ cold, hot, expectObservable }) => {
      const reference = hot('----a', { a: rooms });
      const source = cold('xyz-----w|', { x: r('d1', 1), y: r('d2', 2), z: r('d1', 3), w: r('d2', 4) });
      const bounded = enrich({ key: (x: Reading) => x.device, reference, join: joinRoom, maxWaiting: 2, onMiss: (x, reason) => misses.push([x.v, reason]) });
      expectObservable(source.pipe(bounded)).toBe('----(xy)w|', { x: 'd1@kitchen=1', y: 'd2@hall=2', w: 'd2@hall=4' });
    });
    assert.deepEqual(misses, [[3, 'overflow']]);
  });

  it('keeps the last snapshot when the reference completes; with no snapshot at all every key is missing', () => {
    scheduler().run(({ cold, hot, expectObservable }) => {
      const reference = hot('a|', { a: rooms });
      expectObservable(cold('--x-y|', { x: r('d1', 1), y: r('d2', 2) }).pipe(enrich({ key: (x: Reading) => x.device, reference, join: joinRoom }))).toBe('--x-y|', {
        x: 'd1@kitchen=1',
        y: 'd2@hall=2',
      });
    });
    scheduler().run(({ cold, expectObservable }) => {
      const empty = cold<Map<string, string>>('---|');
      const never = enrich({ key: (x: Reading) => x.device, reference: empty, join: joinRoom, onMissing: { default: 'nowhere' } });
      expectObservable(cold('x-y-----z|', { x: r('d1', 1), y: r('d2', 2), z: r('d1', 3) }).pipe(never)).toBe('---(xy)-z|', {
        x: 'd1@nowhere=1',
        y: 'd2@nowhere=2',
        z: 'd1@nowhere=3',
      });
    });
  });

  it('caches lookups (LRU, misses too) for cacheTtlMs on the scheduler clock', () => {
    const calls: string[] = [];
    const lookup = (device: string): string | undefined => {
      calls.push(device);
      return device === 'x' ? undefined : device.toUpperCase();
    };
    const sched = scheduler();
    // Expires 3 ms after the lookup: the hit at frame 2 is served from the cache, the one at frame 4 looks up again.
    const op = enrich({ key: (x: Reading) => x.device, reference: lookup, join: joinRoom, cacheTtlMs: 3, scheduler: sched });
    sched.run(({ cold, expectObservable }) => {
      expectObservable(cold('a-b-c-d|', { a: r('d1', 1), b: r('d1', 2), c: r('d1', 3), d: r('d1', 4) }).pipe(op)).toBe('a-b-c-d|', {
        a: 'd1@D1=1',
        b: 'd1@D1=2',
        c: 'd1@D1=3',
        d: 'd1@D1=4',
      });
    });
    assert.deepEqual([op.stats.lookups, op.stats.cacheHits], [2, 2]);
    calls.length = 0;
    // cacheSize 2: a hit makes a key recently used, so c evicts b (not a); a miss ('x') is cached like a result.
    const lru = enrich({ key: (x: Reading) => x.device, reference: lookup, join: joinRoom, cacheSize: 2 });
    const keys = ['a', 'b', 'a', 'c', 'a', 'b', 'x', 'x'];
    let out: string[] = [];
    from(keys.map((k, i) => r(k, i))).pipe(lru, toArray()).subscribe((values) => (out = values));
    assert.deepEqual(calls, ['a', 'b', 'c', 'b', 'x']);
    assert.deepEqual(out, ['a@A=0', 'b@B=1', 'a@A=2', 'c@C=3', 'a@A=4', 'b@B=5']);
    assert.deepEqual([lru.stats.missing, lru.stats.cacheHits], [2, 3]);
  });

  it('propagates source errors, and a throwing join errors the output', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('x-#', { x: r('d1', 1) }).pipe(enrich({ key: (x: Reading) => x.device, reference: rooms, join: joinRoom }))).toBe('x-#', { x: 'd1@kitchen=1' });
      const failing = enrich({
        key: (x: Reading) => x.device,
        reference: rooms,
        join: (x: Reading, room: string) => {
          if (x.v < 0) throw new Error('bad reading');
          return joinRoom(x, room);
        },
      });
      expectObservable(cold('x-y-z|', { x: r('d1', 1), y: r('d1', -1), z: r('d1', 2) }).pipe(failing)).toBe('x-#', { x: 'd1@kitchen=1' }, new Error('bad reading'));
    });
  });

  it('emits in input order when lookups finish in reverse, and completes only after the last pending lookup', async () => {
    const pending = new Map<string, ReturnType<typeof deferred<string | undefined>>>();
    const lookup = (device: string): Promise<string | undefined> => {
      const d = deferred<string | undefined>();
      pending.set(device, d);
      return d.promise;
    };
    const source = new Subject<Reading>();
    const out: string[] = [];
    let completed = false;
    source.pipe(enrich({ key: (x: Reading) => x.device, reference: lookup, join: joinRoom })).subscribe({ next: (v) => out.push(v), complete: () => (completed = true) });
    source.next(r('a', 1));
    source.next(r('b', 2));
    source.next(r('c', 3));
    source.complete();
    pending.get('c')?.resolve('C');
    pending.get('b')?.resolve('B');
    await sleep(0);
    assert.deepEqual(out, [], 'b and c wait behind a');
    assert.equal(completed, false);
    pending.get('a')?.resolve('A');
    await sleep(0);
    assert.deepEqual(out, ['a@A=1', 'b@B=2', 'c@C=3']);
    assert.equal(completed, true);
  });

  it('on unsubscription ignores pending lookups and leaves nothing subscribed', async () => {
    const d = deferred<string | undefined>();
    const source = new Subject<Reading>();
    const out: string[] = [];
    const errors: unknown[] = [];
    const subscription = source.pipe(enrich({ key: (x: Reading) => x.device, reference: () => d.promise, join: joinRoom })).subscribe({ next: (v) => out.push(v), error: (e) => errors.push(e) });
    source.next(r('a', 1));
    subscription.unsubscribe();
    assert.equal(source.observed, false);
    d.resolve('A');
    await sleep(0);
    assert.deepEqual([out, errors], [[], []]);
  });

  it('does not cache a failed lookup, and joins it with the default when asked', async () => {
    let attempts = 0;
    const misses: EnrichDropReason[] = [];
    const op = enrich({
      key: (x: Reading) => x.device,
      reference: (device: string) => {
        attempts++;
        if (attempts === 1) return Promise.reject(new Error('timeout'));
        return Promise.resolve(device.toUpperCase());
      },
      join: joinRoom,
      onMissing: { default: '?' },
      onMiss: (_x, reason) => misses.push(reason),
      concurrency: 1,
    });
    const out = await lastValueFrom(from([r('a', 1), r('a', 2), r('a', 3)]).pipe(op, toArray()));
    // 'a' 1 and 2 share the failing lookup; 3 arrives while it is pending too, so all three share it.
    assert.deepEqual(out, ['a@?=1', 'a@?=2', 'a@?=3']);
    assert.deepEqual(misses, ['lookup-error', 'lookup-error', 'lookup-error']);
    const again = await lastValueFrom(from([r('a', 4)]).pipe(op, toArray()));
    assert.deepEqual(again, ['a@A=4'], 'the failure was not cached');
    assert.deepEqual([op.stats.lookupErrors, op.stats.joined, op.stats.dropped, attempts], [3, 1, 0, 2]);
  });

  it('rejects bad numbers, callbacks and schedulers naming the option', () => {
    const base = { key: (x: Reading) => x.device, reference: rooms, join: joinRoom };
    const named = (option: string) => (e: unknown) => e instanceof ConfigError && e.option === option;
    assert.throws(() => enrich({ ...base, cacheTtlMs: 0 }), named('cacheTtlMs'));
    assert.throws(() => enrich({ ...base, cacheSize: -1 }), named('cacheSize'));
    assert.throws(() => enrich({ ...base, maxWaiting: 1.5 }), named('maxWaiting'));
    assert.throws(() => enrich({ ...base, key: undefined as unknown as (x: Reading) => string }), named('key'));
    assert.throws(() => enrich({ ...base, join: 'x' as unknown as typeof joinRoom }), named('join'));
    assert.throws(() => enrich({ ...base, onMiss: 1 as unknown as () => void }), named('onMiss'));
    assert.throws(() => enrich({ ...base, scheduler: {} as never }), named('scheduler'));
  });
});

describe('enrich: a user callback that throws errors the output, never escapes', () => {
  // d1 joins, zz misses, d2 joins.
  const input = [r('d1', 1), r('zz', 2), r('d2', 3)];
  const isD2 = (x: Reading): boolean => x.device === 'd2';
  type Options = Parameters<typeof enrich<Reading, string, string, string>>[0];
  const callbacks: Array<[string, (boom: Boom) => Partial<Options>]> = [
    ['key', (boom) => ({ key: throwingWhen(boom, isD2, (x: Reading) => x.device) })],
    ['join', (boom) => ({ join: throwingWhen(boom, (x: Reading, _room: string) => isD2(x), joinRoom) })],
    ['onMiss', (boom) => ({ onMiss: () => { throw boom; } })],
    ['onMissing.keep', (boom) => ({ onMissing: { keep: () => { throw boom; } } })],
  ];
  const references: Array<[string, () => Options['reference']]> = [
    ['a Map', () => rooms],
    ['an async lookup (promise callbacks)', () => async (device: string) => rooms.get(device)],
    ['snapshots arriving from a timer', () => timer(5).pipe(map(() => rooms))],
  ];
  for (const [name, options] of callbacks) {
    for (const [kind, reference] of references) {
      it(`${name}, with ${kind}, from a synchronous and from a timer-driven source`, async () => {
        const make = (boom: Boom) => enrich<Reading, string, string, string>({ key: (x) => x.device, reference: reference(), join: joinRoom, ...options(boom) });
        const sync = await runToEnd(from(input).pipe(make(new Boom(name))));
        assert.ok(sync.error instanceof Boom, String(sync.error));
        assert.equal(sync.completed, false);
        assert.deepEqual(sync.uncaught, []);
        const boom = new Boom(name);
        const timed = await runToEnd(interval(2).pipe(take(input.length), map((i) => input[i]), make(boom)));
        assert.equal(timed.error, boom);
        assert.deepEqual(timed.uncaught, []);
      });
    }
  }

  it('onMiss throwing for an overflow errors the output', async () => {
    const boom = new Boom('onMiss');
    const op = enrich({ key: (x: Reading) => x.device, reference: timer(50).pipe(map(() => rooms)), join: joinRoom, maxWaiting: 1, onMiss: throwingWhen(boom, (_x: Reading, reason: string) => reason === 'overflow', () => undefined) });
    const result = await runToEnd(from(input).pipe(op));
    assert.equal(result.error, boom);
    assert.equal(op.stats.overflow, 1);
    assert.deepEqual(result.uncaught, []);
  });

  it('a lookup that throws synchronously is a miss with reason lookup-error (documented), not an error', async () => {
    const reasons: string[] = [];
    const op = enrich({ key: (x: Reading) => x.device, reference: (device: string) => { if (device === 'zz') throw new Boom('lookup'); return rooms.get(device); }, join: joinRoom, onMiss: (_x, reason) => reasons.push(reason) });
    const result = await runToEnd(from(input).pipe(op));
    assert.equal(result.completed, true);
    assert.deepEqual(result.values, ['d1@kitchen=1', 'd2@hall=3']);
    assert.deepEqual(reasons, ['lookup-error']);
    assert.deepEqual(result.uncaught, []);
  });
});
