import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskSpool, type DiskSpoolOptions } from '../../src/durable/spool.js';
import { SpooledLane, decodeBatch } from '../../src/remote-write/spooled-lane.js';
import type { LaneBatch } from '../../src/remote-write/lane.js';
import { RemoteWriteMetrics } from '../../src/remote-write/metrics.js';
import { SeriesInterner, type SeriesRecord } from '../../src/remote-write/series-interner.js';
import { WriteRequestEncoder } from '../../src/protocol/encoder.js';
import { silentLogger } from '../../src/core/logger.js';
import { STALE_NAN } from '../../src/core/model.js';

let root: string;
let counter = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rxprom-spooled-lane-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const interner = new SeriesInterner({ validation: 'strict' });
const a = interner.resolve({ __name__: 'a' }) as SeriesRecord;
const b = interner.resolve({ __name__: 'b', k: 'v' }) as SeriesRecord;
const encoder = new WriteRequestEncoder();

/** A batch of `n` samples alternating between two series, values from `first` on. */
function batch(first: number, n = 4, replayed = false): LaneBatch {
  const series = Array.from({ length: n }, (_, i) => (i % 2 === 0 ? a : b));
  const values = Float64Array.from({ length: n }, (_, i) => first + i);
  const timestamps = Float64Array.from({ length: n }, (_, i) => 1_000 + first + i);
  const columns = { length: n, series, values, timestamps };
  return { columns, request: encoder.encode(columns), settled: 0, ...(replayed ? { replayed } : {}) };
}

function harness(extra: Partial<DiskSpoolOptions> = {}, memoryBatches = 2) {
  const directory = join(root, `case-${++counter}`);
  const spool = DiskSpool.open({ directory, fsync: 'never', ...extra });
  const metrics = new RemoteWriteMetrics();
  let appended = 0;
  const lost: Array<{ samples: number; reason: string }> = [];
  const lane = new SpooledLane({
    name: '0',
    lane: 0,
    spool,
    memoryBatches,
    metrics,
    logger: silentLogger,
    onAppended: (samples) => (appended += samples),
    onLost: (samples, _series, reason) => lost.push({ samples, reason }),
  });
  return { lane, spool, metrics, directory, lost, appended: () => appended };
}

/** Values of a batch, sorted by series then time (read-back batches are grouped by series). */
const valuesOf = (sent: LaneBatch): number[] => Array.from(sent.columns.values.subarray(0, sent.columns.length)).sort((x, y) => x - y);

/** Takes every batch the lane gives until it holds none, settling each: the first value of each, in the order given. */
async function sendAll(lane: SpooledLane): Promise<number[]> {
  const got: number[] = [];
  while (lane.size > 0) {
    const next = await lane.next();
    if (next === undefined) continue;
    got.push(valuesOf(next)[0]!);
    lane.settled(next);
  }
  return got;
}

describe('SpooledLane', () => {
  it('appends a batch to the spool before handing it out, and acknowledges it once settled', async () => {
    const { lane, spool: opening, appended } = harness();
    const spool = await opening;
    const first = batch(0);
    lane.add(first);
    assert.equal(spool.pending('0'), 0, 'the append is asynchronous');
    const next = await lane.next();
    assert.equal(next, first);
    assert.equal(spool.pending('0'), 1, 'on disk before it may be sent');
    assert.equal(appended(), 4);
    lane.settled(first);
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(spool.pending('0'), 0, 'acknowledged once settled');
    assert.equal(lane.size, 0);
    await spool.close();
  });

  it('keeps at most its window of batches in memory however many wait; the rest come back from disk in order', async () => {
    const { lane, spool: opening } = harness({}, 2);
    const spool = await opening;
    for (let i = 0; i < 30; i++) lane.add(batch(i * 4));
    await lane.appendedSoFar();
    assert.equal(lane.size, 30);
    assert.ok(lane.inMemory <= 2, `in memory: ${lane.inMemory}`);
    const seen: number[] = [];
    for (let i = 0; i < 30; i++) {
      const next = (await lane.next())!;
      assert.ok(lane.inMemory <= 3, `in memory while sending: ${lane.inMemory}`); // the window plus one read ahead
      seen.push(...valuesOf(next));
      lane.settled(next);
    }
    assert.deepEqual(seen, Array.from({ length: 120 }, (_, i) => i));
    await spool.close();
  });

  it('a record an earlier run left sent in part: only its unsettled samples are queued, and it comes back resuming there; abandoned half way, its progress is saved for the next start', async () => {
    const directory = join(root, `case-${++counter}`);
    const earlier = await DiskSpool.open({ directory, fsync: 'never' });
    const ref = await earlier.append('0', batch(100, 8).request.body, 8);
    await earlier.progress(ref, 3, 5);
    await earlier.close();
    const reopened = DiskSpool.open({ directory, fsync: 'never' });
    const metrics = new RemoteWriteMetrics();
    const lane = new SpooledLane({
      name: '0',
      lane: 0,
      spool: reopened.then((spool) => {
        lane.addReplayed(spool.pendingRecords('0').map((r) => ({ lane: '0', ...r })));
        return spool;
      }),
      memoryBatches: 1,
      metrics,
      logger: silentLogger,
      onAppended: () => {},
      onLost: () => {},
    });
    const next = (await lane.next())!;
    assert.equal(metrics.snapshot().samplesReplayed, 5, 'the 5 unsettled of 8');
    assert.deepEqual([next.settled, next.mayBeStoredThrough, next.replayed], [3, 5, true]);
    // The piece in flight, [3,5), is settled; [5,6) goes, and the pipeline ends.
    next.settled = 5;
    await next.beforePiece!(5, 6);
    const spool = await reopened;
    assert.deepEqual(spool.pendingRecords('0'), [{ sequence: 0, samples: 8, progress: { settled: 5, sending: 6 } }]);
    assert.deepEqual(lane.abandon(), [], 'replayed samples are accounted for by the lane');
    assert.equal(metrics.snapshot().samplesReplayedDropped.spooled, 3);
    await spool.close();
    const third = await DiskSpool.open({ directory, fsync: 'never' });
    assert.deepEqual(third.pendingRecords('0'), [{ sequence: 0, samples: 8, progress: { settled: 5, sending: 6 } }]);
    await third.close();
  });

  it('puts the records of an earlier run first, in spool order, counted as replayed', async () => {
    const directory = join(root, `case-${++counter}`);
    const earlier = await DiskSpool.open({ directory, fsync: 'never' });
    for (let i = 0; i < 3; i++) await earlier.append('0', batch(100 + i * 4).request.body, 4);
    await earlier.close();
    const reopened = DiskSpool.open({ directory, fsync: 'never' });
    const metrics = new RemoteWriteMetrics();
    const lane = new SpooledLane({
      name: '0',
      lane: 0,
      spool: reopened.then((spool) => {
        lane.addReplayed(spool.pendingRecords('0').map((r) => ({ lane: '0', ...r })));
        return spool;
      }),
      memoryBatches: 1,
      metrics,
      logger: silentLogger,
      onAppended: () => {},
      onLost: () => {},
    });
    lane.add(batch(0)); // new, cut before the spool was open
    const order: number[][] = [];
    const flags: boolean[] = [];
    for (let i = 0; i < 4; i++) {
      const next = (await lane.next())!;
      order.push(valuesOf(next));
      flags.push(next.replayed === true);
      lane.settled(next);
    }
    assert.deepEqual(order.map((v) => v[0]), [100, 104, 108, 0]);
    assert.deepEqual(flags, [true, true, true, false]);
    assert.equal(metrics.snapshot().samplesReplayed, 12);
    await (await reopened).close();
  });

  it("'drop-oldest': a batch dropped from the spool before its turn is reported lost as 'overflow', the others still come in order", async () => {
    const size = batch(0).request.body.length + 20;
    const { lane, spool: opening, lost } = harness({ whenFull: 'drop-oldest', segmentBytes: size, maxBytes: size * 4 }, 1);
    const spool = await opening;
    for (let i = 0; i < 8; i++) lane.add(batch(i * 4));
    await lane.appendedSoFar();
    assert.ok(spool.stats().droppedRecords >= 3);
    const got = await sendAll(lane);
    const lostSamples = lost.reduce((n, l) => n + l.samples, 0);
    assert.ok(lost.every((l) => l.reason === 'overflow'));
    assert.equal(got.length * 4 + lostSamples, 32, 'every batch sent or counted lost');
    assert.deepEqual([...got].sort((x, y) => x - y), got, 'in order');
    await spool.close();
  });

  it("a batch found damaged on disk when read back is reported lost as 'aborted' (not as a full spool's 'overflow'), the others still come in order", async () => {
    const { lane, spool: opening, lost, directory } = harness({}, 1);
    const spool = await opening;
    for (let i = 0; i < 6; i++) lane.add(batch(i * 4));
    await lane.appendedSoFar();
    // A flipped byte in the body of the fourth record (all frames are the same size here).
    const frame = batch(0).request.body.length + 20;
    const file = join(directory, '0', (await readdir(join(directory, '0'))).find((name) => name.endsWith('.seg'))!);
    const bytes = await readFile(file);
    bytes[3 * frame + 25]! ^= 0x10;
    await writeFile(file, bytes);
    const got = await sendAll(lane);
    assert.deepEqual(got, [0, 4, 8, 16, 20]);
    assert.deepEqual(lost, [{ samples: 4, reason: 'aborted' }]);
    assert.equal(spool.stats().corruptSegments, 1);
    await spool.close();
  });

  it('abandon() reports what is left as spooled (this run) and counts replayed ones apart', async () => {
    const { lane, spool: opening, metrics } = harness();
    const spool = await opening;
    lane.add(batch(0));
    lane.add(batch(4));
    await lane.appendedSoFar();
    const left = lane.abandon();
    assert.deepEqual(left.map((l) => [l.samples, l.spooled]), [[4, true], [4, true]]);
    assert.equal(metrics.snapshot().samplesReplayedPending, 0);
    await spool.close();
  });

  it('decodeBatch rebuilds the columns of a spooled body (stale markers kept) so a refused batch can still be halved', () => {
    const series = [a, b, a];
    const columns = { length: 3, series, values: Float64Array.of(1, STALE_NAN, 3), timestamps: Float64Array.of(10, 11, 12) };
    const decoded = decodeBatch(encoder.encode(columns).body, 0, true);
    assert.equal(decoded.columns.length, 3);
    assert.equal(decoded.replayed, true);
    const rows = Array.from({ length: 3 }, (_, i) => [decoded.columns.series[i]!.key === a.key ? 'a' : 'b', decoded.columns.timestamps[i]]);
    const staleAt = rows.findIndex((r) => r[0] === 'b');
    assert.deepEqual([...rows].sort(), [['a', 10], ['a', 12], ['b', 11]]);
    const stale = decoded.columns.values[staleAt]!;
    assert.deepEqual(new Uint8Array(Float64Array.of(stale).buffer), new Uint8Array(Float64Array.of(STALE_NAN).buffer));
    assert.equal(encoder.encode(decoded.columns).samples, 3);
  });
});
