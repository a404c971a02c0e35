import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Subject } from 'rxjs';
import { enrichFromSnapshots } from '../../../operators/internal/enrich-from-snapshots.js';
import { harness } from './enrich-harness.js';

describe('enrichFromSnapshots', () => {
  it('holds elements until the first snapshot (at most maxWaiting), then follows each new snapshot', () => {
    const h = harness(2);
    const snapshots = new Subject<ReadonlyMap<string, string>>();
    const strategy = enrichFromSnapshots(snapshots, h.context);
    for (const x of ['a', 'b', 'c']) strategy.accept(x, x);
    assert.deepEqual(h.overflowed, ['c']);
    snapshots.next(new Map([['a', '1']]));
    assert.deepEqual(h.values, ['a:1']);
    assert.deepEqual(h.misses, [['b', 'missing']]);
    snapshots.next(new Map([['b', '2']]));
    strategy.accept('b', 'b');
    strategy.accept('a', 'a');
    assert.deepEqual(h.values, ['a:1', 'b:2']);
    assert.deepEqual(h.misses, [['b', 'missing'], ['a', 'missing']]);
    strategy.dispose();
    assert.equal(snapshots.observed, false, 'dispose unsubscribed');
  });

  it('completing without a snapshot makes every waiting and later key missing; an error errors the output', () => {
    const h = harness();
    const snapshots = new Subject<ReadonlyMap<string, string>>();
    const strategy = enrichFromSnapshots(snapshots, h.context);
    strategy.accept('a', 'a');
    snapshots.complete();
    strategy.accept('b', 'b');
    assert.deepEqual(h.misses, [['a', 'missing'], ['b', 'missing']]);
    const failing = harness();
    const broken = new Subject<ReadonlyMap<string, string>>();
    enrichFromSnapshots(broken, failing.context);
    const failure = new Error('registry');
    broken.error(failure);
    assert.equal(failing.state.error, failure);
  });
});
