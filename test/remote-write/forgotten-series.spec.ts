import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lastValueFrom, Subject, toArray } from 'rxjs';
import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { remoteWrite } from '../../operators/remote-write.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Sample } from '../../src/core/model.js';
import { decodeWriteRequest } from '../../src/protocol/reference.js';
import { snappyUncompress } from '../../src/protocol/snappy.js';
import { ForgottenSeries } from '../../src/remote-write/forgotten-series.js';
import type { WriteClient, WriteResult } from '../../src/remote-write/http/write-client.js';
import { guardOrder, SeriesInterner, type SeriesRecord } from '../../src/remote-write/series-interner.js';

describe('ForgottenSeries', () => {
  it('gives a series back its newest timestamp once, and the floor (none yet) to any other', () => {
    const memory = new ForgottenSeries(100);
    memory.remember('a', 1, 500);
    memory.remember('b', 2, 700);
    memory.remember('never-written', 3, -Infinity);
    assert.equal(memory.size, 2);
    assert.equal(memory.recall('a', 1), 500);
    assert.equal(memory.recall('a', 1), -Infinity, 'handed over to the new record');
    assert.equal(memory.recall('c', 1), -Infinity, 'same lane hash, other key: not mistaken for a');
    assert.equal(memory.recall('never-written', 3), -Infinity);
    assert.equal(memory.size, 1);
  });

  it('keeps the newest when a series is forgotten twice', () => {
    const memory = new ForgottenSeries(100);
    memory.remember('a', 1, 500);
    memory.remember('a', 1, 400);
    assert.equal(memory.recall('a', 1), 500);
  });

  it('stays bounded: past capacity the oldest generation is let go and its newest timestamp becomes a floor for every new series', () => {
    const memory = new ForgottenSeries(4);
    for (let i = 0; i < 10; i++) memory.remember(`s${i}`, i, 1000 + i);
    assert.ok(memory.size <= 4, `size ${memory.size}`);
    // Generations of two: s0..s7 were let go (s7 newest, at 1007); s8 and s9 are remembered one by one.
    assert.equal(memory.size, 2);
    assert.equal(memory.recall('s9', 9), 1009);
    assert.equal(memory.recall('s0', 0), 1007, 'a series let go still cannot go back before the floor');
    assert.equal(memory.recall('brand-new', 42), 1007);
  });
});

describe('SeriesInterner: the order guard holds for forgotten series', () => {
  it('a series forgotten as idle and interned again from a new label object refuses samples older than its newest', () => {
    const interner = new SeriesInterner({ validation: 'strict' });
    const record = interner.resolve({ __name__: 'm', d: '1' }) as SeriesRecord;
    assert.equal(guardOrder(record, 1000), 'ok');
    interner.advance(0);
    interner.advance(0);
    assert.equal(interner.size, 0, 'forgotten');
    const again = interner.resolve({ d: '1', __name__: 'm' }) as SeriesRecord;
    assert.notEqual(again, record);
    assert.equal(guardOrder(again, 999), 'out-of-order');
    assert.equal(guardOrder(again, 1000), 'duplicate');
    assert.equal(guardOrder(again, 1001), 'ok');
    const other = interner.resolve({ __name__: 'm', d: '2' }) as SeriesRecord;
    assert.equal(guardOrder(other, 5), 'ok', 'another series is not affected');
  });
});

/** A client that answers 204 and keeps every timestamp it was sent. */
class RecordingClient implements WriteClient {
  readonly timestamps: number[] = [];
  async send(body: Buffer): Promise<WriteResult> {
    for (const ts of decodeWriteRequest(snappyUncompress(body, 1 << 24)).timeseries) this.timestamps.push(...ts.samples.map((s) => Number(s.timestamp)));
    return { kind: 'response', status: 204, body: '', attempts: 1 };
  }
}

describe('remoteWrite: after seriesIdleTimeoutMs (fake scheduler)', () => {
  it('an older sample for a forgotten series is still dropped as out-of-order, never sent', async () => {
    const NOW = 1_800_000_000_000;
    const scheduler = new VirtualTimeScheduler(VirtualAction, 0);
    const advance = async (ms: number): Promise<void> => {
      scheduler.maxFrames += ms;
      scheduler.flush();
      await new Promise((resolve) => setImmediate(resolve)); // let the client's answers in
    };
    const client = new RecordingClient();
    const sink = remoteWrite({ url: 'http://127.0.0.1:1/api/v1/write', client, scheduler, clock: () => NOW, seriesIdleTimeoutMs: 1000, maxDelayMs: 10, logger: silentLogger });
    const source = new Subject<Sample>();
    const outcomes = lastValueFrom(source.pipe(sink, toArray()));
    source.next({ labels: { __name__: 'm', d: '1' }, value: 1, timestamp: NOW - 5000 });
    await advance(20);
    assert.equal(sink.metrics.snapshot().activeSeries, 1);
    await advance(10_000);
    assert.equal(sink.metrics.snapshot().activeSeries, 0, 'the idle series was forgotten');
    // A new label object, as a device that reconnects would send.
    source.next({ labels: { __name__: 'm', d: '1' }, value: 2, timestamp: NOW - 6000 });
    source.next({ labels: { __name__: 'm', d: '1' }, value: 3, timestamp: NOW - 5000 });
    source.next({ labels: { __name__: 'm', d: '1' }, value: 4, timestamp: NOW - 4000 });
    await advance(20);
    source.complete();
    const all = await outcomes;
    assert.deepEqual(all.filter((o) => o.type === 'dropped').map((o) => [o.reason, o.sample?.value]), [['out-of-order', 2], ['duplicate', 3]]);
    assert.deepEqual(client.timestamps, [NOW - 5000, NOW - 4000]);
  });
});
