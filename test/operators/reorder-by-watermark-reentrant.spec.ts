/**
 * A subscriber that feeds an element back into the source while reorderByWatermark is releasing
 * (a synchronous loop, as a Subject wired back into itself): every element still comes out
 * exactly once, as itself, whether the key is released as idle or forced out over maxBuffered; and
 * the idle timer stays one. Found by a differential fuzz and a review against d372ed6, which fails
 * them the same way: not a regression of the recency stamps, older bugs.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { reorderByWatermark } from '../../operators/reorder-by-watermark.js';

interface Reading {
  readonly id: number;
  readonly key: number;
  readonly t: number;
}

describe('reorderByWatermark fed back into from downstream', () => {
  it('an element fed back while its key is released as idle comes out once, and nothing undefined comes out', () => {
    const scheduler = new TestScheduler(() => {});
    const op = reorderByWatermark<Reading>({ eventTime: (r) => r.t, key: (r) => r.key, maxOutOfOrderMs: 0, maxBuffered: 2, idleTimeoutMs: 4, scheduler });
    const source = new Subject<Reading>();
    const out: Array<Reading | undefined> = [];
    let echoes = 100;
    source.pipe(op).subscribe((r) => {
      out.push(r);
      // Each original reading once more, as a new reading of the same key and time.
      if (r !== undefined && r.id < 100) source.next({ id: echoes++, key: r.key, t: r.t });
    });
    const at = (frame: number): void => {
      scheduler.maxFrames = frame;
      scheduler.flush();
      scheduler.frame = frame;
    };
    source.next({ id: 0, key: 0, t: 0 });
    at(1);
    source.next({ id: 1, key: 1, t: 0 });
    // Key 0 goes idle at 4: its reading is released, and its echo arrives during that release.
    at(4);
    source.next({ id: 2, key: 1, t: 0 });
    source.next({ id: 3, key: 1, t: 0 });
    source.complete();

    assert.equal(out.filter((r) => r === undefined).length, 0, 'nothing undefined is emitted');
    const ids = out.map((r) => (r as Reading).id).sort((a, b) => a - b);
    assert.deepEqual(ids, [0, 1, 2, 3, 100, 101, 102, 103], 'each reading and each echo once');
    assert.equal(op.stats.released, 8);
    assert.equal(op.stats.buffered, 0);
  });
  it('an element fed back during a forced release (over maxBuffered) comes out once, and nothing undefined comes out', () => {
    const op = reorderByWatermark<Reading>({ eventTime: (r) => r.t, key: (r) => r.key, maxOutOfOrderMs: 0, maxBuffered: 1 });
    const source = new Subject<Reading>();
    const out: Array<Reading | undefined> = [];
    source.pipe(op).subscribe((r) => {
      out.push(r);
      if (r !== undefined && r.id === 0) source.next({ id: 100, key: 2, t: 0 });
    });
    source.next({ id: 0, key: 0, t: 0 });
    // Over maxBuffered: key 0's reading is forced out, and its echo arrives while it goes.
    source.next({ id: 1, key: 1, t: 0 });
    source.complete();

    assert.equal(out.filter((r) => r === undefined).length, 0, 'nothing undefined is emitted');
    assert.deepEqual(out.map((r) => (r as Reading).id).sort((a, b) => a - b), [0, 1, 100]);
    assert.equal(op.stats.released, 3);
    assert.equal(op.stats.buffered, 0);
  });

  it('elements fed back during idle releases leave one idle timer, not one more per echo', () => {
    const scheduler = new TestScheduler(() => {});
    const op = reorderByWatermark<Reading>({ eventTime: (r) => r.t, key: (r) => r.key, maxOutOfOrderMs: 1000, idleTimeoutMs: 4, scheduler });
    const source = new Subject<Reading>();
    let echoes = 100;
    source.pipe(op).subscribe((r) => {
      // Each original reading comes back once as a reading of a new key, during the idle release.
      if (r.id < 100) source.next({ id: echoes, key: echoes++, t: r.t });
    });
    for (let id = 0; id < 5; id++) source.next({ id, key: id, t: 0 });
    scheduler.maxFrames = 4;
    scheduler.flush();
    scheduler.frame = 4;
    // The five readings went out as idle at frame 4 and their five echoes are held: one timer for them.
    assert.equal(op.stats.idleReleases, 5);
    assert.equal(op.stats.buffered, 5);
    assert.equal((scheduler as unknown as { actions: unknown[] }).actions.length, 1, 'one idle timer pending');
    source.complete();
  });
});
