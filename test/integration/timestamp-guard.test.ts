/**
 * The sink's timestamp bounds against a real Prometheus 2.42: one sample decades in the future
 * is stored by Prometheus and then makes it refuse every present-time batch as `out of bounds`;
 * a sample 2 h old refuses its whole batch. The sink drops such a sample alone.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { from, lastValueFrom, toArray } from 'rxjs';
import { remoteWrite } from '../../operators/remote-write.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Sample, WriteOutcome } from '../../src/core/model.js';
import type { RemoteWriteOptions } from '../../src/remote-write/options.js';
import { startPrometheus, unavailable, type TsdbServer } from '../harness/servers.js';

const THIRTY_YEARS_MS = 30 * 365 * 86_400_000;

/** `count` samples of `count` series of `metric`, all at `timestamp`. */
function batch(metric: string, count: number, timestamp: number): Sample[] {
  return Array.from({ length: count }, (_, i) => ({ labels: { __name__: metric, device: `d${i}` }, value: i, timestamp }));
}

/** Writes `samples` as one request (one lane, room for all of them). */
async function writeOneRequest(server: TsdbServer, samples: Sample[], options: Partial<RemoteWriteOptions> = {}): Promise<WriteOutcome[]> {
  const sink = remoteWrite({ url: server.writeUrl, shards: 1, maxSamplesPerRequest: 10_000, maxDelayMs: 60_000, logger: silentLogger, ...options });
  return lastValueFrom(from(samples).pipe(sink, toArray()));
}

const count = (outcomes: WriteOutcome[], type: WriteOutcome['type'], reason?: string): number =>
  outcomes.filter((o) => o.type === type && (reason === undefined || o.reason === reason)).reduce((n, o) => n + o.samples, 0);

async function stored(server: TsdbServer, metric: string, fromMs: number, toMs: number): Promise<number> {
  const series = await server.readSeries(metric, fromMs, toMs);
  return series.reduce((n, s) => n + s.samples.length, 0);
}

describe('timestamp bounds against Prometheus', { skip: unavailable('prometheus') }, () => {
  describe('with the default maxFutureMs', () => {
    let server: TsdbServer;
    before(async () => {
      server = await startPrometheus();
    });
    after(() => server?.stop());

    it('a batch of 101 with one sample 30 years ahead: 100 stored, the future one dropped, and the next normal batch is accepted', async () => {
      const now = Date.now();
      const samples = batch('rxprom_it_future', 100, now - 1000);
      samples.splice(50, 0, { labels: { __name__: 'rxprom_it_future', device: 'broken-clock' }, value: 7, timestamp: now + THIRTY_YEARS_MS });
      const first = await writeOneRequest(server, samples);
      assert.equal(count(first, 'written'), 100);
      assert.equal(count(first, 'dropped', 'too-far-in-future'), 1);
      assert.equal(await stored(server, 'rxprom_it_future', now - 60_000, now + 60_000), 100);
      assert.equal(await stored(server, 'rxprom_it_future', now + THIRTY_YEARS_MS - 1000, now + THIRTY_YEARS_MS + 1000), 0);

      const second = await writeOneRequest(server, batch('rxprom_it_future', 100, now + 1000));
      assert.deepEqual(second.map((o) => [o.type, o.status, o.samples]), [['written', 204, 100]]);
      assert.equal(await stored(server, 'rxprom_it_future', now - 60_000, now + 60_000), 200);
    });

    it('with maxAgeMs, a sample 2 h old for a new series is dropped alone instead of costing its batch', async () => {
      const now = Date.now();
      const samples = batch('rxprom_it_old', 20, now - 500);
      samples.push({ labels: { __name__: 'rxprom_it_old', device: 'replayed' }, value: 1, timestamp: now - 2 * 3_600_000 });
      const outcomes = await writeOneRequest(server, samples, { maxAgeMs: 2_700_000 });
      assert.equal(count(outcomes, 'written'), 20);
      assert.equal(count(outcomes, 'dropped', 'too-old'), 1);
      assert.equal(await stored(server, 'rxprom_it_old', now - 3 * 3_600_000, now + 60_000), 20);
    });
  });

  // What the bounds prevent, shown on a Prometheus of its own (the damage is head-wide).
  describe('without the bounds (maxFutureMs: Infinity)', () => {
    let server: TsdbServer;
    before(async () => {
      server = await startPrometheus();
    });
    after(() => server?.stop());

    it('Prometheus stores the future samples (2^60 ms encoded right), then refuses every present-time batch as out of bounds', async () => {
      const now = Date.now();
      const samples = batch('rxprom_it_unbounded', 100, now - 1000);
      samples.push({ labels: { __name__: 'rxprom_it_unbounded', device: 'broken-clock' }, value: 7, timestamp: now + THIRTY_YEARS_MS });
      samples.push({ labels: { __name__: 'rxprom_it_unbounded', device: 'huge' }, value: 8, timestamp: 2 ** 60 });
      const first = await writeOneRequest(server, samples, { maxFutureMs: Infinity });
      assert.deepEqual(first.map((o) => [o.type, o.status, o.samples]), [['written', 204, 102]]);
      // (A wrong varint length for 2^60 used to make Prometheus answer 400 'proto: wrong wireType' here.)
      const second = await writeOneRequest(server, batch('rxprom_it_unbounded', 100, now + 1000), { maxFutureMs: Infinity });
      assert.equal(count(second, 'dropped', 'non-retryable'), 100);
      assert.match(second[0].responseBody ?? '', /out of bounds/);
    });
  });
});
