/**
 * The durable sink's partial acknowledgement: a spooled batch refused and halved that ends sent in
 * part resumes, at the next start, with exactly its unsettled samples, the piece that may have
 * been stored sent alone first; across stops, halvings of the remainder and kill -9.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { from, lastValueFrom, Subject, toArray } from 'rxjs';
import { remoteWrite } from '../../operators/remote-write.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Sample } from '../../src/core/model.js';
import { startReceiver, type Receiver } from '../../src/testing/receiver/server.js';
import type { DecodedWriteRequest } from '../../src/protocol/reference.js';
import { ScriptedClient, status } from '../remote-write/scripted-client.js';
import { until } from '../harness/until.js';

let root: string;
let counter = 0;
const freshDir = (): string => join(root, `case-${++counter}`);
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rxprom-sink-partial-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const WRITE_URL = 'http://127.0.0.1:9/api/v1/write';
const T0 = 1_700_000_000_000;
/** `n` samples of one series, one millisecond apart: the body holds them in this order (it groups samples by series), so index, timestamp and position agree. */
const input = (n: number): Sample[] => Array.from({ length: n }, (_, i) => ({ labels: { __name__: 'm', s: '0' }, value: i, timestamp: T0 + i }));
const timestamps = (request: DecodedWriteRequest): number[] => request.timeseries.flatMap((ts) => ts.samples.map((s) => Number(s.timestamp) - T0));

/** Every sample the clients got answered 2xx, as its index → times seen. */
function writtenIndexes(...clients: ScriptedClient[]): Map<number, number> {
  const seen = new Map<number, number>();
  for (const client of clients) {
    for (const r of client.requests) {
      if (!('result' in r.answer) || r.answer.result.kind !== 'response' || r.answer.result.status >= 300) continue;
      for (const i of timestamps(r.request)) seen.set(i, (seen.get(i) ?? 0) + 1);
    }
  }
  return seen;
}

describe('remoteWrite with a spool: a batch sent in part', () => {
  it('the remainder halved again by the next start, which ends half way too: the third start sends exactly what is left, the in-flight piece first', async () => {
    const directory = freshDir();
    const options = { url: WRITE_URL, logger: silentLogger, maxSamplesPerRequest: 20, shards: 1, spool: { directory } };

    // Run 1: the batch of 20 is refused, [0,10) written, [10,20) (which holds what was refused) halved unsent, [10,15) never answered.
    const client1 = new ScriptedClient({ result: status(400, 'bad sample') }, { result: status(204) });
    client1.fallback = { hang: true };
    const sink1 = remoteWrite({ ...options, client: client1 });
    const source = new Subject<Sample>();
    const subscription1 = source.pipe(sink1).subscribe();
    for (const sample of input(20)) source.next(sample);
    await until(() => client1.requests.length >= 3, 'the piece [10,15) in flight');
    subscription1.unsubscribe();
    await until(() => sink1.metrics.snapshot().samplesPending === 0, 'the first run accounted for');
    const m1 = sink1.metrics.snapshot();
    assert.equal(m1.samplesWritten, 10);
    assert.equal(m1.samplesDropped.spooled, 10);
    assert.deepEqual(client1.requests.map((r) => timestamps(r.request).length), [20, 10, 5]);

    // Run 2: [10,15) written, [15,20) refused (sample 17) and halved, [15,18) refused, [15,17) never answered.
    const client2 = new ScriptedClient();
    client2.decide = (request) => {
      const sent = timestamps(request);
      if (sent.includes(17)) return { result: status(400, 'bad sample') };
      return sent.includes(15) ? { hang: true } : { result: status(204) };
    };
    const sink2 = remoteWrite({ ...options, client: client2 });
    const subscription2 = new Subject<Sample>().pipe(sink2).subscribe();
    await until(() => client2.requests.length >= 4, 'the piece [15,17) in flight');
    subscription2.unsubscribe();
    await until(() => sink2.metrics.snapshot().samplesReplayedPending === 0, 'the second run accounted for');
    const m2 = sink2.metrics.snapshot();
    const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);
    assert.deepEqual(client2.requests.map((r) => timestamps(r.request)), [range(10, 15), range(15, 20), range(15, 18), range(15, 17)], 'run 2 sends the piece in flight alone, then halves the rest');
    assert.equal(m2.samplesReplayed, 10, 'run 2 replays the 10 run 1 spooled, not 20');
    assert.equal(m2.samplesReplayedWritten, 5);
    assert.equal(m2.samplesReplayedDropped.spooled, 5);

    // Run 3: the piece in flight, [15,17), goes alone first, then [17,20).
    const client3 = new ScriptedClient();
    const sink3 = remoteWrite({ ...options, client: client3 });
    await lastValueFrom(from([] as Sample[]).pipe(sink3, toArray()));
    const m3 = sink3.metrics.snapshot();
    assert.equal(m3.samplesReplayed, 5, 'run 3 replays the 5 run 2 left spooled');
    assert.equal(m3.samplesReplayedWritten, 5);
    assert.deepEqual(client3.requests.map((r) => timestamps(r.request).sort((a, b) => a - b)), [[15, 16], [17, 18, 19]]);
    const written = writtenIndexes(client1, client2, client3);
    assert.equal(written.size, 20, 'every sample written');
    assert.ok([...written.values()].every((n) => n === 1), 'none written twice');

    // Nothing left for a fourth start.
    const client4 = new ScriptedClient();
    const sink4 = remoteWrite({ ...options, client: client4 });
    await lastValueFrom(from([] as Sample[]).pipe(sink4, toArray()));
    assert.equal(sink4.metrics.snapshot().samplesReplayed, 0);
    assert.equal(client4.requests.length, 0);
  });
});

describe('remoteWrite with a spool: a batch sent in part across kill -9 (strict receiver, a refused request stores nothing)', () => {
  const child = fileURLToPath(new URL('./support/partial-ack-child.js', import.meta.url));
  let receiver: Receiver;
  before(async () => {
    receiver = await startReceiver({ mode: 'strict' });
  });
  after(async () => {
    await receiver?.close();
  });

  /** Runs the child until the receiver has stored its request `hangAt` (the answer withheld), then kills it with SIGKILL. */
  const runAndKill = (directory: string, hangAt: number): Promise<string> =>
    new Promise((resolve, reject) => {
      const process_ = spawn(process.execPath, [child, '--url', receiver.url, '--spool', directory, '--hang-at', String(hangAt), '--base', String(T0)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stored = '';
      let stderr = '';
      process_.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      createInterface({ input: process_.stdout }).on('line', (line) => {
        if (!line.startsWith('stored ')) return;
        stored = line;
        process_.kill('SIGKILL');
      });
      process_.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve(stored) : reject(new Error(`child exited with ${code}: ${stderr}`))));
    });

  const expected = (): Array<[string, number, number]> => {
    const all: Array<[string, number, number]> = [];
    for (let s = 0; s < 4; s++) for (let step = 0; step < 5; step++) all.push([String(s), T0 + step * 1000, step * 10 + s]);
    return all;
  };
  const stored = (): Array<[string, number, number]> => receiver.samples().map((sample): [string, number, number] => [sample.labels['series']!, sample.timestamp, sample.value]);

  for (const { hangAt, what, replayed, replayedAsStored } of [
    { hangAt: 2, what: 'the first half stored, its answer lost', replayed: 20, replayedAsStored: 10 },
    // [10,20) holds what was refused: halved unsent, [10,15) is the request stored.
    { hangAt: 3, what: 'the first half answered, the next piece stored and its answer lost', replayed: 10, replayedAsStored: 5 },
  ]) {
    it(`killed with ${what}: the restart stores every sample once (at least once, nothing settled by a refusal it does not cover)`, { timeout: 60_000 }, async () => {
      receiver.reset();
      // The whole batch is refused (stores nothing): the sink halves it.
      receiver.injectFaults([{ status: 400, body: 'bad sample' }]);
      const directory = freshDir();
      const line = await runAndKill(directory, hangAt);
      assert.equal(line, `stored ${hangAt} 204`);
      assert.equal(receiver.samplesStored(), hangAt === 2 ? 10 : 15);

      const sink = remoteWrite({ url: receiver.url, logger: silentLogger, maxSamplesPerRequest: 20, shards: 1, spool: { directory } });
      await lastValueFrom(from([] as Sample[]).pipe(sink, toArray()));
      const m = sink.metrics.snapshot();
      assert.equal(m.samplesReplayed, replayed, 'what the killed run had not settled');
      assert.equal(m.samplesReplayedDropped.replayed, replayedAsStored, 'the piece in flight at the kill, refused as already stored');
      assert.equal(m.samplesReplayedWritten, replayed - replayedAsStored);
      assert.equal(m.samplesLostTotal + m.samplesReplayedDropped['non-retryable'] + m.samplesReplayedDropped.aborted, 0);
      assert.deepEqual(stored().sort(), expected().sort(), 'the receiver holds every sample once');
    });
  }
});
