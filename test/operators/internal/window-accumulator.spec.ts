import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LogCollapsingLowestDenseDDSketch } from '@datadog/sketches-js';
import { EXACT_QUANTILE_VALUES, SKETCH_BATCH, sketchSettings, WindowAccumulator } from '../../../operators/internal/window-accumulator.js';
import { SavedValue } from '../../../operators/internal/state-codec.js';

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

describe('WindowAccumulator with a sketch: values buffered, then added in batches', () => {
  it('gives the quantiles of a sketch fed one value at a time, whatever the buffer holds when read, saved or restored', () => {
    const settings = sketchSettings(0.01);
    const quantiles = [0, 0.25, 0.5, 0.9, 1];
    // Sizes around the exact limit and the batch edges, so the buffer is empty, partial or just flushed when read.
    for (const n of [EXACT_QUANTILE_VALUES + 1, EXACT_QUANTILE_VALUES + SKETCH_BATCH, EXACT_QUANTILE_VALUES + SKETCH_BATCH + 1, 1000, 1001]) {
      const values = Array.from({ length: n }, (_, i) => 18 + ((i * 7919) % 997) / 100);
      const direct = new LogCollapsingLowestDenseDDSketch(settings);
      for (const v of values) direct.accept(v);
      const acc = new WindowAccumulator('s', 0, settings);
      const half = n >> 1;
      for (let i = 0; i < half; i++) acc.add(i, values[i]);
      // Saved with values still in the buffer, restored, and fed the rest.
      const restored = WindowAccumulator.restore('s', 0, settings, new SavedValue(JSON.parse(JSON.stringify(acc.save())), 'acc'));
      for (let i = half; i < n; i++) {
        acc.add(i, values[i]);
        restored.add(i, values[i]);
      }
      acc.seal();
      restored.seal();
      for (const q of quantiles) {
        assert.equal(acc.valueOf({ quantile: q }), direct.getValueAtQuantile(q), `n ${n}, q ${q}`);
        assert.equal(restored.valueOf({ quantile: q }), direct.getValueAtQuantile(q), `restored, n ${n}, q ${q}`);
      }
      assert.equal(acc.sketch?.count, n, 'every value reached the sketch');
    }
  });
});

describe('WindowAccumulator save and restore', () => {
  const QUANTILES = [0, 0.1, 0.5, 0.9, 0.99, 1];
  const through = <V>(value: V): unknown => JSON.parse(JSON.stringify(value));

  it('round-trips through JSON to the same aggregates, exact values or sketch, before and after more values', async () => {
    const fc = (await import('fast-check')).default;
    const { SavedValue } = await import('../../../operators/internal/state-codec.js');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(-0), fc.integer({ min: -5, max: 5 }))), { minLength: 1, maxLength: 200 }),
        fc.nat(),
        fc.constantFrom(0.01, 0.1),
        (added, cut, accuracy) => {
          const k = 1 + (cut % added.length);
          const settings = sketchSettings(accuracy);
          const whole = new WindowAccumulator('s', 0, settings);
          for (const [time, value] of added) whole.add(time, value);
          const first = new WindowAccumulator('s', 0, settings);
          for (const [time, value] of added.slice(0, k)) first.add(time, value);
          const restored = WindowAccumulator.restore('s', 0, settings, new SavedValue(through(first.save()), 'acc'));
          for (const [time, value] of added.slice(k)) restored.add(time, value);
          whole.seal();
          restored.seal();
          for (const aggregation of ['count', 'sum', 'min', 'max', 'avg', 'first', 'last', ...QUANTILES.map((quantile) => ({ quantile }))] as const) {
            assert.ok(Object.is(restored.valueOf(aggregation), whole.valueOf(aggregation)), JSON.stringify(aggregation));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps the values while few and the sketch once past the limit; without quantiles asked for now it restores the scalars only', async () => {
    const { SavedValue } = await import('../../../operators/internal/state-codec.js');
    const few = new WindowAccumulator('s', 0, sketchSettings(0.01));
    for (let i = 0; i < 3; i++) few.add(i, -0);
    assert.deepEqual(through(few.save()), { count: 3, sum: 0, min: '-0', max: '-0', first: '-0', firstTime: 0, last: '-0', lastTime: 2, values: ['-0', '-0', '-0'] });
    const many = new WindowAccumulator('s', 0, sketchSettings(0.01));
    for (let i = 0; i <= EXACT_QUANTILE_VALUES; i++) many.add(i, i);
    const saved = through(many.save()) as { sketch?: unknown; values?: unknown };
    assert.equal(saved.values, undefined);
    assert.ok(saved.sketch !== undefined);
    const scalarsOnly = WindowAccumulator.restore('s', 0, null, new SavedValue(saved, 'acc'));
    assert.equal(scalarsOnly.valueOf('sum'), many.valueOf('sum'));
    assert.equal(scalarsOnly.values, null);
    const noQuantileData = new WindowAccumulator('s', 0, null);
    noQuantileData.add(1, 1);
    assert.throws(() => WindowAccumulator.restore('s', 0, sketchSettings(0.01), new SavedValue(through(noQuantileData.save()), 'acc')), /acc was saved without quantile data/);
    assert.throws(() => WindowAccumulator.restore('s', 0, null, new SavedValue({ ...(through(few.save()) as object), count: 0 }, 'acc')), /acc\.count is 0/);
  });
});
