/**
 * The sink's spool and checkpointed state against a real Prometheus: a first run whose receiver
 * stops answering (one request stored by Prometheus but its answer never delivered, as when a
 * gateway dies between the write and its acknowledgement) is torn down; a second run over the same
 * spool restores the checkpoint and replays its source from the checkpoint's position. Prometheus
 * must end up holding every sample exactly once, in order, with nothing refused.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { from, lastValueFrom, Subject, toArray } from 'rxjs';
import { remoteWrite } from '../../operators/remote-write.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Sample } from '../../src/core/model.js';
import { PipelineState, type StageSnapshots } from '../../src/durable/pipeline-state.js';
import type { RemoteWriteState } from '../../src/remote-write/sink-state.js';
import type { WriteAbortSignal, WriteClient, WriteResult } from '../../src/remote-write/http/write-client.js';
import { startPrometheus, unavailable, type TsdbServer } from '../harness/servers.js';

const METRIC = 'rxprom_spool_crash';
const SERIES = 20;
const STEPS = 300;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Forwards the first `answered` requests to the receiver and returns its answers; forwards the
 * next one too but never returns its answer (stored, unacknowledged); hangs on every later one.
 */
class DyingClient implements WriteClient {
  requests = 0;
  constructor(
    private readonly url: string,
    private readonly answered: number,
  ) {}

  async send(body: Uint8Array, signal: WriteAbortSignal): Promise<WriteResult> {
    const n = ++this.requests;
    if (n <= this.answered + 1) {
      const response = await fetch(this.url, {
        method: 'POST',
        body,
        headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
      });
      const text = await response.text();
      if (n <= this.answered) return { kind: 'response', status: response.status, body: text, attempts: 1 };
    }
    return new Promise<WriteResult>((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
  }
}

describe('remoteWrite spool and checkpoint across a crash, against Prometheus', { skip: unavailable('prometheus') }, () => {
  let server: TsdbServer;
  let directory: string;
  let teardown = (): void => {};
  before(async () => {
    server = await startPrometheus();
    directory = await mkdtemp(join(tmpdir(), 'rxprom-spool-crash-'));
  });
  after(async () => {
    teardown();
    await server?.stop();
    await rm(directory, { recursive: true, force: true });
  });

  it('every sample stored exactly once, in order, none refused; the accounting adds up across both runs', async () => {
    const base = Math.floor((Date.now() - 20 * 60_000) / 1000) * 1000;
    const input: Sample[] = [];
    for (let step = 0; step < STEPS; step++) {
      for (let s = 0; s < SERIES; s++) input.push({ labels: { __name__: METRIC, series: String(s) }, value: step * 100 + s, timestamp: base + step * 1000 });
    }
    const checkpointAt = 2000;
    const crashAt = 4000;

    // Run 1: checkpoint at 2000, the receiver dies after 8 answers, torn down at 4000.
    const state1 = new PipelineState();
    const client1 = new DyingClient(server.writeUrl, 8);
    const sink1 = remoteWrite({ url: server.writeUrl, client: client1, logger: silentLogger, shards: 2, maxSamplesPerRequest: 200, maxDelayMs: 50, spool: { directory, memoryBatches: 2 }, state: state1.slot<RemoteWriteState>('sink') });
    const source = new Subject<Sample>();
    const subscription = source.pipe(sink1).subscribe();
    // A failed assertion must not leave the sink's timers running.
    teardown = () => subscription.unsubscribe();
    let snapshot: StageSnapshots = {};
    for (let i = 0; i < crashAt; i++) {
      source.next(input[i]!);
      if (i + 1 === checkpointAt) {
        snapshot = state1.snapshot();
        await state1.flush();
        state1.checkpointed(snapshot);
      }
      if (i % 500 === 499) await sleep(20);
    }
    // Each lane ends on a request without an answer: 8 answered, one stored but unanswered, one hanging.
    const deadline = Date.now() + 20_000;
    while (client1.requests < 10 && Date.now() < deadline) await sleep(20);
    subscription.unsubscribe();
    assert.ok(client1.requests >= 10, `the receiver "died" (requests: ${client1.requests})`);
    await sleep(200); // the spool closes
    const run1 = sink1.metrics.snapshot();
    assert.equal(run1.samplesIn, crashAt);
    assert.equal(run1.samplesWritten + run1.samplesDropped.spooled, crashAt, 'run 1: written or spooled, nothing lost');
    assert.equal(run1.samplesLostTotal, 0);

    // Run 2: restore the checkpoint, replay the source from its position.
    const state2 = new PipelineState(JSON.parse(JSON.stringify(snapshot)) as StageSnapshots);
    const sink2 = remoteWrite({ url: server.writeUrl, logger: silentLogger, shards: 2, maxSamplesPerRequest: 200, maxDelayMs: 50, spool: { directory }, state: state2.slot<RemoteWriteState>('sink') });
    await lastValueFrom(from(input.slice(checkpointAt)).pipe(sink2, toArray()));
    const run2 = sink2.metrics.snapshot();
    assert.equal(run2.samplesDropped.replayed, crashAt - checkpointAt, 'the regenerated samples were recognised');
    assert.equal(run2.samplesReplayed, run1.samplesDropped.spooled, 'what run 1 spooled is what run 2 replayed');
    assert.equal(run2.samplesLostTotal, 0, JSON.stringify(run2.samplesDropped));
    assert.equal(run2.samplesReplayedDropped['non-retryable'] + run2.samplesReplayedDropped['out-of-order'] + run2.samplesReplayedDropped.aborted, 0, JSON.stringify(run2.samplesReplayedDropped));
    assert.equal(run2.samplesWritten, input.length - crashAt);
    assert.equal(run1.samplesWritten + run2.samplesReplayed + run2.samplesWritten, input.length, 'each sample written once across the runs (by count)');

    // What Prometheus holds: every sample once, in order.
    const stored = await server.readSeries(METRIC, base, base + STEPS * 1000);
    assert.equal(stored.length, SERIES);
    for (const series of stored) {
      const s = Number(series.labels['series']);
      assert.deepEqual(
        series.samples,
        Array.from({ length: STEPS }, (_, step): [number, number] => [base + step * 1000, step * 100 + s]),
        `series ${s}`,
      );
    }
  });
});

describe('remoteWrite spool and checkpoints across kill -9, against Prometheus', { skip: unavailable('prometheus') }, () => {
  let server: TsdbServer;
  let directory: string;
  before(async () => {
    server = await startPrometheus();
    directory = await mkdtemp(join(tmpdir(), 'rxprom-spool-kill-'));
  });
  after(async () => {
    await server?.stop();
    await rm(directory, { recursive: true, force: true });
  });

  it('a sender killed 4 times at random moments and restarted from its checkpoint: every sample stored once, in order, nothing refused in the last run', { timeout: 120_000 }, async () => {
    const series = 20;
    const steps = 400;
    const base = Math.floor((Date.now() - 20 * 60_000) / 1000) * 1000;
    const child = fileURLToPath(new URL('./support/spool-kill-child.js', import.meta.url));
    const args = ['--url', server.writeUrl, '--spool', join(directory, 'spool'), '--state', join(directory, 'state'), '--series', String(series), '--steps', String(steps), '--base', String(base)];
    const run = (kill: boolean): Promise<{ lines: string[]; code: number | null }> =>
      new Promise((resolve) => {
        const process_ = spawn(process.execPath, [child, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
        const lines: string[] = [];
        let killer: NodeJS.Timeout | undefined;
        createInterface({ input: process_.stdout }).on('line', (line) => {
          lines.push(line);
          // Killed at a random moment after its first checkpoint.
          if (kill && killer === undefined && line.startsWith('checkpoint')) killer = setTimeout(() => process_.kill('SIGKILL'), 50 + Math.floor(Math.random() * 300));
        });
        process_.on('exit', (code) => {
          clearTimeout(killer);
          resolve({ lines, code });
        });
      });
    let killed = 0;
    for (let i = 0; i < 4; i++) {
      const result = await run(true);
      if (result.code === 0) break; // finished before the kill
      killed++;
    }
    const last = await run(false);
    assert.equal(last.code, 0, last.lines.join('\n'));
    const done = last.lines.find((line) => line.startsWith('done '));
    const metrics = JSON.parse(done!.slice(5)) as { samplesLostTotal: number; samplesReplayedDropped: Record<string, number> };
    assert.equal(metrics.samplesLostTotal, 0, done);
    assert.equal(metrics.samplesReplayedDropped['non-retryable'] ?? 0, 0, done);
    assert.ok(killed >= 1, 'killed at least once');

    const stored = await server.readSeries('rxprom_spool_kill', base, base + steps * 1000);
    assert.equal(stored.length, series);
    for (const one of stored) {
      const s = Number(one.labels['series']);
      assert.deepEqual(one.samples, Array.from({ length: steps }, (_, step): [number, number] => [base + step * 1000, step * 100 + s]), `series ${s}`);
    }
  });
});
