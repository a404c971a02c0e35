/**
 * Two live subscriptions over one spool directory (the same spooled sink subscribed twice, or two
 * sinks given the same directory) would recover each other's files as an earlier run's, send them
 * twice and write segments with the same sequences. The second is refused, with a clear error and
 * every one of its samples accounted for; the first goes on untouched.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { remoteWrite } from '../../operators/remote-write.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Sample, WriteOutcome } from '../../src/core/model.js';
import { ScriptedClient } from '../remote-write/scripted-client.js';
import { until } from '../harness/until.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rxprom-spool-one-sub-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 });
});

const URL = 'http://127.0.0.1:9/api/v1/write';
const T0 = 1_700_000_000_000;
const input = (n: number, from = 0): Sample[] => Array.from({ length: n }, (_, i) => ({ labels: { __name__: 'm', s: String((from + i) % 10) }, value: from + i, timestamp: T0 + from + i }));

describe('remoteWrite: one live subscription per spool directory', () => {
  for (const how of ['the same sink subscribed twice', 'a second sink over the same directory']) {
    it(`${how}: the second subscription errors naming the directory, its samples are aborted, the first writes each of its samples once`, async () => {
      const directory = join(root, how.replace(/ /g, '-'));
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const client = new ScriptedClient();
      const send = client.send.bind(client);
      client.send = async (body, signal) => {
        await gate;
        return send(body, signal);
      };
      const options = { url: URL, client, logger: silentLogger, maxSamplesPerRequest: 10, shards: 1, spool: { directory } };
      const sink = remoteWrite(options);
      const first = new Subject<Sample>();
      const firstOutcomes: WriteOutcome[] = [];
      let firstDone = false;
      first.pipe(sink).subscribe({ next: (o) => firstOutcomes.push(o), complete: () => (firstDone = true) });
      input(100).forEach((sample) => first.next(sample));
      await until(() => sink.metrics.snapshot().requestsInFlight > 0, 'the first subscription sending');

      const other = how === 'the same sink subscribed twice' ? sink : remoteWrite(options);
      const second = new Subject<Sample>();
      const secondOutcomes: WriteOutcome[] = [];
      let secondError: unknown;
      second.pipe(other).subscribe({ next: (o) => secondOutcomes.push(o), error: (e: unknown) => (secondError = e) });
      input(20, 1000).forEach((sample) => second.next(sample));
      release();
      await until(() => secondError !== undefined, 'the second subscription refused');
      assert.match((secondError as Error).message, /in use/);
      assert.ok((secondError as Error).message.includes(directory), 'names the directory');
      assert.equal(secondOutcomes.reduce((n, o) => n + o.samples, 0), 20, 'each sample of the second told');
      assert.ok(secondOutcomes.every((o) => o.type === 'dropped' && o.reason === 'aborted'));

      first.complete();
      await until(() => firstDone, 'the first subscription completes');
      assert.equal(firstOutcomes.filter((o) => o.type === 'written').reduce((n, o) => n + o.samples, 0), 100);
      assert.equal(client.samplesWritten(), 100, 'the receiver got each sample of the first once, none of the second');
      const m = other.metrics.snapshot();
      assert.equal(m.samplesReplayed, 0, 'nothing of the first taken for an earlier run');
    });
  }
});
