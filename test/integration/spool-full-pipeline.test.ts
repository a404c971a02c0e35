/**
 * A full spool under a whole pipeline, against a real Prometheus: a DurablePipeline reads a
 * JSON-lines journal into `remoteWrite` with a small spool byte limit while the receiver (behind
 * the fault proxy) is down, then the receiver comes back.
 *
 * - `'block'`: the spool fills, appends wait, the samples held in memory reach the high water
 *   mark and the pipeline pauses the journal; nothing is lost, and once the receiver is up every
 *   sample is stored, in order.
 * - `'drop-oldest'`: the source is read to its end while the spool drops its oldest segments; the
 *   drops are counted as `'overflow'`, and what Prometheus holds plus what was dropped is what the
 *   journal held.
 *
 * Every step waits on counters and positions (paused, elements read, samples dropped), never on
 * time, so a slow or a fast machine gives the same result.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { map } from 'rxjs';
import { remoteWrite } from '../../operators/remote-write.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Sample, WriteOutcome } from '../../src/core/model.js';
import { DurablePipeline } from '../../src/durable/durable-pipeline.js';
import type { SpoolFullPolicy } from '../../src/durable/spool.js';
import { JournalSource } from '../../src/sources/journal.js';
import { startFaultProxy } from '../harness/fault-proxy.js';
import { startPrometheus, unavailable, type TsdbServer } from '../harness/servers.js';

const METRIC = 'rxprom_full_spool';
const SERIES = 20;
const STEPS = 200;
const LINES = SERIES * STEPS;
/** A small budget: the journal's batches take several times this much. */
const MAX_BYTES = 8 * 1024;
const SEGMENT_BYTES = 1024;

interface Reading {
  readonly s: number;
  readonly v: number;
  readonly t: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` (counters, positions) until it holds; the limit only turns a hang into a failure. */
async function until(what: string, condition: () => boolean): Promise<void> {
  for (let i = 0; i < 6000; i++) {
    if (condition()) return;
    await sleep(10);
  }
  assert.fail(`still waiting for: ${what}`);
}

async function segmentBytes(directory: string): Promise<number> {
  let total = 0;
  for (const lane of await readdir(directory, { withFileTypes: true })) {
    if (!lane.isDirectory()) continue;
    // A segment may be deleted between the listing and its stat: it no longer counts.
    for (const name of await readdir(join(directory, lane.name))) if (name.endsWith('.seg')) total += (await stat(join(directory, lane.name, name)).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

describe('a full spool under a DurablePipeline, receiver down then up, against Prometheus', { skip: unavailable('prometheus'), timeout: 300_000 }, () => {
  let root: string;
  let journalPath: string;
  const start = Math.floor((Date.now() - 30 * 60_000) / 1000) * 1000;
  /** value of series s at step k */
  const valueOf = (s: number, k: number): number => s * 1000 + k;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rxprom-full-spool-'));
    journalPath = join(root, 'readings.jsonl');
    const lines: string[] = [];
    for (let k = 0; k < STEPS; k++) for (let s = 0; s < SERIES; s++) lines.push(JSON.stringify({ s, v: valueOf(s, k), t: start + k * 1000 }));
    await writeFile(journalPath, `${lines.join('\n')}\n`);
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function run(whenFull: SpoolFullPolicy, prometheus: TsdbServer, whileDown: (probe: Probe) => Promise<void>): Promise<Result> {
    const proxy = await startFaultProxy(prometheus.writeUrl);
    await proxy.down();
    const stateDir = join(root, whenFull);
    // A metric of its own per case: the two cases share one Prometheus, and a series' older samples would be refused as out of order.
    const metric = `${METRIC}_${whenFull.replace('-', '_')}`;
    const spoolDir = join(stateDir, 'spool');
    const source = new JournalSource<Reading>({ path: journalPath, readBytes: 1024 });
    const outcomes = { written: 0, dropped: {} as Record<string, number> };
    let sink: ReturnType<typeof remoteWrite> | undefined;
    try {
      const pipeline = await DurablePipeline.start<Reading, number, WriteOutcome>({
        directory: join(stateDir, 'checkpoints'),
        pipeline: `full-spool-${whenFull}`,
        source,
        checkpointIntervalMs: 100,
        build: (state) => {
          sink = remoteWrite({
            url: proxy.url,
            logger: silentLogger,
            shards: 1,
            maxSamplesPerRequest: 40,
            maxDelayMs: 20,
            retry: { initialDelayMs: 10, maxDelayMs: 100 },
            backpressure: { highWaterMark: 200, lowWaterMark: 100 },
            spool: { directory: spoolDir, maxBytes: MAX_BYTES, segmentBytes: SEGMENT_BYTES, whenFull, memoryBatches: 1 },
            state: state.slot('sink'),
          });
          const toSample = map((r: Reading): Sample => ({ labels: { __name__: metric, series: `s${r.s}` }, value: r.v, timestamp: r.t }));
          return { operator: (readings) => readings.pipe(toSample, sink!), pressure: sink!.pressure };
        },
        onOutput: (outcome) => {
          if (outcome.type === 'written') outcomes.written += outcome.samples;
          else outcomes.dropped[outcome.reason ?? 'unknown'] = (outcomes.dropped[outcome.reason ?? 'unknown'] ?? 0) + outcome.samples;
        },
      });
      await whileDown({ pipeline, source, metrics: () => sink!.metrics.snapshot(), spoolBytes: () => segmentBytes(spoolDir) });
      await proxy.up();
      const summary = await pipeline.done;
      assert.equal(summary.ending, 'completed', summary.error?.message);
      await prometheus.flush();
      const stored = await prometheus.readSeries(metric, start - 1000, start + STEPS * 1000);
      return { metrics: sink!.metrics.snapshot(), outcomes, stored, pauses: summary.pauses, elements: summary.elements };
    } finally {
      await proxy.stop();
    }
  }

  interface Probe {
    readonly pipeline: DurablePipeline<Reading, number, WriteOutcome>;
    readonly source: JournalSource<Reading>;
    readonly metrics: () => ReturnType<NonNullable<ReturnType<typeof remoteWrite>>['metrics']['snapshot']>;
    readonly spoolBytes: () => Promise<number>;
  }
  interface Result {
    readonly metrics: ReturnType<Probe['metrics']>;
    readonly outcomes: { written: number; dropped: Record<string, number> };
    readonly stored: Awaited<ReturnType<TsdbServer['readSeries']>>;
    readonly pauses: number;
    readonly elements: number;
  }

  /** Each stored series' samples are in time order and are the journal's own values at those times. */
  function assertInOrderAndTrue(stored: Result['stored']): number {
    let count = 0;
    for (const series of stored) {
      const s = Number(series.labels['series']!.slice(1));
      let previous = -Infinity;
      for (const [timestamp, value] of series.samples) {
        assert.ok(timestamp > previous, `series s${s} in order`);
        previous = timestamp;
        assert.equal(value, valueOf(s, (timestamp - start) / 1000), `series s${s} at ${timestamp}`);
        count++;
      }
    }
    return count;
  }

  let prometheus: TsdbServer;
  before(async () => {
    prometheus = await startPrometheus();
  });
  after(async () => {
    await prometheus?.stop();
  });

  it("'block': the source is paused while the spool is full, nothing is lost, everything is stored in order once the receiver is up", async () => {
    let readWhenPaused = 0;
    let spoolWhenPaused = 0;
    const result = await run('block', prometheus, async ({ pipeline, source, metrics, spoolBytes }) => {
      await until('the pipeline paused the journal (pressure from the full spool)', () => pipeline.summary().pauses >= 1 && source.paused);
      readWhenPaused = pipeline.summary().elements;
      spoolWhenPaused = await spoolBytes();
      assert.equal(metrics().samplesWritten, 0, 'nothing written while the receiver is down');
      assert.equal(metrics().samplesDroppedTotal, 0, 'nothing dropped: the spool blocks');
    });
    assert.ok(readWhenPaused < LINES, `the journal was held back (${readWhenPaused} of ${LINES} lines read when paused)`);
    assert.ok(spoolWhenPaused > 0 && spoolWhenPaused <= MAX_BYTES, `the spool stayed within its byte limit (${spoolWhenPaused} bytes)`);
    assert.ok(result.pauses >= 1);
    assert.equal(result.elements, LINES);
    assert.equal(result.metrics.samplesIn, LINES);
    assert.equal(result.metrics.samplesWritten, LINES);
    assert.equal(result.metrics.samplesDroppedTotal, 0);
    assert.equal(result.metrics.samplesPending, 0);
    assert.deepEqual(result.outcomes, { written: LINES, dropped: {} });
    assert.equal(result.stored.length, SERIES);
    assert.equal(assertInOrderAndTrue(result.stored), LINES, 'Prometheus holds every sample of the journal');
  });

  it("'drop-oldest': the source is read to its end, the oldest spooled batches are dropped as 'overflow', and the accounting adds up", async () => {
    const result = await run('drop-oldest', prometheus, async ({ pipeline, metrics, spoolBytes }) => {
      await until('the whole journal read and the spool overflowing', () => pipeline.summary().elements === LINES && (metrics().samplesDropped['overflow'] ?? 0) > 0);
      assert.equal(metrics().samplesWritten, 0, 'nothing written while the receiver is down');
      // Read from the files while segments are being dropped: one may be on its way out.
      const bytes = await spoolBytes();
      assert.ok(bytes <= MAX_BYTES + SEGMENT_BYTES, `the spool stayed within its byte limit (${bytes} bytes)`);
    });
    const m = result.metrics;
    const overflow = m.samplesDropped['overflow'] ?? 0;
    assert.ok(overflow > 0 && overflow < LINES, `some dropped as overflow (${overflow})`);
    assert.equal(m.samplesIn, LINES);
    assert.equal(m.samplesPending, 0);
    assert.equal(m.samplesWritten + m.samplesDroppedTotal, m.samplesIn, 'every sample written or dropped');
    assert.equal(m.samplesDroppedTotal, overflow, `overflow is the only drop: ${JSON.stringify(m.samplesDropped)}`);
    assert.deepEqual(result.outcomes, { written: m.samplesWritten, dropped: { overflow } }, 'the outcomes say the same');
    assert.equal(assertInOrderAndTrue(result.stored), m.samplesWritten, 'Prometheus holds exactly the samples counted as written');
    // The oldest were dropped: the newest step of every series is stored.
    for (const series of result.stored) assert.equal(series.samples.at(-1)![0], start + (STEPS - 1) * 1000, `series ${series.labels['series']} ends with the journal's last step`);
  });
});
