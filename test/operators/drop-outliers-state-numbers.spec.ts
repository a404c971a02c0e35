/**
 * dropOutliers restored from a state whose numbers cannot have been saved by it. Promise: a
 * restored state of another shape errors the stream naming the slot, never restores something
 * wrong (only finite values and times are ever accepted, so a window or a last value that is not
 * finite would decide every later element of its series).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dropOutliers } from '../../operators/drop-outliers.js';
import { PipelineState } from '../../src/durable/pipeline-state.js';
import type { Sample } from '../../src/core/model.js';
import { feed, SLOT } from './support/checkpoint-cut.js';

const labels = { __name__: 'celsius', device: 'd1' };
const series = (overrides: Record<string, unknown>) => ({
  operator: 'dropOutliers',
  version: 1,
  series: [{ key: 'k', previous: { v: 20 }, previousValue: 20, previousTime: 1000, window: [20, 20.5, 19.5], rejected: 0, ...overrides }],
  counters: { passed: 3, dropped: { invalid: 0, range: 0, rate: 0, mad: 0 }, rebased: 0 },
});

describe('dropOutliers restored from a state with numbers it never saves', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a window value NaN', { window: [20, 'NaN', 19.5] }, /slot "stage".*series\[0\]\.window\[1\] should be a finite number/],
    ['a window value Infinity', { window: ['Infinity', 20, 19.5] }, /slot "stage".*series\[0\]\.window\[0\] should be a finite number/],
    ['a last value -Infinity', { previousValue: '-Infinity' }, /slot "stage".*series\[0\]\.previousValue should be a finite number/],
    ['a last time NaN', { previousTime: 'NaN' }, /slot "stage".*series\[0\]\.previousTime should be a finite number/],
  ];
  for (const [name, overrides, message] of cases) {
    it(`${name}: the stream errors naming the slot, nothing passes`, () => {
      const passed: Sample[] = [];
      const op = dropOutliers<Sample>({ series: () => 'k', maxRate: { perSecond: 1 }, mad: { window: 3 }, state: new PipelineState({ [SLOT]: series(overrides) }).slot(SLOT) });
      const result = feed(op, [{ labels, value: 20.2, timestamp: 2000 }], true, (s) => (passed.push(s), s));
      assert.equal(result.errors.length, 1, 'restored without complaint');
      assert.match((result.errors[0] as Error).message, message);
      assert.deepEqual(passed, []);
      assert.equal(op.stats.passed, 0);
    });
  }

  it('the same state with finite numbers restores and decides as saved', () => {
    const op = dropOutliers<Sample>({ series: () => 'k', maxRate: { perSecond: 1 }, mad: { window: 3 }, state: new PipelineState({ [SLOT]: series({}) }).slot(SLOT) });
    const result = feed(op, [{ labels, value: 20.2, timestamp: 2000 }, { labels, value: 25, timestamp: 3000 }]);
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.output.map((s) => s.value), [20.2]);
    assert.deepEqual(op.stats.dropped, { invalid: 0, range: 0, rate: 1, mad: 0 });
    assert.equal(op.stats.passed, 4);
  });
});
