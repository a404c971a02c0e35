import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TestScheduler } from 'rxjs/testing';
import { from, lastValueFrom, Subject, toArray } from 'rxjs';
import fc from 'fast-check';
import { tumblingWindow, type Aggregation } from '../../operators/tumbling-window.js';
import { ConfigError } from '../../src/errors.js';
import type { Labels, Sample } from '../../src/model.js';

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
    const strictOp = tumblingWindow({ sizeMs: 10, aggregations: ['count'], onDrop: (e, reason) => dropped.push([e.timestamp, reason]) });
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
    assert.equal(strictOp.stats.late, 1);
    assert.equal(lenientOp.stats.late, 0);
  });

  it('closes open windows by processing time after idleTimeoutMs without input', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const op = tumblingWindow({ sizeMs: 1000, aggregations: ['sum'], idleTimeoutMs: 50 });
      expectObservable(cold('a b 100ms |', { a: s(100, 1), b: s(200, 2) }).pipe(op)).toBe('51ms a 50ms |', { a: out('temp_sum', 3, 1000) });
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
    const input: Sample[] = [s(Number.NaN, 1), s(1, Number.NaN), s(2, 1, { room: 'x' }), s(3, 1, JSON.parse('{"__name__":"temp","__proto__":"x"}') as Labels), s(4, 1)];
    const result = await lastValueFrom(from(input).pipe(op, toArray()));
    assert.deepEqual(reasons, ['invalid', 'invalid', 'invalid']);
    assert.deepEqual(result.map((x) => [x.labels['__name__'], x.value]), [['temp_count', 1], ['temp_count', 1]]);
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
  });

  it('validates its options at creation', () => {
    assert.throws(() => tumblingWindow({ sizeMs: 0, aggregations: ['count'] }), (e: unknown) => e instanceof ConfigError && /"sizeMs" must be an integer in \[1, 2678400000\]/.test(e.message));
    assert.throws(() => tumblingWindow({ sizeMs: 10, offsetMs: 10, aggregations: ['count'] }), /"offsetMs" must be an integer in \[0, 9\]/);
    assert.throws(() => tumblingWindow({ sizeMs: 10, aggregations: [] }), /"aggregations"/);
    assert.throws(() => tumblingWindow({ sizeMs: 10, aggregations: ['median' as Aggregation] }), /"aggregations\[0\]" must be one of/);
    assert.throws(() => tumblingWindow({ sizeMs: 10, aggregations: [{ quantile: 2 }] }), /"aggregations\[0\]"/);
    assert.throws(() => tumblingWindow({ sizeMs: 10, aggregations: ['count'], relativeAccuracy: 0 }), /"relativeAccuracy"/);
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

  it('equals a brute-force computation over the same input (property)', async () => {
    const series = [temp, { __name__: 'temp', room: 'b' }, { __name__: 'hum', room: 'a' }];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ t: fc.integer({ min: 0, max: 300 }), v: fc.double({ min: 0.5, max: 1000, noNaN: true }), k: fc.integer({ min: 0, max: 2 }) }), { minLength: 1, maxLength: 150 }),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 0, max: 100 }),
        async (rows, sizeMs, allowedLatenessMs) => {
          const input = rows.map((r) => s(r.t, r.v, series[r.k]));
          const late: Sample[] = [];
          const aggregations: Aggregation[] = ['count', 'sum', 'min', 'max', 'avg', 'first', 'last', { quantile: 0.9 }];
          const op = tumblingWindow({ sizeMs, allowedLatenessMs, aggregations, onDrop: (e) => late.push(e) });
          const result = await lastValueFrom(from(input).pipe(op, toArray()));

          // Brute force: replay the closing rule to know which elements are late, then aggregate the rest.
          let maxTime = -Infinity;
          let closedUpTo = -Infinity;
          const kept: Sample[] = [];
          const lateRef: Sample[] = [];
          for (const x of input) {
            const start = Math.floor(x.timestamp / sizeMs) * sizeMs;
            if (start + sizeMs <= closedUpTo) lateRef.push(x);
            else {
              kept.push(x);
              maxTime = Math.max(maxTime, x.timestamp);
              closedUpTo = Math.max(closedUpTo, maxTime - allowedLatenessMs);
            }
          }
          assert.deepEqual(late, lateRef);
          const expected = new Map<string, number>();
          const groups = new Map<string, Sample[]>();
          for (const x of kept) {
            const start = Math.floor(x.timestamp / sizeMs) * sizeMs;
            const key = `${start + sizeMs}|${x.labels['__name__']}|${x.labels['room']}`;
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
            expected.set(`${key}|q`, sorted[Math.floor(0.9 * (sorted.length - 1))]);
          }
          const actual = new Map<string, number>();
          let lastTimestamp = -Infinity;
          for (const x of result) {
            assert.ok(x.timestamp >= lastTimestamp, 'window by window');
            lastTimestamp = x.timestamp;
            const name = x.labels['__name__'];
            const base = x.labels['quantile'] !== undefined ? name : name.slice(0, name.lastIndexOf('_'));
            const agg = x.labels['quantile'] !== undefined ? 'q' : name.slice(name.lastIndexOf('_') + 1);
            actual.set(`${x.timestamp}|${base}|${x.labels['room']}|${agg}`, x.value);
          }
          assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
          for (const [key, want] of expected) {
            const got = actual.get(key)!;
            const tolerance = key.endsWith('|q') ? want * 0.01 + 1e-9 : key.endsWith('|sum') || key.endsWith('|avg') ? Math.abs(want) * 1e-12 : 0;
            assert.ok(Math.abs(got - want) <= tolerance, `${key}: ${got} vs ${want}`);
          }
          assert.equal(op.stats.openWindows, 0);
        },
      ),
      { numRuns: 150 },
    );
  });
});
