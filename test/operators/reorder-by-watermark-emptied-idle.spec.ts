/**
 * reorderByWatermark: a key that holds nothing (emptied by a forced release over maxBuffered, or
 * new with only late elements) and then goes silent.
 * Promise (idleTimeoutMs): a key quiet this long stops holding the output watermark back, so a
 * window downstream closed on it does not wait for a silent device until completion.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { reorderByWatermark } from '../../operators/reorder-by-watermark.js';
import { PipelineState } from '../../src/durable/pipeline-state.js';
import type { SavedReorder } from '../../operators/internal/reorder-state.js';

interface Reading {
  readonly key: string;
  readonly t: number;
}

function virtualTime(): { scheduler: TestScheduler; at(frame: number): void } {
  const scheduler = new TestScheduler(() => {});
  return {
    scheduler,
    at(frame) {
      scheduler.maxFrames = frame;
      scheduler.flush();
      scheduler.frame = frame;
    },
  };
}

describe('reorderByWatermark: a key emptied by a forced release, then silent', () => {
  it('stops holding the output watermark back once quiet for idleTimeoutMs', () => {
    const { scheduler, at } = virtualTime();
    const ordered = reorderByWatermark<Reading>({ eventTime: (r) => r.t, key: (r) => r.key, maxOutOfOrderMs: 0, maxBuffered: 1, idleTimeoutMs: 10, scheduler });
    void ordered.watermark; // a window downstream reads it
    const source = new Subject<Reading>();
    const out: string[] = [];
    source.pipe(ordered).subscribe((r) => out.push(`${r.key}${r.t}`));
    source.next({ key: 'b', t: 50 });
    // Over maxBuffered: b, the quietest, gives up b50 and holds nothing from now on; b goes silent.
    source.next({ key: 'a', t: 100 });
    assert.equal(ordered.stats.forcedReleases, 1);
    at(5);
    source.next({ key: 'a', t: 200 });
    assert.equal(ordered.watermark, 50, 'b, active 5 ms ago, still holds it');
    at(30);
    source.next({ key: 'a', t: 300 });
    assert.equal(ordered.watermark, 300, 'b, silent for 30 ms with idleTimeoutMs 10, held the watermark at 50');
    assert.deepEqual(out, ['b50', 'a100', 'a200']);
    source.complete();
    assert.deepEqual(out, ['b50', 'a100', 'a200', 'a300']);
  });

  it('a new key whose only element is late holds nothing: silent for idleTimeoutMs, it stops holding the watermark back', () => {
    const { scheduler, at } = virtualTime();
    const ordered = reorderByWatermark<Reading>({ eventTime: (r) => r.t, key: (r) => r.key, maxOutOfOrderMs: 0, idleTimeoutMs: 10, scheduler });
    void ordered.watermark;
    const source = new Subject<Reading>();
    const out: string[] = [];
    source.pipe(ordered).subscribe((r) => out.push(`${r.key}${r.t}`));
    source.next({ key: 'a', t: 100 });
    source.next({ key: 'a', t: 110 });
    // b joins at the published watermark (110): b50 is late, and b holds nothing.
    source.next({ key: 'b', t: 50 });
    assert.equal(ordered.stats.late, 1);
    at(5);
    source.next({ key: 'a', t: 200 });
    assert.equal(ordered.watermark, 110, 'b, quiet for 5 ms, still holds it');
    // a stays active (every 5 ms); b, heard from at 0, is silent.
    for (const frame of [10, 15, 20, 25, 30]) {
      at(frame);
      source.next({ key: 'a', t: 200 + frame * 10 });
    }
    assert.equal(ordered.watermark, 500, 'b, silent for 30 ms with idleTimeoutMs 10, held the watermark at 110');
    assert.equal(ordered.stats.idleReleases, 0, 'a, active, released nothing as idle');
    assert.deepEqual(out, ['a100', 'a110', 'a200', 'a300', 'a350', 'a400', 'a450']);
  });

  it('a new key whose only element is late counts its quiet time from its arrival, not from the clock\'s zero', () => {
    const { scheduler, at } = virtualTime();
    const ordered = reorderByWatermark<Reading>({ eventTime: (r) => r.t, key: (r) => r.key, maxOutOfOrderMs: 0, idleTimeoutMs: 10, scheduler });
    void ordered.watermark;
    const source = new Subject<Reading>();
    source.pipe(ordered).subscribe();
    source.next({ key: 'a', t: 100 });
    source.next({ key: 'a', t: 110 });
    at(20);
    // b joins at 20 with only a late element: it holds the watermark at 110 until 30.
    source.next({ key: 'b', t: 50 });
    at(25);
    source.next({ key: 'a', t: 200 });
    assert.equal(ordered.watermark, 110, 'b, heard from 5 ms ago, still holds it');
    at(31);
    source.next({ key: 'a', t: 300 });
    assert.equal(ordered.watermark, 300, 'b, quiet for 11 ms, no longer holds it');
  });

  it('a key emptied and back before idleTimeoutMs keeps its own watermark: its next element is not late', () => {
    const { scheduler, at } = virtualTime();
    const ordered = reorderByWatermark<Reading>({ eventTime: (r) => r.t, key: (r) => r.key, maxOutOfOrderMs: 0, maxBuffered: 1, idleTimeoutMs: 10, scheduler });
    void ordered.watermark;
    const source = new Subject<Reading>();
    const out: string[] = [];
    source.pipe(ordered).subscribe((r) => out.push(`${r.key}${r.t}`));
    source.next({ key: 'b', t: 50 });
    source.next({ key: 'a', t: 100 });
    at(5);
    source.next({ key: 'a', t: 200 });
    source.next({ key: 'b', t: 55 });
    source.complete();
    assert.equal(ordered.stats.late, 0);
    assert.deepEqual(out, ['b50', 'a100', 'a200', 'b55']);
  });

  it('restored from a checkpoint taken while the key was emptied: quiet time carried over, it stops holding the watermark back', () => {
    const first = virtualTime();
    const state = new PipelineState();
    const make = (scheduler: TestScheduler, pipeline: PipelineState) =>
      reorderByWatermark<Reading>({ eventTime: (r) => r.t, key: (r) => r.key, maxOutOfOrderMs: 0, maxBuffered: 1, idleTimeoutMs: 10, scheduler, state: pipeline.slot<SavedReorder>('reorder') });
    const before = make(first.scheduler, state);
    void before.watermark;
    const source = new Subject<Reading>();
    const subscription = source.pipe(before).subscribe();
    source.next({ key: 'b', t: 50 });
    source.next({ key: 'a', t: 100 });
    first.at(4);
    source.next({ key: 'a', t: 200 });
    const saved = JSON.parse(JSON.stringify(state.snapshot())) as Record<string, unknown>;
    subscription.unsubscribe();

    const second = virtualTime();
    const after = make(second.scheduler, new PipelineState(saved as ConstructorParameters<typeof PipelineState>[0]));
    const restarted = new Subject<Reading>();
    const out: string[] = [];
    restarted.pipe(after).subscribe((r) => out.push(`${r.key}${r.t}`));
    assert.equal(after.watermark, 50);
    second.at(3);
    restarted.next({ key: 'a', t: 300 });
    assert.equal(after.watermark, 50, 'b quiet 4 ms before and 3 ms after the restart');
    second.at(20);
    restarted.next({ key: 'a', t: 400 });
    assert.equal(after.watermark, 400);
    assert.deepEqual(out, ['a200', 'a300']);
  });
});
