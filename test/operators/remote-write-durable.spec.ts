import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { concat, from, lastValueFrom, Subject, throwError, toArray } from 'rxjs';
import { remoteWrite } from '../../operators/remote-write.js';
import { silentLogger } from '../../src/core/logger.js';
import { ConfigError } from '../../src/core/errors.js';
import type { Sample, WriteOutcome } from '../../src/core/model.js';
import { DiskSpool } from '../../src/durable/spool.js';
import { PipelineState, type StageSnapshots } from '../../src/durable/pipeline-state.js';
import type { RemoteWriteMetricsSnapshot } from '../../src/remote-write/metrics.js';
import type { RemoteWriteState } from '../../src/remote-write/sink-state.js';
import type { WriteClient, WriteResult } from '../../src/remote-write/http/write-client.js';
import { ScriptedClient, status } from '../remote-write/scripted-client.js';
import { until } from '../harness/until.js';

let root: string;
let counter = 0;
const freshDir = (): string => join(root, `case-${++counter}`);
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rxprom-sink-durable-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const URL = 'http://127.0.0.1:9/api/v1/write';
const T0 = 1_700_000_000_000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** `n` samples over 10 series, one millisecond apart. */
const input = (n: number, from = 0): Sample[] => Array.from({ length: n }, (_, i) => ({ labels: { __name__: 'm', s: String((from + i) % 10) }, value: from + i, timestamp: T0 + from + i }));

/** Every sample the client got answered 2xx, as `series@timestamp` → times seen. */
function writtenKeys(...clients: ScriptedClient[]): Map<string, number> {
  const seen = new Map<string, number>();
  for (const client of clients) {
    for (const r of client.requests) {
      if (!('result' in r.answer) || r.answer.result.kind !== 'response' || r.answer.result.status >= 300) continue;
      for (const ts of r.request.timeseries) {
        const s = ts.labels.find((l) => l.name === 's')!.value;
        for (const sample of ts.samples) seen.set(`${s}@${Number(sample.timestamp)}`, (seen.get(`${s}@${Number(sample.timestamp)}`) ?? 0) + 1);
      }
    }
  }
  return seen;
}

/** Per series, the timestamps in the order the receiver accepted them. */
function acceptedOrder(...clients: ScriptedClient[]): Map<string, number[]> {
  const order = new Map<string, number[]>();
  for (const client of clients) {
    for (const r of client.requests) {
      if (!('result' in r.answer) || r.answer.result.kind !== 'response' || r.answer.result.status >= 300) continue;
      for (const ts of r.request.timeseries) {
        const s = ts.labels.find((l) => l.name === 's')!.value;
        const list = order.get(s) ?? [];
        for (const sample of ts.samples) list.push(Number(sample.timestamp));
        order.set(s, list);
      }
    }
  }
  return order;
}

function assertBalanced(m: RemoteWriteMetricsSnapshot): void {
  assert.equal(m.samplesIn, m.samplesWritten + m.samplesDroppedTotal + m.samplesPending, 'samplesIn = written + dropped + pending');
  const replayedDropped = Object.values(m.samplesReplayedDropped).reduce((n, v) => n + v, 0);
  assert.equal(m.samplesReplayed, m.samplesReplayedWritten + replayedDropped + m.samplesReplayedPending, 'samplesReplayed = written + dropped + pending');
}

/** A first run whose receiver answers `answered` requests and then stops answering; unsubscribed after `n` samples. */
async function crashedRun(directory: string, n: number, answered: number, state?: PipelineState, checkpointAfter?: number): Promise<{ client: ScriptedClient; snapshot?: StageSnapshots; metrics: RemoteWriteMetricsSnapshot }> {
  const client = new ScriptedClient(...Array.from({ length: answered }, () => ({ result: status(204) })));
  client.fallback = { hang: true };
  const sink = remoteWrite({ url: URL, client, logger: silentLogger, maxSamplesPerRequest: 100, shards: 2, spool: { directory, memoryBatches: 2 }, ...(state ? { state: state.slot<RemoteWriteState>('sink') } : {}) });
  const source = new Subject<Sample>();
  const subscription = source.pipe(sink).subscribe();
  const samples = input(n);
  let snapshot: StageSnapshots | undefined;
  for (let i = 0; i < samples.length; i++) {
    source.next(samples[i]!);
    if (state && checkpointAfter === i + 1) {
      await sleep(50);
      snapshot = state.snapshot();
      await state.flush();
      state.checkpointed(snapshot);
    }
  }
  // Every lane has a request the receiver does not answer.
  await until(() => client.requests.length >= answered + 2, 'the unanswered requests');
  await sleep(20);
  subscription.unsubscribe();
  await sleep(100); // the spool closes
  return { client, ...(snapshot ? { snapshot } : {}), metrics: sink.metrics.snapshot() };
}

describe('remoteWrite with a spool', () => {
  it('appends each batch to the spool before sending it, and acknowledges it once written', async () => {
    const directory = freshDir();
    const sizesAtSend: number[] = [];
    const client: WriteClient = {
      send: async (): Promise<WriteResult> => {
        let bytes = 0;
        for (const lane of await readdir(directory)) for (const file of await readdir(join(directory, lane))) if (file.endsWith('.seg')) bytes += (await stat(join(directory, lane, file))).size;
        sizesAtSend.push(bytes);
        return status(204);
      },
    };
    const sink = remoteWrite({ url: URL, client, logger: silentLogger, maxSamplesPerRequest: 100, shards: 1, spool: { directory } });
    const outcomes = await lastValueFrom(from(input(500)).pipe(sink, toArray()));
    assert.equal(outcomes.filter((o) => o.type === 'written').reduce((n, o) => n + o.samples, 0), 500);
    assert.equal(sizesAtSend.length, 5);
    assert.ok(sizesAtSend.every((bytes) => bytes > 0), `spool bytes at each send: ${sizesAtSend.join(', ')}`);
    const reopened = await DiskSpool.open({ directory });
    assert.equal(reopened.pending(), 0, 'every written batch acknowledged');
    await reopened.close();
    assertBalanced(sink.metrics.snapshot());
  });

  it("leaves what is unwritten in the spool as 'spooled' (not lost); the next start sends it first, in order, exactly once", async () => {
    const directory = freshDir();
    const first = await crashedRun(directory, 2000, 3);
    assert.equal(first.metrics.samplesWritten, 300);
    assert.equal(first.metrics.samplesDropped.spooled, 1700);
    assert.equal(first.metrics.samplesLostTotal, 0);
    assertBalanced(first.metrics);

    const client = new ScriptedClient();
    const sink = remoteWrite({ url: URL, client, logger: silentLogger, maxSamplesPerRequest: 100, shards: 2, spool: { directory } });
    const outcomes: WriteOutcome[] = await lastValueFrom(from(input(500, 2000)).pipe(sink, toArray()));
    const m = sink.metrics.snapshot();
    assert.equal(m.samplesReplayed, 1700);
    assert.equal(m.samplesReplayedWritten, 1700);
    assert.equal(m.samplesWritten, 500);
    assert.equal(outcomes.reduce((n, o) => n + o.samples, 0), 500, 'outcomes are this run’s samples only');
    assertBalanced(m);
    const keys = writtenKeys(first.client, client);
    assert.equal(keys.size, 2500);
    assert.ok([...keys.values()].every((n) => n === 1), 'no sample written twice');
    for (const [series, timestamps] of acceptedOrder(first.client, client)) {
      assert.deepEqual(timestamps, [...timestamps].sort((x, y) => x - y), `series ${series} in order`);
    }
  });

  it('a batch whose written outcome comes just before the end is acknowledged: the next start does not send it again', async () => {
    // The source errors (or the subscriber leaves) from the handler of a written outcome: the
    // batch is settled, but its lane had not yet told the spool when it was abandoned.
    for (const ending of ['source error', 'unsubscribe'] as const) {
      const directory = freshDir();
      const client = new ScriptedClient();
      const sink = remoteWrite({ url: URL, client, logger: silentLogger, maxSamplesPerRequest: 100, shards: 1, spool: { directory } });
      const source = new Subject<Sample>();
      const outcomes: WriteOutcome[] = [];
      let errored: unknown;
      const subscription = source.pipe(sink).subscribe({
        next: (outcome) => {
          outcomes.push(outcome);
          if (outcome.type !== 'written') return;
          if (ending === 'source error') source.error(new Error('the source failed'));
          else subscription.unsubscribe();
        },
        error: (error: unknown) => (errored = error),
      });
      for (const sample of input(100)) source.next(sample);
      await until(() => outcomes.length > 0 && (ending === 'unsubscribe' || errored !== undefined), `the written outcome (${ending})`);
      await sleep(100); // the spool closes
      const first = sink.metrics.snapshot();
      assert.equal(first.samplesWritten, 100, ending);
      assert.equal(first.samplesDropped.spooled, 0, ending);
      assertBalanced(first);

      const again = new ScriptedClient();
      const next = remoteWrite({ url: URL, client: again, logger: silentLogger, maxSamplesPerRequest: 100, shards: 1, spool: { directory } });
      await lastValueFrom(from([] as Sample[]).pipe(next, toArray()));
      const m = next.metrics.snapshot();
      assert.equal(m.samplesReplayed, 0, `${ending}: the spooled of one run are the replayed of the next (0)`);
      assert.equal(again.requests.length, 0, `${ending}: nothing sent twice`);
    }
  });

  it('a spool that cannot be opened: the pipeline errors and each sample is aborted once, none counted as spooled', async () => {
    const blocker = join(root, `file-${++counter}`);
    await writeFile(blocker, 'not a directory');
    const sink = remoteWrite({ url: URL, client: new ScriptedClient(), logger: silentLogger, maxSamplesPerRequest: 10, shards: 1, spool: { directory: join(blocker, 'spool') } });
    const outcomes: WriteOutcome[] = [];
    const error = await new Promise<unknown>((resolve) => from(input(25)).pipe(sink).subscribe({ next: (o) => outcomes.push(o), error: resolve, complete: () => resolve('completed') }));
    assert.match(String(error), /ENOTDIR/);
    await sleep(100); // the appends that were waiting for the spool fail
    assert.deepEqual(outcomes.map((o) => [o.reason, o.samples]), [['aborted', 10], ['aborted', 10], ['aborted', 5]]);
    const m = sink.metrics.snapshot();
    assert.equal(m.samplesDropped.aborted, 25);
    assert.equal(m.samplesDropped.spooled, 0);
    assert.equal(m.samplesLostTotal, 25);
    assertBalanced(m);
  });

  // A batch halved after a 400 that ends with one half written and the other 'spooled': the spool
  // keeps the record's progress, so the next start sends the unwritten half only (sent whole, the
  // written half would go twice, and Prometheus would refuse the whole as already stored).
  it('a spooled batch ended half written: the next start sends only the unwritten half', async () => {
    const directory = freshDir();
    const client = new ScriptedClient({ result: status(400, 'bad sample') }, { result: status(204) });
    client.fallback = { hang: true };
    const sink = remoteWrite({ url: URL, client, logger: silentLogger, maxSamplesPerRequest: 10, shards: 1, spool: { directory } });
    const source = new Subject<Sample>();
    const subscription = source.pipe(sink).subscribe();
    for (const sample of input(10)) source.next(sample);
    await until(() => client.requests.length >= 3, 'the second half in flight');
    subscription.unsubscribe();
    // Every sample accounted for; the next start below opens the spool once this one has closed.
    await until(() => sink.metrics.snapshot().samplesPending === 0, 'the first run accounted for');
    const first = sink.metrics.snapshot();
    assert.equal(first.samplesWritten, 5);
    assert.equal(first.samplesDropped.spooled, 5);

    const again = new ScriptedClient();
    const next = remoteWrite({ url: URL, client: again, logger: silentLogger, maxSamplesPerRequest: 10, shards: 1, spool: { directory } });
    await lastValueFrom(from([] as Sample[]).pipe(next, toArray()));
    assert.equal(next.metrics.snapshot().samplesReplayed, 5, 'the spooled of one run are the replayed of the next');
    const keys = writtenKeys(client, again);
    assert.equal(keys.size, 10);
    assert.ok([...keys.values()].every((n) => n === 1), 'no sample written twice');
  });

  it("a replayed record the receiver answers 400 'out of order sample' was written before the crash: counted as 'replayed', not halved, not lost", async () => {
    const directory = freshDir();
    await crashedRun(directory, 400, 0);
    const client = new ScriptedClient({ result: status(400, 'out of order sample') });
    const sink = remoteWrite({ url: URL, client, logger: silentLogger, maxSamplesPerRequest: 100, shards: 2, spool: { directory } });
    await lastValueFrom(from(input(0)).pipe(sink, toArray()), { defaultValue: [] });
    const m = sink.metrics.snapshot();
    assert.equal(m.samplesReplayed, 400);
    assert.equal(m.samplesReplayedDropped.replayed, 100);
    assert.equal(m.samplesReplayedWritten, 300);
    assert.equal(m.requestsSplit, 0);
    assert.equal(m.samplesReplayedDropped['non-retryable'], 0);
    assert.equal(m.requestsPermanentlyFailed, 0);
    assert.equal(client.requests.length, 4);
    assertBalanced(m);
  });

  it('a 400 for another reason on a replayed record is still halved to isolate the refused sample', async () => {
    const directory = freshDir();
    await crashedRun(directory, 100, 0);
    const client = new ScriptedClient({ result: status(400, 'some other problem') });
    client.decide = (request) => (request.timeseries.some((ts) => ts.samples.some((s) => Number(s.timestamp) === T0 + 37)) ? { result: status(400, 'bad sample') } : { result: status(204) });
    const sink = remoteWrite({ url: URL, client, logger: silentLogger, maxSamplesPerRequest: 100, shards: 2, spool: { directory } });
    await lastValueFrom(from(input(0)).pipe(sink, toArray()), { defaultValue: [] });
    const m = sink.metrics.snapshot();
    assert.ok(m.requestsSplit > 0);
    assert.equal(m.samplesReplayedDropped['non-retryable'], 1);
    assert.equal(m.samplesReplayedWritten, 99);
    assertBalanced(m);
  });

  it("restoring a checkpoint: the samples the pipeline regenerates that were spooled after it are dropped as 'replayed'; everything lands once", async () => {
    const directory = freshDir();
    const state = new PipelineState();
    const first = await crashedRun(directory, 3000, 5, state, 1000);
    const snapshot = first.snapshot!;
    const saved = snapshot['sink'] as RemoteWriteState;
    assert.equal(Object.keys(saved.newest).length, 10);
    assert.ok(saved.spool !== undefined);

    // Restart from the checkpoint: the source replays from sample 1000.
    const restored = new PipelineState(JSON.parse(JSON.stringify(snapshot)) as StageSnapshots);
    const client = new ScriptedClient();
    const sink = remoteWrite({ url: URL, client, logger: silentLogger, maxSamplesPerRequest: 100, shards: 2, spool: { directory }, state: restored.slot<RemoteWriteState>('sink') });
    const outcomes = await lastValueFrom(from(input(3000, 1000)).pipe(sink, toArray()));
    const m = sink.metrics.snapshot();
    assert.equal(m.samplesIn, 3000);
    assert.equal(m.samplesDropped.replayed, 2000, 'samples 1000..2999 were accepted before the crash');
    assert.equal(m.samplesLostTotal, 0);
    assert.equal(outcomes.filter((o) => o.reason === 'replayed').reduce((n, o) => n + o.samples, 0), 2000);
    assertBalanced(m);
    const keys = writtenKeys(first.client, client);
    assert.equal(keys.size, 4000);
    assert.ok([...keys.values()].every((n) => n === 1), 'no sample written twice');
  });

  it('a source that errors while the restored sink still reads its spool: every sample received meanwhile has an outcome before the error', async () => {
    const directory = freshDir();
    const state = new PipelineState();
    const first = await crashedRun(directory, 300, 0, state, 100);
    const restored = new PipelineState(JSON.parse(JSON.stringify(first.snapshot)) as StageSnapshots);
    const sink = remoteWrite({ url: URL, client: new ScriptedClient(), logger: silentLogger, maxSamplesPerRequest: 100, shards: 2, spool: { directory }, state: restored.slot<RemoteWriteState>('sink') });
    const failure = new Error('the source failed');
    const outcomes: WriteOutcome[] = [];
    // Pushed and failed at once: the spool is still being read, so the samples wait to be admitted.
    const error = await new Promise<unknown>((resolve) =>
      concat(from(input(50, 1000)), throwError(() => failure)).pipe(sink).subscribe({ next: (o) => outcomes.push(o), error: resolve, complete: () => resolve('completed') }),
    );
    assert.equal(error, failure);
    assert.equal(outcomes.reduce((n, o) => n + o.samples, 0), 50, 'one outcome per input sample, however the pipeline ends');
    assert.ok(outcomes.every((o) => o.type === 'dropped' && o.reason === 'aborted'), JSON.stringify(outcomes.map((o) => o.reason)));
    const m = sink.metrics.snapshot();
    assert.equal(m.samplesIn, 50);
    assert.equal(m.samplesDropped.aborted, 50);
    assertBalanced(m);
  });

  it("a checkpoint taken while the source still regenerates carries the replay marks: a second restart still drops those samples as 'replayed'", async () => {
    const directory = freshDir();
    const first = await crashedRun(directory, 3000, 5, new PipelineState(), 1000);
    // Second run: restored, regenerates 1000..1499 only, checkpoints, then "crashes".
    const second = new PipelineState(JSON.parse(JSON.stringify(first.snapshot)) as StageSnapshots);
    const client2 = new ScriptedClient();
    const sink2 = remoteWrite({ url: URL, client: client2, logger: silentLogger, maxSamplesPerRequest: 100, shards: 2, spool: { directory }, state: second.slot<RemoteWriteState>('sink') });
    const source2 = new Subject<Sample>();
    const subscription2 = source2.pipe(sink2).subscribe();
    for (const sample of input(500, 1000)) source2.next(sample);
    await until(() => sink2.metrics.snapshot().samplesDropped.replayed === 500, 'the regenerated samples');
    const snapshot2 = second.snapshot();
    await second.flush();
    second.checkpointed(snapshot2);
    const saved = snapshot2['sink'] as RemoteWriteState;
    assert.equal(Object.keys(saved.replayed ?? {}).length, 10, 'the marks go along');
    subscription2.unsubscribe();
    await sleep(100);

    const third = new PipelineState(JSON.parse(JSON.stringify(snapshot2)) as StageSnapshots);
    const client3 = new ScriptedClient();
    const sink3 = remoteWrite({ url: URL, client: client3, logger: silentLogger, maxSamplesPerRequest: 100, shards: 2, spool: { directory }, state: third.slot<RemoteWriteState>('sink') });
    await lastValueFrom(from(input(2500, 1500)).pipe(sink3, toArray()));
    const m = sink3.metrics.snapshot();
    assert.equal(m.samplesDropped.replayed, 1500, 'samples 1500..2999 were accepted before the first crash');
    assert.equal(m.samplesDropped['out-of-order'] + m.samplesDropped.duplicate, 0);
    assert.equal(m.samplesWritten, 1000);
    const keys = writtenKeys(first.client, client2, client3);
    assert.equal(keys.size, 4000);
    assert.ok([...keys.values()].every((n) => n === 1), 'no sample written twice');
  });

  it("a checkpoint taken while the restored sink still reads its spool keeps the restored positions: a restart from it still drops the regenerated samples as 'replayed'", async () => {
    const directory = freshDir();
    const first = await crashedRun(directory, 3000, 5, new PipelineState(), 1000);
    const restoredPositions = (first.snapshot!['sink'] as RemoteWriteState).spool!;
    // Second run: restored, checkpointed while the spool is still being read (pressure is on until
    // it is: a snapshot at every turn of the event loop, so some fall after the spool has opened), then "crashes".
    const second = new PipelineState(JSON.parse(JSON.stringify(first.snapshot)) as StageSnapshots);
    const client2 = new ScriptedClient();
    const sink2 = remoteWrite({ url: URL, client: client2, logger: silentLogger, maxSamplesPerRequest: 100, shards: 2, spool: { directory }, state: second.slot<RemoteWriteState>('sink') });
    let reading = true;
    sink2.pressure.subscribe((on) => (reading = on));
    const subscription2 = new Subject<Sample>().pipe(sink2).subscribe();
    let snapshot2 = second.snapshot();
    let snapshots = 0;
    while (reading) {
      const taken = second.snapshot();
      snapshots++;
      snapshot2 = taken;
      if (JSON.stringify((taken['sink'] as RemoteWriteState).spool) !== JSON.stringify(restoredPositions)) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    try {
      assert.ok(snapshots > 1, `several snapshots while the spool was read (${snapshots})`);
      assert.deepEqual((snapshot2['sink'] as RemoteWriteState).spool, restoredPositions, 'the positions the spool is still being read from');
      await second.flush();
      second.checkpointed(snapshot2);
    } finally {
      subscription2.unsubscribe();
      await sleep(100);
    }

    // Third run, from the second run's checkpoint: the source replays from sample 1000 again.
    const third = new PipelineState(JSON.parse(JSON.stringify(snapshot2)) as StageSnapshots);
    const client3 = new ScriptedClient();
    const sink3 = remoteWrite({ url: URL, client: client3, logger: silentLogger, maxSamplesPerRequest: 100, shards: 2, spool: { directory }, state: third.slot<RemoteWriteState>('sink') });
    await lastValueFrom(from(input(3000, 1000)).pipe(sink3, toArray()));
    const m = sink3.metrics.snapshot();
    assert.equal(m.samplesDropped.replayed, 2000, 'samples 1000..2999 were accepted before the first crash');
    assert.equal(m.samplesWritten, 1000);
    assert.equal(m.samplesLostTotal, 0);
    const keys = writtenKeys(first.client, client2, client3);
    assert.equal(keys.size, 4000);
    assert.ok([...keys.values()].every((n) => n === 1), 'no sample written twice');
  });

  it('a checkpoint fails while a batch cut before it could not be appended to the spool (it lives only in memory), and succeeds once that batch is written', async () => {
    // The checkpoint's source position is past those samples: saved while they were only in
    // memory, a crash before they are written would lose them without a word.
    const directory = freshDir();
    const state = new PipelineState();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const client: WriteClient = { send: async (): Promise<WriteResult> => (await gate, status(204)) };
    const sink = remoteWrite({ url: URL, client, logger: silentLogger, maxSamplesPerRequest: 100, shards: 1, spool: { directory, segmentBytes: 64 }, state: state.slot<RemoteWriteState>('sink') });
    const source = new Subject<Sample>();
    const subscription = source.pipe(sink).subscribe();
    input(100).forEach((sample) => source.next(sample));
    await until(() => sink.metrics.snapshot().requestsInFlight > 0, 'the first batch sent');
    try {
      // The next batch needs a new segment (segmentBytes 64), and its file cannot be created (as on a full or failing disk).
      await mkdir(join(directory, '0', '0000000000000001.seg'));
      input(100, 100).forEach((sample) => source.next(sample));
      state.snapshot();
      await assert.rejects(state.flush(), /100 samples .* not in the spool/);
      release();
      await until(() => sink.metrics.snapshot().samplesWritten === 200, 'both batches written from memory');
      state.snapshot();
      await state.flush();
    } finally {
      release();
      subscription.unsubscribe();
    }
  });

  it("'drop-oldest' counts what it drops as 'overflow' and the accounting still adds up", async () => {
    const directory = freshDir();
    const client = new ScriptedClient();
    client.fallback = { hang: true };
    const sink = remoteWrite({ url: URL, client, logger: silentLogger, maxSamplesPerRequest: 50, shards: 1, spool: { directory, whenFull: 'drop-oldest', segmentBytes: 2048, maxBytes: 8192, memoryBatches: 1 } });
    const source = new Subject<Sample>();
    const outcomes: WriteOutcome[] = [];
    const subscription = source.pipe(sink).subscribe((o) => outcomes.push(o));
    for (const sample of input(5000)) source.next(sample);
    await sleep(200);
    // The receiver comes back: what is still on disk is sent, what was dropped is counted.
    client.fallback = { result: status(204) };
    subscription.unsubscribe();
    // The spool closes after the teardown: appends still queued are written (and may drop older
    // records, which moves their samples from 'spooled' to 'overflow'). The next sink over the
    // directory opens it only once that is done.
    const client2 = new ScriptedClient();
    const sink2 = remoteWrite({ url: URL, client: client2, logger: silentLogger, maxSamplesPerRequest: 50, shards: 1, spool: { directory, whenFull: 'drop-oldest', segmentBytes: 2048, maxBytes: 8192 } });
    await lastValueFrom(from(input(0)).pipe(sink2, toArray()), { defaultValue: [] });
    const m = sink.metrics.snapshot();
    assertBalanced(m);
    const m2 = sink2.metrics.snapshot();
    assertBalanced(m2);
    assert.ok(m2.samplesReplayed > 0 && m2.samplesReplayed < 5000, `replayed ${m2.samplesReplayed}`);
    assert.equal(m2.samplesReplayed, m.samplesDropped.spooled, "what the first run counted as 'spooled' is exactly what the next one replays");
    // Across both runs: nothing unaccounted for (dropped by the spool before the first run ended, or replayed).
    assert.equal(m.samplesDropped.overflow + m.samplesDropped.spooled + m.samplesDropped.aborted, 5000);
    assert.ok(m.samplesDropped.overflow > 0, 'drop-oldest dropped some');
  });

  it('a spool written by a sink with more shards is replayed in full by one with fewer', async () => {
    const directory = freshDir();
    const client = new ScriptedClient();
    client.fallback = { hang: true };
    const sink = remoteWrite({ url: URL, client, logger: silentLogger, maxSamplesPerRequest: 50, shards: 4, spool: { directory } });
    const subscription = from(input(1000)).pipe(sink).subscribe();
    await until(() => client.requests.length >= 4, 'a request per lane');
    subscription.unsubscribe();
    await sleep(100);
    assert.equal(sink.metrics.snapshot().samplesDropped.spooled, 1000);
    const client2 = new ScriptedClient();
    const sink2 = remoteWrite({ url: URL, client: client2, logger: silentLogger, maxSamplesPerRequest: 50, shards: 2, spool: { directory } });
    await lastValueFrom(from(input(0)).pipe(sink2, toArray()), { defaultValue: [] });
    const m = sink2.metrics.snapshot();
    assert.equal(m.samplesReplayedWritten, 1000);
    assert.equal(writtenKeys(client2).size, 1000);
    for (const [series, timestamps] of acceptedOrder(client2)) assert.deepEqual(timestamps, [...timestamps].sort((x, y) => x - y), `series ${series} in order`);
  });

  it('with a spool, retries do not run out by default: an outage is waited out', async () => {
    const directory = freshDir();
    const { resolveRemoteWriteOptions } = await import('../../src/remote-write/options.js');
    assert.equal(resolveRemoteWriteOptions({ url: URL, spool: { directory } }).retry.maxRetries, 1_000_000);
    assert.equal(resolveRemoteWriteOptions({ url: URL, spool: { directory }, retry: { maxRetries: 5 } }).retry.maxRetries, 5);
    assert.equal(resolveRemoteWriteOptions({ url: URL }).retry.maxRetries, 100);
  });
});

describe('remoteWrite pressure', () => {
  /** A client whose answers the test gives by hand. */
  function manualClient() {
    const waiting: Array<(result: WriteResult) => void> = [];
    const client: WriteClient = { send: () => new Promise<WriteResult>((resolve) => waiting.push(resolve)) };
    return { client, answer: async (): Promise<void> => {
      while (waiting.length === 0) await sleep(5);
      waiting.shift()!(status(204));
      await sleep(5);
    } };
  }

  it('turns true at the high water mark and false again only at the low one; replays its value on subscribe', async () => {
    const { client, answer } = manualClient();
    const sink = remoteWrite({ url: URL, client, logger: silentLogger, maxSamplesPerRequest: 5, shards: 1, maxDelayMs: 0, backpressure: { highWaterMark: 10, lowWaterMark: 4 } });
    const seen: boolean[] = [];
    sink.pressure.subscribe((value) => seen.push(value));
    assert.deepEqual(seen, [false]);
    const source = new Subject<Sample>();
    const done = lastValueFrom(source.pipe(sink, toArray()));
    for (const sample of input(9)) source.next(sample);
    assert.deepEqual(seen, [false]);
    source.next(input(1, 9)[0]!);
    assert.deepEqual(seen, [false, true], 'true at 10 held');
    await answer(); // 5 held: between the marks
    assert.deepEqual(seen, [false, true]);
    await answer(); // 0 held
    assert.deepEqual(seen, [false, true, false]);
    const late: boolean[] = [];
    sink.pressure.subscribe((value) => late.push(value)).unsubscribe();
    assert.deepEqual(late, [false]);
    source.complete();
    await done;
  });

  it("with a spool and 'block': a full spool holds batches in memory, which raises pressure until the receiver frees space", async () => {
    const directory = freshDir();
    const { client, answer } = manualClient();
    const sink = remoteWrite({
      url: URL,
      client,
      logger: silentLogger,
      maxSamplesPerRequest: 10,
      shards: 1,
      maxDelayMs: 0,
      spool: { directory, segmentBytes: 256, maxBytes: 512 },
      backpressure: { highWaterMark: 40, lowWaterMark: 10 },
    });
    const seen: boolean[] = [];
    sink.pressure.subscribe((value) => seen.push(value));
    const source = new Subject<Sample>();
    const done = lastValueFrom(source.pipe(sink, toArray()));
    for (const sample of input(100)) source.next(sample);
    await sleep(100);
    assert.deepEqual(seen, [false, true]);
    for (let i = 0; i < 10; i++) await answer();
    await sleep(50);
    assert.deepEqual(seen, [false, true, false]);
    source.complete();
    const outcomes = await done;
    assert.equal(outcomes.filter((o) => o.type === 'written').reduce((n, o) => n + o.samples, 0), 100);
    assertBalanced(sink.metrics.snapshot());
  });
});

describe('remoteWrite state without a spool', () => {
  it('the snapshot carries the unwritten samples; a restore sends them first, counted as replayed', async () => {
    const state = new PipelineState();
    const client = new ScriptedClient({ result: status(204) });
    client.fallback = { hang: true };
    const sink = remoteWrite({ url: URL, client, logger: silentLogger, maxSamplesPerRequest: 100, shards: 1, state: state.slot<RemoteWriteState>('sink') });
    const source = new Subject<Sample>();
    const subscription = source.pipe(sink).subscribe();
    for (const sample of input(350)) source.next(sample);
    await sleep(50);
    const snapshot = state.snapshot();
    const saved = snapshot['sink'] as RemoteWriteState;
    assert.equal(saved.unwritten?.length, 250);
    subscription.unsubscribe();

    const restored = new PipelineState(JSON.parse(JSON.stringify(snapshot)) as StageSnapshots);
    const client2 = new ScriptedClient();
    const sink2 = remoteWrite({ url: URL, client: client2, logger: silentLogger, maxSamplesPerRequest: 100, shards: 1, state: restored.slot<RemoteWriteState>('sink') });
    const outcomes = await lastValueFrom(from([...input(50, 300), ...input(10, 350)]).pipe(sink2, toArray()));
    const m = sink2.metrics.snapshot();
    assert.equal(m.samplesReplayed, 250);
    assert.equal(m.samplesReplayedWritten, 250);
    assert.equal(m.samplesWritten, 10);
    assert.equal(m.samplesDropped['out-of-order'] + m.samplesDropped.duplicate, 50, 'older than the restored guard');
    assert.equal(outcomes.reduce((n, o) => n + o.samples, 0), 60);
    assertBalanced(m);
    const firstRequest = client2.requests[0]!.request.timeseries.flatMap((ts) => ts.samples.map((s) => Number(s.timestamp)));
    assert.equal(Math.min(...firstRequest), T0 + 100, 'the unwritten samples go first');
  });

  it('a state that is not this sink’s errors the stream with a message naming the slot', async () => {
    const state = new PipelineState({ sink: { version: 7 } });
    const sink = remoteWrite({ url: URL, client: new ScriptedClient(), logger: silentLogger, state: state.slot<RemoteWriteState>('sink') });
    await assert.rejects(lastValueFrom(from(input(1)).pipe(sink)), /slot "sink".*version 7/);
  });

  it('options are checked at creation', () => {
    assert.throws(() => remoteWrite({ url: URL, spool: { directory: '' } }), ConfigError);
    assert.throws(() => remoteWrite({ url: URL, spool: { directory: '/tmp/x', whenFull: 'drop-newest' as 'block' } }), /spool.whenFull/);
    assert.throws(() => remoteWrite({ url: URL, spool: { directory: '/tmp/x', memoryBatches: 0 } }), /spool.memoryBatches/);
    assert.throws(() => remoteWrite({ url: URL, backpressure: { highWaterMark: 10, lowWaterMark: 10 } }), /backpressure.lowWaterMark/);
    assert.throws(() => remoteWrite({ url: URL, state: {} as never }), /option "state"/);
  });
  it('a restored sink regenerates what it wrote after the checkpoint: the receiver refuses those alone, never their never-stored batch-mates', async () => {
    // The earlier run wrote samples 0..399 after its checkpoint (whose guard is empty); a
    // Prometheus-like receiver refuses a whole request holding any of them as out of order.
    const restored = new PipelineState({ sink: { version: 1, newest: {}, unwritten: [] } });
    const client = new ScriptedClient();
    client.decide = (request) => (request.timeseries.some((ts) => ts.samples.some((s) => Number(s.timestamp) < T0 + 400)) ? { result: status(400, 'out of order sample') } : { result: status(204) });
    const sink = remoteWrite({ url: URL, client, logger: silentLogger, maxSamplesPerRequest: 1000, shards: 1, state: restored.slot<RemoteWriteState>('sink') });
    await lastValueFrom(from(input(1000)).pipe(sink, toArray()));
    const m = sink.metrics.snapshot();
    assert.equal(m.samplesDropped['non-retryable'], 400, 'only the samples stored before the restart are refused');
    assert.equal(m.samplesWritten, 600);
    const keys = writtenKeys(client);
    assert.deepEqual([...keys.keys()].sort(), input(600, 400).map((s) => `${s.labels['s']}@${s.timestamp}`).sort());
    assertBalanced(m);
  });
});
