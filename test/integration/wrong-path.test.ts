/**
 * A wrong write path against a real VictoriaMetrics, which answers it 400 (not 404): rxprom must
 * say so loudly, and fail fast when asked to, instead of discarding every request with a WARN.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { from, lastValueFrom, toArray } from 'rxjs';
import { remoteWrite } from '../../operators/remote-write.js';
import { RemoteWriteError } from '../../src/core/errors.js';
import { silentLogger, type Logger } from '../../src/core/logger.js';
import type { Sample, WriteOutcome } from '../../src/core/model.js';
import { startVictoriaMetrics, unavailable, type TsdbServer } from '../harness/servers.js';

function samples(count: number): Sample[] {
  const start = Date.now() - 60_000;
  return Array.from({ length: count }, (_, i) => ({ labels: { __name__: 'rxprom_wrong_path', n: String(i % 5) }, value: i, timestamp: start + i }));
}

function recordingLogger(): { logger: Logger; errors: Array<{ message: string; fields: Record<string, unknown> }> } {
  const errors: Array<{ message: string; fields: Record<string, unknown> }> = [];
  return { logger: { ...silentLogger, error: (fields, message) => void errors.push({ message, fields }) }, errors };
}

describe('remoteWrite to a wrong path on VictoriaMetrics', { skip: unavailable('victoriametrics') }, () => {
  let server: TsdbServer;
  before(async () => {
    server = await startVictoriaMetrics();
  });
  after(() => server?.stop());

  it('by default: every request discarded, and one ERROR that names the status and hints at the path', async () => {
    const { logger, errors } = recordingLogger();
    const sink = remoteWrite({ url: `${server.baseUrl}/api/v1/writ`, shards: 2, maxSamplesPerRequest: 10, maxDelayMs: 1, logger });
    const outcomes: WriteOutcome[] = await lastValueFrom(from(samples(100)).pipe(sink, toArray()));
    assert.ok(outcomes.every((o) => o.type === 'dropped' && o.reason === 'non-retryable' && o.status === 400));
    assert.equal(outcomes.reduce((n, o) => n + o.samples, 0), 100);
    assert.equal(errors.length, 1);
    assert.match(errors[0].message, /rejected with 400 and nothing was ever written to http:\/\/127\.0\.0\.1:\d+\/api\/v1\/writ: check the URL path \(e\.g\. \/api\/v1\/write/);
    assert.ok(String(errors[0].fields['responseBody']).length > 0, 'the receiver\'s explanation is kept');
  });

  it('with failFastAfterRejections: 3, the pipeline fails at the third rejected answer', async () => {
    const { logger } = recordingLogger();
    const sink = remoteWrite({ url: `${server.baseUrl}/api/v1/writ`, shards: 1, maxSamplesPerRequest: 10, maxDelayMs: 1, failFastAfterRejections: 3, logger });
    const seen: WriteOutcome[] = [];
    const error = await new Promise<unknown>((resolve) => from(samples(100)).pipe(sink).subscribe({ next: (o) => seen.push(o), error: resolve, complete: () => resolve(undefined) }));
    assert.ok(error instanceof RemoteWriteError, String(error));
    assert.equal(error.status, 400);
    assert.match(error.message, /check the URL path/);
    // It stops at the third rejected answer (halved pieces count), without halving further: the
    // rejected samples are non-retryable, every other accepted sample is aborted, before the error.
    const dropped = (reason: string): number => seen.filter((o) => o.reason === reason).reduce((n, o) => n + o.samples, 0);
    assert.equal(seen.filter((o) => o.reason === 'non-retryable').length, 1);
    assert.ok(dropped('non-retryable') <= 10, `${dropped('non-retryable')}`);
    assert.equal(dropped('non-retryable') + dropped('aborted'), 100);
    assert.equal(sink.metrics.snapshot().samplesWritten, 0);
  });

  it('the right path on the same server writes (the failure above is the path)', async () => {
    const sink = remoteWrite({ url: server.writeUrl, maxDelayMs: 1, failFastAfterRejections: 1, logger: silentLogger });
    const outcomes = await lastValueFrom(from(samples(20)).pipe(sink, toArray()));
    assert.equal(outcomes.filter((o) => o.type === 'written').reduce((n, o) => n + o.samples, 0), 20);
  });
});
