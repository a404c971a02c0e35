/**
 * tumblingWindow restored from a state it cannot have saved. Promise: a restored state of another
 * shape errors the stream naming the slot, never restores something wrong: only finite values and
 * times are accumulated, and a window holds one accumulator per series (a second would put out two
 * samples of one series at one timestamp, which the sink refuses as duplicates).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tumblingWindow } from '../../operators/tumbling-window.js';
import { PipelineState } from '../../src/durable/pipeline-state.js';
import type { Sample } from '../../src/core/model.js';
import { feed, SLOT, throughJson } from './support/checkpoint-cut.js';

const labels = { __name__: 'x' };

/** A state saved by the operator itself: one window [0, 10) of series x with the values 1 and 3. */
function savedState(): Editable {
  const pipeline = new PipelineState();
  const run = feed(tumblingWindow({ sizeMs: 10, aggregations: ['count'], state: pipeline.slot(SLOT) }), [1, 3].map((value) => ({ labels, value, timestamp: value })), false);
  const saved = throughJson(pipeline.snapshot())[SLOT] as unknown as Editable;
  run.unsubscribe();
  return saved;
}

/** The parts of a saved state the cases edit. */
interface Editable {
  series: unknown[];
  windows: Array<{ accs: Array<{ series: number; acc: Record<string, unknown> }> }>;
}

type Edit = (saved: Editable) => void;

describe('tumblingWindow restored from a state it never saves', () => {
  const cases: Array<[string, Edit, { quantiles?: boolean }, RegExp]> = [
    ['min NaN', (s) => (s.windows[0].accs[0].acc.min = 'NaN'), {}, /slot "stage".*windows\[0\]\.accs\[0\]\.acc\.min should be a finite number/],
    ['max Infinity', (s) => (s.windows[0].accs[0].acc.max = 'Infinity'), {}, /acc\.max should be a finite number/],
    ['last time -Infinity', (s) => (s.windows[0].accs[0].acc.lastTime = '-Infinity'), {}, /acc\.lastTime should be a finite number/],
    ['an exact value NaN', (s) => (s.windows[0].accs[0].acc.values = [1, 'NaN']), { quantiles: true }, /acc\.values\[1\] should be a finite number/],
    ['one series twice in a window', (s) => s.windows[0].accs.push(s.windows[0].accs[0]), {}, /slot "stage".*windows\[0\]\.accs\[1\] repeats the series/],
    ['two saved label sets of one series, both in a window', (s) => {
      s.series.push(s.series[0]);
      s.windows[0].accs.push({ ...s.windows[0].accs[0], series: 1 });
    }, {}, /windows\[0\]\.accs\[1\] repeats the series/],
  ];
  for (const [name, edit, { quantiles }, message] of cases) {
    it(`${name}: the stream errors naming the slot, nothing comes out`, () => {
      const saved = savedState();
      if (quantiles) saved.windows[0].accs[0].acc.values = [1, 3];
      edit(saved);
      const op = tumblingWindow({ sizeMs: 10, aggregations: quantiles ? ['count', { quantile: 0.5 }] : ['count', 'min', 'max', 'last'], state: new PipelineState({ [SLOT]: saved }).slot<never>(SLOT) });
      const result = feed(op, [{ labels, value: 5, timestamp: 5 }]);
      assert.equal(result.errors.length, 1, 'restored without complaint');
      assert.match((result.errors[0] as Error).message, message);
      assert.deepEqual(result.output, []);
      assert.equal(op.stats.openWindows, 0);
    });
  }

  it('the state as saved restores: the window closes complete', () => {
    const op = tumblingWindow({ sizeMs: 10, aggregations: ['count', 'min', 'max'], state: new PipelineState({ [SLOT]: savedState() }).slot<never>(SLOT) });
    const result = feed(op, [{ labels, value: 5, timestamp: 5 }]);
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.output.map((s: Sample) => [s.labels['__name__'], s.value]), [['x_count', 3], ['x_min', 1], ['x_max', 5]]);
  });
});
