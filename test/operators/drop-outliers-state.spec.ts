import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dropOutliers, type DropOutliersOptions, type OutlierReason } from '../../operators/drop-outliers.js';
import { PipelineState } from '../../src/durable/pipeline-state.js';
import type { Sample } from '../../src/core/model.js';
import { feed, runCut, SLOT, throughJson } from './support/checkpoint-cut.js';

const SERIES = [{ __name__: 'temp', room: 'a' }, { __name__: 'temp', room: 'b' }, { __name__: 'hum', room: 'a' }];

/** Readings around a level per series, with spikes, steps, repeated times, invalid values; numbered so that equal readings are told apart. */
const readings = fc
  .array(
    fc.record({
      series: fc.nat({ max: SERIES.length - 1 }),
      kind: fc.constantFrom('normal', 'normal', 'normal', 'spike', 'step', 'invalid'),
      noise: fc.integer({ min: -3, max: 3 }),
      dt: fc.constantFrom(0, 500, 1000, 3000),
    }),
    { maxLength: 120 },
  )
  .map((raw) => {
    let t = 0;
    let level = 20;
    return raw.map(({ series, kind, noise, dt }, i): Sample & { id: number } => {
      t += dt;
      if (kind === 'step') level += 40;
      const value = kind === 'invalid' ? Number.NaN : kind === 'spike' ? level + 500 : level + noise;
      return { id: i, labels: SERIES[series], value, timestamp: t };
    });
  });

type Reading = Sample & { id: number };
const NUMBERED = [3, 0, 1];
const MIXED: Array<string | number> = [0, '0', 5_000_000];

const settings: fc.Arbitrary<Omit<DropOutliersOptions<Reading>, 'state'>> = fc
  .record({
    range: fc.option(fc.record({ min: fc.constant(-100), max: fc.constantFrom(100, 1000) }), { nil: undefined }),
    maxRate: fc.option(fc.record({ perSecond: fc.constantFrom(2, 30), byElement: fc.boolean() }), { nil: undefined }),
    mad: fc.option(fc.record({ window: fc.integer({ min: 3, max: 8 }), minSamples: fc.constant(3), rebaseAfter: fc.integer({ min: 0, max: 3 }), threshold: fc.constantFrom(3.5, 6) }), { nil: undefined }),
    maxSeries: fc.integer({ min: 1, max: 4 }),
    // Series by label set (default), by number (array slots), or mixed with a number too large for a slot.
    series: fc.constantFrom<'labels' | 'number' | 'mixed'>('labels', 'number', 'mixed'),
  })
  .map(({ maxRate, series, ...rest }) => ({
    ...rest,
    ...(series === 'labels' ? {} : { series: (r: Reading) => (series === 'number' ? NUMBERED : MIXED)[SERIES.indexOf(r.labels as (typeof SERIES)[number])] }),
    // A change measured on the elements themselves: the previous one comes back from the checkpoint.
    ...(maxRate === undefined ? {} : { maxRate: maxRate.byElement ? { perSecond: maxRate.perSecond, change: (a: Reading, b: Reading) => Math.abs(b.value - a.value) } : { perSecond: maxRate.perSecond } }),
  }));

describe('dropOutliers with state', () => {
  it('a run cut anywhere, checkpointed through JSON and restored into a new operator, passes and drops what one uninterrupted run does (reasons and counters too)', () => {
    fc.assert(
      fc.property(readings, settings, fc.nat(), (input, options, cut) => {
        const k = cut % (input.length + 1);
        const drops: Array<Array<[number, OutlierReason]>> = [];
        const operators: Array<ReturnType<typeof dropOutliers<Reading>>> = [];
        const { whole, before, after } = runCut((state) => {
          const dropped: Array<[number, OutlierReason]> = [];
          drops.push(dropped);
          const op = dropOutliers<Reading>({ ...options, onDrop: (r, reason) => dropped.push([r.id, reason]), state });
          operators.push(op);
          return op;
        }, input, k);
        assert.deepStrictEqual([...before.output, ...after.output].map((r) => r.id), whole.output.map((r) => r.id));
        assert.deepStrictEqual([...drops[1], ...drops[2]], drops[0]);
        assert.deepStrictEqual(operators[2].stats, operators[0].stats);
      }),
      { numRuns: 400 },
    );
  });

  it('saves each series with its last accepted element, its MAD window oldest first, least recently seen series first', () => {
    const pipeline = new PipelineState();
    const op = dropOutliers<Sample>({ mad: { window: 3, minSamples: 3 }, state: pipeline.slot(SLOT) });
    const [a, b] = SERIES;
    const input = [1, 2, 3, 4].map((value, i) => ({ labels: a, value, timestamp: i })).concat([{ labels: b, value: -0, timestamp: 9 }]);
    const run = feed(op, input, false);
    const saved = throughJson(pipeline.snapshot())[SLOT] as { series: Array<{ previous: unknown; window: unknown[]; previousValue: unknown }> };
    run.unsubscribe();
    assert.equal(saved.series.length, 2);
    assert.deepEqual(saved.series[0].window, [2, 3, 4]);
    assert.deepEqual(saved.series[0].previous, { labels: a, value: 4, timestamp: 3 });
    assert.deepEqual(saved.series[1].previousValue, '-0');
  });

  it('a run of MAD drops continues across the restart: a step change is accepted after rebaseAfter drops in a row, however they are split', () => {
    const [a] = SERIES;
    const input = [10, 10, 11, 50, 50, 50, 51].map((value, i) => ({ labels: a, value, timestamp: i }));
    for (let k = 0; k <= input.length; k++) {
      const { whole, before, after } = runCut((state) => dropOutliers<Sample>({ mad: { window: 3, minSamples: 3, rebaseAfter: 3 }, state }), input, k);
      assert.deepEqual(whole.output.map((s) => s.value), [10, 10, 11, 50, 51]);
      assert.deepEqual([...before.output, ...after.output], whole.output, `cut at ${k}`);
    }
  });

  it('a shorter MAD window after a restart keeps the newest values; a state of another shape errors the stream naming the slot', () => {
    const pipeline = new PipelineState();
    const [a] = SERIES;
    const run = feed(dropOutliers<Sample>({ mad: { window: 6, minSamples: 3 }, state: pipeline.slot(SLOT) }), [100, 100, 100, 10, 11, 12].map((value, i) => ({ labels: a, value, timestamp: i })), false);
    const saved = throughJson(pipeline.snapshot());
    run.unsubscribe();
    // Window 3 keeps 10, 11, 12: 100 is now the outlier.
    const dropped: number[] = [];
    feed(dropOutliers<Sample>({ mad: { window: 3, minSamples: 3 }, onDrop: (s) => dropped.push(s.value), state: new PipelineState(saved).slot(SLOT) }), [{ labels: a, value: 100, timestamp: 7 }]);
    assert.deepEqual(dropped, [100]);

    for (const [state, message] of [
      [{ operator: 'tumblingWindow', version: 1 }, /slot "stage".*saved by tumblingWindow/],
      [{ operator: 'dropOutliers', version: 1, series: [{ key: 'k', previousValue: 1, previousTime: 1, window: ['x'], rejected: 0 }], counters: {} }, /slot "stage".*series\[0\]\.window\[0\] should be a number/],
    ] as Array<[unknown, RegExp]>) {
      const result = feed(dropOutliers<Sample>({ state: new PipelineState({ [SLOT]: state }).slot(SLOT) }), [{ labels: a, value: 1, timestamp: 1 }]);
      assert.match((result.errors[0] as Error).message, message);
      assert.deepEqual(result.output, []);
    }
  });
});
