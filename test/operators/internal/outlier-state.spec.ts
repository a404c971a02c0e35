import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OUTLIER_REASONS } from '../../../operators/drop-outliers.js';
import { loadOutliers, newOutlierSeries, saveOutlierSeries, type OutlierSeries } from '../../../operators/internal/outlier-state.js';
import { SavedValue } from '../../../operators/internal/state-codec.js';

const COUNTERS = { passed: 4, dropped: { invalid: 1, range: 0, rate: 2, mad: 3 }, rebased: 1 };

/** A series whose ring of `size` took `values` in turn. */
function series(size: number, values: number[]): OutlierSeries<string> {
  const state = Object.assign(newOutlierSeries<string>('k', size), { previous: 'last', previousValue: -0, previousTime: 5, rejected: 2 });
  for (const v of values) {
    state.window[state.next] = v;
    state.next = (state.next + 1) % size;
    if (state.filled < size) state.filled++;
  }
  return state;
}

describe('outlier state', () => {
  it('saves the MAD window oldest first, and loads it into a ring of the same, a larger or a smaller size (newest kept), with its values in order beside it', () => {
    const saved = JSON.parse(JSON.stringify({ series: [saveOutlierSeries('k', series(3, [1, 5, 2, 4, 3]))], counters: COUNTERS })) as { series: Array<{ window: number[]; previousValue: unknown }> };
    assert.deepEqual(saved.series[0].window, [2, 4, 3]);
    assert.equal(saved.series[0].previousValue, '-0');
    for (const [size, kept] of [[3, [2, 4, 3]], [5, [2, 4, 3]], [2, [4, 3]]] as Array<[number, number[]]>) {
      const loaded = loadOutliers<string>(new SavedValue(saved, ''), size, OUTLIER_REASONS);
      const state = loaded.series.get('k') as OutlierSeries<string>;
      assert.deepEqual(Array.from(state.window.subarray(0, state.filled)), kept);
      assert.deepEqual(Array.from(state.sorted.subarray(0, state.filled)), [...kept].sort((a, b) => a - b));
      assert.equal(state.next, kept.length % size);
      assert.equal(state.previous, 'last');
      assert.ok(Object.is(state.previousValue, -0));
      assert.equal(state.rejected, 2);
      assert.deepEqual(loaded.counters, COUNTERS);
    }
  });

  it('refuses a series saved twice', () => {
    const one = saveOutlierSeries('k', series(3, [1]));
    assert.throws(() => loadOutliers(new SavedValue(JSON.parse(JSON.stringify({ series: [one, one], counters: COUNTERS })), ''), 3, OUTLIER_REASONS), /repeats the series "k"/);
  });
});
