import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TestScheduler } from 'rxjs/testing';
import { laneOf, LaneSet, type LaneSetOptions } from '../../src/remote-write/lane-set.js';
import type { LaneBatch } from '../../src/remote-write/lane.js';
import { SeriesInterner, type SeriesRecord } from '../../src/remote-write/series-interner.js';
import type { EncodedRequest, SampleColumns } from '../../src/protocol/encoder.js';
import { seededRandom } from '../../src/testing/random.js';

interface Sent {
  readonly batch: LaneBatch;
  readonly series: SeriesRecord[];
  readonly values: number[];
  /** Lane count of the layout when the batch was handed over. */
  readonly layout: number;
  settled: boolean;
  settle: () => void;
}

/** A lane set whose sends the test settles by hand (no timer ticks the controller: its interval is 10 min). */
function harness(options: Partial<LaneSetOptions> = {}) {
  const scheduler = new TestScheduler(() => undefined);
  const sent: Sent[] = [];
  let idle = 0;
  const set: LaneSet = new LaneSet({
    shards: { min: 1, max: 8, updateEveryMs: 600_000 },
    maxSamples: 4,
    maxDelayMs: 100,
    scheduler,
    encode: (columns: SampleColumns): EncodedRequest => ({ body: Buffer.alloc(1), rawBytes: 1, samples: columns.length, series: new Set(columns.series.slice(0, columns.length)).size }),
    send: (batch) =>
      new Promise<void>((resolve) => {
        const record: Sent = {
          batch,
          series: batch.columns.series.slice(0, batch.columns.length),
          values: Array.from(batch.columns.values.subarray(0, batch.columns.length)),
          layout: set.count,
          settled: false,
          settle: () => {
            record.settled = true;
            batch.settled = batch.columns.length;
            resolve();
          },
        };
        sent.push(record);
      }),
    onIdle: () => idle++,
    ...options,
  });
  return { set, scheduler, sent, idle: () => idle };
}

const interner = new SeriesInterner({ validation: 'strict' });
const SERIES = Array.from({ length: 12 }, (_, i) => interner.resolve({ __name__: `s${i}` }) as SeriesRecord);
const flushMicrotasks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Settles every open send, repeatedly, until none is left. */
async function settleAll(sent: Sent[]): Promise<void> {
  for (let open = sent.filter((s) => !s.settled); open.length > 0; open = sent.filter((s) => !s.settled)) {
    for (const s of open) s.settle();
    await flushMicrotasks();
  }
}

describe('LaneSet', () => {
  it('routes each series to the lane of its hash modulo the current count', async () => {
    const { set, sent } = harness({ shards: { min: 3, max: 8, updateEveryMs: 600_000 }, maxSamples: 1000 });
    assert.equal(set.count, 3);
    for (const s of SERIES) set.push(s, 1, 1);
    set.finish();
    const lanesUsed = new Set(SERIES.map((s) => s.hash % 3));
    assert.equal(sent.length, lanesUsed.size, 'one batch per lane used');
    for (const batch of sent) assert.equal(new Set(batch.series.map((s) => s.hash % 3)).size, 1, 'a batch holds the series of one lane');
    await settleAll(sent);
    assert.equal(set.idle, true);
  });

  it('laneOf is the hash modulo the count, for hashes beyond 2^31 too', () => {
    const interner = new SeriesInterner({ validation: 'strict' });
    const records = Array.from({ length: 2000 }, (_, i) => interner.resolve({ __name__: 'm', i: String(i) }) as SeriesRecord);
    assert.ok(records.some((r) => r.hash >= 2 ** 31), 'some hashes are beyond the small-integer range');
    for (const record of records) for (const count of [1, 3, 4, 7, 50]) assert.equal(laneOf(record, count), record.hash % count);
  });

  it('a small flow on one lane goes out as one batch', () => {
    const { set, sent, scheduler } = harness({ maxSamples: 100 });
    for (const s of SERIES) set.push(s, 1, 1);
    scheduler.flush(); // the batch timer
    assert.equal(sent.length, 1);
    assert.equal(sent[0].values.length, SERIES.length);
  });

  it('drains before it switches: waits for the request in flight, holds arrivals, then routes what was unsent and what was held by the new count', async () => {
    const { set, sent, scheduler } = harness({ maxSamples: 4 });
    for (let v = 1; v <= 13; v++) set.push(SERIES[v % SERIES.length], v, v); // one lane: 4 in flight, 8 queued, 1 open
    assert.equal(sent.length, 1);
    assert.equal(set.reshard(4), true);
    assert.equal(set.draining, true);
    assert.equal(set.reshard(2), false, 'one change at a time');
    for (let v = 14; v <= 20; v++) set.push(SERIES[v % SERIES.length], v, v);
    scheduler.flush();
    assert.equal(sent.length, 1, 'nothing more is sent while the request in flight is unanswered');
    assert.equal(set.count, 1);
    sent[0].settle();
    await flushMicrotasks();
    assert.equal(set.draining, false);
    assert.equal(set.count, 4);
    assert.equal(set.reshards, 1);
    scheduler.flush();
    await settleAll(sent);
    scheduler.flush();
    await settleAll(sent);
    const after = sent.slice(1);
    assert.ok(after.length > 1 && after.every((b) => b.layout === 4), 'the rest went out on the new layout');
    assert.deepEqual(after.flatMap((b) => b.values).sort((x, y) => x - y), Array.from({ length: 16 }, (_, i) => i + 5), 'the unsent and the held samples, each once');
    for (const batch of after) {
      assert.equal(new Set(batch.series.map((s) => s.hash % 4)).size, 1, 'routed by the new count');
      const ordered = batch.values.slice().sort((x, y) => x - y);
      assert.deepEqual(batch.values, ordered, 'in arrival order');
    }
  });

  it('a drain with nothing in flight switches at once, taking the open batch along', () => {
    const { set, sent, scheduler } = harness({ maxSamples: 1000 });
    for (const s of SERIES) set.push(s, 1, 1);
    assert.equal(set.reshard(3), true);
    assert.equal(set.draining, false);
    assert.equal(set.count, 3);
    scheduler.flush();
    assert.deepEqual(sent.map((b) => b.layout), sent.map(() => 3));
    assert.equal(sent.reduce((n, b) => n + b.values.length, 0), SERIES.length);
  });

  it('switches at once when the old layout is already idle; clamps to the range; refuses the same count', () => {
    const { set } = harness({ shards: { min: 2, max: 3, updateEveryMs: 600_000 } });
    assert.equal(set.reshard(2), false);
    assert.equal(set.reshard(9), true);
    assert.equal(set.count, 3);
    assert.equal(set.draining, false);
    assert.equal(set.reshard(0), true);
    assert.equal(set.count, 2);
  });

  it('under random pushes, reshards and answers, no series reorders and no sample is lost or sent twice', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const random = seededRandom(seed);
      const { set, sent, scheduler } = harness({ maxSamples: 5 });
      const pushed = new Map<SeriesRecord, number[]>();
      let value = 0;
      for (let step = 0; step < 400; step++) {
        const r = random();
        if (r < 0.7) {
          const series = SERIES[Math.floor(random() * SERIES.length)];
          set.push(series, ++value, value);
          pushed.set(series, [...(pushed.get(series) ?? []), value]);
        } else if (r < 0.75) {
          set.reshard(1 + Math.floor(random() * 8));
        } else if (r < 0.8) {
          scheduler.flush();
        } else {
          const open = sent.filter((s) => !s.settled);
          if (open.length > 0) open[Math.floor(random() * open.length)].settle();
          await flushMicrotasks();
        }
      }
      set.finish();
      await settleAll(sent);
      assert.equal(set.idle, true, `seed ${seed}: idle at the end`);
      // Per series: what was sent, in the order the batches were handed over, is what was pushed,
      // and each of its batches went only after the one before had been answered.
      const seen = new Map<SeriesRecord, number[]>();
      const lastBatch = new Map<SeriesRecord, Sent>();
      for (const batch of sent) {
        batch.series.forEach((series, i) => {
          const previous = lastBatch.get(series);
          if (previous !== undefined && previous !== batch) {
            assert.ok(sent.indexOf(previous) < sent.indexOf(batch), `seed ${seed}: handed over in order`);
          }
          lastBatch.set(series, batch);
          seen.set(series, [...(seen.get(series) ?? []), batch.values[i]]);
        });
      }
      assert.deepEqual(seen, pushed, `seed ${seed}: every sample once, in order per series`);
      assert.ok(set.reshards > 0, `seed ${seed}: resharded`);
    }
  });

  it('never has a batch of a moved series in flight on two layouts at once', async () => {
    const { set, sent } = harness({ maxSamples: 2 });
    const inFlight = new Set<Sent>();
    const original = sent.push.bind(sent);
    sent.push = (...records: Sent[]): number => {
      for (const record of records) {
        for (const other of inFlight) {
          if (other.settled) inFlight.delete(other);
          else assert.equal(other.layout, record.layout, 'a batch of another layout is still unanswered');
        }
        inFlight.add(record);
      }
      return original(...records);
    };
    for (let round = 0; round < 6; round++) {
      for (const s of SERIES) set.push(s, 2 * round, 2 * round);
      assert.ok(sent.some((s) => !s.settled), 'requests in flight when the change starts');
      set.reshard(1 + ((round * 3) % 8));
      for (const s of SERIES) set.push(s, 2 * round + 1, 2 * round + 1);
      await settleAll(sent);
    }
    assert.ok(set.reshards >= 4);
  });

  it('finishing during a drain: the held samples go out once the drain ends, then the set is idle', async () => {
    const { set, sent, idle } = harness({ maxSamples: 2 });
    set.push(SERIES[0], 1, 1);
    set.push(SERIES[0], 2, 2); // in flight
    set.reshard(3);
    assert.equal(set.draining, true);
    for (const s of SERIES) set.push(s, 3, 3);
    set.finish();
    assert.equal(sent.length, 1);
    assert.equal(set.idle, false);
    await settleAll(sent);
    assert.equal(set.idle, true);
    assert.equal(idle() >= 1, true);
    assert.equal(sent.reduce((n, b) => n + b.values.length, 0), 2 + SERIES.length);
  });

  it('abandoned during a drain: what is in flight, queued, open and held is returned unsettled, nothing twice', async () => {
    const { set, sent } = harness({ maxSamples: 2 });
    for (let i = 0; i < 5; i++) set.push(SERIES[0], i, i); // lane 0: two batches (one in flight, one queued) and one open
    sent[0].settle();
    await flushMicrotasks(); // 2 written, 2 in flight, 1 open
    set.reshard(2);
    for (const s of SERIES) set.push(s, 9, 9); // held
    const unsettled = set.abandon();
    const samples = unsettled.reduce((n, u) => n + u.samples, 0);
    assert.equal(samples, 3 + SERIES.length, 'in flight, given back (open) and held');
    assert.equal(unsettled.at(-1)?.series, SERIES.length, 'the held part names its series');
    assert.deepEqual(set.abandon(), [], 'a second abandon counts nothing again');
  });
});
