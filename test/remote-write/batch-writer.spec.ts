import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BatchWriter, type BatchWriterOptions } from '../../src/remote-write/batch-writer.js';
import { WriteRequestEncoder } from '../../src/protocol/encoder.js';
import { RemoteWriteMetrics } from '../../src/remote-write/metrics.js';
import { SeriesInterner, type SeriesRecord } from '../../src/remote-write/series-interner.js';
import type { LaneBatch } from '../../src/remote-write/lane.js';
import { RemoteWriteError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import type { WriteOutcome } from '../../src/core/model.js';
import { columnsOf } from '../protocol/sample-columns.js';
import { ScriptedClient, status, written } from './scripted-client.js';

const interner = new SeriesInterner({ validation: 'strict' });
const series = [0, 1, 2].map((i) => interner.resolve({ __name__: 'w', s: String(i) }) as SeriesRecord);

/** A writer over a scripted client, and a batch of `values` (one sample each, series round-robin), counted as accepted. */
function setup(values: number[], options: Partial<BatchWriterOptions> = {}) {
  const metrics = new RemoteWriteMetrics();
  const client = new ScriptedClient();
  const writer = new BatchWriter({ onMaxRetriesExceeded: 'discard', onNonRetryable: 'discard', maxRefusalSplits: 32, metrics, logger: silentLogger, ...options }, new WriteRequestEncoder(), client);
  const columns = columnsOf(values.map((value, i) => ({ series: series[i % 3], value, timestamp: 1000 + i })));
  for (let i = 0; i < values.length; i++) metrics.sampleIn();
  metrics.samplesAccepted(values.length);
  const batch: LaneBatch = { columns, request: writer.encode(columns), settled: 0 };
  const outcomes: WriteOutcome[] = [];
  const write = (signal = new AbortController().signal) => writer.write(batch, signal, (o) => outcomes.push(o));
  return { metrics, client, writer, batch, outcomes, write };
}

/** The values of a request, in the order it holds them per series, flattened in sample order. */
const valuesOf = (client: ScriptedClient, index: number): number[] =>
  client.requests[index].request.timeseries.flatMap((ts) => ts.samples.map((s) => ({ t: s.timestamp, v: s.value }))).sort((x, y) => x.t - y.t).map((s) => s.v);
const refuseNegative = (client: ScriptedClient): void => {
  client.decide = (request) => (request.timeseries.some((ts) => ts.samples.some((s) => s.value < 0)) ? { result: status(400, 'out of order sample') } : { result: written });
};

describe('BatchWriter', () => {
  it('writes a batch: one written outcome, counters, settled to the end, nothing left in flight', async () => {
    const { metrics, client, batch, outcomes, write } = setup([1, 2, 3, 4]);
    assert.equal(await write(), undefined);
    assert.deepEqual(outcomes, [{ type: 'written', samples: 4, series: 3, attempts: 1, status: 204 }]);
    assert.equal(batch.settled, 4);
    assert.deepEqual(valuesOf(client, 0), [1, 2, 3, 4]);
    const m = metrics.snapshot();
    assert.deepEqual([m.samplesWritten, m.requestsWritten, m.bytesWritten, m.samplesPending, m.requestsInFlight], [4, 1, batch.request.body.length, 0, 0]);
  });

  it('halves a batch refused with 400 until the refused sample is alone; pieces go in order', async () => {
    const values = Array.from({ length: 16 }, (_, i) => (i === 5 ? -1 : i));
    const { metrics, client, outcomes, write } = setup(values);
    refuseNegative(client);
    assert.equal(await write(), undefined);
    const dropped = outcomes.filter((o) => o.type === 'dropped');
    assert.deepEqual(dropped.map((o) => [o.reason, o.samples, o.status, o.responseBody, o.sample?.value]), [['non-retryable', 1, 400, 'out of order sample', -1]]);
    assert.deepEqual(dropped[0].sample?.labels, { __name__: 'w', s: '2' });
    assert.equal(outcomes.reduce((n, o) => n + o.samples, 0), 16);
    // What was written, in the order it was written, is every other value in batch order.
    const writtenValues = client.requests.flatMap((r, i) => ('result' in r.answer && r.answer.result === written ? valuesOf(client, i) : []));
    assert.deepEqual(writtenValues, values.filter((v) => v >= 0));
    const m = metrics.snapshot();
    assert.equal(m.requestsSplit, 4, 'log2(16) halvings');
    assert.ok(client.requests.length - 1 <= 8, `${client.requests.length - 1} extra requests`);
    assert.deepEqual([m.samplesWritten, m.samplesDropped['non-retryable'], m.samplesPending, m.requestsPermanentlyFailed], [15, 1, 0, 1]);
  });

  it('a second half after a first half written whole is halved unsent', async () => {
    const values = Array.from({ length: 8 }, (_, i) => (i === 7 ? -1 : i));
    const { client, write } = setup(values);
    refuseNegative(client);
    await write();
    // [0,8) refused; [0,4) written; [4,8) halved unsent; [4,6) written; [6,8) halved unsent; [6] written; [7] refused.
    assert.deepEqual(client.requests.map((r) => r.samples), [8, 4, 2, 1, 1]);
  });

  it('stops at maxRefusalSplits and drops the refused piece whole; 0 drops the batch whole', async () => {
    const values = Array.from({ length: 16 }, (_, i) => (i === 5 ? -1 : i));
    const bounded = setup(values, { maxRefusalSplits: 1 });
    refuseNegative(bounded.client);
    await bounded.write();
    assert.deepEqual(bounded.outcomes.map((o) => [o.type, o.samples]), [['dropped', 8], ['written', 8]]);
    const none = setup(values, { maxRefusalSplits: 0 });
    refuseNegative(none.client);
    await none.write();
    assert.deepEqual(none.outcomes.map((o) => [o.type, o.reason, o.samples]), [['dropped', 'non-retryable', 16]]);
    assert.equal(none.client.requests.length, 1);
  });

  it('does not halve other refusals (413), nor at all with maxRefusalSplits 0', async () => {
    const tooLarge = setup([1, 2, 3, 4]);
    tooLarge.client.script.push({ result: status(413, 'too large') });
    await tooLarge.write();
    assert.deepEqual(tooLarge.outcomes.map((o) => [o.type, o.reason, o.samples, o.status]), [['dropped', 'non-retryable', 4, 413]]);
    const failing = setup([1, 2, 3, 4], { onNonRetryable: 'fail', maxRefusalSplits: 0 });
    failing.client.script.push({ result: status(400, 'nope') });
    const error = await failing.write();
    assert.ok(error instanceof RemoteWriteError && error.status === 400 && error.samples === 4);
    assert.equal(failing.outcomes.length, 1, 'the outcome comes before the error');
  });

  it("halves under onNonRetryable 'fail' too, then fails on the refused sample with the rest unsettled", async () => {
    const failing = setup([1, 2, 3, 4], { onNonRetryable: 'fail' });
    // Whole batch refused; first half written; second half halved unsent; its first sample refused.
    failing.client.script.push({ result: status(400, 'nope') }, { result: written }, { result: status(400, 'nope') });
    const error = await failing.write();
    assert.ok(error instanceof RemoteWriteError && error.status === 400 && error.samples === 1);
    assert.deepEqual(failing.outcomes.map((o) => [o.type, o.reason ?? '', o.samples]), [['written', '', 2], ['dropped', 'non-retryable', 1]]);
    assert.equal(failing.client.requests.length, 3);
  });

  it('at the retry limit: discard, or fail with the rest of the batch left unsettled', async () => {
    const discarding = setup([1, 2]);
    discarding.client.script.push({ result: { kind: 'network-error', message: 'ECONNREFUSED', code: 'ECONNREFUSED', attempts: 5 } });
    assert.equal(await discarding.write(), undefined);
    assert.deepEqual(discarding.outcomes.map((o) => [o.reason, o.samples, o.attempts]), [['max-retries', 2, 5]]);
    // A half fails under 'fail': the other half stays unsettled for the sink to account for.
    const failing = setup(Array.from({ length: 8 }, (_, i) => (i === 1 ? -1 : i)), { onMaxRetriesExceeded: 'fail' });
    failing.client.script.push({ result: status(400) }, { result: status(503, 'busy', 3) });
    const error = await failing.write();
    assert.ok(error instanceof RemoteWriteError && error.status === 503);
    assert.deepEqual(failing.outcomes.map((o) => [o.reason, o.samples]), [['max-retries', 4]]);
    assert.equal(failing.batch.settled, 4);
    assert.equal(failing.metrics.snapshot().samplesPending, 4);
  });

  it('a client that throws is a network error, not a crash', async () => {
    const { client, outcomes, write } = setup([1]);
    client.script.push({ throws: 'broken client' });
    await write();
    assert.deepEqual(outcomes.map((o) => [o.reason, o.message]), [['max-retries', 'client failed: broken client after 1 attempts; request discarded']]);
  });

  it('once aborted: no outcome, no counter touched, the request out of flight at once', async () => {
    const { metrics, client, batch, outcomes, write } = setup([1, 2, 3]);
    client.fallback = { hang: true };
    const abort = new AbortController();
    const done = write(abort.signal);
    assert.equal(metrics.requestsInFlight, 1);
    abort.abort();
    assert.equal(metrics.requestsInFlight, 0);
    assert.equal(await done, undefined);
    assert.deepEqual(outcomes, []);
    assert.equal(batch.settled, 0);
    assert.equal(metrics.samplesPending, 3);
    assert.equal(client.aborted, 1);
  });
  it('after a restart without a spool, refusals as already stored are halved past the budget: no never-stored batch-mate is lost', async () => {
    // Regenerated windows the receiver already holds lead the batch (negative here), then new ones.
    const values = Array.from({ length: 96 }, (_, i) => (i < 60 ? -(i + 1) : i));
    const restarted = setup(values, { regeneratedMayBeStored: true });
    refuseNegative(restarted.client);
    assert.equal(await restarted.write(), undefined);
    const writtenValues = (run: typeof restarted): number[] =>
      run.client.requests.flatMap((r, i) => ('result' in r.answer && r.answer.result === written ? valuesOf(run.client, i) : []));
    assert.deepEqual(writtenValues(restarted), values.filter((v) => v >= 0));
    const dropped = restarted.outcomes.filter((o) => o.type === 'dropped');
    assert.deepEqual(dropped.map((o) => o.samples), Array.from({ length: 60 }, () => 1), 'each refused sample dropped alone');
    assert.deepEqual(dropped.map((o) => o.sample?.value), values.slice(0, 60));
    assert.equal(restarted.metrics.snapshot().samplesDroppedTotal, 60);
    // The same batch under the budget alone: it runs out and drops pieces holding new samples whole.
    const budgeted = setup(values);
    refuseNegative(budgeted.client);
    assert.equal(await budgeted.write(), undefined);
    assert.ok(budgeted.metrics.snapshot().samplesDroppedTotal > 60, 'the budget alone loses never-stored samples');
    // Another refusal is still bounded by the budget when restarted.
    const other = setup(values, { regeneratedMayBeStored: true });
    other.client.decide = (request) => (request.timeseries.some((ts) => ts.samples.some((s) => s.value < 0)) ? { result: status(400, 'invalid labels') } : { result: written });
    assert.equal(await other.write(), undefined);
    assert.equal(other.metrics.snapshot().requestsSplit, 32);
  });
  it('a spooled batch: its progress hook is awaited before each piece (never the whole batch), and from the first halving the bounds index the columns in the body order', async () => {
    // Series round-robin: the body groups them, [s0: 0 3 6 | s1: 1 4 7 | s2: 2 5].
    const values = [0, 1, 2, 3, 4, -5, 6, 7];
    const { client, batch, outcomes, write } = setup(values);
    refuseNegative(client);
    const inBodyOrder = [0, 3, 6, 1, 4, 7, 2, 5].map((i) => ({ series: series[i % 3], value: values[i], timestamp: 1000 + i }));
    batch.inBodyOrder = () => columnsOf(inBodyOrder);
    const told: Array<{ start: number; end: number; requestsBefore: number }> = [];
    batch.beforePiece = async (start, end) => {
      told.push({ start, end, requestsBefore: client.requests.length });
      // Held for a turn: the piece must not go before the hook resolves.
      await new Promise<void>((resolve) => setImmediate(resolve));
      assert.equal(client.requests.length, told[told.length - 1]!.requestsBefore, 'nothing sent while the hook is pending');
    };
    assert.equal(await write(), undefined);
    assert.equal(told.length, client.requests.length - 1, 'every request but the whole batch was told first');
    told.forEach(({ start, end, requestsBefore }, i) => {
      assert.equal(requestsBefore, i + 1);
      const sent = client.requests[i + 1]!.request.timeseries.flatMap((ts) => ts.samples.map((sample) => sample.value)).sort((x, y) => x - y);
      assert.deepEqual(sent, inBodyOrder.slice(start, end).map((sample) => sample.value).sort((x, y) => x - y), `piece ${i} [${start}, ${end})`);
    });
    assert.equal(outcomes.filter((o) => o.type === 'dropped').map((o) => o.sample?.value).join(), '-5');
    assert.equal(batch.settled, 8);
  });

  it('a replayed batch left sent in part: it resumes at its settled samples, the piece that may be stored alone first; refused as already stored, that piece alone is settled as replayed', async () => {
    const { client, writer } = setup([]);
    const columns = columnsOf([0, 1, 2, 3, 4, 5, 6, 7].map((i) => ({ series: series[0], value: i, timestamp: 1000 + i })));
    const batch: LaneBatch = { columns, request: writer.encode(columns), settled: 2, replayed: true, mayBeStoredThrough: 5 };
    client.script.push({ result: status(400, 'out of order sample') });
    const outcomes: WriteOutcome[] = [];
    assert.equal(await writer.write(batch, new AbortController().signal, (o) => outcomes.push(o)), undefined);
    assert.deepEqual(client.requests.map((r) => r.request.timeseries.flatMap((ts) => ts.samples.map((sample) => sample.value))), [[2, 3, 4], [5, 6, 7]]);
    assert.deepEqual(outcomes.map((o) => [o.type, o.reason, o.samples]), [['dropped', 'replayed', 3], ['written', undefined, 3]]);
    assert.equal(batch.settled, 8);
  });
});
