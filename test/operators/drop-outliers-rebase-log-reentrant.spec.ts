/**
 * dropOutliers calls the debug logger (user code) when a series' MAD window restarts
 * (`rebaseAfter`), before clearing the window: an element the logger feeds back into the operator
 * is judged against the window as it was. (Clearing first, as a rewrite tried for speed did, judged
 * it against an empty window: a different decision, rebase count and window afterwards.)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Subject } from 'rxjs';
import { dropOutliers } from '../../operators/drop-outliers.js';

interface Reading {
  readonly id: string;
  readonly v: number;
}

describe('dropOutliers, an element fed back by the rebase log', () => {
  it('is judged against the window as it was before the restart, before the window is cleared', () => {
    const source = new Subject<Reading>();
    const out: string[] = [];
    const logged: unknown[] = [];
    let fedBack = false;
    const op = dropOutliers<Reading>({
      series: () => 'one',
      value: (r) => r.v,
      eventTime: () => 0,
      mad: { window: 7, minSamples: 3, rebaseAfter: 1 },
      logger: {
        debug: (fields: unknown, message: string) => {
          if (!message.includes('new level')) return;
          logged.push(fields);
          if (!fedBack) {
            fedBack = true;
            source.next({ id: 'fed', v: 1001 });
          }
        },
        info: () => {},
        warn: () => {},
        error: () => {},
      },
    });
    source.pipe(op).subscribe((r) => out.push(r.id));
    for (const [id, v] of [['a', 11], ['b', 10], ['c', 10], ['d', 0]] as const) source.next({ id, v });
    // d is far from [11, 10, 10]: the window restarts. The logger runs first, so 'fed' (1001) arrives
    // while the window still held [11, 10, 10]: far from it too, a second restart.
    assert.deepEqual(out, ['a', 'b', 'c', 'fed', 'd']);
    assert.deepEqual(logged, [{ rejected: 1 }, { rejected: 2 }]);
    assert.equal(op.stats.rebased, 2);
  });
});
