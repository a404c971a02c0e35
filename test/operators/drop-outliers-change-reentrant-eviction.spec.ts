/**
 * dropOutliers with `maxRate.change` that feeds the operator again (a user callback is user code):
 * when the element fed back belongs to a new series and evicts (maxSeries) the series being
 * checked, the check finishes on the forgotten series and the table stays as the fed-back element
 * left it. (Finding the series anew after the callback, as a rewrite tried for speed did, re-added
 * it and evicted the fed-back series, whose next element was then checked as its first.)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Subject } from 'rxjs';
import { dropOutliers, type OutlierReason } from '../../operators/drop-outliers.js';

interface Reading {
  readonly id: string;
  readonly series: string;
  readonly v: number;
  readonly t: number;
}

describe('dropOutliers, maxRate.change feeding back a new series under maxSeries', () => {
  it('a series re-added after its change callback does not evict the series the callback fed in', () => {
    const source = new Subject<Reading>();
    const out: string[] = [];
    const drops: string[] = [];
    let fedBack = false;
    const op = dropOutliers<Reading>({
      series: (r) => r.series,
      value: (r) => r.v,
      eventTime: (r) => r.t,
      maxSeries: 1,
      maxRate: {
        perSecond: 0,
        change: (previous, next) => {
          // Once: a reading of another series arrives while this one is being checked.
          if (!fedBack) {
            fedBack = true;
            source.next({ id: 'b1', series: 'b', v: 5, t: 0 });
          }
          return Math.abs(previous.v - next.v);
        },
      },
      onDrop: (r, reason: OutlierReason) => drops.push(`${r.id} ${reason}`),
    });
    source.pipe(op).subscribe((r) => out.push(r.id));
    source.next({ id: 'a1', series: 'a', v: 0, t: 0 });
    // Checked against a1: changes at once (rate). Meanwhile b1 arrives, the one series remembered.
    source.next({ id: 'a2', series: 'a', v: 10, t: 0 });
    // b remembers b1 (v 5 at t 0): b2 jumps by 94 at the same time, a rate drop.
    source.next({ id: 'b2', series: 'b', v: 99, t: 0 });
    // Expected: out [a1, b1], drops [a2 rate, b2 rate]; b2 would pass if a's re-add evicted b.
    assert.deepEqual(out, ['a1', 'b1']);
    assert.deepEqual(drops, ['a2 rate', 'b2 rate']);
    assert.deepEqual(op.stats.dropped, { invalid: 0, range: 0, rate: 2, mad: 0 });
  });

  it('a series re-added after the rebase log (user code) does not evict the series the logger fed in', () => {
    const source = new Subject<Reading>();
    const out: string[] = [];
    const drops: string[] = [];
    let fedBack = false;
    const op = dropOutliers<Reading>({
      series: (r) => r.series,
      value: (r) => r.v,
      eventTime: (r) => r.t,
      maxSeries: 1,
      maxRate: { perSecond: 100 },
      mad: { window: 3, rebaseAfter: 1 },
      logger: {
        debug: (_fields: unknown, message: string) => {
          // Once, as series a's window restarts: a reading of series b arrives.
          if (message.includes('new level') && !fedBack) {
            fedBack = true;
            source.next({ id: 'b1', series: 'b', v: 5, t: 0 });
          }
        },
        info: () => {},
        warn: () => {},
        error: () => {},
      },
      onDrop: (r, reason: OutlierReason) => drops.push(`${r.id} ${reason}`),
    });
    source.pipe(op).subscribe((r) => out.push(r.id));
    for (const [id, v, t] of [['a1', 10, 0], ['a2', 10, 1000], ['a3', 11, 2000], ['a4', 100, 3000]] as const) source.next({ id, series: 'a', v, t });
    // b remembers b1 (v 5 at t 0): b2 jumps by 995 at the same time, a rate drop.
    source.next({ id: 'b2', series: 'b', v: 1000, t: 0 });
    // Expected: b2 dropped (rate); it would pass if a were re-added after the log, evicting b.
    assert.deepEqual(out, ['a1', 'a2', 'a3', 'b1', 'a4']);
    assert.deepEqual(drops, ['b2 rate']);
    assert.equal(op.stats.rebased, 1);
  });
});
