import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { from, lastValueFrom, toArray } from 'rxjs';
import fc from 'fast-check';
import { startReceiver, type Receiver } from '../../../src/testing/receiver/server.js';
import type { Fault } from '../../../src/testing/faults.js';
import { encodeWriteRequestReference, type DecodedTimeSeries } from '../../../src/protocol/reference.js';
import { snappyCompress } from '../../../src/protocol/snappy.js';
import { ConfigError } from '../../../src/core/errors.js';
import { remoteWrite } from '../../../operators/remote-write.js';
import { silentLogger } from '../../../src/core/logger.js';
import { STALE_NAN, type Sample } from '../../../src/core/model.js';
import { fuzzedBodies } from '../../protocol/fuzz-bodies.js';

type Series = { labels: Array<[string, string]>; samples: Array<[number, number]> };
const raw = (series: Series[]): Buffer =>
  Buffer.from(
    encodeWriteRequestReference({
      timeseries: series.map((s): DecodedTimeSeries => ({
        labels: s.labels.map(([name, value]) => ({ name, value })),
        samples: s.samples.map(([timestamp, value]) => ({ timestamp, value })),
      })),
    }),
  );
const body = (series: Series[]): Uint8Array => snappyCompress(raw(series));
/** Samples as objects: a [timestamp, value] array literal would quiet the stale marker's NaN payload. */
const objectBody = (name: string, samples: Array<{ timestamp: number; value: number }>): Uint8Array =>
  snappyCompress(Buffer.from(encodeWriteRequestReference({ timeseries: [{ labels: [{ name: '__name__', value: name }], samples }] })));

// node:http with a keep-alive agent: about 3x quicker per request than fetch here, which matters for the fuzz runs.
const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
const post = (receiver: Receiver, payload: Uint8Array, headers: Record<string, string> = { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf' }) =>
  new Promise<{ status: number; text: string; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
    const request = http.request(receiver.url, { method: 'POST', agent, headers: { ...headers, 'Content-Length': String(payload.length) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: response.headers }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(payload);
  });
const metric = (name: string, ...extra: Array<[string, string]>): Array<[string, string]> => [['__name__', name], ...extra];
const T = 1_700_000_000_000;
// Through a typed array: an array literal would quiet a NaN payload.
const bitsOf = (value: number): bigint => {
  const box = new Float64Array(1);
  box[0] = value;
  return new BigUint64Array(box.buffer)[0];
};

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
    agent.destroy();
  });

  /**
   * Each row: what is sent after a first valid write of m{} = 1 at T, the expected strict answer
   * and what each mode holds afterwards (series by name -> samples).
   */
  const rows: Array<{ name: string; send: Series[]; strict: [number, RegExp?]; strictHolds: Record<string, Array<[number, number]>>; lenientHolds: Record<string, Array<[number, number]>> }> = [
    { name: 'valid sample', send: [{ labels: metric('m'), samples: [[T + 1000, 2]] }], strict: [204], strictHolds: { m: [[T, 1], [T + 1000, 2]] }, lenientHolds: { m: [[T, 1], [T + 1000, 2]] } },
    { name: 'older timestamp', send: [{ labels: metric('m'), samples: [[T - 1000, 2]] }], strict: [400, /^out of order sample: series \{__name__="m"\}/], strictHolds: { m: [[T, 1]] }, lenientHolds: { m: [[T - 1000, 2], [T, 1]] } },
    { name: 'same timestamp, other value', send: [{ labels: metric('m'), samples: [[T, 5]] }], strict: [400, /^duplicate sample for timestamp: series \{__name__="m"\}/], strictHolds: { m: [[T, 1]] }, lenientHolds: { m: [[T, 5]] } },
    { name: 'same timestamp, same value', send: [{ labels: metric('m'), samples: [[T, 1]] }], strict: [204], strictHolds: { m: [[T, 1]] }, lenientHolds: { m: [[T, 1]] } },
    { name: 'hours older than the head', send: [{ labels: metric('other'), samples: [[T - 3 * 3_600_000, 1]] }], strict: [400, /^out of bounds: series \{__name__="other"\}/], strictHolds: { m: [[T, 1]] }, lenientHolds: { m: [[T, 1]], other: [[T - 3 * 3_600_000, 1]] } },
    { name: 'unsorted labels', send: [{ labels: [['b', '1'], ['__name__', 'm2'], ['a', '1']], samples: [[T, 1]] }], strict: [400, /not sorted.*series \{b="1", __name__="m2", a="1"\}/], strictHolds: { m: [[T, 1]] }, lenientHolds: { m: [[T, 1]], m2: [[T, 1]] } },
    { name: 'invalid label name', send: [{ labels: metric('m3', ['a.b', 'x']), samples: [[T, 1]] }], strict: [400, /^invalid label name "a\.b": series \{__name__="m3", a\.b="x"\}/], strictHolds: { m: [[T, 1]] }, lenientHolds: { m: [[T, 1]], m3: [[T, 1]] } },
    { name: 'empty label value', send: [{ labels: metric('m4', ['a', '']), samples: [[T, 1]] }], strict: [400, /^empty value for label "a"/], strictHolds: { m: [[T, 1]] }, lenientHolds: { m: [[T, 1]], m4: [[T, 1]] } },
    { name: 'repeated label name', send: [{ labels: metric('m5', ['a', '1'], ['a', '2']), samples: [[T, 1]] }], strict: [400, /^label name "a" is not unique/], strictHolds: { m: [[T, 1]] }, lenientHolds: { m: [[T, 1]], m5: [[T, 1]] } },
    { name: 'no __name__', send: [{ labels: [['a', '1']], samples: [[T, 1]] }], strict: [400, /^no __name__ label: series \{a="1"\}/], strictHolds: { m: [[T, 1]] }, lenientHolds: { m: [[T, 1]], '': [[T, 1]] } },
    {
      name: 'one out-of-order sample among good ones',
      send: [{ labels: metric('good'), samples: [[T, 1], [T + 1, 1]] }, { labels: metric('m'), samples: [[T - 5, 1]] }],
      strict: [400, /^out of order sample/],
      strictHolds: { m: [[T, 1]] },
      lenientHolds: { m: [[T - 5, 1], [T, 1]], good: [[T, 1], [T + 1, 1]] },
    },
  ];

  const holdings = (receiver: Receiver): Record<string, Array<[number, number]>> =>
    Object.fromEntries(receiver.series().map((s) => [s.labels.__name__ ?? '', s.samples]));

  for (const row of rows) {
    it(`answers "${row.name}": strict ${row.strict[0]}, lenient 204, and stores what it accepted only`, async () => {
      for (const receiver of [strict, lenient]) {
        receiver.reset();
        assert.equal((await post(receiver, body([{ labels: metric('m'), samples: [[T, 1]] }]))).status, 204);
        const answer = await post(receiver, body(row.send));
        if (receiver === strict) {
          assert.equal(answer.status, row.strict[0], answer.text);
          if (row.strict[1]) assert.match(answer.text, row.strict[1]);
          assert.deepEqual(holdings(receiver), row.strictHolds);
          if (answer.status === 400) assert.equal(receiver.stats().requestsRefused[400], 1);
        } else {
          assert.equal(answer.status, 204, answer.text);
          assert.deepEqual(holdings(receiver), row.lenientHolds);
        }
      }
    });
  }

  it('counts refusals by status and reason, and samples accepted, ignored and refused', async () => {
    strict.reset();
    await post(strict, body([{ labels: metric('m'), samples: [[T, 1], [T + 1, 2]] }]));
    const repeat = await post(strict, body([{ labels: metric('m'), samples: [[T + 1, 2], [T + 2, 3]] }]));
    assert.equal(repeat.headers['x-prometheus-remote-write-samples-written'], '2');
    await post(strict, body([{ labels: metric('m'), samples: [[T, 9]] }]));
    await post(strict, body([{ labels: metric('m', ['b', '1'], ['a', '1']), samples: [[T + 5, 1], [T + 6, 1]] }]));
    await post(strict, Buffer.from('not snappy'));
    const stats = strict.stats();
    assert.deepEqual(
      { ...stats, bytesReceived: stats.bytesReceived > 0 },
      {
        requests: 5,
        requestsAccepted: 2,
        requestsRefused: { 400: 3 },
        refusedByReason: { 'out-of-order': 1, 'invalid-labels': 1, 'bad-snappy': 1 },
        samplesAccepted: 3,
        samplesIgnored: 1,
        samplesRefused: 3,
        bytesReceived: true,
        faultsInjected: 0,
      },
    );
    assert.equal(strict.samplesStored(), 3);
  });

  it('keeps stale markers bit for bit, and tells them from another NaN at the same timestamp', async () => {
    strict.reset();
    assert.equal((await post(strict, objectBody('s', [{ timestamp: T, value: 1 }, { timestamp: T + 1, value: STALE_NAN }]))).status, 204);
    const [stored] = strict.series({ __name__: 's' });
    assert.equal(bitsOf(stored.values[1]), 0x7ff0000000000002n);
    assert.equal((await post(strict, objectBody('s', [{ timestamp: T + 1, value: STALE_NAN }]))).status, 204, 'an exact repeat');
    const other = await post(strict, objectBody('s', [{ timestamp: T + 1, value: Number.NaN }]));
    assert.equal(other.status, 400, 'Prometheus compares value bits: a plain NaN is not the stale marker');
    assert.match(other.text, /duplicate sample for timestamp/);
  });

  it('lenient mode stores out-of-order samples in time order, sorts labels, last repeated name wins, drops empty values', async () => {
    lenient.reset();
    await post(lenient, body([{ labels: [['z', '1'], ['__name__', 'x'], ['a', ''], ['z', '2']], samples: [[T + 20, 3], [T, 1], [T + 10, 2]] }]));
    await post(lenient, body([{ labels: [['__name__', 'x'], ['z', '2']], samples: [[T + 5, 1.5]] }]));
    const [series] = lenient.series({ __name__: 'x' });
    assert.deepEqual(series.labels, { __name__: 'x', z: '2' });
    assert.deepEqual(Object.keys(series.labels), ['__name__', 'z']);
    assert.deepEqual(series.samples, [[T, 1], [T + 5, 1.5], [T + 10, 2], [T + 20, 3]]);
    assert.deepEqual(lenient.samples({ __name__: 'x' }).map((s) => s.timestamp), [T, T + 5, T + 10, T + 20]);
    assert.equal(lenient.seriesCount(), 1);
  });

  it('reads back by label subset or predicate, ordered by label set', async () => {
    strict.reset();
    await post(strict, body([
      { labels: metric('r', ['zone', 'b']), samples: [[T, 2]] },
      { labels: metric('r', ['zone', 'a']), samples: [[T, 1]] },
      { labels: metric('q', ['zone', 'a']), samples: [[T, 3]] },
    ]));
    assert.deepEqual(strict.series({ __name__: 'r' }).map((s) => s.labels.zone), ['a', 'b']);
    assert.deepEqual(strict.series({ zone: 'a' }).map((s) => s.labels.__name__), ['q', 'r']);
    assert.deepEqual(strict.series((labels) => labels.zone === 'b').map((s) => s.samples), [[[T, 2]]]);
    const samples: Sample[] = strict.samples({ zone: 'a' });
    assert.deepEqual(samples, [
      { labels: { __name__: 'q', zone: 'a' }, value: 3, timestamp: T },
      { labels: { __name__: 'r', zone: 'a' }, value: 1, timestamp: T },
    ]);
    assert.deepEqual(strict.series({ zone: 'c' }), []);
  });

  it('rejects malformed bodies, wrong headers, methods and paths with a 4xx naming the problem', async () => {
    strict.reset();
    const notSnappy = await post(strict, Buffer.from('hello, not snappy'));
    assert.equal(notSnappy.status, 400);
    assert.match(notSnappy.text, /^snappy: /);
    const notProtobuf = await post(strict, snappyCompress(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f])));
    assert.equal(notProtobuf.status, 400);
    assert.match(notProtobuf.text, /^protobuf: /);
    const wrongType = await post(strict, snappyCompress(Buffer.from([0x08, 0x01])));
    assert.equal(wrongType.status, 400);
    assert.match(wrongType.text, /WriteRequest\.timeseries has wire type 0/);
    const gzip = await post(strict, body([{ labels: metric('m'), samples: [[T, 1]] }]), { 'Content-Encoding': 'gzip' });
    assert.equal(gzip.status, 415);
    assert.match(gzip.text, /Content-Encoding "gzip"/);
    assert.equal((await post(lenient, body([{ labels: metric('m'), samples: [[T, 1]] }]), { 'Content-Encoding': 'gzip' })).status, 204, 'lenient ignores the header');
    assert.equal((await post(strict, body([{ labels: metric('m'), samples: [[T, 1]] }]), {})).status, 204, 'no header at all is accepted, as Prometheus does');
    const v2 = await post(strict, body([]), { 'Content-Type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request' });
    assert.equal(v2.status, 415);
    const small = await startReceiver({ maxBodyBytes: 100, maxDecompressedBytes: 1000 });
    try {
      assert.equal((await post(small, Buffer.alloc(500))).status, 413);
      // A tiny body announcing a huge decompressed size is refused before decompressing.
      const bomb = await post(small, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]));
      assert.equal(bomb.status, 413);
      assert.match(bomb.text, /maxDecompressedBytes/);
      assert.equal((await post(small, body([{ labels: metric('m'), samples: [[T, 1]] }]))).status, 204, 'still serves after');
    } finally {
      await small.close();
    }
    // Within the limit but impossible for snappy: 10 bytes cannot expand to 900 (decoder.spec checks why).
    assert.equal((await post(strict, Buffer.from([0x84, 0x07, 0, 0, 0, 0, 0, 0, 0, 0]))).status, 400);
    assert.equal((await fetch(strict.url, { method: 'GET' })).status, 405);
    assert.equal((await fetch(strict.url.replace('/api/v1/write', '/nope'), { method: 'POST', body: 'x' })).status, 404);
    assert.equal(strict.samplesStored(), 1);
  });

  it('refuses with 507 and stores nothing when a write would pass maxSamples or maxSeries', async () => {
    const tiny = await startReceiver({ maxSamples: 3, maxSeries: 1 });
    try {
      assert.equal((await post(tiny, body([{ labels: metric('m'), samples: [[T, 1], [T + 1, 1]] }]))).status, 204);
      const full = await post(tiny, body([{ labels: metric('m'), samples: [[T + 2, 1], [T + 3, 1]] }]));
      assert.equal(full.status, 507);
      assert.match(full.text, /maxSamples/);
      const tooMany = await post(tiny, body([{ labels: metric('o'), samples: [[T, 1]] }]));
      assert.equal(tooMany.status, 507);
      assert.match(tooMany.text, /maxSeries/);
      assert.equal((await post(tiny, body([{ labels: metric('m'), samples: [[T + 2, 1]] }]))).status, 204, 'what fits still goes in');
      assert.equal(tiny.samplesStored(), 3);
      assert.deepEqual(tiny.stats().refusedByReason, { full: 2 });
      tiny.reset();
      assert.equal((await post(tiny, body([{ labels: metric('o'), samples: [[T, 1]] }]))).status, 204, 'reset frees the room');
    } finally {
      await tiny.close();
    }
  });

  it('validates its options with ConfigError naming the option', async () => {
    await assert.rejects(startReceiver({ mode: 'loose' as 'strict' }), (e: unknown) => e instanceof ConfigError && e.option === 'mode');
    await assert.rejects(startReceiver({ maxSamples: 0 }), (e: unknown) => e instanceof ConfigError && e.option === 'maxSamples');
    await assert.rejects(startReceiver({ port: 70000 }), (e: unknown) => e instanceof ConfigError && e.option === 'port');
    await assert.rejects(startReceiver({ outOfBoundsMs: -1 }), (e: unknown) => e instanceof ConfigError && e.option === 'outOfBoundsMs');
    assert.throws(() => strict.injectFaults([{ status: 99 }]), (e: unknown) => e instanceof ConfigError && e.option === 'faults[0].status');
    assert.throws(() => strict.injectFaults([{ status: 429, headers: { 'Retry-After': '1\r\nX: y' } }]), ConfigError);
    assert.throws(() => strict.injectFaults([{ nothing: true } as unknown as Fault]), ConfigError);
    assert.throws(() => strict.randomFaults({ rate: 2, faults: [{ reset: true }] }), (e: unknown) => e instanceof ConfigError && e.option === 'rate');
  });

  it('injects faults in order, one per request: status with headers, delay, reset, hang; faulted requests store nothing', async () => {
    const receiver = await startReceiver();
    try {
      const faults: Fault[] = [{ status: 429, body: 'slow down', headers: { 'Retry-After': '2' } }, { delayMs: 80 }, { reset: true }, { status: 503 }];
      receiver.injectFaults(faults);
      const first = await post(receiver, body([{ labels: metric('m'), samples: [[T, 1]] }]));
      assert.deepEqual([first.status, first.text, first.headers['retry-after']], [429, 'slow down', '2']);
      assert.equal(receiver.samplesStored(), 0);
      const startedAt = Date.now();
      assert.equal((await post(receiver, body([{ labels: metric('m'), samples: [[T, 1]] }]))).status, 204);
      assert.ok(Date.now() - startedAt >= 75, 'delayed, then handled normally');
      await assert.rejects(post(receiver, body([{ labels: metric('m'), samples: [[T + 1, 1]] }])), /socket hang up|ECONNRESET/);
      assert.equal((await post(receiver, body([{ labels: metric('m'), samples: [[T + 1, 1]] }]))).status, 503);
      receiver.injectFaults([{ hang: true }]);
      // Given up on once the receiver has taken it (and its hang): a client timing out before its
      // request arrived, on a busy machine, would leave the hang queued for the next request.
      const giveUp = new AbortController();
      const givenUp = fetch(receiver.url, { method: 'POST', body: body([{ labels: metric('m'), samples: [[T + 1, 1]] }]), signal: giveUp.signal });
      for (const deadline = Date.now() + 10_000; receiver.stats().faultsInjected < 5 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 5));
      giveUp.abort();
      await assert.rejects(givenUp);
      assert.equal((await post(receiver, body([{ labels: metric('m'), samples: [[T + 2, 1]] }]))).status, 204, 'the queue is empty: normal again');
      assert.equal(receiver.stats().faultsInjected, 5);
      assert.deepEqual(receiver.series({ __name__: 'm' })[0].samples, [[T, 1], [T + 2, 1]]);
      // close() does not wait for a hanging request.
      receiver.injectFaults([{ hang: true }]);
      const hanging = fetch(receiver.url, { method: 'POST', body: body([]) }).then(
        () => 'answered',
        () => 'closed',
      );
      await new Promise((resolve) => setTimeout(resolve, 30));
      await receiver.close();
      assert.equal(await hanging, 'closed');
    } finally {
      await receiver.close();
    }
  });

  it('injects faults at random, at the configured rate, reproducibly by seed', async () => {
    const receiver = await startReceiver({ mode: 'lenient' });
    try {
      const run = async (): Promise<number[]> => {
        receiver.reset();
        receiver.randomFaults({ rate: 0.3, faults: [{ status: 500 }, { status: 429 }], seed: 7 });
        const statuses: number[] = [];
        for (let i = 0; i < 100; i++) statuses.push((await post(receiver, body([{ labels: metric('m'), samples: [[T + i, i]] }]))).status);
        return statuses;
      };
      const first = await run();
      const faulted = first.filter((s) => s !== 204).length;
      assert.ok(faulted >= 15 && faulted <= 45, `${faulted} faults in 100 at rate 0.3`);
      assert.ok(first.includes(500) && first.includes(429));
      assert.equal(receiver.samplesStored(), 100 - faulted, 'faulted requests store nothing');
      assert.deepEqual(await run(), first, 'same seed, same faults');
      receiver.randomFaults(undefined);
      assert.equal((await post(receiver, body([{ labels: metric('m'), samples: [[T + 500, 1]] }]))).status, 204);
    } finally {
      await receiver.close();
    }
  });

  const validRaw = raw([
    { labels: metric('fuzz', ['a', '1']), samples: [[T, 1], [T + 1, 2]] },
    { labels: metric('fuzz', ['a', '2'], ['b', 'x']), samples: [[T, 3], [T + 5, STALE_NAN]] },
  ]);
  const fuzzBodies = fuzzedBodies(validRaw);

  it('never crashes on random or mutated bodies over HTTP: every answer is 2xx or 4xx, and it still works after (fuzz)', async () => {
    const receiver = await startReceiver({ mode: 'strict' });
    try {
      await fc.assert(
        fc.asyncProperty(fuzzBodies, async (payload) => {
          const { status } = await post(receiver, payload);
          assert.ok((status >= 200 && status < 300) || (status >= 400 && status < 500), `status ${status}`);
        }),
        { numRuns: 400, seed: 7 },
      );
      assert.equal(receiver.stats().requests, 400);
      receiver.reset();
      assert.equal((await post(receiver, snappyCompress(validRaw))).status, 204);
      assert.equal(receiver.samplesStored(), 4);
    } finally {
      await receiver.close();
    }
  });

  it('receives what remoteWrite sends, labels sorted, every sample in order', async () => {
    strict.reset();
    const labels = Array.from({ length: 50 }, (_, i) => ({ zone: `z${i % 3}`, __name__: 'rx_e2e', device: `d${i}` }));
    const samples: Sample[] = [];
    for (let t = 0; t < 20; t++) for (const l of labels) samples.push({ labels: l, value: t === 19 ? STALE_NAN : t * 1.5, timestamp: T + t * 1000 });
    const sink = remoteWrite({ url: strict.url, shards: 3, maxSamplesPerRequest: 64, maxDelayMs: 10, logger: silentLogger });
    const outcomes = await lastValueFrom(from(samples).pipe(sink, toArray()));
    assert.equal(outcomes.filter((o) => o.type === 'written').reduce((n, o) => n + o.samples, 0), 1000);
    const stored = strict.series({ __name__: 'rx_e2e' });
    assert.equal(stored.length, 50);
    for (const series of stored) {
      assert.deepEqual(Object.keys(series.labels), ['__name__', 'device', 'zone']);
      assert.deepEqual(Array.from(series.timestamps), Array.from({ length: 20 }, (_, t) => T + t * 1000));
      assert.deepEqual(Array.from(series.values.subarray(0, 19)), Array.from({ length: 19 }, (_, t) => t * 1.5));
      assert.equal(bitsOf(series.values[19]), 0x7ff0000000000002n, 'the stale marker arrives bit for bit');
    }
    assert.deepEqual(strict.stats().requestsRefused, {});
    assert.equal(strict.stats().samplesAccepted, 1000);
  });
});
