/**
 * dropOutliers with a wide MAD window (up to 10,000 values are accepted): memory follows the
 * series held, about one window, its ordered copy and the deviations (0.24 MB at window 10,000),
 * not a reserve of many series up front (a slot store tried for speed reserved 64 slots: 10.3 MB
 * for one series) nor twice what is held.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Subject, type Subscription } from 'rxjs';
import { dropOutliers } from '../../operators/drop-outliers.js';

interface Reading {
  readonly series: string;
  readonly v: number;
  readonly t: number;
}

describe('dropOutliers with a wide MAD window', () => {
  it('a subscription with one series costs about one window, not 64 (10 subscriptions stay under 20 MB of buffers)', () => {
    const subscriptions: Subscription[] = [];
    const out: string[] = [];
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 10; i++) {
      const source = new Subject<Reading>();
      subscriptions.push(source.pipe(dropOutliers<Reading>({ series: (r) => r.series, value: (r) => r.v, eventTime: (r) => r.t, mad: { window: 10_000 } })).subscribe((r) => out.push(r.series)));
      source.next({ series: 'probe', v: 1, t: 0 });
    }
    const grown = process.memoryUsage().arrayBuffers - before;
    for (const subscription of subscriptions) subscription.unsubscribe();
    assert.equal(out.length, 10);
    // About 2.4 MB in all; a reserve of 64 slots per subscription would take about 103 MB.
    assert.ok(grown < 20e6, `array buffers grew by ${(grown / 1e6).toFixed(1)} MB for 10 series`);
  });
});
