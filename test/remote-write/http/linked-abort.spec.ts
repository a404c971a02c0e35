import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { from, lastValueFrom, toArray } from 'rxjs';
import { LinkedAbort } from '../../../src/remote-write/http/linked-abort.js';
import { remoteWrite } from '../../../operators/remote-write.js';
import { silentLogger } from '../../../src/core/logger.js';
import type { Sample } from '../../../src/core/model.js';
import { ScriptServer } from './script-server.js';

describe('LinkedAbort', () => {
  it('aborts every linked signal with the parent, through one listener', () => {
    const links = new LinkedAbort();
    const parent = new AbortController();
    const children = Array.from({ length: 50 }, () => links.link(parent.signal));
    assert.equal(links.listening, 1);
    children[0].release();
    parent.abort(new Error('stop'));
    assert.equal(children[0].signal.aborted, false, 'a released link no longer follows');
    assert.ok(children.slice(1).every((c) => c.signal.aborted && (c.signal.reason as Error).message === 'stop'));
    assert.equal(links.listening, 0);
  });

  it('removes its listener when the last link is released, and aborts at once for an aborted parent', () => {
    const links = new LinkedAbort();
    const parent = new AbortController();
    const a = links.link(parent.signal);
    const b = links.link(parent.signal);
    a.release();
    assert.equal(links.listening, 1);
    b.release();
    assert.equal(links.listening, 0);
    parent.abort();
    assert.equal(b.signal.aborted, false);
    assert.equal(links.link(parent.signal).signal.aborted, true);
  });
});

describe('remoteWrite with 64 shards', () => {
  const server = new ScriptServer();
  before(() => server.start());
  after(() => server.stop());

  it('prints no MaxListenersExceededWarning with 64 requests in flight at once', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    try {
      // The first 64 requests answer 503, so that all lanes have a request in flight together and retry.
      for (let i = 0; i < 64; i++) server.answers.push({ status: 503 });
      const input: Sample[] = Array.from({ length: 640 }, (_, i) => ({ labels: { __name__: 'm', s: `s${i}` }, value: i, timestamp: 1_700_000_000_000 }));
      const sink = remoteWrite({ url: server.url(), shards: 64, maxSamplesPerRequest: 10, maxDelayMs: 1, retry: { initialDelayMs: 20, maxDelayMs: 20, jitter: 0 }, logger: silentLogger });
      const outcomes = await lastValueFrom(from(input).pipe(sink, toArray()));
      assert.equal(outcomes.reduce((n, o) => n + (o.type === 'written' ? o.samples : 0), 0), 640);
      assert.ok(sink.metrics.snapshot().requestRetries >= 64);
      // Each lane had a request (its first) waiting for a retry while the others were sent: at least 64 at once.
      assert.ok(new Set(server.seen.map((r) => r.remotePort)).size > 10, 'more than 10 connections in use');
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message), []);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
