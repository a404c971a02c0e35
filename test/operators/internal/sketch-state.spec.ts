import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LogCollapsingLowestDenseDDSketch } from '@datadog/sketches-js';
import { loadSketch, saveSketch } from '../../../operators/internal/sketch-state.js';
import { SavedValue } from '../../../operators/internal/state-codec.js';

const QUANTILES = [0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1];

describe('sketch state', () => {
  it('a sketch saved through JSON and restored gives the same estimates, now and after the same further values (collapsed or not)', () => {
    const value = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer({ min: -1000, max: 1000 }), fc.constant(0));
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 300 }), fc.array(value, { maxLength: 300 }), fc.constantFrom(0.01, 0.2), (before, after, relativeAccuracy) => {
        const settings = { relativeAccuracy, binLimit: 2048 };
        const original = new LogCollapsingLowestDenseDDSketch(settings);
        for (const v of before) original.accept(v);
        const { sketch: restored, settings: restoredSettings } = loadSketch(new SavedValue(JSON.parse(JSON.stringify(saveSketch(original, settings))), 'sketch'));
        assert.deepEqual(restoredSettings, settings);
        assert.deepEqual(QUANTILES.map((q) => restored.getValueAtQuantile(q)), QUANTILES.map((q) => original.getValueAtQuantile(q)));
        for (const v of after) {
          original.accept(v);
          restored.accept(v);
        }
        assert.deepEqual(QUANTILES.map((q) => restored.getValueAtQuantile(q)), QUANTILES.map((q) => original.getValueAtQuantile(q)));
        assert.deepEqual([restored.count, restored.zeroCount, restored.min, restored.max, restored.sum], [original.count, original.zeroCount, original.min, original.max, original.sum]);
      }),
      { numRuns: 300 },
    );
  });

  it('saves only the span of bins holding counts, and refuses bins that do not fit', () => {
    const sketch = new LogCollapsingLowestDenseDDSketch({ relativeAccuracy: 0.01, binLimit: 2048 });
    for (let i = 0; i < 100; i++) sketch.accept(1000 + i);
    const saved = JSON.parse(JSON.stringify(saveSketch(sketch, { relativeAccuracy: 0.01, binLimit: 2048 }))) as { positive: { bins: number[]; length: number }; negative: { bins: number[] } };
    assert.ok(saved.positive.bins.length < saved.positive.length);
    assert.equal(saved.positive.bins.reduce((a, b) => a + b, 0), 100);
    assert.deepEqual(saved.negative.bins, []);
    assert.throws(() => loadSketch(new SavedValue({ ...saved, positive: { ...saved.positive, length: 4096 } }, 'sketch')), /sketch\.positive holds/);
    assert.throws(() => loadSketch(new SavedValue({ ...saved, relativeAccuracy: 2 }, 'sketch')), /relativeAccuracy 2/);
  });
});
