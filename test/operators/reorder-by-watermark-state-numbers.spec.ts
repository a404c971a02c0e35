/**
 * reorderByWatermark restored from a state whose times it cannot have saved. Promise: a restored
 * state of another shape errors the stream naming the slot, never restores something wrong: a
 * watermark, largest time or published watermark is finite, or -Infinity before any element
 * (NaN would hold a key's elements until completion, +Infinity make every element late).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { reorderByWatermark } from '../../operators/reorder-by-watermark.js';
import { PipelineState } from '../../src/durable/pipeline-state.js';
import { feed, SLOT } from './support/checkpoint-cut.js';

interface Reading {
  readonly key: string;
  readonly t: number;
}

const state = (key: Record<string, unknown>, published: unknown = 10) => ({
  operator: 'reorderByWatermark',
  version: 1,
  keyed: true,
  seq: 1,
  idleTimerMs: null,
  published,
  tracking: false,
  keys: [{ key: 'a', maxTime: 15, watermark: 10, idle: false, quietMs: 0, times: [12], seqs: [0], values: [{ key: 'a', t: 12 }], ...key }],
  counters: { released: 0, late: 0, invalid: 0, forcedReleases: 0, idleReleases: 0 },
});

const make = (saved: unknown) =>
  reorderByWatermark<Reading>({ eventTime: (r) => r.t, key: (r) => r.key, maxOutOfOrderMs: 5, state: new PipelineState({ [SLOT]: saved }).slot<never>(SLOT) });

describe('reorderByWatermark restored from a state with times it never saves', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['a watermark NaN', state({ watermark: 'NaN' }), /slot "stage".*keys\[0\]\.watermark should be a finite number or -Infinity, is NaN/],
    ['a largest time +Infinity', state({ maxTime: 'Infinity' }), /slot "stage".*keys\[0\]\.maxTime should be a finite number or -Infinity, is Infinity/],
    ['a published watermark NaN', state({}, 'NaN'), /slot "stage".*published should be a finite number or -Infinity, is NaN/],
  ];
  for (const [name, saved, message] of cases) {
    it(`${name}: the stream errors naming the slot, nothing comes out`, () => {
      const op = make(saved);
      const result = feed(op, [{ key: 'a', t: 30 }]);
      assert.equal(result.errors.length, 1, 'restored without complaint');
      assert.match((result.errors[0] as Error).message, message);
      assert.deepEqual(result.output, []);
      assert.equal(op.stats.buffered, 0);
    });
  }

  it('-Infinity (a key with no element yet, nothing published) and finite times restore', () => {
    const op = make(state({ maxTime: 15, watermark: 10 }, '-Infinity'));
    const result = feed(op, [{ key: 'b', t: 1 }, { key: 'a', t: 30 }]);
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.output, [{ key: 'a', t: 12 }, { key: 'b', t: 1 }, { key: 'a', t: 30 }]);
  });
});
