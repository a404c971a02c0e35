import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkState, decodeValue, encodeValue, scanSpooledSince, snapshotGuard } from '../../src/remote-write/sink-state.js';
import { SeriesInterner, type SeriesRecord } from '../../src/remote-write/series-interner.js';
import { WriteRequestEncoder } from '../../src/protocol/encoder.js';
import { DiskSpool } from '../../src/durable/spool.js';
import { STALE_NAN } from '../../src/core/model.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rxprom-sink-state-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const bitsOf = (value: number): string => Buffer.from(Float64Array.of(value).buffer).toString('hex');

describe('sink state', () => {
  it('values survive JSON: finite as numbers, NaN payloads (the stale marker) and infinities bit for bit', () => {
    for (const value of [0, -0.5, 1e300, STALE_NAN, Number.NaN, Infinity, -Infinity]) {
      const back = decodeValue(JSON.parse(JSON.stringify(encodeValue(value))) as number | string);
      assert.equal(bitsOf(back), bitsOf(value));
    }
    assert.equal(typeof encodeValue(3), 'number');
  });

  it('the guard snapshot holds each live series with a timestamp, and restores into a fresh interner', () => {
    const interner = new SeriesInterner({ validation: 'strict', lanes: 4 });
    const a = interner.resolve({ __name__: 'a', x: 'é' }) as SeriesRecord;
    a.lastTimestamp = 1000;
    interner.resolve({ __name__: 'never' }); // no sample accepted: nothing to guard
    const newest = snapshotGuard(interner);
    assert.deepEqual(Object.values(newest), [1000]);
    const restored = new SeriesInterner({ validation: 'strict', lanes: 4 });
    for (const [key, ts] of Object.entries(JSON.parse(JSON.stringify(newest)) as Record<string, number>)) restored.restore(key, ts);
    const again = restored.resolve({ x: 'é', __name__: 'a' }) as SeriesRecord;
    assert.equal(again.lastTimestamp, 1000);
    assert.equal(again.lane, a.lane);
  });

  it('checkState refuses what this sink did not write', () => {
    assert.match(checkState(null) as string, /not an object/);
    assert.match(checkState({ version: 2, newest: {} }) as string, /version 2/);
    assert.match(checkState({ version: 1 }) as string, /newest/);
    assert.deepEqual(checkState({ version: 1, newest: {} }), { version: 1, newest: {} });
  });

  it('scanSpooledSince finds the newest timestamp per series in the records from each position on', async () => {
    const interner = new SeriesInterner({ validation: 'strict', lanes: 1 });
    const a = interner.resolve({ __name__: 'a' }) as SeriesRecord;
    const b = interner.resolve({ __name__: 'b' }) as SeriesRecord;
    const encoder = new WriteRequestEncoder();
    const spool = await DiskSpool.open({ directory: join(root, 'scan'), fsync: 'never', retain: true });
    const body = (series: SeriesRecord[], timestamps: number[]): Uint8Array =>
      encoder.encode({ length: series.length, series, values: Float64Array.from(timestamps), timestamps: Float64Array.from(timestamps) }).body;
    await spool.ack(await spool.append('0', body([a, b], [10, 11]), 2)); // before the position
    await spool.ack(await spool.append('0', body([a, a], [20, 30]), 2)); // acknowledged, still retained
    await spool.append('0', body([b], [40]), 1);
    const scan = await scanSpooledSince(spool, { '0': 1 });
    assert.equal(scan.records, 2);
    assert.deepEqual([...scan.newest.entries()].sort(), [[a.key, 30], [b.key, 40]].sort());
    await spool.close();
  });
});
