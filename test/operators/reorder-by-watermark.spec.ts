import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TestScheduler } from 'rxjs/testing';
import { from, Subject, toArray, lastValueFrom } from 'rxjs';
import fc from 'fast-check';
import { reorderByWatermark } from '../../operators/reorder-by-watermark.js';
import { ConfigError } from '../../src/core/errors.js';
import { concat, interval, map, NEVER, of, take } from 'rxjs';
import { tumblingWindow } from '../../operators/tumbling-window.js';
import { Boom, run, throwingWhen, trackingScheduler } from './support/callback-errors.js';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => assert.deepStrictEqual(actual, expected));
const identity = (n: number): number => n;

interface Reading {
  readonly device: string;
  readonly t: number;
}

describe('reorderByWatermark', () => {
  it('releases an element once the watermark (max event time - bound) has passed it, in event-time order', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const values = { a: 5, b: 4, c: 8, d: 7, e: 10 };
      const source = cold('a 4ms b 4ms c 4ms d 4ms e 4ms |', values);
      // c (8) moves the watermark to 6: 4 and 5 go; e (10) to 8: 7 goes, 8 (not behind 8) waits; completion releases 8 and 10.
      expectObservable(source.pipe(reorderByWatermark({ eventTime: identity, maxOutOfOrderMs: 2 }))).toBe('10ms (xy) 6ms z 4ms (wv|)', {
        x: 4, y: 5, z: 7, w: 8, v: 10,
      });
    });
  });

  it('is exact at the bound: an element delayed by exactly maxOutOfOrderMs is not late, one more is', () => {
    const late: number[] = [];
    const op = reorderByWatermark<number>({ eventTime: identity, maxOutOfOrderMs: 2, onLate: (n) => late.push(n) });
    scheduler().run(({ cold, expectObservable }) => {
      // After 10 the watermark is 8: 8 is at it (kept), 7 is behind it (late); 9 arrives and goes out in order at completion.
      expectObservable(cold('a b c d |', { a: 10, b: 8, c: 7, d: 9 }).pipe(op)).toBe('---- (xyz|)', { x: 8, y: 9, z: 10 });
    });
    assert.deepEqual(late, [7]);
    assert.equal(op.stats.late, 1);
    assert.equal(op.stats.released, 3);
  });

  it('keeps arrival order on equal event times', () => {
    const input: Array<{ id: string; t: number }> = [{ id: 'a', t: 3 }, { id: 'b', t: 1 }, { id: 'c', t: 3 }, { id: 'd', t: 1 }, { id: 'e', t: 9 }];
    return lastValueFrom(from(input).pipe(reorderByWatermark({ eventTime: (x: { id: string; t: number }) => x.t, maxOutOfOrderMs: 5 }), toArray())).then((out) => {
      assert.deepEqual(out.map((x) => x.id), ['b', 'd', 'a', 'c', 'e']);
    });
  });

  it('drops late elements by default, counts them and hands them to onLate; or emits them with late: "emit"', () => {
    const late: unknown[] = [];
    const dropping = reorderByWatermark<number>({ eventTime: identity, maxOutOfOrderMs: 1, onLate: (n) => late.push(n) });
    const emitting = reorderByWatermark({ eventTime: identity, maxOutOfOrderMs: 1, late: 'emit' });
    scheduler().run(({ cold, expectObservable }) => {
      // After 10 the watermark is 9: 8 goes out, and a later 8 and 3 are late.
      expectObservable(cold('(ab) 2ms c d |', { a: 8, b: 10, c: 8, d: 3 }).pipe(dropping)).toBe('(x) 5ms (y|)', { x: 8, y: 10 });
      expectObservable(cold('(ab) 2ms c d |', { a: 8, b: 10, c: 8, d: 3 }).pipe(emitting)).toBe('(x) 3ms c d (y|)', { x: 8, c: 8, d: 3, y: 10 });
    });
    assert.deepEqual(late, [8, 3]);
    assert.equal(dropping.stats.late, 2);
    assert.equal(emitting.stats.late, 2);
  });

  it('keeps a watermark per key: a device far behind is not late because another one is ahead', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const r = (device: string, t: number): Reading => ({ device, t });
      const values = { a: r('fast', 100), b: r('slow', 5), c: r('fast', 111), d: r('slow', 20), e: r('slow', 12) };
      const op = reorderByWatermark({ eventTime: (x: Reading) => x.t, key: (x) => x.device, maxOutOfOrderMs: 10 });
      // fast: 111 moves its watermark to 101 → 100 goes. slow: 20 moves it to 10 → 5 goes; 12 waits for completion.
      // Completion releases the rest by event time across keys: slow 12, slow 20, fast 111.
      expectObservable(cold('a b c d e |', values).pipe(op)).toBe('2ms a b 1ms (edc|)', values);
    });
  });

  it('completion releases everything held in event-time order across keys', async () => {
    const input: Reading[] = [{ device: 'x', t: 50 }, { device: 'y', t: 10 }, { device: 'x', t: 30 }, { device: 'y', t: 40 }];
    const out = await lastValueFrom(from(input).pipe(reorderByWatermark({ eventTime: (x: Reading) => x.t, key: (x) => x.device, maxOutOfOrderMs: 1000 }), toArray()));
    assert.deepEqual(out.map((x) => x.t), [10, 30, 40, 50]);
  });

  it('releases a quiet key after idleTimeoutMs of processing time, then treats older arrivals as late', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const op = reorderByWatermark({ eventTime: identity, maxOutOfOrderMs: 100, idleTimeoutMs: 20 });
      // 5 and 7 wait (watermark -93); nothing comes for 20 ms → released at frame 21; 6 at 30 is late; 50 waits for completion.
      expectObservable(cold('a b 28ms c d 9ms |', { a: 7, b: 5, c: 6, d: 50 }).pipe(op)).toBe('21ms (xy) 16ms (z|)', { x: 5, y: 7, z: 50 });
    });
  });

  it('bounds memory: over maxBuffered the earliest element of the quietest key goes early, and its watermark follows', async () => {
    const late: number[] = [];
    const out = await lastValueFrom(from([5, 3, 9, 1, 4, 8]).pipe(reorderByWatermark<number>({ eventTime: identity, maxOutOfOrderMs: 1000, maxBuffered: 2, onLate: (n) => late.push(n) }), toArray()));
    // 5,3 held; 9 → over: 3 forced (watermark 3); 1 is now late; 4 → over: 4 forced; 8 → over: 5 forced; completion: 8, 9.
    assert.deepEqual(out, [3, 4, 5, 8, 9]);
    assert.deepEqual(late, [1]);
    const counted = reorderByWatermark({ eventTime: identity, maxOutOfOrderMs: 1000, maxBuffered: 2 });
    await lastValueFrom(from([5, 3, 9, 1, 4, 8]).pipe(counted, toArray()));
    assert.equal(counted.stats.forcedReleases, 3);
    assert.equal(counted.stats.buffered, 0);
  });

  it('propagates errors and leaves no timer behind on error, completion or unsubscription', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('a #', { a: 1 }).pipe(reorderByWatermark({ eventTime: identity, maxOutOfOrderMs: 5 }))).toBe('- #');
    });
    const virtual = new TestScheduler(() => {});
    const source = new Subject<number>();
    const op = reorderByWatermark<number>({ eventTime: identity, maxOutOfOrderMs: 100, idleTimeoutMs: 50, scheduler: virtual });
    const seen: number[] = [];
    const subscription = source.pipe(op).subscribe((n) => seen.push(n));
    source.next(3);
    source.next(1);
    assert.equal(virtual.actions.length, 1, 'one idle timer while holding');
    assert.equal(op.stats.buffered, 2);
    subscription.unsubscribe();
    assert.equal(virtual.actions.length, 0, 'timer cleared on unsubscription');
    assert.equal(op.stats.buffered, 0, 'buffers cleared');
    virtual.flush();
    assert.equal(seen.length, 0, 'nothing released after unsubscription');

    const completing = new Subject<number>();
    completing.pipe(op).subscribe((n) => seen.push(n));
    completing.next(2);
    assert.equal(virtual.actions.length, 1);
    completing.complete();
    assert.equal(virtual.actions.length, 0, 'timer cleared on completion');
    assert.deepEqual(seen, [2]);

    const failing = new Subject<number>();
    const errors: unknown[] = [];
    failing.pipe(op).subscribe({ next: (n) => seen.push(n), error: (e: unknown) => errors.push(e) });
    failing.next(5);
    assert.equal(virtual.actions.length, 1);
    failing.error(new Error('boom'));
    assert.equal(virtual.actions.length, 0, 'timer cleared on error');
    assert.equal(op.stats.buffered, 0, 'buffer cleared on error');
    assert.deepEqual(seen, [2], 'nothing released on error');
    assert.equal((errors[0] as Error).message, 'boom');
  });

  it('drops elements whose event time is not a finite number, counted and reported', async () => {
    const invalid: number[] = [];
    const op = reorderByWatermark<number>({ eventTime: identity, maxOutOfOrderMs: 10, onInvalid: (n) => invalid.push(n) });
    const out = await lastValueFrom(from([3, Number.NaN, 1, Infinity, -Infinity, 2]).pipe(op, toArray()));
    assert.deepEqual(out, [1, 2, 3]);
    assert.deepEqual(invalid, [Number.NaN, Infinity, -Infinity]);
    assert.equal(op.stats.invalid, 3);
    assert.equal(op.stats.late, 0);
  });

  it('keys that are numbers: each its own watermark, apart from the equal-looking string; a key that is not a finite number makes the element invalid', async () => {
    type R = { k: string | number; t: number };
    const invalid: R[] = [];
    const op = reorderByWatermark<R>({ eventTime: (r) => r.t, key: (r) => r.k, maxOutOfOrderMs: 10, onInvalid: (r) => invalid.push(r) });
    const input: R[] = [{ k: 0, t: 50 }, { k: '0', t: 5 }, { k: 5_000_000, t: 1 }, { k: 0, t: 45 }, { k: Number.NaN, t: 1 }, { k: 0, t: 100 }, { k: Infinity, t: 2 }];
    const out = await lastValueFrom(from(input).pipe(op, toArray()));
    // '0' and 5,000,000 are not held back by key 0's watermark (90): only 45 of key 0 would be late, and it is not (behind 50 by 5).
    assert.deepEqual(out, [{ k: 0, t: 45 }, { k: 0, t: 50 }, { k: 5_000_000, t: 1 }, { k: '0', t: 5 }, { k: 0, t: 100 }]);
    assert.deepEqual(invalid.map((r) => r.k), [Number.NaN, Infinity]);
    assert.equal(op.stats.invalid, 2);
    assert.equal(op.stats.late, 0);
  });

  it('releases only the quiet key on idle, and uses one timer for all keys', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const r = (device: string, t: number): Reading => ({ device, t });
      const values = { a: r('x', 10), b: r('y', 10), c: r('y', 11), d: r('y', 12), e: r('y', 13) };
      const op = reorderByWatermark({ eventTime: (v: Reading) => v.t, key: (v) => v.device, maxOutOfOrderMs: 100, idleTimeoutMs: 10, scheduler: testScheduler });
      // x is quiet after frame 0 (released at 10); y keeps arriving every 6 ms until 19, so it goes at 29.
      expectObservable(cold('a b 5ms c 5ms d 5ms e 20ms |', values).pipe(op)).toBe('10ms a 18ms (bcde) 5ms |', values);
    });
  });

  it('validates its options at creation', () => {
    assert.throws(() => reorderByWatermark({ eventTime: identity, maxOutOfOrderMs: -1 }), (e: unknown) => e instanceof ConfigError && /"maxOutOfOrderMs" must be a number in \[0, 86400000\]/.test(e.message));
    assert.throws(() => reorderByWatermark({ eventTime: 'x' as unknown as (n: number) => number, maxOutOfOrderMs: 1 }), /"eventTime" must be a function/);
    assert.throws(() => reorderByWatermark({ eventTime: identity, maxOutOfOrderMs: 1, late: 'keep' as 'drop' }), /"late" must be one of 'drop', 'emit'/);
    assert.throws(() => reorderByWatermark({ eventTime: identity, maxOutOfOrderMs: 1, maxBuffered: 0 }), /"maxBuffered"/);
    assert.throws(() => reorderByWatermark({ eventTime: identity, maxOutOfOrderMs: 1, idleTimeoutMs: 0 }), /"idleTimeoutMs"/);
    assert.throws(() => reorderByWatermark({ eventTime: identity, maxOutOfOrderMs: 1, key: 'device' as unknown as (n: number) => string }), /"key" must be a function/);
    assert.throws(() => reorderByWatermark({ eventTime: identity, maxOutOfOrderMs: 1, onLate: 1 as unknown as (n: number) => void }), /"onLate" must be a function/);
  });

  describe('properties', () => {
    it('leaves no timer behind after completion or unsubscription, whatever the input', () => {
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 50 }), fc.boolean(), fc.integer({ min: 0, max: 60 }), (times, unsubscribe, at) => {
          const virtual = new TestScheduler(() => {});
          const source = new Subject<number>();
          const op = reorderByWatermark<number>({ eventTime: identity, maxOutOfOrderMs: 100, idleTimeoutMs: 10, key: (n) => String(n % 3), scheduler: virtual });
          const subscription = source.pipe(op).subscribe();
          times.forEach((t, i) => {
            if (i === at) virtual.flush();
            source.next(t);
          });
          if (unsubscribe) subscription.unsubscribe();
          else source.complete();
          assert.equal(virtual.actions.length, 0);
          assert.equal(op.stats.buffered, 0);
        }),
        { numRuns: 150 },
      );
    });

    /**
     * Readings of 5 devices with event times 0..500 arriving after a delay of at most `disorder` ms
     * (often exactly 0 or `disorder`, the edge cases), in arrival order.
     */
    const disordered = (disorder: number) =>
      fc
        .array(
          fc.record({
            device: fc.integer({ min: 0, max: 4 }),
            t: fc.integer({ min: 0, max: 500 }),
            delay: fc.oneof(fc.constant(0), fc.constant(disorder), fc.integer({ min: 0, max: disorder })),
          }),
          { maxLength: 200 },
        )
        .map((rows) => rows.map((r, i) => ({ ...r, id: i })).sort((a, b) => a.t + a.delay - (b.t + b.delay) || a.id - b.id));

    it('with disorder within the bound: output = input sorted by event time (stable, per key when keyed), nothing late', async () => {
      await fc.assert(
        fc.asyncProperty(disordered(50), fc.boolean(), async (input, keyed) => {
          const op = reorderByWatermark({ eventTime: (r: (typeof input)[number]) => r.t, maxOutOfOrderMs: 50, key: keyed ? (r) => String(r.device) : undefined });
          const out = await lastValueFrom(from(input).pipe(op, toArray()));
          const stable = (rows: typeof input): typeof input => [...rows].sort((a, b) => a.t - b.t || input.indexOf(a) - input.indexOf(b));
          if (keyed) {
            for (let d = 0; d <= 4; d++) assert.deepEqual(out.filter((r) => r.device === d), stable(input.filter((r) => r.device === d)));
            assert.equal(out.length, input.length);
          } else {
            assert.deepEqual(out, stable(input));
          }
          assert.equal(op.stats.late, 0);
        }),
        { numRuns: 150 },
      );
    });

    it('with idle releases at random arrival times: still ordered per key, output + late = input, no timer left', () => {
      fc.assert(
        fc.property(
          fc.array(fc.record({ device: fc.integer({ min: 0, max: 3 }), t: fc.integer({ min: 0, max: 300 }), at: fc.integer({ min: 0, max: 200 }) }), { maxLength: 100 }),
          fc.integer({ min: 0, max: 60 }),
          fc.integer({ min: 1, max: 40 }),
          (rows, bound, idleTimeoutMs) => {
            const virtual = new TestScheduler(() => {});
            const input = rows.map((r, id) => ({ ...r, id }));
            const source = new Subject<(typeof input)[number]>();
            const late: typeof input = [];
            const out: typeof input = [];
            const op = reorderByWatermark({ eventTime: (r: (typeof input)[number]) => r.t, key: (r) => String(r.device), maxOutOfOrderMs: bound, idleTimeoutMs, scheduler: virtual, onLate: (r) => late.push(r) });
            source.pipe(op).subscribe((r) => out.push(r));
            for (const r of input) virtual.schedule(() => source.next(r), r.at);
            virtual.schedule(() => source.complete(), 201);
            virtual.flush();
            const newest = new Map<number, number>();
            for (const r of out) {
              assert.ok(r.t >= (newest.get(r.device) ?? -Infinity), 'ordered per key');
              newest.set(r.device, r.t);
            }
            assert.deepEqual([...out, ...late].map((r) => r.id).sort((a, b) => a - b), input.map((r) => r.id).sort((a, b) => a - b));
            assert.equal(op.stats.late, late.length);
            assert.equal(op.stats.buffered, 0);
            assert.equal(virtual.actions.length, 0);
          },
        ),
        { numRuns: 150 },
      );
    });

    it('with any disorder, keyed or not: output is ordered (per key) and output + late = input', async () => {
      await fc.assert(
        fc.asyncProperty(disordered(400), fc.integer({ min: 0, max: 100 }), fc.boolean(), fc.integer({ min: 1, max: 300 }), async (input, bound, keyed, maxBuffered) => {
          const late: typeof input = [];
          const op = reorderByWatermark({
            eventTime: (r: (typeof input)[number]) => r.t,
            maxOutOfOrderMs: bound,
            key: keyed ? (r) => String(r.device) : undefined,
            maxBuffered,
            onLate: (r) => late.push(r),
          });
          const out = await lastValueFrom(from(input).pipe(op, toArray()));
          const byKey = new Map<string, number>();
          for (const r of out) {
            const k = keyed ? String(r.device) : '';
            assert.ok(r.t >= (byKey.get(k) ?? -Infinity), 'ordered');
            byKey.set(k, r.t);
          }
          const ids = (rows: typeof input): number[] => rows.map((r) => r.id).sort((a, b) => a - b);
          assert.deepEqual(ids([...out, ...late]), ids(input));
          assert.equal(op.stats.late, late.length);
          assert.equal(op.stats.released, out.length);
          assert.equal(op.stats.buffered, 0);
        }),
        { numRuns: 200 },
      );
    });
  });
});

describe('reorderByWatermark: a user callback that throws errors the output, never escapes', () => {
  // 1, then 5 (releases 1), 3 (late behind 5), NaN (invalid), 7 (releases 5).
  const input = [1, 5, 3, Number.NaN, 7];
  const callbacks: Array<[string, (boom: Boom) => Partial<Parameters<typeof reorderByWatermark<number>>[0]>]> = [
    ['eventTime', (boom) => ({ eventTime: throwingWhen(boom, (n: number) => n === 7, identity) })],
    ['key', (boom) => ({ key: throwingWhen(boom, (n: number) => n === 7, () => 'k') })],
    ['onLate', (boom) => ({ onLate: () => { throw boom; } })],
    ['onInvalid', (boom) => ({ onInvalid: () => { throw boom; } })],
  ];
  for (const [name, options] of callbacks) {
    it(`${name}, on the synchronous path`, async () => {
      const boom = new Boom(name);
      const op = reorderByWatermark<number>({ eventTime: identity, maxOutOfOrderMs: 0, ...options(boom) });
      const result = await run(from(input).pipe(op));
      assert.equal(result.error, boom);
      assert.equal(result.completed, false);
      assert.deepEqual(result.uncaught, []);
      assert.equal(op.stats.buffered, 0, 'teardown cleared the buffer');
    });
    it(`${name}, from a source driven by a timer: nothing uncaught, no timer left`, async () => {
      const boom = new Boom(name);
      const timers = trackingScheduler();
      const op = reorderByWatermark<number>({ eventTime: identity, maxOutOfOrderMs: 0, idleTimeoutMs: 1000, scheduler: timers, ...options(boom) });
      const result = await run(interval(2).pipe(take(input.length), map((i) => input[i]), op));
      assert.equal(result.error, boom);
      assert.deepEqual(result.values, [1], 'what was released before the throw');
      assert.deepEqual(result.uncaught, []);
      assert.ok(timers.armed > 0, 'the idle timer was armed');
      assert.equal(timers.live, 0, 'and cleared');
      assert.equal(op.stats.buffered, 0);
    });
  }

  it('an idle release whose element makes a callback downstream throw: the error arrives, both operators stop their timers', async () => {
    const boom = new Boom('labels');
    const timers = trackingScheduler();
    const ordered = reorderByWatermark<number>({ eventTime: identity, maxOutOfOrderMs: 100, idleTimeoutMs: 5, scheduler: timers });
    const windows = tumblingWindow({
      sizeMs: 10, aggregations: ['count'], idleTimeoutMs: 1000, scheduler: timers,
      eventTime: identity, value: identity, labels: throwingWhen(boom, (n: number) => n === 2, () => ({ __name__: 'n' })),
    });
    // Held by the watermark until the idle timer releases 1, 2, 3 in order; 2 makes labels() throw.
    const result = await run(concat(of(3, 1, 2), NEVER).pipe(ordered, windows));
    assert.equal(result.error, boom);
    assert.deepEqual(result.uncaught, []);
    assert.equal(ordered.stats.idleReleases, 2, 'released 1, then 2 threw and the output closed');
    assert.equal(timers.live, 0);
    assert.equal(ordered.stats.buffered, 0);
  });

  it('the flush on completion whose element makes a callback downstream throw: error, not completion', async () => {
    const boom = new Boom('value');
    const windows = tumblingWindow({ sizeMs: 10, aggregations: ['sum'], eventTime: identity, labels: () => ({ __name__: 'n' }), value: throwingWhen(boom, (n: number) => n === 2, identity) });
    const result = await run(from([3, 1, 2]).pipe(reorderByWatermark<number>({ eventTime: identity, maxOutOfOrderMs: 100 }), windows));
    assert.equal(result.error, boom);
    assert.equal(result.completed, false);
    assert.deepEqual(result.uncaught, []);
  });
});

describe('reorderByWatermark: the output watermark', () => {
  type R = { device: string; t: number };
  const make = (extra: Partial<Parameters<typeof reorderByWatermark<R>>[0]> = {}) =>
    reorderByWatermark<R>({ eventTime: (r) => r.t, key: (r) => r.device, maxOutOfOrderMs: 10, ...extra });

  it('is the smallest key watermark, published once what it passed has been released; -Infinity unsubscribed', () => {
    const op = make();
    assert.equal(op.watermark, -Infinity);
    const source = new Subject<R>();
    const seen: Array<[number, number]> = [];
    const subscription = source.pipe(op).subscribe((r) => seen.push([r.t, op.watermark]));
    source.next({ device: 'a', t: 100 });
    assert.equal(op.watermark, 90);
    source.next({ device: 'b', t: 95 });
    assert.equal(op.watermark, 90, 'b starts at the published 90 (its own would be 85)');
    source.next({ device: 'a', t: 200 }); // releases a@100; b still holds the watermark at 90
    assert.equal(op.watermark, 90);
    source.next({ device: 'b', t: 120 }); // releases b@95
    assert.equal(op.watermark, 110);
    // While an element is released, the watermark read downstream is never past it.
    assert.deepEqual(seen, [[100, 90], [95, 90]]);
    subscription.unsubscribe();
    assert.equal(op.watermark, -Infinity);
  });

  it('a new key starts at the published watermark: what it brings from behind it is late', async () => {
    const late: R[] = [];
    const op = make({ onLate: (r) => late.push(r) });
    const source = new Subject<R>();
    const out: R[] = [];
    source.pipe(op).subscribe((r) => out.push(r));
    void op.watermark; // starts the bookkeeping
    source.next({ device: 'a', t: 100 });
    source.next({ device: 'b', t: 85 });
    source.next({ device: 'c', t: 95 });
    assert.deepEqual(late, [{ device: 'b', t: 85 }]);
    assert.equal(op.watermark, 90);
    source.complete();
    assert.deepEqual(out.map((r) => r.device), ['c', 'a']);
  });

  it('a key released as idle stops holding the watermark back, and is held to it when it comes back', () => {
    const virtual = new TestScheduler(() => {});
    const late: R[] = [];
    const op = make({ idleTimeoutMs: 5, scheduler: virtual, onLate: (r) => late.push(r) });
    void op.watermark;
    const source = new Subject<R>();
    const out: string[] = [];
    source.pipe(op).subscribe((r) => out.push(`${r.device}@${r.t}`));
    const watermarks: Array<[number, number]> = [];
    const at = (frame: number, work: () => void): void => void virtual.schedule(work, frame);
    at(0, () => source.next({ device: 'a', t: 100 }));
    at(1, () => source.next({ device: 'b', t: 95 }));
    at(3, () => watermarks.push([3, op.watermark]));
    at(4, () => source.next({ device: 'a', t: 110 }));
    // b is quiet from frame 1: released as idle at frame 6, and no longer holds the watermark at 90.
    at(7, () => watermarks.push([7, op.watermark]));
    at(8, () => source.next({ device: 'a', t: 120 }));
    at(9, () => source.next({ device: 'b', t: 105 })); // back, held to the published 110: late
    at(10, () => source.next({ device: 'b', t: 115 }));
    at(11, () => watermarks.push([11, op.watermark]));
    at(12, () => source.complete());
    virtual.flush();
    assert.deepEqual(watermarks, [[3, 90], [7, 100], [11, 110]]);
    assert.deepEqual(late, [{ device: 'b', t: 105 }]);
    assert.deepEqual(out, ['b@95', 'a@100', 'a@110', 'b@115', 'a@120']);
  });
});
