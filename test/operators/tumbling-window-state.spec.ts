import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { tumblingWindow, type Aggregation, type TumblingWindowOptions, type TumblingWindowStats } from '../../operators/tumbling-window.js';
import { reorderByWatermark } from '../../operators/reorder-by-watermark.js';
import { PipelineState } from '../../src/durable/pipeline-state.js';
import type { Labels, Sample } from '../../src/core/model.js';
import { feed, runCut, runCutPipeline, runCutTimed, SLOT, throughJson } from './support/checkpoint-cut.js';

const AGGREGATIONS: Aggregation[] = ['count', 'sum', 'min', 'max', 'avg', 'first', 'last', { quantile: 0 }, { quantile: 0.5 }, { quantile: 0.99 }, { quantile: 1 }];

// A few label objects reused (recognised by identity), plus equal copies (recognised by content); one odd label name.
const SERIES: Labels[] = [
  { __name__: 'temp', room: 'a' },
  { __name__: 'temp', room: 'b', quantile: 'x' },
  { __name__: 'hum', room: 'a', ['__proto__']: 'p' },
];
Object.defineProperty(SERIES[2], '__proto__', { value: 'p', enumerable: true, writable: true, configurable: true });

const jsonSafeValue = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: -50, max: 50 }) }, { weight: 2, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => v + 0) });
/** The window's own state keeps -0 and non-numbers; elements held upstream are user values that JSON turns into 0 and null. */
const anyValue = fc.oneof({ weight: 6, arbitrary: jsonSafeValue }, fc.constant(-0), fc.constant(Number.NaN));

/** Samples over few windows (so some window of a series passes the exact-quantile limit and sketches), out of order and late. */
const samples = (maxLength: number, span: number, value = anyValue): fc.Arbitrary<Sample[]> =>
  fc.array(
    fc.record({ series: fc.nat({ max: SERIES.length - 1 }), copy: fc.boolean(), value, timestamp: fc.integer({ min: 0, max: span }) }),
    { maxLength },
  ).map((raw) => raw.map(({ series, copy, value, timestamp }) => ({ labels: copy ? { ...SERIES[series] } : SERIES[series], value, timestamp })));

const settings: fc.Arbitrary<Omit<TumblingWindowOptions<Sample>, 'state' | 'aggregations'>> = fc
  .record({ sizeMs: fc.integer({ min: 5, max: 120 }), offset: fc.nat(), allowedLatenessMs: fc.integer({ min: 0, max: 40 }), timestampAt: fc.constantFrom<'end' | 'start'>('end', 'start'), relativeAccuracy: fc.constantFrom(0.01, 0.2) })
  .map(({ offset, ...rest }) => ({ ...rest, offsetMs: offset % rest.sizeMs }));

const counters = (stats: TumblingWindowStats): Omit<TumblingWindowStats, 'openWindows'> => {
  const { openWindows: _open, ...rest } = stats;
  return rest;
};

describe('tumblingWindow with state', () => {
  it('a run cut anywhere, checkpointed through JSON and restored into a new operator, emits what one uninterrupted run emits (values incl. quantile estimates, order, labels, timestamps, counters)', () => {
    fc.assert(
      fc.property(samples(400, 150), settings, fc.nat(), (input, options, cut) => {
        const k = cut % (input.length + 1);
        const operators: Array<ReturnType<typeof tumblingWindow>> = [];
        const { whole, before, after } = runCut((state) => {
          const op = tumblingWindow({ ...options, aggregations: AGGREGATIONS, state });
          operators.push(op);
          return op;
        }, input, k);
        assert.deepStrictEqual([...before.output, ...after.output], whole.output);
        assert.deepEqual(counters(operators[2].stats), counters(operators[0].stats), 'the counters continue from the checkpoint');
        assert.equal(operators[2].stats.openWindows, 0);
      }),
      { numRuns: 200 },
    );
  });

  it('behind reorderByWatermark, closing on its watermark: both stages checkpointed in one pipeline state', () => {
    fc.assert(
      fc.property(samples(150, 300, jsonSafeValue), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 5, max: 60 }), fc.nat(), (input, maxOutOfOrderMs, sizeMs, cut) => {
        const k = cut % (input.length + 1);
        const { whole, before, after } = runCutPipeline((pipeline) => {
          const reorder = reorderByWatermark<Sample>({ eventTime: (s) => s.timestamp, maxOutOfOrderMs, key: (s) => s.labels['room'], state: pipeline?.slot('reorder') });
          const window = tumblingWindow({ sizeMs, aggregations: ['count', 'sum', 'last', { quantile: 0.5 }], watermark: reorder, state: pipeline?.slot('window') });
          return (source) => source.pipe(reorder, window);
        }, input, k);
        assert.deepStrictEqual([...before.output, ...after.output], whole.output);
      }),
      { numRuns: 200 },
    );
  });

  it('with an idle timeout on virtual time: a cut anywhere gives what one run gives (windows closed as idle, the quiet time carried over)', () => {
    fc.assert(
      fc.property(samples(60, 300), fc.array(fc.integer({ min: 0, max: 15 }), { minLength: 60, maxLength: 60 }), fc.integer({ min: 1, max: 20 }), fc.nat(), (input, gaps, idleTimeoutMs, cut) => {
        const timed = input.map((element, i) => ({ element, gap: gaps[i] }));
        const k = cut % (timed.length + 1);
        const { whole, before, after } = runCutTimed((scheduler, state) => tumblingWindow({ sizeMs: 50, allowedLatenessMs: 30, aggregations: ['count', 'first', { quantile: 0.9 }], idleTimeoutMs, scheduler, state }), timed, k);
        assert.deepStrictEqual([...before.output, ...after.output], whole.output);
      }),
      { numRuns: 200 },
    );
  });

  it('a window past the exact limit saves its sketch bins, and the restored sketch gives the same estimates as the saved one, also after more values', () => {
    const quantiles: Aggregation[] = [0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1].map((quantile) => ({ quantile }));
    const pipeline = new PipelineState();
    const op = tumblingWindow({ sizeMs: 100, aggregations: quantiles, state: pipeline.slot(SLOT) });
    const labels = { __name__: 'x' };
    // Over 400 decades (the lowest bins collapse), both signs and zeros; after the cut, values below and among the kept ones (above them all would collapse everything into one bin).
    const magnitude = (i: number): number => (i < 300 ? (i % 2 === 0 ? 1e-200 : 1e200) * (i + 1) : [1e-290, 1, 1e186, 1e190, 1e195][i % 5] * (i + 1));
    const values = Array.from({ length: 500 }, (_, i) => (i % 7 === 0 ? 0 : magnitude(i) * (i % 3 === 0 ? -1 : 1)));
    const input = values.map((value, i) => ({ labels, value, timestamp: i % 100 }));
    const run = feed(op, input.slice(0, 300), false);
    const saved = throughJson(pipeline.snapshot());
    run.unsubscribe();
    const acc = (saved[SLOT] as { windows: Array<{ accs: Array<{ acc: { sketch?: { positive: { collapsed: boolean } }; values?: unknown } }> }> }).windows[0].accs[0].acc;
    assert.equal(acc.values, undefined);
    assert.equal(acc.sketch?.positive.collapsed, true, 'values over 400 decades collapse the lowest bins');
    const rest = feed(tumblingWindow({ sizeMs: 100, aggregations: quantiles, state: new PipelineState(saved).slot(SLOT) }), input.slice(300));
    const whole = feed(tumblingWindow({ sizeMs: 100, aggregations: quantiles }), input);
    assert.deepStrictEqual(rest.output, whole.output);
    assert.equal(rest.output.length, quantiles.length);
  });

  it('unsubscribing emits no window; the restored windows continue and close complete in the next run', () => {
    const pipeline = new PipelineState();
    const op = tumblingWindow({ sizeMs: 10, aggregations: ['count', 'sum'], state: pipeline.slot(SLOT) });
    const labels = { __name__: 'x' };
    const run = feed(op, [{ labels, value: 1, timestamp: 1 }, { labels, value: 2, timestamp: 5 }], false);
    const saved = throughJson(pipeline.snapshot());
    run.unsubscribe();
    assert.deepEqual(run.output, []);
    assert.equal(op.stats.windowsClosed, 0);
    assert.equal(op.stats.openWindows, 0);
    const next = feed(tumblingWindow({ sizeMs: 10, aggregations: ['count', 'sum'], state: new PipelineState(saved).slot(SLOT) }), [{ labels, value: 4, timestamp: 7 }, { labels, value: 8, timestamp: 3 }]);
    assert.deepEqual(next.output, [{ labels: { __name__: 'x_count' }, value: 4, timestamp: 10 }, { labels: { __name__: 'x_sum' }, value: 15, timestamp: 10 }]);
  });

  it('an open window quiet when saved closes as idle after the rest of idleTimeoutMs in the next run (time down does not count)', () => {
    const labels = { __name__: 'x' };
    const first = new TestScheduler(() => {});
    const pipeline = new PipelineState();
    const source = new Subject<Sample>();
    const subscription = source.pipe(tumblingWindow({ sizeMs: 1000, aggregations: ['count'], idleTimeoutMs: 10, scheduler: first, state: pipeline.slot(SLOT) })).subscribe();
    source.next({ labels, value: 1, timestamp: 5 });
    first.frame = 4; // virtual time moved by hand: the idle timer never runs here
    const saved = throughJson(pipeline.snapshot());
    subscription.unsubscribe();

    const second = new TestScheduler(() => {});
    second.frame = 300; // another process, another clock
    const out: Array<[number, number]> = [];
    new Subject<Sample>().pipe(tumblingWindow({ sizeMs: 1000, aggregations: ['count'], idleTimeoutMs: 10, scheduler: second, state: new PipelineState(saved).slot(SLOT) })).subscribe((s) => out.push([s.value, second.now()]));
    second.flush();
    assert.deepEqual(out, [[1, 306]]);
  });

  it('an element for a window closed before the checkpoint is late after the restore', () => {
    const pipeline = new PipelineState();
    const labels = { __name__: 'x' };
    const run = feed(tumblingWindow({ sizeMs: 10, aggregations: ['count'], state: pipeline.slot(SLOT) }), [{ labels, value: 1, timestamp: 1 }, { labels, value: 1, timestamp: 25 }], false);
    assert.equal(run.output.length, 1);
    const saved = throughJson(pipeline.snapshot());
    run.unsubscribe();
    const late: Sample[] = [];
    const op = tumblingWindow({ sizeMs: 10, aggregations: ['count'], onLate: (s) => late.push(s), state: new PipelineState(saved).slot(SLOT) });
    feed(op, [{ labels, value: 1, timestamp: 3 }]);
    assert.deepEqual(late, [{ labels, value: 1, timestamp: 3 }]);
    assert.equal(op.stats.late, 1);
  });

  it('a state of another shape, or that does not fit the options, errors the stream with a message naming the slot', () => {
    const labels = { __name__: 'x' };
    const good = new PipelineState();
    const run = feed(tumblingWindow({ sizeMs: 10, aggregations: ['count'], state: good.slot(SLOT) }), [{ labels, value: 1, timestamp: 1 }], false);
    const saved = throughJson(good.snapshot())[SLOT] as Record<string, unknown>;
    run.unsubscribe();
    const cases: Array<[unknown, { sizeMs: number; aggregations: Aggregation[] }, RegExp]> = [
      [{ operator: 'reorderByWatermark', version: 1 }, { sizeMs: 10, aggregations: ['count'] }, /slot "stage".*saved by reorderByWatermark/],
      [saved, { sizeMs: 20, aggregations: ['count'] }, /slot "stage".*windows are 10 ms at offset 0, this operator's 20 ms/],
      [saved, { sizeMs: 10, aggregations: ['count', { quantile: 0.5 }] }, /slot "stage".*without quantile data/],
      [{ ...saved, windows: [{ start: 0, accs: [{ series: 5, acc: {} }] }] }, { sizeMs: 10, aggregations: ['count'] }, /slot "stage".*windows\[0\]\.accs\[0\]\.series 5 names no saved series/],
      [{ ...saved, series: [[['room', 'a']]] }, { sizeMs: 10, aggregations: ['count'] }, /slot "stage".*series\[0\]: labels have no __name__/],
      [[1, 2], { sizeMs: 10, aggregations: ['count'] }, /slot "stage".*should be an object, is an array/],
    ];
    for (const [state, options, message] of cases) {
      const slot = new PipelineState({ [SLOT]: state }).slot<never>(SLOT);
      const op = tumblingWindow({ ...options, state: slot });
      const result = feed(op, [{ labels, value: 1, timestamp: 2 }]);
      assert.equal(result.errors.length, 1, String(message));
      assert.match((result.errors[0] as Error).message, message);
      assert.equal(op.stats.openWindows, 0);
      // The slot is free again: a subscription with a good state works.
      assert.doesNotThrow(() => slot.attach({ snapshot: () => undefined as never })());
    }
  });
});


