/**
 * A spool append that fails (a full or failing disk) in a sink without a durable pipeline: the
 * samples of that append still end in exactly one outcome, the same in the outcomes emitted and in
 * `sink.metrics.snapshot()`, however the pipeline ends (complete, error, unsubscribe).
 */
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { remoteWrite } from '../../operators/remote-write.js';
import type { Logger } from '../../src/core/logger.js';
import type { Sample, WriteOutcome } from '../../src/core/model.js';
import { DiskSpool } from '../../src/durable/spool.js';
import type { RemoteWriteMetricsSnapshot } from '../../src/remote-write/metrics.js';
import { PipelineState } from '../../src/durable/pipeline-state.js';
import type { RemoteWriteState } from '../../src/remote-write/sink-state.js';
import { ScriptedClient } from '../remote-write/scripted-client.js';
import { until } from '../harness/until.js';

let root: string;
let counter = 0;
const freshDir = (): string => join(root, `case-${++counter}`);
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rxprom-append-failure-'));
});
after(async () => {
  // An unsubscribed sink closes its spool in the background: retried while its last files go.
  await rm(root, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 });
});

const URL = 'http://127.0.0.1:9/api/v1/write';
const T0 = 1_700_000_000_000;
/** `n` samples over 10 series, one millisecond apart. */
const input = (n: number, from = 0): Sample[] => Array.from({ length: n }, (_, i) => ({ labels: { __name__: 'm', s: String((from + i) % 10) }, value: from + i, timestamp: T0 + from + i }));

const errors: string[] = [];
const logger: Logger = { info: () => {}, warn: () => {}, debug: () => {}, error: (_fields, message) => void errors.push(message) };

/** Scripts DiskSpool.append: calls numbered in `failing` reject (after `gate`, when given) with a disk error. */
function failingAppends(failing: (call: number) => boolean, gate?: Promise<void>): void {
  const original = DiskSpool.prototype.append;
  let calls = 0;
  DiskSpool.prototype.append = function (this: DiskSpool, ...args: Parameters<typeof original>) {
    if (!failing(++calls)) return original.apply(this, args);
    const error = Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
    return (gate ?? Promise.resolve()).then(() => Promise.reject(error));
  } as typeof original;
  restore = () => {
    DiskSpool.prototype.append = original;
  };
}
let restore = (): void => {};
afterEach(() => {
  restore();
  restore = () => {};
  errors.length = 0;
});

/** Samples per outcome kind ('written' or the drop reason), from the outcomes emitted. */
function byOutcome(outcomes: readonly WriteOutcome[]): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const o of outcomes) {
    const key = o.type === 'written' ? 'written' : o.reason!;
    sums[key] = (sums[key] ?? 0) + o.samples;
  }
  return sums;
}

/** The same from the counters (reasons with a count only). */
function byCounter(m: RemoteWriteMetricsSnapshot): Record<string, number> {
  const sums: Record<string, number> = {};
  if (m.samplesWritten > 0) sums['written'] = m.samplesWritten;
  for (const [reason, n] of Object.entries(m.samplesDropped)) if (n > 0) sums[reason] = n;
  return sums;
}

function assertAddsUp(m: RemoteWriteMetricsSnapshot, what: string): void {
  assert.equal(m.samplesIn, m.samplesWritten + m.samplesDroppedTotal + m.samplesPending, `${what}: samplesIn = written + dropped + pending (${JSON.stringify(byCounter(m))}, pending ${m.samplesPending})`);
}

describe('remoteWrite with a spool whose appends fail', () => {
  it('complete: the batches whose append failed are sent from memory and written; outcomes and counters agree', async () => {
    failingAppends((call) => call % 3 === 2);
    const client = new ScriptedClient();
    const sink = remoteWrite({ url: URL, client, logger, maxSamplesPerRequest: 10, shards: 1, spool: { directory: freshDir(), memoryBatches: 1 } });
    const source = new Subject<Sample>();
    const outcomes: WriteOutcome[] = [];
    let completed = false;
    source.pipe(sink).subscribe({ next: (o) => outcomes.push(o), complete: () => (completed = true) });
    input(300).forEach((sample) => source.next(sample));
    source.complete();
    await until(() => completed, 'completion');
    const m = sink.metrics.snapshot();
    assertAddsUp(m, 'complete');
    assert.equal(m.samplesPending, 0);
    assert.deepEqual(byOutcome(outcomes), { written: 300 });
    assert.deepEqual(byCounter(m), { written: 300 });
    assert.equal(client.samplesWritten(), 300, 'the receiver got every sample once');
    assert.ok(errors.some((e) => /spool append failed; the batch is sent from memory/.test(e)), 'logged');
  });

  it('complete, a real failing disk (the next segment file cannot be created): written from memory; outcomes and counters agree', async () => {
    const directory = freshDir();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const client = new ScriptedClient();
    client.fallback = { result: { kind: 'response', status: 204, body: '', attempts: 1 } };
    const sent: number[] = [];
    const send = client.send.bind(client);
    client.send = async (body, signal) => {
      sent.push(1);
      await gate;
      return send(body, signal);
    };
    const sink = remoteWrite({ url: URL, client, logger, maxSamplesPerRequest: 100, shards: 1, spool: { directory, segmentBytes: 64 } });
    const source = new Subject<Sample>();
    const outcomes: WriteOutcome[] = [];
    let completed = false;
    source.pipe(sink).subscribe({ next: (o) => outcomes.push(o), complete: () => (completed = true) });
    input(100).forEach((sample) => source.next(sample));
    await until(() => sent.length > 0, 'the first batch sent');
    // Every batch needs a new segment (segmentBytes 64): make the next one's file impossible to create.
    await mkdir(join(directory, '0', '0000000000000001.seg'));
    input(100, 100).forEach((sample) => source.next(sample));
    await until(() => errors.length > 0, 'the failed append logged');
    release();
    source.complete();
    await until(() => completed, 'completion');
    const m = sink.metrics.snapshot();
    assertAddsUp(m, 'complete');
    assert.deepEqual(byOutcome(outcomes), { written: 200 });
    assert.deepEqual(byCounter(m), { written: 200 });
  });

  it('error while appends are under way that then fail: what the outcomes say equals what the counters say (aborted, not spooled)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    failingAppends((call) => call >= 3, gate);
    const client = new ScriptedClient();
    client.fallback = { hang: true };
    const sink = remoteWrite({ url: URL, client, logger, maxSamplesPerRequest: 10, shards: 1, spool: { directory: freshDir(), memoryBatches: 1 } });
    const source = new Subject<Sample>();
    const outcomes: WriteOutcome[] = [];
    let failed: unknown;
    source.pipe(sink).subscribe({ next: (o) => outcomes.push(o), error: (e: unknown) => (failed = e) });
    input(50).forEach((sample) => source.next(sample));
    await until(() => client.requests.length === 1, 'the first batch sent (its request hangs)');
    source.error(new Error('the source broke'));
    release();
    await until(() => failed !== undefined, 'the error');
    assert.equal((failed as Error).message, 'the source broke');
    const m = sink.metrics.snapshot();
    assertAddsUp(m, 'error');
    assert.equal(m.samplesPending, 0);
    // Batches 1 and 2 are on disk (spooled); 3 to 5 never reached it.
    assert.deepEqual(byCounter(m), { spooled: 20, aborted: 30 });
    assert.deepEqual(byOutcome(outcomes), byCounter(m), 'each sample told once, as counted');
  });

  it('a checkpoint asked for while the error waits for appends under way fails (it could cover samples that never reach the spool)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    failingAppends((call) => call >= 3, gate);
    const client = new ScriptedClient();
    client.fallback = { hang: true };
    const state = new PipelineState();
    const sink = remoteWrite({ url: URL, client, logger, maxSamplesPerRequest: 10, shards: 1, spool: { directory: freshDir(), memoryBatches: 1 }, state: state.slot<RemoteWriteState>('sink') });
    const source = new Subject<Sample>();
    let failed: unknown;
    source.pipe(sink).subscribe({ error: (e: unknown) => (failed = e) });
    input(50).forEach((sample) => source.next(sample));
    await until(() => client.requests.length === 1, 'the first batch sent (its request hangs)');
    source.error(new Error('the source broke'));
    try {
      assert.equal(failed, undefined, 'the error waits for the appends under way');
      state.snapshot();
      await assert.rejects(state.flush(), /ending with an error/);
    } finally {
      release();
    }
    await until(() => failed !== undefined, 'the error');
    assertAddsUp(sink.metrics.snapshot(), 'error');
  });

  it('error after appends failed (the batches live in memory only): aborted in the outcomes and in the counters', async () => {
    failingAppends((call) => call % 2 === 0);
    const client = new ScriptedClient();
    client.fallback = { hang: true };
    const sink = remoteWrite({ url: URL, client, logger, maxSamplesPerRequest: 10, shards: 1, spool: { directory: freshDir(), memoryBatches: 1 } });
    const source = new Subject<Sample>();
    const outcomes: WriteOutcome[] = [];
    let failed: unknown;
    source.pipe(sink).subscribe({ next: (o) => outcomes.push(o), error: (e: unknown) => (failed = e) });
    input(60).forEach((sample) => source.next(sample));
    await until(() => errors.length === 3, 'the three failed appends');
    source.error(new Error('the source broke'));
    await until(() => failed !== undefined, 'the error');
    const m = sink.metrics.snapshot();
    assertAddsUp(m, 'error');
    assert.deepEqual(byCounter(m), { spooled: 30, aborted: 30 });
    assert.deepEqual(byOutcome(outcomes), byCounter(m));
  });

  it('unsubscribe while appends are under way that then fail: counted once each, pending back to 0', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    failingAppends((call) => call >= 3, gate);
    const client = new ScriptedClient();
    client.fallback = { hang: true };
    const sink = remoteWrite({ url: URL, client, logger, maxSamplesPerRequest: 10, shards: 1, spool: { directory: freshDir(), memoryBatches: 1 } });
    const source = new Subject<Sample>();
    const outcomes: WriteOutcome[] = [];
    const subscription = source.pipe(sink).subscribe((o) => outcomes.push(o));
    input(50).forEach((sample) => source.next(sample));
    await until(() => client.requests.length === 1, 'the first batch sent (its request hangs)');
    subscription.unsubscribe();
    assertAddsUp(sink.metrics.snapshot(), 'unsubscribe');
    release();
    await until(() => sink.metrics.snapshot().samplesDropped.aborted === 30, 'the failed appends moved to aborted');
    const m = sink.metrics.snapshot();
    assertAddsUp(m, 'unsubscribe, appends settled');
    assert.equal(m.samplesPending, 0);
    assert.deepEqual(byCounter(m), { spooled: 20, aborted: 30 });
    assert.deepEqual(outcomes, [], 'nobody to tell after an unsubscribe');
  });
});
