import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TestScheduler } from 'rxjs/testing';
import { Lane, type LaneBatch, type LaneOptions } from '../../src/remote-write/lane.js';
import { SeriesInterner, type SeriesRecord } from '../../src/remote-write/series-interner.js';
import type { EncodedRequest, SampleColumns } from '../../src/protocol/encoder.js';

/** A lane whose sends the test settles by hand; each batch is recorded with a copy of its values. */
function harness(options: Partial<LaneOptions> = {}) {
  const scheduler = new TestScheduler(() => undefined);
  const sent: Array<{ batch: LaneBatch; values: number[]; settle: () => void }> = [];
  let idle = 0;
  const lane = new Lane({
    maxSamples: 3,
    maxDelayMs: 100,
    scheduler,
    encode: (columns: SampleColumns): EncodedRequest => ({ body: Buffer.alloc(1), rawBytes: 1, samples: columns.length, series: new Set(columns.series.slice(0, columns.length)).size }),
    send: (batch) =>
      new Promise<void>((resolve) => {
        sent.push({ batch, values: Array.from(batch.columns.values.subarray(0, batch.columns.length)), settle: resolve });
      }),
    onIdle: () => idle++,
    ...options,
  });
  return { lane, scheduler, sent, idle: () => idle };
}

const interner = new SeriesInterner({ validation: 'strict' });
const a = interner.resolve({ __name__: 'a' }) as SeriesRecord;
const b = interner.resolve({ __name__: 'b' }) as SeriesRecord;
const flushMicrotasks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Lane', () => {
  it('finishes a batch when full and sends the next only after the previous is settled, in order', async () => {
    const { lane, sent, idle } = harness();
    for (let v = 1; v <= 7; v++) lane.push(v % 2 ? a : b, v, v);
    assert.equal(sent.length, 1, 'one batch in flight, one queued');
    assert.deepEqual(sent[0].values, [1, 2, 3]);
    assert.equal(sent[0].batch.request.series, 2);
    sent[0].settle();
    await flushMicrotasks();
    assert.equal(sent.length, 2);
    assert.deepEqual(sent[1].values, [4, 5, 6]);
    assert.equal(lane.idle, false, 'the seventh sample is open');
    sent[1].settle();
    await flushMicrotasks();
    assert.equal(idle(), 0);
    lane.flush();
    assert.deepEqual(sent[2].values, [7]);
    sent[2].settle();
    await flushMicrotasks();
    assert.equal(lane.idle, true);
    assert.equal(idle(), 1);
  });

  it('owns its timer: a partial batch goes after maxDelayMs from its first sample, and only one timer runs', () => {
    const { lane, scheduler, sent } = harness();
    lane.push(a, 1, 1);
    lane.push(a, 2, 2);
    assert.equal(scheduler.actions.length, 1);
    assert.equal(sent.length, 0);
    scheduler.flush();
    assert.deepEqual(sent[0].values, [1, 2]);
    assert.equal(scheduler.actions.length, 0);
  });

  it('reuses the columns of settled batches, emptied of their series', async () => {
    const { lane, sent } = harness({ maxSamples: 2 });
    lane.push(a, 1, 1);
    lane.push(a, 2, 2);
    const first = sent[0].batch.columns;
    sent[0].settle();
    await flushMicrotasks();
    assert.equal(first.series.length, 0, 'a spare keeps no series alive');
    lane.push(b, 3, 3);
    lane.push(b, 4, 4); // taken from columns allocated while the first batch was in flight; the spare is open now
    sent[1].settle();
    await flushMicrotasks();
    lane.push(b, 5, 5);
    lane.push(b, 6, 6);
    assert.equal(sent[2].batch.columns.values, first.values, 'the batch after is on the spare columns');
    assert.deepEqual(sent[2].values, [5, 6]);
  });

  it('abandon reports what has no outcome, batch by batch, and stops sending', async () => {
    const { lane, scheduler, sent } = harness();
    for (let v = 1; v <= 8; v++) lane.push(v <= 3 ? a : b, v, v);
    sent[0].batch.settled = 1; // its sender settled the first sample already
    const unsettled = lane.abandon();
    assert.deepEqual(unsettled, [
      { samples: 2, series: 1 }, // in flight, after what was settled
      { samples: 3, series: 1 }, // queued
      { samples: 2, series: 1 }, // open
    ]);
    assert.equal(scheduler.actions.length, 0, 'no timer left');
    sent[0].settle();
    await flushMicrotasks();
    assert.equal(sent.length, 1, 'nothing more is sent');
    lane.push(a, 9, 9);
    assert.deepEqual(lane.abandon(), [], 'abandoned once');
  });

  it('a busy lane keeps filling its open batch when the timer fires, and sends it whole once free', async () => {
    const { lane, scheduler, sent } = harness({ maxSamples: 10 });
    lane.push(a, 1, 1);
    scheduler.flush();
    assert.equal(sent.length, 1, 'the first batch goes on its timer');
    lane.push(a, 2, 2);
    scheduler.flush(); // the timer fires while the first request is in flight
    lane.push(b, 3, 3);
    lane.push(b, 4, 4);
    assert.equal(sent.length, 1, 'no small batch queued behind the request in flight');
    assert.equal(scheduler.actions.length, 0, 'and no new timer: the batch is already due');
    sent[0].settle();
    await flushMicrotasks();
    assert.deepEqual(sent[1]?.values, [2, 3, 4], 'one fuller batch once the lane is free');
  });

  it('gives back what it has not sent, oldest first, keeping the batch in flight', async () => {
    const { lane, scheduler, sent, idle } = harness();
    for (let v = 1; v <= 8; v++) lane.push(a, v, v);
    const { queued, open } = lane.takeUnsent();
    assert.deepEqual(queued.map((c) => Array.from(c.values.subarray(0, c.length))), [[4, 5, 6]]);
    assert.deepEqual(open === null ? [] : Array.from(open.values.subarray(0, open.length)), [7, 8]);
    assert.equal(scheduler.actions.length, 0, 'the open batch timer is cancelled');
    assert.equal(lane.idle, false, 'the batch in flight is still the lane\'s');
    sent[0].settle();
    await flushMicrotasks();
    assert.equal(sent.length, 1, 'nothing given back is sent');
    assert.equal(lane.idle, true);
    assert.equal(idle(), 1);
  });
});
