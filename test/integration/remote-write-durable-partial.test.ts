/**
 * A spooled batch sent in part, against a real Prometheus: a batch holding one sample Prometheus
 * refuses (`out of bounds`) is halved; the run ends with a piece stored by Prometheus whose answer
 * never came (as when a gateway dies between the write and its acknowledgement). The next start
 * over the same spool sends the unsettled part only, the piece in flight alone first: Prometheus
 * refuses that piece as already stored and takes the rest, so it ends up holding every sample but
 * the refused one exactly once. Sent whole, the replay would be refused as a whole and the
 * never-stored samples settled as 'replayed' without being stored.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { from, lastValueFrom, Subject, toArray } from 'rxjs';
import { remoteWrite } from '../../operators/remote-write.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Sample } from '../../src/core/model.js';
import type { WriteAbortSignal, WriteClient, WriteResult } from '../../src/remote-write/http/write-client.js';
import { startPrometheus, unavailable, type TsdbServer } from '../harness/servers.js';
import { until } from '../harness/until.js';

const METRIC = 'rxprom_partial_ack';
const SERIES = 4;
const STEPS = 10;
/** Forwards every request to the receiver; answers the first `answered`, withholds the answer of the next (stored, unacknowledged), hangs on later ones. */
class DyingClient implements WriteClient {
  requests = 0;
  storedUnanswered = false;
  constructor(
    private readonly url: string,
    private readonly answered: number,
  ) {}

  async send(body: Uint8Array, signal: WriteAbortSignal): Promise<WriteResult> {
    const n = ++this.requests;
    if (n <= this.answered + 1) {
      const response = await fetch(this.url, { method: 'POST', body, headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' } });
      const text = await response.text();
      if (n <= this.answered) return { kind: 'response', status: response.status, body: text, attempts: 1 };
      this.storedUnanswered = response.status < 300;
    }
    return new Promise<WriteResult>((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
  }
}

describe('remoteWrite: a spooled batch sent in part, against Prometheus', { skip: unavailable('prometheus') }, () => {
  let server: TsdbServer;
  let directory: string;
  let teardown = (): void => {};
  before(async () => {
    server = await startPrometheus();
    directory = await mkdtemp(join(tmpdir(), 'rxprom-partial-ack-'));
  });
  after(async () => {
    teardown();
    await server?.stop();
    await rm(directory, { recursive: true, force: true });
  });

  it('the restart sends only the unsettled samples: Prometheus stores each sample sent once, the refused one not at all', { timeout: 120_000 }, async () => {
    const base = Math.floor((Date.now() - 20 * 60_000) / 1000) * 1000;
    // Something newer stored first: Prometheus refuses a sample more than an hour older than its head as out of bounds.
    await lastValueFrom(from([{ labels: { __name__: `${METRIC}_head` }, value: 1, timestamp: base + 60_000 }]).pipe(remoteWrite({ url: server.writeUrl, logger: silentLogger }), toArray()));
    const input: Sample[] = [];
    for (let s = 0; s < SERIES; s++) for (let step = 0; step < STEPS; step++) input.push({ labels: { __name__: METRIC, series: String(s) }, value: step * 10 + s, timestamp: base + step * 1000 });
    const poison: Sample = { labels: { __name__: METRIC, series: 'poison' }, value: -1, timestamp: base - 3 * 3_600_000 };
    const batch = input.length + 1;

    // Run 1: the batch is refused for the poison; [0,21) written and answered; [21,41) holds the
    // poison, so it is halved unsent and [21,31) goes: stored, its answer never comes.
    const client1 = new DyingClient(server.writeUrl, 2);
    const sink1 = remoteWrite({ url: server.writeUrl, client: client1, logger: silentLogger, shards: 1, maxSamplesPerRequest: batch, spool: { directory } });
    const source = new Subject<Sample>();
    const subscription = source.pipe(sink1).subscribe();
    teardown = () => subscription.unsubscribe();
    for (const sample of [...input, poison]) source.next(sample);
    await until(() => client1.storedUnanswered, 'a piece stored by Prometheus without an answer', 30_000);
    subscription.unsubscribe();
    await until(() => sink1.metrics.snapshot().samplesPending === 0, 'run 1 accounted for', 30_000);
    const run1 = sink1.metrics.snapshot();
    assert.equal(run1.samplesWritten, 21);
    assert.equal(run1.samplesDropped.spooled, 20);

    // Run 2: the real client, the same spool, nothing new.
    const sink2 = remoteWrite({ url: server.writeUrl, logger: silentLogger, shards: 1, maxSamplesPerRequest: batch, spool: { directory } });
    await lastValueFrom(from([] as Sample[]).pipe(sink2, toArray()));
    const run2 = sink2.metrics.snapshot();
    assert.equal(run2.samplesReplayed, 20, 'what run 1 spooled, not the whole batch');
    assert.equal(run2.samplesReplayedDropped.replayed, 10, 'the piece Prometheus stored without answering, refused as already stored');
    assert.equal(run2.samplesReplayedDropped['non-retryable'], 1, 'the poison, refused alone');
    assert.equal(run2.samplesReplayedWritten, 9);

    // What Prometheus holds: every sample but the poison, once.
    const stored = await server.readSeries(METRIC, base - 4 * 3_600_000, base + STEPS * 1000);
    const count = stored.reduce((n, series) => n + series.samples.length, 0);
    assert.equal(count, input.length, 'stored = sent once (every sample but the refused one)');
    assert.equal(stored.length, SERIES);
    for (const series of stored) {
      const s = Number(series.labels['series']);
      assert.deepEqual(series.samples, Array.from({ length: STEPS }, (_, step): [number, number] => [base + step * 1000, step * 10 + s]), `series ${s}`);
    }
  });
});
