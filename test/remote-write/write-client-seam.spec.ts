/**
 * The `WriteClient` seam, through `remoteWrite({ client })`: an injected client carries every
 * request (no HTTP at all), its answers drive the outcomes, and the sink closes it once.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { from, lastValueFrom, Subject, toArray } from 'rxjs';
import { remoteWrite } from '../../operators/remote-write.js';
import { ConfigError, RemoteWriteError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Sample } from '../../src/core/model.js';
import type { WriteAbortSignal, WriteClient, WriteResult } from '../../src/remote-write/http/write-client.js';
import { ScriptedClient, status } from './scripted-client.js';

// Nothing listens here: a request that went over HTTP would fail.
const url = 'http://127.0.0.1:1/api/v1/write';
const samples = (n: number): Sample[] => Array.from({ length: n }, (_, i) => ({ labels: { __name__: 'seam', s: String(i % 3) }, value: i, timestamp: 1_700_000_000_000 + i }));

describe('remoteWrite({ client }): the WriteClient seam', () => {
  it('sends every request through the client, and the client answers decide the outcomes', async () => {
    const client = new ScriptedClient({ result: status(204, '', 3) }, { result: status(503, 'busy', 4) }, { result: { kind: 'network-error', message: 'ECONNRESET', code: 'ECONNRESET', attempts: 2 } });
    const sink = remoteWrite({ url, client, shards: 1, maxSamplesPerRequest: 2, maxDelayMs: 5, onMaxRetriesExceeded: 'discard', logger: silentLogger });
    const outcomes = await lastValueFrom(from(samples(8)).pipe(sink, toArray()));
    assert.deepEqual(outcomes.map((o) => [o.type, o.reason, o.samples, o.attempts, o.status]), [
      ['written', undefined, 2, 3, 204],
      ['dropped', 'max-retries', 2, 4, 503],
      ['dropped', 'max-retries', 2, 2, undefined],
      ['written', undefined, 2, 1, 204],
    ]);
    assert.deepEqual(client.requests.map((r) => r.request.timeseries.flatMap((ts) => ts.samples.map((s) => s.value)).sort()), [[0, 1], [2, 3], [4, 5], [6, 7]]);
    assert.equal(client.closed, 1, 'closed once when the subscription ends');
    assert.equal(sink.metrics.snapshot().samplesWritten, 4);
  });

  it('hands the client a signal that aborts when the subscriber unsubscribes, and closes it', async () => {
    const signals: WriteAbortSignal[] = [];
    let closed = 0;
    const client: WriteClient = {
      send: (_body, signal) => {
        signals.push(signal);
        return new Promise<WriteResult>(() => undefined); // never answers, ignores the abort
      },
      close: () => closed++,
    };
    const sink = remoteWrite({ url, client, maxSamplesPerRequest: 1, maxDelayMs: 5, logger: silentLogger });
    const source = new Subject<Sample>();
    const subscription = source.pipe(sink).subscribe();
    source.next(samples(1)[0]);
    assert.equal(signals.length, 1);
    assert.equal(sink.metrics.snapshot().requestsInFlight, 1);
    subscription.unsubscribe();
    assert.equal(signals[0].aborted, true);
    assert.equal(closed, 1);
    // A client that never settles does not keep the request in flight for the sink.
    assert.equal(sink.metrics.snapshot().requestsInFlight, 0);
    assert.equal(sink.metrics.snapshot().samplesDropped.aborted, 1);
  });

  it('a fatal answer from the client fails the pipeline, after the outcome', async () => {
    const client = new ScriptedClient({ result: status(401, 'who are you') });
    const sink = remoteWrite({ url, client, maxDelayMs: 5, logger: silentLogger });
    await assert.rejects(lastValueFrom(from(samples(3)).pipe(sink)), (e: unknown) => e instanceof RemoteWriteError && e.status === 401 && e.responseBody === 'who are you');
    assert.equal(client.closed, 1);
  });

  it('refuses a client without send at creation', () => {
    assert.throws(() => remoteWrite({ url, client: {} as WriteClient }), (e: unknown) => e instanceof ConfigError && /"client" must be an object with a send\(body, signal\) method/.test(e.message));
  });
});
