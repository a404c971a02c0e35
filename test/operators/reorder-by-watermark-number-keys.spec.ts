/**
 * reorderByWatermark with number keys (array slots for small whole numbers, a Map for the rest)
 * behaves exactly as with the same keys named by strings (1 and '1' apart, -0 the key 0): the
 * same elements in the same order, the same watermark read between elements, the same counters,
 * with forced and idle releases on virtual time and a checkpoint cut anywhere.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { map, type Observable } from 'rxjs';
import fc from 'fast-check';
import { reorderByWatermark, type ReorderStats } from '../../operators/reorder-by-watermark.js';
import { runCutTimed, type Timed } from './support/checkpoint-cut.js';

interface Reading {
  readonly id: number;
  readonly key: string | number;
  readonly t: number;
}

/** One name per distinct key: numbers and strings apart, -0 as 0; a number that is not finite stays one (invalid). */
const nameOf = (key: string | number): string | number =>
  typeof key === 'number' ? (Number.isFinite(key) ? `n:${Object.is(key, -0) ? 0 : key}` : key) : `s:${key}`;

const counters = (stats: ReorderStats): Omit<ReorderStats, 'buffered'> => {
  const { buffered: _buffered, ...rest } = stats;
  return rest;
};

describe('reorderByWatermark with number keys', () => {
  it('orders, releases and counts as with the same keys named by strings, with idle timeouts, watermark reads and a checkpoint cut anywhere (property)', () => {
    const key = fc.oneof(fc.constantFrom<string | number>(0, -0, 1, 2, 7, 65_535, 4_194_304, -1, 1.5, 1e9, Number.NaN), fc.constantFrom('1', '0', 'a', ''));
    const input = fc
      .array(fc.record({ key, t: fc.integer({ min: 0, max: 100 }), gap: fc.integer({ min: 0, max: 8 }) }), { maxLength: 40 })
      .map((raw) => raw.map(({ key, t, gap }, id): Timed<Reading> => ({ element: { id, key, t }, gap })));
    const settings = fc.record({
      maxOutOfOrderMs: fc.integer({ min: 0, max: 30 }),
      late: fc.constantFrom<'drop' | 'emit'>('drop', 'emit'),
      maxBuffered: fc.integer({ min: 1, max: 8 }),
      idleTimeoutMs: fc.option(fc.integer({ min: 1, max: 15 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(input, settings, fc.nat(), (timed, options, cut) => {
        const k = cut % (timed.length + 1);
        const run = (named: boolean) => {
          const operators: Array<ReturnType<typeof reorderByWatermark<Reading>>> = [];
          const runs = runCutTimed((scheduler, state) => {
            const op = reorderByWatermark<Reading>({ ...options, scheduler, eventTime: (r) => r.t, key: named ? (r) => nameOf(r.key) : (r) => r.key, state });
            operators.push(op);
            // Read as a window downstream reads it: between elements.
            return (source: Observable<Reading>) => op(source).pipe(map((r) => [r.id, op.watermark]));
          }, timed, k);
          return { runs, stats: operators.map((op) => counters(op.stats)) };
        };
        const byNumber = run(false);
        const byName = run(true);
        assert.deepEqual(byNumber.runs.whole.output, byName.runs.whole.output);
        assert.deepEqual(byNumber.stats, byName.stats);
        assert.deepEqual([...byNumber.runs.before.output, ...byNumber.runs.after.output], [...byName.runs.before.output, ...byName.runs.after.output]);
      }),
      { numRuns: 300 },
    );
  });
});
