import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EXACT_QUANTILE_VALUES, sketchSettings, WindowAccumulator } from '../../../operators/internal/window-accumulator.js';

describe('WindowAccumulator', () => {
  it('computes the scalar aggregations; first and last by event time, ties by arrival', () => {
    const acc = new WindowAccumulator('series', 0, null);
    for (const [time, value] of [[5, 3], [2, 8], [9, -1], [2, 4], [9, 6]]) acc.add(time, value);
    acc.seal();
    const got = (['count', 'sum', 'min', 'max', 'avg', 'first', 'last'] as const).map((a) => acc.valueOf(a));
    assert.deepEqual(got, [5, 20, -1, 8, 4, 8, 6]);
    assert.equal(acc.values, null, 'no values kept without quantiles');
  });

  it('gives exact quantiles (the ⌊q·(n−1)⌋-th smallest) up to the exact limit, then sketch estimates within relativeAccuracy', () => {
    const exact = new WindowAccumulator('s', 0, sketchSettings(0.01));
    const few = Array.from({ length: EXACT_QUANTILE_VALUES }, (_, i) => (i * 37) % EXACT_QUANTILE_VALUES + 1);
    for (const v of few) exact.add(0, v);
    exact.seal();
    assert.equal(exact.sketch, null);
    assert.equal(exact.valueOf({ quantile: 0 }), 1);
    assert.equal(exact.valueOf({ quantile: 0.5 }), 32);
    assert.equal(exact.valueOf({ quantile: 1 }), 64);

    const many = new WindowAccumulator('s', 0, sketchSettings(0.01));
    const values = Array.from({ length: 1000 }, (_, i) => 1 + ((i * 7919) % 1000));
    for (const v of values) many.add(0, v);
    many.seal();
    assert.notEqual(many.sketch, null, 'beyond the limit a sketch takes over');
    const sorted = [...values].sort((a, b) => a - b);
    for (const q of [0.1, 0.5, 0.9, 0.99]) {
      const truth = sorted[Math.floor(q * (sorted.length - 1))];
      assert.ok(Math.abs(many.valueOf({ quantile: q }) - truth) <= 0.01 * truth, `q=${q}`);
    }
  });

  it('sizes the sketch for 12 decades at the accuracy, never below 2048 bins', () => {
    assert.equal(sketchSettings(0.01).binLimit, 2048);
    assert.ok(sketchSettings(0.0001).binLimit > 2048);
  });
});
