import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { lastValueFrom, map, take, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import {
  checkAccounting,
  expectedAccounting,
  generateSamples,
  MALFORMED_KINDS,
  type GeneratorOptions,
  type GeneratorReport,
} from '../../../src/testing/generator/generator.js';
import { remoteWrite } from '../../../operators/remote-write.js';
import { checkLabels } from '../../../src/protocol/label-rules.js';
import { silentLogger } from '../../../src/core/logger.js';
import { ConfigError } from '../../../src/core/errors.js';
import { decodeWriteRequest } from '../../../src/protocol/reference.js';
import { snappyUncompress } from '../../../src/protocol/snappy.js';
import type { Sample } from '../../../src/core/model.js';
import type { RemoteWriteMetricsSnapshot } from '../../../src/remote-write/metrics.js';

const START = 1_700_000_000_000;

function collect(options: GeneratorOptions): Promise<Sample[]> {
  return lastValueFrom(generateSamples(options).pipe(toArray()));
}

type Kind = 'valid' | 'outOfOrder' | 'late' | 'duplicate' | 'malformed';

/** Classifies samples on its own, from labels and per-series newest timestamps only. */
function classify(samples: readonly Sample[], lateByMs: number): Record<Kind, number> & { firstSampleNotValid: number } {
  const counts = { valid: 0, outOfOrder: 0, late: 0, duplicate: 0, malformed: 0, firstSampleNotValid: 0 };
  const newest = new Map<string, number>();
  for (const s of samples) {
    const checked = checkLabels(s.labels, 'strict');
    if (typeof checked === 'string' || !Number.isFinite(s.timestamp) || !Number.isFinite(s.value)) {
      counts.malformed++;
      continue;
    }
    const key = checked.names.map((n, i) => `${n}=${checked.values[i]}`).join(',');
    const prev = newest.get(key);
    if (prev === undefined || s.timestamp > prev) {
      newest.set(key, s.timestamp);
      counts.valid++;
    } else if (s.timestamp === prev) counts.duplicate++;
    else if (prev - s.timestamp >= lateByMs) counts.late++;
    else counts.outOfOrder++;
  }
  return counts;
}

/** A receiver that answers `status` to everything and counts the samples it accepted. */
class InlineReceiver {
  status = 204;
  samplesReceived = 0;
  url = '';
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (this.status < 300) {
        const request = decodeWriteRequest(snappyUncompress(Buffer.concat(chunks), 1 << 26));
        for (const ts of request.timeseries) this.samplesReceived += ts.samples.length;
      }
      res.writeHead(this.status);
      res.end();
    });
  });

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/v1/write`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe('generateSamples', () => {
  const options: GeneratorOptions = {
    series: 50,
    count: 3000,
    startTime: START,
    seed: 7,
    outOfOrder: 0.1,
    late: 0.05,
    duplicate: 0.05,
    malformed: 0.1,
  };

  it('same seed gives the same sequence; every subscription replays it; another seed differs', async () => {
    const gen = generateSamples(options);
    const first = await lastValueFrom(gen.pipe(toArray()));
    const again = await lastValueFrom(gen.pipe(toArray()));
    const other = await collect(options);
    const reseeded = await collect({ ...options, seed: 8 });
    assert.equal(first.length, 3000);
    assert.deepStrictEqual(again, first);
    assert.deepStrictEqual(other, first);
    assert.notDeepStrictEqual(reseeded, first);
    assert.equal(gen.report().produced, 3000);
    assert.equal(gen.report().done, true);
  });

  it('labels: __name__, series and the extra labels, one frozen object reused per series', async () => {
    const samples = await collect({ series: 3, labelsPerSeries: 2, count: 6, startTime: START, metric: 'load_test' });
    assert.deepEqual(samples.map((s) => s.labels), [
      { __name__: 'load_test', series: 's0', host: 'v0', label_1: 'v0' },
      { __name__: 'load_test', series: 's1', host: 'v1', label_1: 'v1' },
      { __name__: 'load_test', series: 's2', host: 'v2', label_1: 'v2' },
      { __name__: 'load_test', series: 's0', host: 'v0', label_1: 'v0' },
      { __name__: 'load_test', series: 's1', host: 'v1', label_1: 'v1' },
      { __name__: 'load_test', series: 's2', host: 'v2', label_1: 'v2' },
    ]);
    assert.equal(samples[0].labels, samples[3].labels);
    assert.ok(Object.isFrozen(samples[0].labels));
    // No injection: each series steps by stepMs from startTime.
    assert.deepEqual(samples.map((s) => s.timestamp), [START, START, START, START + 1, START + 1, START + 1]);
  });

  it('injects each kind at the requested fraction, and the report matches an independent classification', async () => {
    const requested = { outOfOrder: 0.1, late: 0.05, duplicate: 0.07, malformed: 0.08 };
    const lateByMs = 60_000;
    const gen = generateSamples({ series: 500, count: 100_000, startTime: START, stepMs: 1000, seed: 3, lateByMs, chunkSize: 10_000, ...requested });
    const samples = await lastValueFrom(gen.pipe(toArray()));
    const report = gen.report();
    const observed = classify(samples, lateByMs);
    assert.equal(samples.length, 100_000);
    assert.equal(report.produced, 100_000);
    assert.deepEqual(
      { valid: report.valid, outOfOrder: report.outOfOrder, late: report.late, duplicate: report.duplicate, malformed: report.malformed },
      { valid: observed.valid, outOfOrder: observed.outOfOrder, late: observed.late, duplicate: observed.duplicate, malformed: observed.malformed },
    );
    for (const [kind, fraction] of Object.entries(requested) as [keyof typeof requested, number][]) {
      const got = report[kind] / report.produced;
      assert.ok(Math.abs(got - fraction) < 0.01, `${kind}: requested ${fraction}, got ${got}`);
    }
    // Malformed samples vary their kind, and the kinds add up.
    for (const kind of MALFORMED_KINDS) assert.ok(report.malformedByKind[kind] > report.malformed / 12, `${kind}: ${report.malformedByKind[kind]}`);
    assert.equal(Object.values(report.malformedByKind).reduce((a, b) => a + b, 0), report.malformed);
    // Remote-write timestamps are integer milliseconds.
    assert.ok(samples.filter((s) => Number.isFinite(s.timestamp)).every((s) => Number.isInteger(s.timestamp)));
  });

  it('first sample of every series is valid even when everything else is injected', async () => {
    const samples = await collect({ series: 20, count: 400, startTime: START, duplicate: 0.5, outOfOrder: 0.25, late: 0.25 });
    const observed = classify(samples, 600_000);
    assert.equal(observed.valid, 20, 'exactly the first sample of each series');
    assert.equal(observed.malformed, 0);
    assert.equal(observed.duplicate + observed.outOfOrder + observed.late, 380);
  });

  it('as fast as possible: yields to the event loop between chunks and stops on unsubscribe', async () => {
    const gen = generateSamples({ series: 10, chunkSize: 100 });
    let timerFired = false;
    const timer = setTimeout(() => (timerFired = true), 0);
    const got = await lastValueFrom(gen.pipe(take(2000), toArray()));
    clearTimeout(timer);
    assert.equal(got.length, 2000);
    assert.ok(timerFired, 'a 0ms timer ran while 20 chunks were generated');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(gen.report().produced, 2000, 'no sample generated after unsubscribe');
    assert.equal(gen.report().done, false);
  });

  it('paced: emits on the scheduler at the requested rate (marbles)', async () => {
    const options: GeneratorOptions = { series: 2, rate: 2, count: 4, startTime: START, stepMs: 1000, seed: 5, duplicate: 0.3 };
    // The same sequence unpaced: pacing changes when samples come, not what they are.
    const [a, b, c, d] = await collect({ ...options, rate: 0 });
    const scheduler = new TestScheduler((actual, expected) => assert.deepStrictEqual(actual, expected));
    scheduler.run(({ expectObservable }) => {
      expectObservable(generateSamples({ ...options, scheduler })).toBe('a 499ms b 499ms c 499ms (d|)', { a, b, c, d });
    });
  });

  it('paced: durationMs bounds the samples to rate x duration; per-second counts follow the rate', () => {
    const scheduler = new TestScheduler((actual, expected) => assert.deepStrictEqual(actual, expected));
    const times: number[] = [];
    let completedAt = -1;
    const gen = generateSamples({ series: 100, rate: 1000, durationMs: 3000, scheduler });
    scheduler.run(() => {
      gen.subscribe({ next: () => times.push(scheduler.now()), complete: () => (completedAt = scheduler.now()) });
    });
    assert.equal(times.length, 3000);
    assert.ok(completedAt >= 0 && completedAt < 3000, `completed at ${completedAt}`);
    for (let second = 0; second < 3; second++) {
      const inSecond = times.filter((t) => t >= second * 1000 && t < (second + 1) * 1000).length;
      assert.ok(inSecond >= 990 && inSecond <= 1010, `second ${second}: ${inSecond} samples`);
    }
    // Timestamps start at virtual now and step by series * 1000 / rate = 100 ms per series.
    assert.equal(gen.report().valid, 3000);
  });

  it('paced: unsubscription stops the timer', () => {
    const scheduler = new TestScheduler((actual, expected) => assert.deepStrictEqual(actual, expected));
    // count bounds the run even if the timer leaked; the report shows whether it did.
    const gen = generateSamples({ rate: 100, count: 1000, scheduler });
    scheduler.run(({ expectObservable }) => {
      expectObservable(gen.pipe(take(3), map((s) => s.timestamp))).toBe('a 9ms b 9ms (c|)', { a: 0, b: 0, c: 0 });
    });
    assert.equal(gen.report().produced, 3);
    assert.equal(gen.report().done, false);
  });

  it('rejects bad options with ConfigError naming the option', () => {
    const bad: [GeneratorOptions, string][] = [
      [{ series: 0 }, 'series'],
      [{ rate: -1 }, 'rate'],
      [{ outOfOrder: 1.5 }, 'outOfOrder'],
      [{ malformed: -0.1 }, 'malformed'],
      [{ outOfOrder: 0.5, late: 0.3, duplicate: 0.3 }, 'outOfOrder + late + duplicate + malformed'],
      [{ lateByMs: 1 }, 'lateByMs'],
      [{ count: 1.5 }, 'count'],
      [{ metric: 'bad-name' }, 'metric'],
      [{ chunkSize: 0 }, 'chunkSize'],
    ];
    for (const [options, option] of bad) {
      assert.throws(() => generateSamples(options), (e: unknown) => e instanceof ConfigError && e.option === option, option);
    }
    assert.doesNotThrow(() => generateSamples({ rate: Infinity, outOfOrder: 0.25, late: 0.25, duplicate: 0.25, malformed: 0.25 }));
  });
});

describe('checkAccounting', () => {
  const report: GeneratorReport = {
    produced: 100,
    valid: 70,
    outOfOrder: 10,
    late: 5,
    duplicate: 7,
    malformed: 8,
    malformedByKind: { 'bad-label-name': 8, 'missing-name': 0, 'empty-name': 0, 'bad-metric-name': 0, 'reserved-label': 0, 'non-finite-timestamp': 0 },
    done: true,
  };
  const balanced = (): RemoteWriteMetricsSnapshot => ({
    samplesIn: 100,
    samplesWritten: 70,
    requestsWritten: 1,
    requestRetries: 0,
    samplesDropped: { invalid: 8, 'out-of-order': 15, duplicate: 7, 'non-retryable': 0, 'max-retries': 0, fatal: 0, overflow: 0, 'too-far-in-future': 0, 'too-old': 0, aborted: 0, replayed: 0, spooled: 0 },
    samplesDroppedTotal: 30,
    samplesLostTotal: 30,
    samplesReplayed: 0,
    samplesReplayedWritten: 0,
    samplesReplayedDropped: { invalid: 0, 'out-of-order': 0, duplicate: 0, 'non-retryable': 0, 'max-retries': 0, fatal: 0, overflow: 0, 'too-far-in-future': 0, 'too-old': 0, aborted: 0, replayed: 0, spooled: 0 },
    samplesReplayedPending: 0,
    requestsPermanentlyFailed: 0,
    requestsSplit: 0,
    bytesWritten: 1,
    requestsInFlight: 0,
    samplesPending: 0,
    activeSeries: 1,
  });

  it('is empty when the counters balance as injected', () => {
    assert.deepEqual(checkAccounting(report, balanced()), []);
    assert.equal(expectedAccounting(report).dropped['out-of-order'], 15);
  });

  it('names every mismatch', () => {
    const snapshot = balanced();
    const moved = {
      ...snapshot,
      samplesWritten: 69,
      samplesDropped: { ...snapshot.samplesDropped, overflow: 1 },
      samplesDroppedTotal: 31,
    };
    assert.deepEqual(checkAccounting(report, moved), ["written (valid): expected 70, got 69", "dropped 'overflow' (none injected): expected 0, got 1"]);
    const lost = { ...snapshot, samplesWritten: 60, samplesPending: 10 };
    assert.deepEqual(checkAccounting(report, lost), [
      'samples still pending in the sink: expected 0, got 10',
      'written + dropped (produced): expected 100, got 90',
      'written (valid): expected 70, got 60',
    ]);
  });
});

describe('generator → remoteWrite → receiver', () => {
  const receiver = new InlineReceiver();
  before(() => receiver.start());
  after(() => receiver.stop());

  it('produced = written + dropped by reason, exactly, and the receiver got every valid sample', async () => {
    receiver.status = 204;
    receiver.samplesReceived = 0;
    const gen = generateSamples({ series: 300, count: 30_000, seed: 11, outOfOrder: 0.05, late: 0.03, duplicate: 0.04, malformed: 0.06 });
    const sink = remoteWrite({ url: receiver.url, logger: silentLogger, maxDelayMs: 20, maxSamplesPerRequest: 1000 });
    const outcomes = await lastValueFrom(gen.pipe(sink, toArray()));
    const report = gen.report();
    const metrics = sink.metrics.snapshot();
    assert.deepEqual(checkAccounting(report, metrics), []);
    assert.equal(report.produced, 30_000);
    assert.ok(report.outOfOrder > 0 && report.late > 0 && report.duplicate > 0 && report.malformed > 0);
    assert.equal(metrics.samplesWritten, report.valid);
    assert.equal(receiver.samplesReceived, report.valid);
    const fromOutcomes = outcomes.reduce((sum, o) => sum + o.samples, 0);
    assert.equal(fromOutcomes, 30_000, 'the outcomes account for every sample too');
  });
});
