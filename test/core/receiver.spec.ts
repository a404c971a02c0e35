import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { from, lastValueFrom, toArray } from 'rxjs';
import fc from 'fast-check';
import { startReceiver, type Receiver } from '../../src/receiver.js';
import { encodeWriteRequestReference, type DecodedTimeSeries } from '../../src/proto.js';
import { snappyCompress } from '../../src/snappy.js';
import { remoteWrite } from '../../operators/remote-write.js';
import { silentLogger } from '../../src/logger.js';
import type { Sample } from '../../src/model.js';

type Series = { labels: Array<[string, string]>; samples: Array<[number, number]> };
const body = (series: Series[]): Buffer =>
  snappyCompress(
    Buffer.from(
      encodeWriteRequestReference({
        timeseries: series.map((s): DecodedTimeSeries => ({
          labels: s.labels.map(([name, value]) => ({ name, value })),
          samples: s.samples.map(([timestamp, value]) => ({ timestamp, value })),
        })),
      }),
    ),
  );
const post = async (receiver: Receiver, payload: Uint8Array): Promise<{ status: number; text: string }> => {
  const response = await fetch(receiver.url, { method: 'POST', body: payload, headers: { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf' } });
  return { status: response.status, text: await response.text() };
};
const metric = (name: string, ...extra: Array<[string, string]>): Array<[string, string]> => [['__name__', name], ...extra];
const T = 1_700_000_000_000;

describe('embedded receiver', () => {
  let strict: Receiver;
  let lenient: Receiver;
  before(async () => {
    strict = await startReceiver({ mode: 'strict' });
    lenient = await startReceiver({ mode: 'lenient' });
  });
  after(async () => {
    await strict.close();
    await lenient.close();
  });

  /** Each row: what is sent after a first valid write of m{} at T, and the expected strict and lenient answers. */
  const rows: Array<{ name: string; send: Series[]; strict: [number, RegExp?]; lenient: number }> = [
    { name: 'valid sample', send: [{ labels: metric('m'), samples: [[T + 1000, 2]] }], strict: [204], lenient: 204 },
    { name: 'older timestamp', send: [{ labels: metric('m'), samples: [[T - 1000, 2]] }], strict: [400, /out of order sample/], lenient: 204 },
    { name: 'same timestamp, other value', send: [{ labels: metric('m'), samples: [[T, 5]] }], strict: [400, /duplicate sample for timestamp/], lenient: 204 },
    { name: 'same timestamp, same value', send: [{ labels: metric('m'), samples: [[T, 1]] }], strict: [204], lenient: 204 },
    { name: 'hours older than the head', send: [{ labels: metric('other'), samples: [[T - 3 * 3_600_000, 1]] }], strict: [400, /out of bounds/], lenient: 204 },
    { name: 'unsorted labels', send: [{ labels: [['b', '1'], ['__name__', 'm2'], ['a', '1']], samples: [[T, 1]] }], strict: [400, /not sorted/], lenient: 204 },
    { name: 'invalid label name', send: [{ labels: metric('m3', ['a.b', 'x']), samples: [[T, 1]] }], strict: [400, /invalid label name "a\.b"/], lenient: 204 },
    { name: 'empty label value', send: [{ labels: metric('m4', ['a', '']), samples: [[T, 1]] }], strict: [400, /empty value for label "a"/], lenient: 204 },
    { name: 'repeated label name', send: [{ labels: metric('m5', ['a', '1'], ['a', '2']), samples: [[T, 1]] }], strict: [400, /label name "a" is not unique/], lenient: 204 },
    { name: 'no __name__', send: [{ labels: [['a', '1']], samples: [[T, 1]] }], strict: [400, /no __name__ label/], lenient: 204 },
    {
      name: 'one out-of-order sample among good ones',
      send: [{ labels: metric('good'), samples: [[T, 1], [T + 1, 1]] }, { labels: metric('m'), samples: [[T - 5, 1]] }],
      strict: [400, /out of order sample/],
      lenient: 204,
    },
  ];

  for (const row of rows) {
    it(`answers "${row.name}": strict ${row.strict[0]}, lenient ${row.lenient}; a refused request stores nothing`, async () => {
      for (const receiver of [strict, lenient]) {
        receiver.reset();
        assert.equal((await post(receiver, body([{ labels: metric('m'), samples: [[T, 1]] }]))).status, 204);
        const before = receiver.samplesStored();
        const answer = await post(receiver, body(row.send));
        const sent = row.send.reduce((n, s) => n + s.samples.length, 0);
        if (receiver === strict) {
          assert.equal(answer.status, row.strict[0], answer.text);
          if (row.strict[1]) assert.match(answer.text, row.strict[1]);
          if (answer.status !== 204) assert.equal(receiver.samplesStored(), before, 'nothing of a refused request is stored');
        } else {
          assert.equal(answer.status, row.lenient, answer.text);
          assert.ok(receiver.samplesStored() >= before + sent - 1, 'lenient stores what it got');
        }
      }
    });
  }

  it('lenient mode stores out-of-order samples in time order and sorts labels', async () => {
    lenient.reset();
    await post(lenient, body([{ labels: [['z', '1'], ['__name__', 'x']], samples: [[T + 20, 3], [T, 1], [T + 10, 2]] }]));
    assert.deepEqual(lenient.series({ __name__: 'x' }), [{ labels: { __name__: 'x', z: '1' }, samples: [[T, 1], [T + 10, 2], [T + 20, 3]] }]);
  });

  it('rejects malformed bodies with a 4xx: not snappy, not protobuf, oversized, wrong method or path', async () => {
    strict.reset();
    assert.equal((await post(strict, Buffer.from('hello, not snappy'))).status, 400);
    assert.equal((await post(strict, snappyCompress(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f])))).status, 400);
    const small = await startReceiver({ maxBodyBytes: 100, maxDecompressedBytes: 1000 });
    try {
      assert.equal((await post(small, Buffer.alloc(500))).status, 413);
      // A tiny body that announces a huge decompressed size is refused before decompressing.
      assert.equal((await post(small, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]))).status, 413);
    } finally {
      await small.close();
    }
    assert.equal((await fetch(strict.url, { method: 'GET' })).status, 405);
    assert.equal((await fetch(strict.url.replace('/api/v1/write', '/nope'), { method: 'POST', body: 'x' })).status, 404);
    assert.equal(strict.samplesStored(), 0);
  });

  it('refuses with 507 and stores nothing when a write would pass maxSamples', async () => {
    const tiny = await startReceiver({ maxSamples: 3 });
    try {
      assert.equal((await post(tiny, body([{ labels: metric('m'), samples: [[T, 1], [T + 1, 1]] }]))).status, 204);
      const refused = await post(tiny, body([{ labels: metric('m'), samples: [[T + 2, 1], [T + 3, 1]] }]));
      assert.equal(refused.status, 507);
      assert.match(refused.text, /maxSamples/);
      assert.equal(tiny.samplesStored(), 2);
    } finally {
      await tiny.close();
    }
  });

  it('injects faults in order, one per request: status with headers, delay, reset, hang', async () => {
    const receiver = await startReceiver();
    try {
      receiver.injectFaults([{ status: 429, body: 'slow down', headers: { 'Retry-After': '2' } }, { delayMs: 50 }, { reset: true }]);
      const first = await fetch(receiver.url, { method: 'POST', body: body([{ labels: metric('m'), samples: [[T, 1]] }]) });
      assert.equal(first.status, 429);
      assert.equal(first.headers.get('retry-after'), '2');
      assert.equal(await first.text(), 'slow down');
      const startedAt = Date.now();
      assert.equal((await post(receiver, body([{ labels: metric('m'), samples: [[T, 1]] }]))).status, 204);
      assert.ok(Date.now() - startedAt >= 45, 'delayed');
      await assert.rejects(post(receiver, body([{ labels: metric('m'), samples: [[T + 1, 1]] }])));
      receiver.injectFaults([{ hang: true }]);
      await assert.rejects(fetch(receiver.url, { method: 'POST', body: body([]), signal: AbortSignal.timeout(100) }));
      assert.equal((await post(receiver, body([{ labels: metric('m'), samples: [[T + 1, 1]] }]))).status, 204);
      assert.equal(receiver.stats().faultsInjected, 4);
      assert.deepEqual(receiver.series({ __name__: 'm' })[0].samples, [[T, 1], [T + 1, 1]]);
    } finally {
      await receiver.close();
    }
  });

  it('never crashes on random or mutated bodies: every answer is 2xx or 4xx, and it still works after (fuzz)', async () => {
    const receiver = await startReceiver({ mode: 'strict' });
    try {
      const valid = [
        body([{ labels: metric('fuzz', ['a', '1']), samples: [[T, 1], [T + 1, 2]] }, { labels: metric('fuzz', ['a', '2']), samples: [[T, 3]] }]),
      ];
      const rawValid = Buffer.from(encodeWriteRequestReference({ timeseries: [{ labels: [{ name: '__name__', value: 'fuzz' }], samples: [{ value: 1, timestamp: T }] }] }));
      const mutate = (base: Buffer) =>
        fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), op: fc.constantFrom('flip', 'cut', 'insert') }), { minLength: 1, maxLength: 4 }).map((edits) => {
          let bytes = Buffer.from(base);
          for (const edit of edits) {
            const at = edit.at % Math.max(1, bytes.length);
            if (edit.op === 'flip') bytes[at] ^= edit.byte || 1;
            else if (edit.op === 'cut') bytes = bytes.subarray(0, at);
            else bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([edit.byte]), bytes.subarray(at)]);
          }
          return bytes;
        });
      const bodies = fc.oneof(
        fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
        mutate(valid[0]),
        mutate(rawValid).map((raw) => snappyCompress(raw)),
      );
      await fc.assert(
        fc.asyncProperty(bodies, async (payload) => {
          const { status } = await post(receiver, payload);
          assert.ok((status >= 200 && status < 300) || (status >= 400 && status < 500), `status ${status}`);
        }),
        { numRuns: 1500 },
      );
      receiver.reset();
      assert.equal((await post(receiver, valid[0])).status, 204);
      assert.equal(receiver.samplesStored(), 3);
    } finally {
      await receiver.close();
    }
  });

  it('receives what remoteWrite sends, labels sorted, every sample in order', async () => {
    strict.reset();
    const labels = Array.from({ length: 50 }, (_, i) => ({ zone: `z${i % 3}`, __name__: 'rx_e2e', device: `d${i}` }));
    const samples: Sample[] = [];
    for (let t = 0; t < 20; t++) for (const l of labels) samples.push({ labels: l, value: t, timestamp: T + t * 1000 });
    const sink = remoteWrite({ url: strict.url, shards: 3, maxSamplesPerRequest: 64, maxDelayMs: 10, logger: silentLogger });
    const outcomes = await lastValueFrom(from(samples).pipe(sink, toArray()));
    assert.equal(outcomes.filter((o) => o.type === 'written').reduce((n, o) => n + o.samples, 0), 1000);
    const stored = strict.series({ __name__: 'rx_e2e' });
    assert.equal(stored.length, 50);
    for (const series of stored) {
      assert.deepEqual(Object.keys(series.labels), ['__name__', 'device', 'zone']);
      assert.deepEqual(series.samples, Array.from({ length: 20 }, (_, t) => [T + t * 1000, t]));
    }
    assert.equal(strict.stats().requestsRefused[400], undefined);
  });
});
