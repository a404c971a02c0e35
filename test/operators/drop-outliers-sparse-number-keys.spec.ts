/**
 * dropOutliers with number series: a whole number up to 4,194,303 is an array-slot key. One
 * series keyed 4,194,303 must cost what one series costs, not memory in proportion to the key:
 * device numbers are not always dense (a registry's ids, a range per site), and every
 * subscription (lanes, restarts) would pay it again. (A per-series slot table sized by the
 * largest key, tried for speed, cost 16.8 MB per subscription here.)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Subject, type Subscription } from 'rxjs';
import { dropOutliers } from '../../operators/drop-outliers.js';

interface Reading {
  readonly series: number;
  readonly v: number;
  readonly t: number;
}

describe('dropOutliers with a large number series', () => {
  it('one series keyed 4,194,303 does not cost memory in proportion to the key (20 subscriptions stay under 20 MB of buffers)', () => {
    const subscriptions: Subscription[] = [];
    const out: number[] = [];
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 20; i++) {
      const source = new Subject<Reading>();
      subscriptions.push(source.pipe(dropOutliers<Reading>({ series: (r) => r.series, value: (r) => r.v, eventTime: (r) => r.t, mad: { window: 30 } })).subscribe((r) => out.push(r.series)));
      source.next({ series: 4_194_303, v: 1, t: 0 });
    }
    const grown = process.memoryUsage().arrayBuffers - before;
    for (const subscription of subscriptions) subscription.unsubscribe();
    assert.equal(out.length, 20);
    // Well under 1 MB in all; a table sized by the largest key would take about 336 MB.
    assert.ok(grown < 20e6, `array buffers grew by ${(grown / 1e6).toFixed(1)} MB for 20 series`);
  });
});
