import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TestScheduler } from 'rxjs/testing';
import { from, lastValueFrom, Subject, toArray } from 'rxjs';
import fc from 'fast-check';
import { dropOutliers, type OutlierReason } from '../../operators/drop-outliers.js';
import { ConfigError } from '../../src/core/errors.js';
import { cachedLabelsKey, encodeLabelsKey } from '../../src/core/series-key.js';
import { concat, interval, map, NEVER, of, take } from 'rxjs';
import { tumblingWindow } from '../../operators/tumbling-window.js';
import { Boom, run as runToEnd, throwingWhen, trackingScheduler } from './support/callback-errors.js';
import type { Labels, Sample } from '../../src/core/model.js';

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

/** Seeded standard normal deviates (Box-Muller over a 32-bit LCG). */
function gaussian(seed: number): () => number {
  let x = seed >>> 0;
  const uniform = (): number => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return (x + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

const run = async <T>(input: T[], op: (source: import('rxjs').Observable<T>) => import('rxjs').Observable<T>): Promise<T[]> => lastValueFrom(from(input).pipe(op, toArray()), { defaultValue: [] });

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
    const gps = dropOutliers<Fix>({ series: () => 'tracker', value: () => 0, eventTime: (f) => f.t, maxRate: { perSecond: 0.3, change: km } });
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
        for (let i = 1; i < out.length; i++) assert.ok(out[i - 1].timestamp < out[i].timestamp, 'output keeps input order');
        assert.equal(op.stats.passed + Object.values(op.stats.dropped).reduce((sum, n) => sum + n, 0), input.length);
        assert.deepEqual([...out, ...dropped].sort((p, q) => p.timestamp - q.timestamp), input);
        const rangeOnly = await lastValueFrom(from(input).pipe(dropOutliers({ range: { min, max: 50 } }), toArray()), { defaultValue: [] });
        assert.deepEqual(rangeOnly, inRange);
      }),
      { numRuns: 150 },
    );
  });

  it('drops only the injected spikes (single and in bursts) from a seeded Gaussian series', async () => {
    for (const seed of [1, 7, 99]) {
      const g = gaussian(seed);
      const spikes = new Set([120, 300, 301, 302, 650, 900]);
      const input: Sample[] = [];
      for (let i = 0; i < 1000; i++) input.push(s(i * 1000, 20 + Math.sin(i / 100) + 0.3 * g() + (spikes.has(i) ? (i % 2 === 0 ? 6 : -6) : 0)));
      const dropped: number[] = [];
      const op = dropOutliers({ mad: { window: 30, threshold: 6 }, onDrop: (x) => dropped.push(x.timestamp / 1000) });
      const out = await run(input, op);
      assert.deepEqual(dropped, [...spikes], `seed ${seed}: exactly the spikes, no false drops`);
      assert.equal(out.length, 1000 - spikes.size);
      assert.deepEqual(op.stats.dropped, { invalid: 0, range: 0, rate: 0, mad: spikes.size });
    }
  });

  it('follows a genuine level shift after mad.rebaseAfter consecutive drops (and never with 0)', async () => {
    const g = gaussian(3);
    const input: Sample[] = [];
    for (let i = 0; i < 60; i++) input.push(s(i * 1000, (i < 30 ? 20 : 40) + 0.2 * g()));
    // minDeviation keeps a tight 10-value window from judging the 0.2 noise itself.
    const shifting = dropOutliers({ mad: { window: 10, threshold: 6, rebaseAfter: 5, minDeviation: 1 } });
    const out = await run(input, shifting);
    // Elements 30-33 are dropped; the fifth in a row restarts the window and the new level is accepted from there.
    assert.deepEqual(input.filter((x) => !out.includes(x)).map((x) => x.timestamp / 1000), [30, 31, 32, 33]);
    assert.equal(shifting.stats.rebased, 1);
    const stubborn = dropOutliers({ mad: { window: 10, threshold: 6, rebaseAfter: 0, minDeviation: 1 } });
    assert.equal((await run(input, stubborn)).length, 30);
    assert.equal(stubborn.stats.dropped.mad, 30);
  });

  it('checks each series against its own history only', async () => {
    const g = gaussian(11);
    const input: Sample[] = [];
    // Two interleaved series at very different levels; a spike in a must not disturb b and the reverse.
    for (let i = 0; i < 200; i++) {
      input.push(s(i * 1000, (i === 100 ? 60 : 20) + 0.2 * g(), a));
      input.push(s(i * 1000, (i === 150 ? 500 : 1000) + 5 * g(), b));
    }
    const dropped: Array<[string, number]> = [];
    const op = dropOutliers({ mad: { window: 20, threshold: 6 }, maxRate: { perSecond: 100 }, onDrop: (x, reason) => dropped.push([`${x.labels.device}:${reason}`, x.timestamp / 1000]) });
    const out = await run(input, op);
    assert.deepEqual(dropped, [['a:mad', 100], ['b:rate', 150]]);
    assert.equal(out.length, 398);
    // The same label set in another object (and key order) is the same series.
    const same = dropOutliers({ maxRate: { perSecond: 1 } });
    const again = await run([s(0, 0, { device: 'a', __name__: 'temp' }), s(1000, 50, { __name__: 'temp', device: 'a' })], same);
    assert.equal(again.length, 1);
  });

  it('forgets the least recently seen series beyond maxSeries', async () => {
    const c: Labels = { __name__: 'temp', device: 'c' };
    const op = dropOutliers({ maxRate: { perSecond: 1 }, maxSeries: 2 });
    // a, b, a again (a is now the most recent), c evicts b: a's jump is still caught, b's passes as a first value.
    const input = [s(0, 0, a), s(0, 0, b), s(500, 0, a), s(1000, 0, c), s(2000, 99, a), s(2000, 99, b)];
    const out = await run(input, op);
    assert.deepEqual(out, [...input.slice(0, 4), input[5]]);
    assert.deepEqual(op.stats.dropped.rate, 1);
  });

  it('forgets the least recently seen series even when another was seen again between two evictions', async () => {
    const c: Labels = { __name__: 'temp', device: 'c' };
    const d: Labels = { __name__: 'temp', device: 'd' };
    // c evicts a; b is seen again; d must then evict c (the least recent), not b.
    const input = [s(0, 0, a), s(1000, 0, b), s(2000, 0, c), s(3000, 0, b), s(4000, 0, d), s(5000, 50, b), s(6000, 50, c)];
    const out = await run(input, dropOutliers({ maxRate: { perSecond: 2 }, maxSeries: 2 }));
    assert.deepEqual(out, [...input.slice(0, 5), input[6]]);
  });

  it('forgets exactly the least recently seen series, as a Map kept in recency order would (property)', async () => {
    const labels = Array.from({ length: 6 }, (_, i): Labels => ({ __name__: 'temp', device: String(i) }));
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.array(fc.tuple(fc.nat(5), fc.boolean()), { maxLength: 80 }), async (maxSeries, steps) => {
        const input = steps.map(([series, jump], i) => s(i * 1000, jump ? 50 : 0, labels[series]));
        // The model: the rate test alone, series remembered in a Map deleted and set again on every sight.
        const remembered = new Map<Labels, { value: number; time: number } | undefined>();
        const expected = input.filter((sample) => {
          const last = remembered.get(sample.labels);
          if (remembered.has(sample.labels)) remembered.delete(sample.labels);
          else if (remembered.size >= maxSeries) remembered.delete(remembered.keys().next().value as Labels);
          remembered.set(sample.labels, last);
          if (last !== undefined && Math.abs(sample.value - last.value) / ((sample.timestamp - last.time) / 1000) > 2) return false;
          remembered.set(sample.labels, { value: sample.value, time: sample.timestamp });
          return true;
        });
        assert.deepEqual(await run(input, dropOutliers({ maxRate: { perSecond: 2 }, maxSeries })), expected);
      }),
      { numRuns: 300 },
    );
  });

  it('series that are numbers: each its own history, apart from the equal-looking string; one that is not a finite number is invalid', async () => {
    type R = { k: string | number; t: number; v: number };
    const dropped: Array<[string | number, OutlierReason]> = [];
    const op = dropOutliers<R>({ series: (r) => r.k, value: (r) => r.v, eventTime: (r) => r.t, maxRate: { perSecond: 1 }, onDrop: (r, reason) => dropped.push([r.k, reason]) });
    const input: R[] = [{ k: 1, t: 0, v: 10 }, { k: '1', t: 1000, v: 50 }, { k: 5_000_000, t: 1000, v: 90 }, { k: 1, t: 1000, v: 50 }, { k: 1, t: 2000, v: 11 }, { k: Number.NaN, t: 0, v: 1 }];
    const out = await lastValueFrom(from(input).pipe(op, toArray()));
    assert.deepEqual(out.map((r) => r.v), [10, 50, 90, 11]);
    assert.deepEqual(dropped, [[1, 'rate'], [Number.NaN, 'invalid']]);
  });

  it('counts every drop by reason, gives it to onDrop, and passed + dropped = input', async () => {
    const dropped: OutlierReason[] = [];
    const op = dropOutliers({ range: { min: 0, max: 100 }, maxRate: { perSecond: 10 }, mad: { window: 5, minSamples: 3 }, onDrop: (_x, reason) => dropped.push(reason) });
    const input = [s(0, 10), s(1000, 11), s(2000, Number.POSITIVE_INFINITY), s(3000, 12), s(4000, 200), s(5000, 40), s(6000, 13), s(7000, 13.5), s(8000, 21), s(9000, 14), s(Number.NaN, 14)];
    const out = await run(input, op);
    assert.deepEqual(out.map((x) => x.value), [10, 11, 12, 13, 13.5, 14]);
    assert.deepEqual(dropped, ['invalid', 'range', 'rate', 'mad', 'invalid']);
    assert.deepEqual(op.stats, { passed: 6, dropped: { invalid: 2, range: 1, rate: 1, mad: 1 }, rebased: 0 });
  });

  it('completes, errors when a callback throws, and stops on unsubscription', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const values = { a: s(1, 1), b: s(2, 2) };
      expectObservable(cold('a-b|', values).pipe(dropOutliers({ range: { min: 0 } }))).toBe('a-b|', values);
      const throwing = dropOutliers<Sample>({
        value: (x) => {
          if (x.value < 0) throw new Error('negative');
          return x.value;
        },
      });
      expectObservable(cold('a-c-b|', { ...values, c: s(3, -1) }).pipe(throwing)).toBe('a-#', values, new Error('negative'));
    });
    const source = new Subject<Sample>();
    const out: Sample[] = [];
    const subscription = source.pipe(dropOutliers({ range: { min: 0 } })).subscribe((x) => out.push(x));
    source.next(s(1, 1));
    subscription.unsubscribe();
    assert.equal(source.observed, false);
    source.next(s(2, 2));
    assert.equal(out.length, 1);
  });

  it('names the bad option in a ConfigError', () => {
    const named = (option: string) => (e: unknown) => e instanceof ConfigError && e.option === option;
    assert.throws(() => dropOutliers({ mad: { window: 10, threshold: 0 } }), named('mad.threshold'));
    assert.throws(() => dropOutliers({ mad: { window: 10, minSamples: 11 } }), named('mad.minSamples'));
    assert.throws(() => dropOutliers({ mad: { window: 10, minDeviation: -1 } }), named('mad.minDeviation'));
    assert.throws(() => dropOutliers({ mad: { window: 10, rebaseAfter: 1.5 } }), named('mad.rebaseAfter'));
    assert.throws(() => dropOutliers({ maxSeries: 0 }), named('maxSeries'));
    assert.throws(() => dropOutliers({ range: { min: Number.NaN } }), named('range.min'));
    assert.throws(() => dropOutliers({ maxRate: { perSecond: 1, change: 3 as never } }), named('maxRate.change'));
    assert.throws(() => dropOutliers({ series: 'device' as never }), named('series'));
    assert.throws(() => dropOutliers({ onDrop: {} as never }), named('onDrop'));
  });
});

describe('dropOutliers: eventTime (formerly time)', () => {
  const fast = [s(0, 1), s(1000, 20), s(2000, 2)];
  it('takes the event time from eventTime, and from the deprecated time as before', async () => {
    // The accessor shifts times by 100 s, so the 19-unit jump is slow enough for maxRate.
    for (const key of ['eventTime', 'time'] as const) {
      const op = dropOutliers({ maxRate: { perSecond: 1 }, [key]: (x: Sample) => x.timestamp * 100 });
      assert.deepEqual((await run(fast, op)).map((x) => x.value), [1, 20, 2], key);
    }
    assert.deepEqual((await run(fast, dropOutliers({ maxRate: { perSecond: 1 } }))).map((x) => x.value), [1, 2], 'default: the timestamp, and 20 is a jump');
  });
  it('refuses both at once with a ConfigError naming time', () => {
    assert.throws(
      () => dropOutliers({ eventTime: (x: Sample) => x.timestamp, time: (x: Sample) => x.timestamp }),
      (e: unknown) => e instanceof ConfigError && e.option === 'time' && /deprecated name of eventTime/.test(e.message),
    );
  });
});

describe('dropOutliers: the default series identity is the canonical label set', () => {
  it('is cachedLabelsKey: the sink\'s canonical key, order-independent, empty values left out, cached per object', () => {
    const key = cachedLabelsKey(a);
    assert.equal(key, encodeLabelsKey({ names: ['__name__', 'device'], values: ['temp', 'a'] }));
    assert.equal(cachedLabelsKey({ device: 'a', __name__: 'temp', empty: '' }), key);
    assert.notEqual(cachedLabelsKey(b), key);
    assert.equal(cachedLabelsKey(null), '');
    assert.equal(cachedLabelsKey({}), '');
    // Cached by identity: a label object is not to be mutated once used.
    const reused: Record<string, string> = { __name__: 'temp', device: 'a' };
    assert.equal(cachedLabelsKey(reused), key);
    reused['device'] = 'z';
    assert.equal(cachedLabelsKey(reused), key);
  });

  it('treats label sets equal up to key order (or a fresh object) as one series, and different ones apart', async () => {
    const op = dropOutliers({ maxRate: { perSecond: 1 } });
    const reordered: Labels = { device: 'a', __name__: 'temp' };
    const out = await run([s(0, 1, a), s(1000, 50, reordered), s(2000, 50, { ...b }), s(3000, 2, { __name__: 'temp', device: 'a' })], op);
    // 50 on a reordered copy of a is a jump within series a (dropped); on b it is b's first value.
    assert.deepEqual(out.map((x) => [x.labels['device'], x.value]), [['a', 1], ['b', 50], ['a', 2]]);
    assert.equal(op.stats.dropped.rate, 1);
  });
});

describe('dropOutliers: a user callback that throws errors the output, never escapes', () => {
  // Series a: 10, 11, 200 (rate), NaN (invalid), 12.
  const input = [s(0, 10), s(1000, 11), s(2000, 200), s(3000, Number.NaN), s(4000, 12)];
  const last = (x: Sample): boolean => x.timestamp === 4000;
  const callbacks: Array<[string, (boom: Boom) => Parameters<typeof dropOutliers<Sample>>[0]]> = [
    ['series', (boom) => ({ series: throwingWhen(boom, last, () => 'a') })],
    ['value', (boom) => ({ value: throwingWhen(boom, last, (x: Sample) => x.value) })],
    ['eventTime', (boom) => ({ eventTime: throwingWhen(boom, last, (x: Sample) => x.timestamp) })],
    ['time (deprecated)', (boom) => ({ time: throwingWhen(boom, last, (x: Sample) => x.timestamp) })],
    ['maxRate.change', (boom) => ({ maxRate: { perSecond: 5, change: throwingWhen(boom, (_p: Sample, n: Sample) => last(n), (p: Sample, n: Sample) => Math.abs(n.value - p.value)) } })],
    ['onDrop', (boom) => ({ onDrop: throwingWhen(boom, (_x: Sample, reason: string) => reason === 'invalid', () => undefined) })],
  ];
  for (const [name, options] of callbacks) {
    it(`${name}, on the synchronous path and from a timer-driven source`, async () => {
      const sync = await runToEnd(from(input).pipe(dropOutliers<Sample>({ maxRate: { perSecond: 5 }, ...options(new Boom(name)) })));
      assert.ok(sync.error instanceof Boom, String(sync.error));
      assert.equal(sync.completed, false);
      assert.deepEqual(sync.uncaught, []);
      const boom = new Boom(name);
      const timed = await runToEnd(interval(2).pipe(take(input.length), map((i) => input[i]), dropOutliers<Sample>({ maxRate: { perSecond: 5 }, ...options(boom) })));
      assert.equal(timed.error, boom);
      assert.deepEqual(timed.values.map((x) => x.value), [10, 11]);
      assert.deepEqual(timed.uncaught, []);
    });
  }

  it('an element emitted by an upstream idle timer: the error arrives, the upstream timer is cleared', async () => {
    const boom = new Boom('value');
    const timers = trackingScheduler();
    const windows = tumblingWindow({ sizeMs: 1000, aggregations: ['max'], idleTimeoutMs: 5, scheduler: timers });
    const result = await runToEnd(concat(of(s(100, 1)), NEVER).pipe(windows, dropOutliers<Sample>({ value: () => { throw boom; } })));
    assert.equal(result.error, boom);
    assert.deepEqual(result.uncaught, []);
    assert.equal(timers.live, 0);
  });
});

describe('dropOutliers: the MAD test against a sorting reference', () => {
  /** The test as documented, written plainly: sort the accepted window, median, MAD (or mean absolute deviation). */
  function reference(values: number[], window: number, threshold: number, minDeviation: number): boolean[] {
    const accepted: number[] = [];
    const median = (sorted: number[]): number => {
      const mid = sorted.length >> 1;
      return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    };
    return values.map((value) => {
      let outlier = false;
      if (accepted.length >= window) {
        const sorted = [...accepted].sort((x, y) => x - y);
        const med = median(sorted);
        const distance = Math.abs(value - med);
        if (distance > minDeviation) {
          const deviations = sorted.map((v) => Math.abs(v - med)).sort((x, y) => x - y);
          let scale = median(deviations) / 0.6745;
          if (scale === 0) scale = (deviations.reduce((sum, d) => sum + d, 0) / sorted.length) * 1.2533;
          outlier = scale !== 0 && distance / scale > threshold;
        }
      }
      if (!outlier) {
        accepted.push(value);
        if (accepted.length > window) accepted.shift();
      }
      return outlier;
    });
  }

  it('drops exactly what the reference drops, odd and even windows, ties and steps (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: -40, max: 40 }), { minLength: 1, maxLength: 120 }),
        fc.integer({ min: 3, max: 12 }),
        fc.constantFrom(1, 2, 3.5),
        fc.constantFrom(0, 0.5, 3),
        async (steps, window, threshold, minDeviation) => {
          // Quarter steps, so windows hold many equal values (MAD 0) as well as spread ones.
          const values = steps.map((v) => v / 4);
          const dropped: number[] = [];
          // rebaseAfter 0: a run of drops never restarts the window, as in the reference.
          const op = dropOutliers({ mad: { window, threshold, minDeviation, rebaseAfter: 0 }, onDrop: (e) => void dropped.push(e.timestamp) });
          await lastValueFrom(from(values.map((value, i) => s(i, value))).pipe(op, toArray()));
          const expected = reference(values, window, threshold, minDeviation).flatMap((outlier, i) => (outlier ? [i] : []));
          assert.deepEqual(dropped, expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});
