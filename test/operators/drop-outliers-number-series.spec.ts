/**
 * dropOutliers with `series` as numbers (array slots for small whole numbers, a Map for the rest):
 * the documented check order, and number series behaving exactly as the same series named by
 * strings (1 and '1' apart, -0 the series 0), through eviction and checkpoints.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dropOutliers, type OutlierReason } from '../../operators/drop-outliers.js';
import { feed, runCut } from './support/checkpoint-cut.js';

interface Reading {
  readonly id: number;
  readonly series: string | number;
  readonly value: number;
  readonly t: number;
}

/** One name per distinct key: numbers and strings apart, -0 as 0. */
const nameOf = (key: string | number): string => (typeof key === 'number' ? `n:${Object.is(key, -0) ? 0 : key}` : `s:${key}`);

describe('dropOutliers with number series', () => {
  it('an element whose series is not a finite number is dropped as invalid, even when its value is out of range (invalid is checked first)', () => {
    const reasons: OutlierReason[] = [];
    const op = dropOutliers<Reading>({ series: (r) => r.series, value: (r) => r.value, eventTime: (r) => r.t, range: { min: 0, max: 10 }, onDrop: (_r, reason) => reasons.push(reason) });
    const run = feed(op, [{ id: 0, series: Number.NaN, value: 100, t: 0 }]);
    assert.deepEqual(run.output, []);
    // OutlierReason 'invalid': "The value, the time or a number series is not a finite number";
    // the checks run in the order invalid, range, rate, mad and the first that fails names the reason.
    assert.deepEqual(reasons, ['invalid']);
    assert.equal(op.stats.dropped.invalid, 1);
  });

  it('number series decide exactly as the same series named by strings, through eviction and a checkpoint cut anywhere (property)', () => {
    // 4,194,303 is the largest array slot, 4,194,304 the smallest number kept in the Map.
    const key = fc.oneof(fc.constantFrom(0, -0, 1, 2, 65_535, 4_194_303, 4_194_304, -1, 1.5, 1e9), fc.constantFrom('1', '0', 'a'));
    const readings = fc
      .array(fc.record({ series: key, value: fc.oneof(fc.integer({ min: 0, max: 30 }), fc.constant(500)), dt: fc.constantFrom(0, 500, 1000) }), { maxLength: 80 })
      .map((raw) => {
        let t = 0;
        return raw.map(({ series, value, dt }, id): Reading => ({ id, series, value, t: (t += dt) }));
      });
    fc.assert(
      fc.property(readings, fc.integer({ min: 1, max: 5 }), fc.boolean(), fc.nat(), (input, maxSeries, withMad, cut) => {
        const make = (named: boolean) => (state: Parameters<typeof dropOutliers<Reading>>[0]['state']) =>
          dropOutliers<Reading>({
            series: named ? (r) => nameOf(r.series) : (r) => r.series,
            value: (r) => r.value,
            eventTime: (r) => r.t,
            range: { min: -100, max: 1000 },
            maxRate: { perSecond: 10 },
            ...(withMad ? { mad: { window: 4, minSamples: 3, rebaseAfter: 2 } } : {}),
            maxSeries,
            state,
          });
        const k = cut % (input.length + 1);
        const byNumber = runCut(make(false), input, k);
        const byName = runCut(make(true), input, k);
        const ids = (run: { output: Reading[] }): number[] => run.output.map((r) => r.id);
        assert.deepEqual(ids(byNumber.whole), ids(byName.whole));
        assert.deepEqual([...ids(byNumber.before), ...ids(byNumber.after)], ids(byNumber.whole), 'a cut changes nothing');
      }),
      { numRuns: 200 },
    );
  });
});
