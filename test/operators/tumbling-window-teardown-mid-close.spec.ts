import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { from, Subject, take } from 'rxjs';
import { VirtualTimeScheduler } from 'rxjs';
import { tumblingWindow } from '../../operators/tumbling-window.js';
import type { Labels, Sample } from '../../src/core/model.js';

const labels: Labels = { __name__: 'x' };
const at = (timestamp: number): Sample => ({ labels, value: 1, timestamp });

// Promise: unsubscription clears the buffers, `stats.openWindows` counts the windows open right now.
// Several windows closing at once, and the subscriber leaving while the first of them goes out.
describe('tumblingWindow: the subscriber leaves while several windows close at once', () => {
  it('take(1) on a close of three windows: one sample out, no window left counted open', () => {
    const op = tumblingWindow({ sizeMs: 10, aggregations: ['count'], allowedLatenessMs: 100 });
    const out: Sample[] = [];
    // 1, 11 and 21 open three windows; 500 closes all three at once.
    from([at(1), at(11), at(21), at(500)]).pipe(op, take(1)).subscribe((s) => out.push(s));
    assert.deepEqual(out.map((s) => s.timestamp), [10]);
    assert.equal(op.stats.windowsClosed, 1);
    assert.equal(op.stats.openWindows, 0, 'windows taken out to be emitted stayed counted as open');
  });

  it('an idle close (timer) that the subscriber leaves during: no window counted, no timer fires after', () => {
    const scheduler = new VirtualTimeScheduler();
    const op = tumblingWindow({ sizeMs: 10, aggregations: ['count', 'sum'], allowedLatenessMs: 100, idleTimeoutMs: 50, scheduler });
    const source = new Subject<Sample>();
    const out: Sample[] = [];
    const subscription = source.pipe(op).subscribe((s) => {
      out.push(s);
      subscription.unsubscribe();
    });
    for (const t of [1, 11, 21, 31]) source.next(at(t));
    assert.equal(op.stats.openWindows, 4);
    scheduler.flush();
    assert.deepEqual(out.map((s) => [s.labels['__name__'], s.timestamp]), [['x_count', 10]]);
    assert.equal(op.stats.openWindows, 0);
    assert.equal(scheduler.actions.length, 0, 'a timer is still armed');
  });
});
