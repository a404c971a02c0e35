import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TestScheduler } from 'rxjs/testing';
import { from, lastValueFrom, toArray } from 'rxjs';
import fc from 'fast-check';
import { dropOutliers, type OutlierReason } from '../../operators/drop-outliers.js';
import { ConfigError } from '../../src/errors.js';
import type { Labels, Sample } from '../../src/model.js';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => assert.deepStrictEqual(actual, expected));
const a: Labels = { __name__: 'temp', device: 'a' };
const b: Labels = { __name__: 'temp', device: 'b' };
const s = (timestamp: number, value: number, labels: Labels = a): Sample => ({ labels, value, timestamp });

/** A seeded PRNG for reproducible noise. */
function noise(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648 - 0.5;
  };
}

describe('dropOutliers', () => {
  it('drops values outside the valid range and non-finite ones, passing the rest through in order', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const values = { a: s(1, 20), b: s(2, 500), c: s(3, Number.NaN), d: s(4, -41), e: s(5, 21) };
      expectObservable(cold('abcde|', values).pipe(dropOutliers({ range: { min: -40, max: 85 } }))).toBe('a---e|', values);
    });
  });

  it('drops a change faster than maxRate, per series; a GPS tracker jumping 300 km in a second is rejected', async () => {
    const dropped: Array<[number, OutlierReason]> = [];
    const op = dropOutliers({ maxRate: { perSecond: 1 }, onDrop: (x, reason) => dropped.push([x.timestamp, reason]) });
    const out = await lastValueFrom(from([s(0, 10), s(1000, 10.5), s(2000, 30), s(2000, 9, b), s(3000, 11)]).pipe(op, toArray()));
    assert.deepEqual(out.map((x) => x.timestamp), [0, 1000, 2000, 3000]);
    assert.deepEqual(dropped, [[2000, 'rate']]);

    type Fix = { t: number; lat: number; lon: number };
    const km = (p: Fix, q: Fix): number => {
      const rad = Math.PI / 180;
      const h = Math.sin(((q.lat - p.lat) * rad) / 2) ** 2 + Math.cos(p.lat * rad) * Math.cos(q.lat * rad) * Math.sin(((q.lon - p.lon) * rad) / 2) ** 2;
      return 2 * 6371 * Math.asin(Math.sqrt(h));
    };
    const fixes: Fix[] = [{ t: 0, lat: 48.85, lon: 2.35 }, { t: 1000, lat: 48.8501, lon: 2.3502 }, { t: 2000, lat: 51.5, lon: -0.12 }, { t: 3000, lat: 48.8502, lon: 2.3503 }];
    const gps = dropOutliers<Fix>({ series: () => 'tracker', value: () => 0, time: (f) => f.t, maxRate: { perSecond: 0.3, change: km } });
    const kept = await lastValueFrom(from(fixes).pipe(gps, toArray()));
    assert.deepEqual(kept.map((f) => f.t), [0, 1000, 3000]);
    assert.equal(gps.stats.dropped.rate, 1);
  });

  it('drops spikes by a median-absolute-deviation test with no false drops on a noisy normal series', async () => {
    const random = noise(7);
    const input: Sample[] = [];
    const spikes = new Set([100, 250, 251, 400]);
    for (let i = 0; i < 500; i++) input.push(s(i * 1000, spikes.has(i) ? 80 : 20 + random() * 0.5 + Math.sin(i / 50)));
    const op = dropOutliers({ mad: { window: 30, threshold: 6 } });
    const out = await lastValueFrom(from(input).pipe(op, toArray()));
    assert.equal(op.stats.dropped.mad, 4);
    assert.equal(out.length, 496);
    assert.ok(out.every((x) => x.value < 50));
  });

  it('never drops a value within mad.minDeviation of the median, however tight the window', async () => {
    const flat = [20, 20, 20, 20, 20.01, 20, 20, 20.5, 23];
    const input = flat.map((v, i) => s(i * 1000, v));
    const tight = dropOutliers({ mad: { window: 5, threshold: 3.5 } });
    assert.deepEqual((await lastValueFrom(from(input).pipe(tight, toArray()))).map((x) => x.value), [20, 20, 20, 20, 20.01, 20, 20]);
    const tolerant = dropOutliers({ mad: { window: 5, threshold: 3.5, minDeviation: 1 } });
    assert.deepEqual((await lastValueFrom(from(input).pipe(tolerant, toArray()))).map((x) => x.value), [20, 20, 20, 20, 20.01, 20, 20, 20.5]);
    assert.equal(tolerant.stats.dropped.mad, 1);
  });

  it('keeps each series separate and its memory bounded by maxSeries', async () => {
    const op = dropOutliers({ maxRate: { perSecond: 1 }, maxSeries: 1 });
    // With one series remembered, b evicts a, so a's next value has no previous to compare with.
    const out = await lastValueFrom(from([s(0, 0), s(0, 100, b), s(1000, 50)]).pipe(op, toArray()));
    assert.equal(out.length, 3);
  });

  it('propagates errors', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a#', { a: s(1, 1) }).pipe(dropOutliers({ range: { min: 0 } }))).toBe('a#', { a: s(1, 1) });
    });
  });

  it('validates its options at creation', () => {
    assert.throws(() => dropOutliers({ mad: { window: 2 } }), (e: unknown) => e instanceof ConfigError && /"mad.window" must be an integer in \[3, 10000\]/.test(e.message));
    assert.throws(() => dropOutliers({ range: { min: 5, max: 1 } }), /"range.max"/);
    assert.throws(() => dropOutliers({ maxRate: { perSecond: -1 } }), /"maxRate.perSecond"/);
  });

  it('with a range only, equals a brute-force filter; output + dropped = input (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.double({ min: -100, max: 100 }), { maxLength: 100 }), fc.double({ min: -50, max: 0, noNaN: true }), async (values, min) => {
        const dropped: Sample[] = [];
        const input = values.map((v, i) => s(i, v));
        const op = dropOutliers({ range: { min, max: 50 }, mad: { window: 10, threshold: 4 }, onDrop: (x) => dropped.push(x) });
        const out = await lastValueFrom(from(input).pipe(op, toArray()), { defaultValue: [] });
        const inRange = input.filter((x) => Number.isFinite(x.value) && x.value >= min && x.value <= 50);
        // The MAD test may drop more, never fewer, and never reorders.
        assert.ok(out.every((x) => inRange.includes(x)));
        assert.deepEqual([...out, ...dropped].sort((p, q) => p.timestamp - q.timestamp), input);
        const rangeOnly = await lastValueFrom(from(input).pipe(dropOutliers({ range: { min, max: 50 } }), toArray()), { defaultValue: [] });
        assert.deepEqual(rangeOnly, inRange);
      }),
      { numRuns: 150 },
    );
  });
});
