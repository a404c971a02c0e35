import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TestScheduler } from 'rxjs/testing';
import { from, Subject, toArray, lastValueFrom } from 'rxjs';
import fc from 'fast-check';
import { reorderByWatermark } from '../../operators/reorder-by-watermark.js';
import { ConfigError } from '../../src/errors.js';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => assert.deepStrictEqual(actual, expected));
const identity = (n: number): number => n;

interface Reading {
  readonly device: string;
  readonly t: number;
}

describe('reorderByWatermark', () => {
  it('releases an element once the watermark (max event time - bound) reaches it, in event-time order', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const values = { a: 5, b: 4, c: 8, d: 7, e: 10 };
      const source = cold('a 4ms b 4ms c 4ms d 4ms e 4ms |', values);
      // c (8) moves the watermark to 6: 4 and 5 go; e (10) to 8: 7 and 8 go; completion releases 10.
      expectObservable(source.pipe(reorderByWatermark({ eventTime: identity, maxOutOfOrderMs: 2 }))).toBe('10ms (xy) 6ms (zw) 1ms (v|)', {
        x: 4, y: 5, z: 7, w: 8, v: 10,
      });
    });
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
      // After 10 the watermark is 9: 9 and 3 are late.
      expectObservable(cold('(ab) 2ms c d |', { a: 8, b: 10, c: 9, d: 3 }).pipe(dropping)).toBe('(x) 5ms (y|)', { x: 8, y: 10 });
      expectObservable(cold('(ab) 2ms c d |', { a: 8, b: 10, c: 9, d: 3 }).pipe(emitting)).toBe('(x) 3ms c d (y|)', { x: 8, c: 9, d: 3, y: 10 });
    });
    assert.deepEqual(late, [9, 3]);
    assert.equal(dropping.stats.late, 2);
    assert.equal(emitting.stats.late, 2);
  });

  it('keeps a watermark per key: a device far behind is not late because another one is ahead', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const r = (device: string, t: number): Reading => ({ device, t });
      const values = { a: r('fast', 100), b: r('slow', 5), c: r('fast', 110), d: r('slow', 20), e: r('slow', 12) };
      const op = reorderByWatermark({ eventTime: (x: Reading) => x.t, key: (x) => x.device, maxOutOfOrderMs: 10 });
      // fast: 110 moves its watermark to 100 → 100 goes. slow: 20 moves it to 10 → 5 goes; 12 waits for completion.
      // Completion releases the rest by event time across keys: slow 12, slow 20, fast 110.
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
    // 5,3 held; 9 → over: 3 forced; 1 is now late; 4 → over: 4 forced... order stays increasing.
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
  });

  it('validates its options at creation', () => {
    assert.throws(() => reorderByWatermark({ eventTime: identity, maxOutOfOrderMs: -1 }), (e: unknown) => e instanceof ConfigError && /"maxOutOfOrderMs" must be a number in \[0, 86400000\]/.test(e.message));
    assert.throws(() => reorderByWatermark({ eventTime: 'x' as unknown as (n: number) => number, maxOutOfOrderMs: 1 }), /"eventTime" must be a function/);
    assert.throws(() => reorderByWatermark({ eventTime: identity, maxOutOfOrderMs: 1, late: 'keep' as 'drop' }), /"late" must be one of 'drop', 'emit'/);
    assert.throws(() => reorderByWatermark({ eventTime: identity, maxOutOfOrderMs: 1, maxBuffered: 0 }), /"maxBuffered"/);
    assert.throws(() => reorderByWatermark({ eventTime: identity, maxOutOfOrderMs: 1, idleTimeoutMs: 0 }), /"idleTimeoutMs"/);
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

    /** Readings of `devices` devices with true times 0..n and arrival disorder of at most `disorder` ms. */
    const disordered = (disorder: number) =>
      fc
        .array(fc.record({ device: fc.integer({ min: 0, max: 4 }), t: fc.integer({ min: 0, max: 500 }), delay: fc.integer({ min: 0, max: disorder }) }), { maxLength: 200 })
        .map((rows) => rows.map((r, i) => ({ ...r, id: i })).sort((a, b) => a.t + a.delay - (b.t + b.delay) || a.id - b.id));

    it('with disorder within the bound: output = input sorted by event time (stable), nothing late', async () => {
      await fc.assert(
        fc.asyncProperty(disordered(50), async (input) => {
          const op = reorderByWatermark({ eventTime: (r: { t: number }) => r.t, maxOutOfOrderMs: 50 });
          const out = await lastValueFrom(from(input).pipe(op, toArray()));
          const expected = [...input].sort((a, b) => a.t - b.t || input.indexOf(a) - input.indexOf(b));
          assert.deepEqual(out, expected);
          assert.equal(op.stats.late, 0);
        }),
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
