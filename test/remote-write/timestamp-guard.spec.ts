import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { from, lastValueFrom, Subject, toArray, VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { remoteWrite } from '../../operators/remote-write.js';
import { ConfigError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Sample, WriteOutcome } from '../../src/core/model.js';
import { decodeWriteRequest } from '../../src/protocol/reference.js';
import { snappyUncompress } from '../../src/protocol/snappy.js';
import type { WriteClient, WriteResult } from '../../src/remote-write/http/write-client.js';
import { describeBadTimestamp, int64Millis, INT64_MAX_DOUBLE, TimestampGuard } from '../../src/remote-write/timestamp-guard.js';

/** A client that answers 204 to everything and keeps the timestamps it was sent, per request. */
class RecordingClient implements WriteClient {
  readonly requests: number[][] = [];
  async send(body: Buffer): Promise<WriteResult> {
    const request = decodeWriteRequest(snappyUncompress(body, 1 << 24));
    this.requests.push(request.timeseries.flatMap((ts) => ts.samples.map((s) => Number(s.timestamp))));
    return { kind: 'response', status: 204, body: '', attempts: 1 };
  }
}

describe('int64Millis', () => {
  it('floors a timestamp to integer milliseconds inside the int64 range', () => {
    assert.equal(int64Millis(1_700_000_000_000.75), 1_700_000_000_000);
    assert.equal(int64Millis(-0.5), -1);
    assert.equal(int64Millis(-(2 ** 63)), -(2 ** 63));
    assert.equal(int64Millis(INT64_MAX_DOUBLE), INT64_MAX_DOUBLE);
    assert.equal(int64Millis(2 ** 60), 2 ** 60);
  });

  it('refuses what is no int64 millisecond count: 2^63 and beyond (1e20), NaN, infinities, non-numbers', () => {
    for (const bad of [2 ** 63, 1e20, -(2 ** 63) - 4096, -1e20, NaN, Infinity, -Infinity, '1700000000000', null, undefined, 10n]) {
      assert.ok(Number.isNaN(int64Millis(bad)), String(bad));
    }
    assert.match(describeBadTimestamp(1e20), /timestamp 100000000000000000000 is outside the int64 range/);
    assert.match(describeBadTimestamp(NaN), /not a finite number/);
    assert.match(describeBadTimestamp('1'), /timestamp is string, not a number/);
  });
});

describe('TimestampGuard', () => {
  it('refuses a timestamp more than maxFutureMs ahead of the clock, and reads the clock again before refusing', () => {
    let now = 1_000_000;
    let reads = 0;
    const guard = new TimestampGuard({ maxFutureMs: 600_000, maxAgeMs: Infinity, now: () => (reads++, now) });
    assert.equal(guard.check(1_600_000), 'ok'); // exactly at the bound
    assert.equal(guard.check(1_600_001), 'too-far-in-future');
    assert.match(guard.describe('too-far-in-future', 1_600_001), /600001 ms ahead of the clock \(maxFutureMs 600000\)/);
    const readsBefore = reads;
    for (let t = 0; t < 100; t++) assert.equal(guard.check(1_000_000 + t), 'ok');
    assert.equal(reads, readsBefore, 'samples well inside the bound do not read the clock');
    now += 1000; // the clock moved on: the same timestamp is now inside
    assert.equal(guard.check(1_600_001), 'ok');
  });

  it('a clock reading that is no time (NaN, Infinity, not a number) throws a ConfigError naming the clock, instead of turning the bounds off', () => {
    for (const reading of [NaN, Infinity, undefined]) {
      const future = new TimestampGuard({ maxFutureMs: 600_000, maxAgeMs: Infinity, now: () => reading as number });
      assert.throws(() => future.check(1e15), (e: unknown) => e instanceof ConfigError && /"clock"/.test(e.message) && e.message.includes(String(reading)));
      const past = new TimestampGuard({ maxFutureMs: Infinity, maxAgeMs: 1000, now: () => reading as number });
      assert.throws(() => past.check(0), (e: unknown) => e instanceof ConfigError && /"clock"/.test(e.message));
    }
  });

  it('after expire(), reads the clock again: a clock stepped back (NTP) tightens the future bound', () => {
    let now = 10_000_000;
    const guard = new TimestampGuard({ maxFutureMs: 600_000, maxAgeMs: Infinity, now: () => now });
    assert.equal(guard.check(10_000_000), 'ok');
    now -= 7_200_000; // the wall clock is stepped back by 2 h
    assert.equal(guard.check(now + 3_600_000), 'ok', 'the last reading still stands until it expires');
    guard.expire();
    assert.equal(guard.check(now + 3_600_000), 'too-far-in-future');
    assert.equal(guard.check(now + 600_000), 'ok');
  });

  it('refuses a timestamp more than maxAgeMs behind the clock, only when the bound is on', () => {
    let now = 10_000_000;
    const guard = new TimestampGuard({ maxFutureMs: Infinity, maxAgeMs: 3_000_000, now: () => now });
    assert.equal(guard.check(7_000_000), 'ok');
    assert.equal(guard.check(6_999_999), 'too-old');
    assert.match(guard.describe('too-old', 6_999_999), /3000001 ms behind the clock \(maxAgeMs 3000000\)/);
    now += 1; // a stale reading would let this through
    assert.equal(guard.check(7_000_000), 'too-old');
    assert.equal(guard.check(1e15), 'ok', 'no future bound with maxFutureMs Infinity');
    const off = new TimestampGuard({ maxFutureMs: 600_000, maxAgeMs: Infinity, now: () => now });
    assert.equal(off.check(-(2 ** 63)), 'ok', 'no past bound by default');
  });
});

describe('remoteWrite: timestamp checks', () => {
  const NOW = 1_800_000_000_000;
  const labels = { __name__: 'm', d: '1' };

  it('a clock that throws later errors the stream with its error (it never escapes), after accounting for the sample it was reading and every accepted one', async () => {
    let readings = 0;
    const broken = new Error('clock broke');
    const clock = (): number => {
      if (++readings > 3) throw broken;
      return NOW;
    };
    const client = new RecordingClient();
    const sink = remoteWrite({ url: 'http://127.0.0.1:1/api/v1/write', client, clock, maxAgeMs: 60_000, maxDelayMs: 60_000, logger: silentLogger });
    const input: Sample[] = [
      { labels, value: 1, timestamp: NOW - 10 },
      { labels, value: 2, timestamp: NOW - 5 },
    ];
    const outcomes: WriteOutcome[] = [];
    const error = await new Promise<unknown>((resolve) => from(input).pipe(sink).subscribe({ next: (o) => outcomes.push(o), error: resolve, complete: () => resolve('completed') }));
    assert.equal(error, broken);
    // Reading 1 is the check at creation, 2 and 3 the first sample's (both bounds): the second sample's throws.
    assert.equal(readings, 4);
    // Sample 1 waits in its lane (aborted by the end); sample 2 is the one the clock failed on.
    assert.equal(outcomes.reduce((n, o) => n + o.samples, 0), 2, 'one outcome per input sample');
    const own = outcomes.find((o) => o.sample?.value === 2);
    assert.equal(own?.type, 'dropped');
    assert.equal(own?.reason, 'aborted');
    assert.match(own?.message ?? '', /clock broke/);
    const m = sink.metrics.snapshot();
    assert.equal(m.samplesIn, 2);
    assert.equal(m.samplesPending, 0);
    assert.equal(m.samplesDropped.aborted, 2);
    assert.equal(m.samplesWritten + m.samplesDroppedTotal + m.samplesPending, m.samplesIn, 'samplesIn = written + dropped + pending');
    assert.equal(client.requests.length, 0);
  });

  it('a clock that later returns NaN errors the stream rather than letting a far-future sample through', async () => {
    let readings = 0;
    const clock = (): number => (++readings > 1 ? NaN : NOW);
    const client = new RecordingClient();
    const sink = remoteWrite({ url: 'http://127.0.0.1:1/api/v1/write', client, clock, maxDelayMs: 60_000, logger: silentLogger });
    const outcomes: WriteOutcome[] = [];
    const error = await new Promise<unknown>((resolve) =>
      from([{ labels, value: 1, timestamp: NOW + 365 * 86_400_000 }]).pipe(sink).subscribe({ next: (o) => outcomes.push(o), error: resolve, complete: () => resolve('completed') }),
    );
    assert.ok(error instanceof ConfigError && /"clock"/.test(error.message), String(error));
    assert.deepEqual(outcomes.map((o) => [o.reason, o.samples]), [['aborted', 1]]);
    assert.equal(client.requests.length, 0, 'nothing sent');
  });

  it('drops a timestamp of 2^63 or 1e20 as invalid, sends 2^60 with the exact varint, and counts every sample', async () => {
    const client = new RecordingClient();
    const input: Sample[] = [
      { labels, value: 1, timestamp: NOW - 2 },
      { labels, value: 2, timestamp: 1e20 },
      { labels, value: 3, timestamp: 2 ** 63 },
      { labels, value: 4, timestamp: NOW - 1 },
      { labels: { __name__: 'far' }, value: 5, timestamp: 2 ** 60 },
    ];
    const sink = remoteWrite({ url: 'http://127.0.0.1:1/api/v1/write', client, clock: () => NOW, maxFutureMs: Infinity, maxDelayMs: 5, logger: silentLogger });
    const outcomes = await lastValueFrom(from(input).pipe(sink, toArray()));
    assert.deepEqual(
      outcomes.filter((o) => o.type === 'dropped').map((o) => [o.reason, o.sample?.value, o.message]),
      [
        ['invalid', 2, 'timestamp 100000000000000000000 is outside the int64 range of milliseconds [-2^63, 2^63)'],
        ['invalid', 3, 'timestamp 9223372036854776000 is outside the int64 range of milliseconds [-2^63, 2^63)'],
      ],
    );
    // The request decodes (a wrong varint length would not) and carries 2^60 exactly.
    assert.deepEqual(client.requests.flat().sort(), [NOW - 2, NOW - 1, 2 ** 60].sort());
    assert.equal(sink.metrics.snapshot().samplesDropped.invalid, 2);
  });

  it('a wall clock stepped back (NTP) bounds the future from its new time: a sample an hour ahead of it is dropped, not sent', async () => {
    // A gateway that booted with its clock 2 h ahead; NTP then steps it back. Its first reading must
    // not stay the bound: Prometheus would take the sample an hour ahead and refuse the present after it.
    const scheduler = new VirtualTimeScheduler(VirtualAction, 0);
    const advance = async (ms: number): Promise<void> => {
      scheduler.maxFrames += ms;
      scheduler.flush();
      await new Promise((resolve) => setImmediate(resolve));
    };
    let now = NOW;
    const client = new RecordingClient();
    const sink = remoteWrite({ url: 'http://127.0.0.1:1/api/v1/write', client, scheduler, clock: () => now, maxDelayMs: 10, logger: silentLogger });
    const source = new Subject<Sample>();
    const outcomes = lastValueFrom(source.pipe(sink, toArray()));
    source.next({ labels, value: 1, timestamp: NOW });
    await advance(20);
    now = NOW - 7_200_000;
    await advance(5000);
    source.next({ labels: { __name__: 'm', d: '3' }, value: 2, timestamp: now + 3_600_000 });
    source.next({ labels: { __name__: 'm', d: '2' }, value: 3, timestamp: now });
    await advance(20);
    source.complete();
    const all = await outcomes;
    assert.deepEqual(all.filter((o) => o.type === 'dropped').map((o) => [o.reason, o.sample?.value]), [['too-far-in-future', 2]]);
    assert.deepEqual(client.requests.flat().sort(), [NOW, now].sort());
    const m = sink.metrics.snapshot();
    assert.equal(m.samplesWritten + m.samplesDroppedTotal, 3);
  });

  it('drops a sample beyond maxFutureMs (default 10 min) or maxAgeMs alone, before its series is guarded, with a reason and a message', async () => {
    const client = new RecordingClient();
    const thirtyYears = 30 * 365 * 86_400_000;
    const input: Sample[] = [
      { labels, value: 1, timestamp: NOW - 1000 },
      { labels, value: 2, timestamp: NOW + thirtyYears },
      { labels, value: 3, timestamp: NOW + 600_000 },
      { labels, value: 4, timestamp: NOW + 600_001 },
      { labels: { __name__: 'm', d: '2' }, value: 5, timestamp: NOW - 3_000_001 },
      { labels: { __name__: 'm', d: '2' }, value: 6, timestamp: NOW - 3_000_000 },
    ];
    const sink = remoteWrite({ url: 'http://127.0.0.1:1/api/v1/write', client, clock: () => NOW, maxAgeMs: 3_000_000, maxDelayMs: 5, logger: silentLogger });
    const outcomes = await lastValueFrom(from(input).pipe(sink, toArray()));
    assert.deepEqual(
      outcomes.filter((o) => o.type === 'dropped').map((o) => [o.reason, o.sample?.value]),
      [['too-far-in-future', 2], ['too-far-in-future', 4], ['too-old', 5]],
    );
    assert.match(outcomes.find((o) => o.sample?.value === 2)?.message ?? '', /ahead of the clock \(maxFutureMs 600000\)/);
    // The refused future sample did not become its series' newest: sample 3 went through.
    assert.deepEqual(client.requests.flat().sort(), [NOW - 1000, NOW + 600_000, NOW - 3_000_000].sort());
    const m = sink.metrics.snapshot();
    assert.equal(m.samplesDropped['too-far-in-future'], 2);
    assert.equal(m.samplesDropped['too-old'], 1);
    assert.equal(m.samplesWritten + m.samplesDroppedTotal, input.length);
    assert.match(sink.metrics.toPrometheusText(), /rxprom_remote_write_samples_dropped_total\{reason="too-far-in-future"\} 2\n/);
    assert.match(sink.metrics.toPrometheusText(), /rxprom_remote_write_samples_dropped_total\{reason="too-old"\} 1\n/);
  });
});
