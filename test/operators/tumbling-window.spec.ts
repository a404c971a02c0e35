import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TestScheduler } from 'rxjs/testing';
import { from, lastValueFrom, Subject, toArray } from 'rxjs';
import fc from 'fast-check';
import { tumblingWindow, type Aggregation } from '../../operators/tumbling-window.js';
import { reorderByWatermark } from '../../operators/reorder-by-watermark.js';
import { ConfigError } from '../../src/core/errors.js';
import { concat, interval, map, NEVER, of, take } from 'rxjs';
import { dropOutliers } from '../../operators/drop-outliers.js';
import { Boom, run, throwingWhen, trackingScheduler } from './support/callback-errors.js';
import type { Labels, Sample } from '../../src/core/model.js';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => assert.deepStrictEqual(actual, expected));
const temp: Labels = { __name__: 'temp', room: 'a' };
const s = (timestamp: number, value: number, labels: Labels = temp): Sample => ({ labels, value, timestamp });
const out = (name: string, value: number, timestamp: number, extra: Record<string, string> = { room: 'a' }): Sample => ({ labels: { ...extra, __name__: name }, value, timestamp });

describe('tumblingWindow', () => {
  it('emits one sample per aggregation when the largest event time reaches the window end, stamped with the end', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('a b c d 10ms |', { a: s(1, 4), b: s(7, 2), c: s(9, 6), d: s(10, 1) });
      const op = tumblingWindow({ sizeMs: 10, aggregations: ['count', 'sum', 'min', 'max', 'avg', 'first', 'last'] });
      // d (t=10) closes [0,10); completion closes [10,20).
      expectObservable(source.pipe(op)).toBe('3ms (abcdefg) 2ms (hijklmn|)', {
        a: out('temp_count', 3, 10), b: out('temp_sum', 12, 10), c: out('temp_min', 2, 10), d: out('temp_max', 6, 10),
        e: out('temp_avg', 4, 10), f: out('temp_first', 4, 10), g: out('temp_last', 6, 10),
        h: out('temp_count', 1, 20), i: out('temp_sum', 1, 20), j: out('temp_min', 1, 20), k: out('temp_max', 1, 20),
        l: out('temp_avg', 1, 20), m: out('temp_first', 1, 20), n: out('temp_last', 1, 20),
      });
    });
  });

  it('aggregates over the dimensions labels() keeps (room), across the ones it leaves out (device), window by window', async () => {
    type Reading = { device: string; room: string; t: number; v: number };
    const readings: Reading[] = [
      { device: 'd1', room: 'kitchen', t: 1000, v: 20 }, { device: 'd2', room: 'kitchen', t: 1500, v: 22 },
      { device: 'd3', room: 'hall', t: 1200, v: 18 }, { device: 'd1', room: 'kitchen', t: 2100, v: 21 },
      { device: 'd3', room: 'hall', t: 3000, v: 17 },
    ];
    const rooms = new Map<string, Labels>();
    const labels = (r: Reading): Labels => rooms.get(r.room) ?? rooms.set(r.room, { __name__: 'room_temp', room: r.room }).get(r.room)!;
    const result = await lastValueFrom(
      from(readings).pipe(tumblingWindow({ sizeMs: 1000, eventTime: (r) => r.t, value: (r) => r.v, labels, aggregations: ['avg', 'count'] }), toArray()),
    );
    assert.deepEqual(result.map((x) => [x.timestamp, x.labels['room'], x.labels['__name__'], x.value]), [
      [2000, 'kitchen', 'room_temp_avg', 21], [2000, 'kitchen', 'room_temp_count', 2],
      [2000, 'hall', 'room_temp_avg', 18], [2000, 'hall', 'room_temp_count', 1],
      [3000, 'kitchen', 'room_temp_avg', 21], [3000, 'kitchen', 'room_temp_count', 1],
      [4000, 'hall', 'room_temp_avg', 17], [4000, 'hall', 'room_temp_count', 1],
    ]);
    // The same label objects come back for the same series: the sink recognises them by identity.
    assert.equal(result[0].labels, result[4].labels);
  });

  it('drops, counts and reports elements for a closed window; allowedLatenessMs keeps windows open longer', () => {
    const dropped: Array<[number, string]> = [];
    const late: number[] = [];
    const strictOp = tumblingWindow({ sizeMs: 10, aggregations: ['count'], onDrop: (e, reason) => dropped.push([e.timestamp, reason]), onLate: (e) => late.push(e.timestamp) });
    const lenientOp = tumblingWindow({ sizeMs: 10, aggregations: ['count'], allowedLatenessMs: 5 });
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a b c |', { a: s(5, 1), b: s(12, 1), c: s(8, 1) }).pipe(strictOp)).toBe('- a - (b|)', {
        a: out('temp_count', 1, 10), b: out('temp_count', 1, 20),
      });
      expectObservable(cold('a b c d |', { a: s(5, 1), b: s(12, 1), c: s(8, 1), d: s(15, 1) }).pipe(lenientOp)).toBe('--- a (b|)', {
        a: out('temp_count', 2, 10), b: out('temp_count', 2, 20),
      });
    });
    assert.deepEqual(dropped, [[8, 'late']]);
    assert.deepEqual(late, [8]);
    assert.equal(strictOp.stats.late, 1);
    assert.equal(lenientOp.stats.late, 0);
  });

  it('closes open windows by processing time after idleTimeoutMs without input', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const op = tumblingWindow({ sizeMs: 1000, aggregations: ['sum'], idleTimeoutMs: 50 });
      expectObservable(cold('a b 100ms |', { a: s(100, 1), b: s(200, 2) }).pipe(op)).toBe('51ms a 50ms |', { a: out('temp_sum', 3, 1000) });
    });
  });

  it('after an idle close, elements for the closed windows are late and newer ones open new windows', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const op = tumblingWindow({ sizeMs: 1000, aggregations: ['sum'], idleTimeoutMs: 20, scheduler: testScheduler });
      // [0,1000) closes by idle at 20; 500 (at 30) is late; 1500 (at 31) opens [1000,2000), which closes by idle at 51.
      expectObservable(cold('a 29ms b c 40ms |', { a: s(100, 1), b: s(500, 2), c: s(1500, 4) }).pipe(op)).toBe('20ms x 30ms y 20ms |', {
        x: out('temp_sum', 1, 1000), y: out('temp_sum', 4, 2000),
      });
    });
  });

  it('completion closes every open window in window order', async () => {
    const result = await lastValueFrom(from([s(25, 1), s(5, 2), s(15, 3)]).pipe(tumblingWindow({ sizeMs: 10, allowedLatenessMs: 100, aggregations: ['sum'] }), toArray()));
    assert.deepEqual(result.map((x) => [x.timestamp, x.value]), [[10, 2], [20, 3], [30, 1]]);
  });

  it('supports offsets, start stamps, renamed outputs and quantiles with a quantile label', async () => {
    const values = Array.from({ length: 100 }, (_, i) => s(1000 + i, i + 1));
    const result = await lastValueFrom(
      from(values).pipe(
        tumblingWindow({ sizeMs: 1000, offsetMs: 500, timestampAt: 'start', aggregations: ['max', { quantile: 0.5 }, { quantile: 0.99 }], names: { max: (m) => `${m}_peak` } }),
        toArray(),
      ),
    );
    assert.deepEqual(result.map((x) => [x.timestamp, x.labels['__name__'], x.labels['quantile']]), [
      [500, 'temp_peak', undefined], [500, 'temp', '0.5'], [500, 'temp', '0.99'],
    ]);
    assert.equal(result[0].value, 100);
    assert.ok(Math.abs(result[1].value - 50) <= 50 * 0.01, `median ${result[1].value}`);
    assert.ok(Math.abs(result[2].value - 99) <= 99 * 0.01, `p99 ${result[2].value}`);
  });

  it('drops invalid elements (non-finite time, NaN value, labels without __name__) with a reason, never crashing', async () => {
    const reasons: string[] = [];
    const op = tumblingWindow({ sizeMs: 10, aggregations: ['count'], onDrop: (_e, reason) => reasons.push(reason) });
    const proto = JSON.parse('{"__name__":"temp","__proto__":"x"}') as Labels;
    const input: Sample[] = [
      s(Number.NaN, 1), s(1, Number.NaN), s(Infinity, 1), s(1, -Infinity), s(2, 1, { room: 'x' }),
      s(2, 1, { __name__: 'temp', room: 1 } as unknown as Labels), s(3, 1, proto), s(4, 1),
    ];
    const result = await lastValueFrom(from(input).pipe(op, toArray()));
    assert.deepEqual(reasons, ['invalid', 'invalid', 'invalid', 'invalid', 'invalid', 'invalid']);
    assert.equal(op.stats.invalid, 6);
    assert.equal(op.stats.accepted, 2);
    assert.deepEqual(result.map((x) => [x.labels['__name__'], x.value]), [['temp_count', 1], ['temp_count', 1]]);
    // A label named __proto__ is kept as an own label, not turned into a prototype.
    assert.ok(Object.hasOwn(result[0].labels, '__proto__'));
    assert.equal(result[0].labels['__proto__'], 'x');
    assert.equal(Object.getPrototypeOf(result[0].labels), Object.prototype);
    assert.equal(({} as Record<string, unknown>)['x'], undefined, 'no prototype pollution');
  });

  it('propagates errors and leaves no timer behind on completion or unsubscription', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a #', { a: s(1, 1) }).pipe(tumblingWindow({ sizeMs: 10, aggregations: ['count'] }))).toBe('- #');
    });
    const virtual = new TestScheduler(() => {});
    const op = tumblingWindow({ sizeMs: 10, aggregations: ['count'], idleTimeoutMs: 100, scheduler: virtual });
    const source = new Subject<Sample>();
    const seen: Sample[] = [];
    const subscription = source.pipe(op).subscribe((x) => seen.push(x));
    source.next(s(1, 1));
    assert.equal(virtual.actions.length, 1);
    assert.equal(op.stats.openWindows, 1);
    subscription.unsubscribe();
    assert.equal(virtual.actions.length, 0, 'timer cleared on unsubscription');
    assert.equal(op.stats.openWindows, 0, 'windows cleared');
    virtual.flush();
    assert.equal(seen.length, 0);
    const completing = new Subject<Sample>();
    completing.pipe(op).subscribe((x) => seen.push(x));
    completing.next(s(1, 1));
    completing.complete();
    assert.equal(virtual.actions.length, 0, 'timer cleared on completion');
    assert.equal(seen.length, 1);
    const failing = new Subject<Sample>();
    const errors: unknown[] = [];
    failing.pipe(op).subscribe({ next: (x) => seen.push(x), error: (e: unknown) => errors.push(e) });
    failing.next(s(1, 1));
    assert.equal(virtual.actions.length, 1);
    failing.error(new Error('boom'));
    assert.equal(virtual.actions.length, 0, 'timer cleared on error');
    assert.equal(op.stats.openWindows, 0, 'windows dropped on error');
    assert.equal(seen.length, 1, 'nothing emitted on error');
    assert.equal((errors[0] as Error).message, 'boom');
  });

  it('validates its options at creation', () => {
    assert.throws(() => tumblingWindow({ sizeMs: 0, aggregations: ['count'] }), (e: unknown) => e instanceof ConfigError && /"sizeMs" must be an integer in \[1, 2678400000\]/.test(e.message));
    assert.throws(() => tumblingWindow({ sizeMs: 10, offsetMs: 10, aggregations: ['count'] }), /"offsetMs" must be an integer in \[0, 9\]/);
    assert.throws(() => tumblingWindow({ sizeMs: 10, aggregations: [] }), /"aggregations"/);
    assert.throws(() => tumblingWindow({ sizeMs: 10, aggregations: ['median' as Aggregation] }), /"aggregations\[0\]" must be one of/);
    assert.throws(() => tumblingWindow({ sizeMs: 10, aggregations: [{ quantile: 2 }] }), /"aggregations\[0\]"/);
    assert.throws(() => tumblingWindow({ sizeMs: 10, aggregations: ['count', { quantile: 0.5 }, { quantile: 0.5 }] }), /"aggregations\[2\]" must be not a repeat/);
    assert.throws(() => tumblingWindow({ sizeMs: 10, aggregations: ['count'], relativeAccuracy: 0 }), /"relativeAccuracy"/);
    assert.throws(() => tumblingWindow({ sizeMs: 10, aggregations: ['count'], timestampAt: 'middle' as 'end' }), /"timestampAt" must be one of 'end', 'start'/);
    assert.throws(() => tumblingWindow({ sizeMs: 10, aggregations: ['count'], allowedLatenessMs: -1 }), /"allowedLatenessMs"/);
    assert.throws(() => tumblingWindow({ sizeMs: 10, aggregations: ['count'], idleTimeoutMs: 0 }), /"idleTimeoutMs"/);
    assert.throws(() => tumblingWindow({ sizeMs: 10, aggregations: ['count'], names: { count: '_n' as unknown as (m: string) => string } }), /"names.count" must be a function/);
    assert.throws(() => tumblingWindow({ sizeMs: 10, aggregations: ['count'], names: { median: (m: string) => m } as never }), /"names.median"/);
    assert.throws(() => tumblingWindow({ sizeMs: 10, aggregations: ['count'], onLate: 'x' as unknown as () => void }), /"onLate" must be a function/);
  });

  it('leaves no timer behind after completion or unsubscription, whatever the input (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 50 }), fc.boolean(), fc.integer({ min: 0, max: 60 }), (times, unsubscribe, at) => {
        const virtual = new TestScheduler(() => {});
        const source = new Subject<Sample>();
        const op = tumblingWindow({ sizeMs: 50, aggregations: ['count', { quantile: 0.5 }], idleTimeoutMs: 10, scheduler: virtual });
        const subscription = source.pipe(op).subscribe();
        times.forEach((t, i) => {
          if (i === at) virtual.flush();
          source.next(s(t, 1));
        });
        if (unsubscribe) subscription.unsubscribe();
        else source.complete();
        assert.equal(virtual.actions.length, 0);
        assert.equal(op.stats.openWindows, 0);
      }),
      { numRuns: 150 },
    );
  });

  /**
   * Runs the operator and a brute-force computation over the same input and compares them: late
   * elements exactly, count/min/max/first/last exactly, sum/avg up to float rounding, quantiles
   * within the relative accuracy of the exact value at rank ⌊q·(n−1)⌋.
   */
  const checkAgainstBruteForce = async (
    input: Sample[],
    config: { sizeMs: number; offsetMs: number; allowedLatenessMs: number; relativeAccuracy: number; quantiles: number[] },
  ): Promise<void> => {
    const { sizeMs, offsetMs, allowedLatenessMs, relativeAccuracy, quantiles } = config;
    const late: Sample[] = [];
    const aggregations: Aggregation[] = ['count', 'sum', 'min', 'max', 'avg', 'first', 'last', ...quantiles.map((quantile) => ({ quantile }))];
    const op = tumblingWindow({ sizeMs, offsetMs, allowedLatenessMs, relativeAccuracy, aggregations, onLate: (e) => late.push(e) });
    const result = await lastValueFrom(from(input).pipe(op, toArray()));

    // Replay the closing rule to know which elements are late, then aggregate the rest.
    const startOf = (t: number): number => Math.floor((t - offsetMs) / sizeMs) * sizeMs + offsetMs;
    let maxTime = -Infinity;
    const kept: Sample[] = [];
    const lateRef: Sample[] = [];
    for (const x of input) {
      if (startOf(x.timestamp) + sizeMs <= maxTime - allowedLatenessMs) lateRef.push(x);
      else {
        kept.push(x);
        maxTime = Math.max(maxTime, x.timestamp);
      }
    }
    assert.deepEqual(late, lateRef);
    assert.equal(op.stats.late, lateRef.length);
    assert.equal(op.stats.accepted, kept.length);
    const expected = new Map<string, number>();
    const groups = new Map<string, Sample[]>();
    for (const x of kept) {
      const key = `${startOf(x.timestamp) + sizeMs}|${x.labels['__name__']}|${x.labels['room']}`;
      groups.set(key, [...(groups.get(key) ?? []), x]);
    }
    for (const [key, xs] of groups) {
      const values = xs.map((x) => x.value);
      const byTime = [...xs].sort((a, b) => a.timestamp - b.timestamp);
      const sum = values.reduce((a, b) => a + b, 0);
      expected.set(`${key}|count`, xs.length);
      expected.set(`${key}|sum`, sum);
      expected.set(`${key}|min`, Math.min(...values));
      expected.set(`${key}|max`, Math.max(...values));
      expected.set(`${key}|avg`, sum / xs.length);
      expected.set(`${key}|first`, byTime[0].value);
      expected.set(`${key}|last`, byTime.filter((x) => x.timestamp === byTime[byTime.length - 1].timestamp).pop()!.value);
      const sorted = [...values].sort((a, b) => a - b);
      for (const q of quantiles) expected.set(`${key}|q${q}`, sorted[Math.floor(q * (sorted.length - 1))]);
    }
    const actual = new Map<string, number>();
    let lastTimestamp = -Infinity;
    for (const x of result) {
      assert.ok(x.timestamp >= lastTimestamp, 'window by window');
      lastTimestamp = x.timestamp;
      const name = x.labels['__name__'];
      const quantile = x.labels['quantile'];
      const base = quantile !== undefined ? name : name.slice(0, name.lastIndexOf('_'));
      const agg = quantile !== undefined ? `q${quantile}` : name.slice(name.lastIndexOf('_') + 1);
      const key = `${x.timestamp}|${base}|${x.labels['room']}|${agg}`;
      assert.ok(!actual.has(key), `one sample per window, series and aggregation: ${key}`);
      actual.set(key, x.value);
    }
    assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
    for (const [key, want] of expected) {
      const got = actual.get(key)!;
      const tolerance = key.includes('|q') ? Math.abs(want) * relativeAccuracy + 1e-9 : key.endsWith('|sum') || key.endsWith('|avg') ? Math.abs(want) * 1e-12 + 1e-9 : 0;
      assert.ok(Math.abs(got - want) <= tolerance, `${key}: ${got} vs ${want}`);
    }
    assert.equal(op.stats.openWindows, 0);
  };

  const series: Labels[] = [temp, { __name__: 'temp', room: 'b' }, { __name__: 'hum', room: 'a' }];

  it('equals a brute-force computation over the same input (property, many small windows)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ t: fc.integer({ min: 0, max: 300 }), v: fc.double({ min: 0.5, max: 1000, noNaN: true }), k: fc.integer({ min: 0, max: 2 }) }), { minLength: 1, maxLength: 150, size: 'max' }),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 0, max: 100 }),
        async (rows, sizeMs, allowedLatenessMs) => {
          // Fresh label objects half of the time: series are also recognised by content.
          const input = rows.map((r, i) => s(r.t, r.v, i % 2 === 0 ? series[r.k] : { ...series[r.k] }));
          await checkAgainstBruteForce(input, { sizeMs, offsetMs: sizeMs > 1 ? 1 : 0, allowedLatenessMs, relativeAccuracy: 0.01, quantiles: [0.9] });
        },
      ),
      { numRuns: 150 },
    );
  });

  it('equals a brute-force computation with many values per window, where quantiles come from the sketch (property)', async () => {
    const magnitude = fc.double({ min: 1e-3, max: 1e6, noNaN: true });
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({ t: fc.integer({ min: 0, max: 39 }), v: fc.oneof(magnitude, magnitude.map((v) => -v), fc.constant(0)), k: fc.integer({ min: 0, max: 1 }) }),
          // About 75 values per (window, series): past the 64 kept exactly.
          { minLength: 300, maxLength: 400 },
        ),
        fc.constantFrom(0.01, 0.02, 0.05),
        fc.integer({ min: 0, max: 10 }),
        async (rows, relativeAccuracy, allowedLatenessMs) => {
          const input = rows.map((r) => s(r.t, r.v, series[r.k]));
          await checkAgainstBruteForce(input, { sizeMs: 20, offsetMs: 0, allowedLatenessMs, relativeAccuracy, quantiles: [0, 0.25, 0.5, 0.9, 0.99, 1] });
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('tumblingWindow: a user callback that throws errors the output, never escapes', () => {
  // 1 opens [0,10); 12 closes it; 3 is late; NaN is invalid; 25 closes [10,20).
  const input = [1, 12, 3, Number.NaN, 25];
  const n = (x: number): number => x;
  const labels: Labels = { __name__: 'n' };
  const callbacks: Array<[string, (boom: Boom) => Partial<Parameters<typeof tumblingWindow<number>>[0]>]> = [
    ['eventTime', (boom) => ({ eventTime: throwingWhen(boom, (x: number) => x === 25, n) })],
    ['labels', (boom) => ({ labels: throwingWhen(boom, (x: number) => x === 25, () => labels) })],
    ['value', (boom) => ({ value: throwingWhen(boom, (x: number) => x === 25, n) })],
    ['onLate', (boom) => ({ onLate: () => { throw boom; } })],
    ['onDrop', (boom) => ({ onDrop: throwingWhen(boom, (_x: number, reason: string) => reason === 'invalid', () => undefined) })],
    ['names', (boom) => ({ names: { count: () => { throw boom; } } })],
  ];
  for (const [name, options] of callbacks) {
    const make = (boom: Boom, extra: Partial<Parameters<typeof tumblingWindow<number>>[0]> = {}) =>
      tumblingWindow<number>({ sizeMs: 10, aggregations: ['count'], eventTime: n, value: n, labels: () => labels, ...extra, ...options(boom) });
    it(`${name}, on the synchronous path`, async () => {
      const boom = new Boom(name);
      const op = make(boom);
      const result = await run(from(input).pipe(op));
      assert.equal(result.error, boom);
      assert.equal(result.completed, false);
      assert.deepEqual(result.uncaught, []);
      assert.equal(op.stats.openWindows, 0, 'teardown forgot the open windows');
    });
    it(`${name}, from a source driven by a timer: nothing uncaught, no timer left`, async () => {
      const boom = new Boom(name);
      const timers = trackingScheduler();
      const op = make(boom, { idleTimeoutMs: 1000, scheduler: timers });
      const result = await run(interval(2).pipe(take(input.length), map((i) => input[i]), op));
      assert.equal(result.error, boom);
      assert.deepEqual(result.uncaught, []);
      // names() throws on the first element, before any timer.
      if (name !== 'names') assert.ok(timers.armed > 0, 'the idle timer was armed');
      assert.equal(timers.live, 0, 'and cleared');
      assert.equal(op.stats.openWindows, 0);
    });
  }

  it('an idle close whose output makes a callback downstream throw: the error arrives, the timer is cleared', async () => {
    const boom = new Boom('value');
    const timers = trackingScheduler();
    const windows = tumblingWindow({ sizeMs: 1000, aggregations: ['count', 'sum'], idleTimeoutMs: 5, scheduler: timers });
    const plausible = dropOutliers<Sample>({ value: throwingWhen(boom, (x: Sample) => x.labels['__name__'] === 'temp_sum', (x: Sample) => x.value) });
    const result = await run(concat(of(s(100, 1), s(200, 2)), NEVER).pipe(windows, plausible));
    assert.equal(result.error, boom);
    assert.deepEqual(result.values.map((x) => x.labels['__name__']), ['temp_count']);
    assert.deepEqual(result.uncaught, []);
    assert.equal(timers.live, 0);
    assert.equal(windows.stats.openWindows, 0);
  });

  it('the flush on completion whose output makes a callback downstream throw: error, not completion', async () => {
    const boom = new Boom('series');
    const windows = tumblingWindow({ sizeMs: 1000, aggregations: ['count'] });
    const result = await run(from([s(100, 1), s(1200, 2)]).pipe(windows, dropOutliers<Sample>({ series: throwingWhen(boom, (x: Sample) => x.timestamp === 2000, () => 'k') })));
    assert.equal(result.error, boom);
    assert.deepEqual(result.values.map((x) => x.timestamp), [1000], 'the first window, closed by the element at 1200');
    assert.equal(result.completed, false);
    assert.deepEqual(result.uncaught, []);
  });
});

describe('tumblingWindow: closing on an upstream watermark', () => {
  it('closes a window once the watermark reaches its end, not on the largest event time; allowedLatenessMs caps the wait', async () => {
    const upstream = { watermark: -Infinity };
    const source = new Subject<Sample>();
    const out: Sample[] = [];
    const op = tumblingWindow({ sizeMs: 10, aggregations: ['count'], watermark: upstream });
    source.pipe(op).subscribe((x) => out.push(x));
    source.next(s(5, 1));
    source.next(s(25, 1)); // far ahead, but the watermark has not passed [0,10)
    source.next(s(7, 1)); // still counted in [0,10)
    assert.equal(out.length, 0);
    upstream.watermark = 10;
    source.next(s(12, 1)); // the watermark closes [0,10) before this element is taken
    assert.deepEqual(out.map((x) => [x.timestamp, x.value]), [[10, 2]]);
    assert.equal(op.stats.late, 0);
    source.complete();
    assert.deepEqual(out.map((x) => [x.timestamp, x.value]), [[10, 2], [20, 1], [30, 1]]);

    const capped = tumblingWindow({ sizeMs: 10, aggregations: ['count'], watermark: { watermark: -Infinity }, allowedLatenessMs: 15 });
    const result = await lastValueFrom(from([s(5, 1), s(25, 1), s(7, 1)]).pipe(capped, toArray()));
    assert.deepEqual(result.map((x) => [x.timestamp, x.value]), [[10, 1], [30, 1]], '25 - 15 closed [0,10): 7 is late');
    assert.equal(capped.stats.late, 1);
  });

  it('after a per-key reorderByWatermark, closing on its watermark makes nothing late whatever the interleaving (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(3), fc.nat(200), fc.nat(20)), { maxLength: 150 }), async (rows) => {
        // Per device, event times rise by the row's step; each arrives up to 20 ms late within its device.
        const clocks = [0, 0, 0, 0];
        const items = rows.map(([device, step, delay], i) => ({ device: String(device), t: (clocks[device] += step), arrival: clocks[device] + delay, i }));
        items.sort((a, b) => a.arrival - b.arrival || a.i - b.i);
        const ordered = reorderByWatermark({ eventTime: (x: (typeof items)[number]) => x.t, key: (x) => x.device, maxOutOfOrderMs: 20 });
        const windows = tumblingWindow({ sizeMs: 50, aggregations: ['count'], watermark: ordered, eventTime: (x: (typeof items)[number]) => x.t, labels: () => temp, value: () => 1 });
        const out = await lastValueFrom(from(items).pipe(ordered, windows, toArray()));
        // A device that shows up behind the others is late at the reordering (counted there), never at the window.
        assert.equal(windows.stats.late, 0);
        assert.equal(out.reduce((sum, x) => sum + x.value, 0), items.length - ordered.stats.late);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a watermark that is not an object with a watermark', () => {
    assert.throws(() => tumblingWindow({ sizeMs: 10, aggregations: ['count'], watermark: 5 as unknown as { watermark: number } }), (e: unknown) => e instanceof ConfigError && e.option === 'watermark');
  });
});
