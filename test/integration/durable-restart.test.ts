/**
 * Durable delivery end to end: the fleet pipeline (journal → enrich → dropOutliers →
 * reorderByWatermark → drop repeats → tumblingWindow → remoteWrite with a spool, every stage with
 * its state slot, under a DurablePipeline) runs as a real process against a real Prometheus, is
 * killed (SIGKILL) or stopped (SIGTERM) and restarted, and what Prometheus stores at the end is
 * compared with what one uninterrupted run of the same journal stores in a second Prometheus.
 *
 * Duplicates: after a SIGKILL the restart resumes from the last checkpoint, so every batch the
 * killed run sent after it (at most what was written or in flight since that checkpoint) may be
 * sent again; Prometheus stores an exact repeat once, and the sink's restored order guard drops
 * what it knows was written as `replayed`. Nothing in Prometheus differs.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { seededRandom } from '../../src/testing/index.js';
import { freePort, startPrometheus, unavailable, type StoredSeries, type TsdbServer } from '../harness/servers.js';
import { FLEET_WINDOW_MS, writeFleetJournal, type FleetJournalOptions } from './fixtures/durable-fleet.js';
import { balanced, lossDrops, readEverything, runFleet, sampleCount, type RunArguments, type RunResult, type SinkCounters } from './durable-fleet-harness.js';

describe('durable fleet pipeline: restarts and crashes against a real Prometheus', { skip: unavailable('prometheus'), timeout: 1_500_000 }, () => {
  let root: string;
  let reference: TsdbServer;
  let journalPath: string;
  let journalBytes: number;
  let expected: StoredSeries[];
  const journal: FleetJournalOptions = {
    // Enough readings that a run spans many checkpoints on a fast machine too (the kills are placed by checkpoints).
    devices: 1000,
    seed: 7,
    startTime: Math.floor((Date.now() - 20 * 60_000) / FLEET_WINDOW_MS) * FLEET_WINDOW_MS,
    durationMs: 4 * 60_000,
  };
  const range = { from: journal.startTime - 60_000, to: journal.startTime + journal.durationMs + 120_000 };
  const args = (url: string, stateDirectory: string, extra: Partial<RunArguments> = {}): RunArguments => ({ journalPath, journal, url, stateDirectory, checkpointIntervalMs: 25, ...extra });

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rxprom-durable-restart-'));
    journalPath = join(root, 'readings.jsonl');
    await writeFleetJournal(journalPath, journal);
    journalBytes = (await stat(journalPath)).size;
    // One uninterrupted run of the same journal: what every interrupted history must end up storing.
    reference = await startPrometheus();
    const run = await runFleet(args(reference.writeUrl, join(root, 'reference')));
    assert.equal(run.end?.ending, 'completed', run.stderr);
    assert.deepEqual(lossDrops(run.end?.counters), {}, 'the reference run loses nothing');
    expected = await readEverything(reference, range.from, range.to);
    assert.ok(sampleCount(expected) > 500, `the reference stores a real amount (${sampleCount(expected)} samples)`);
    assert.equal(sampleCount(expected), run.end!.counters.written, 'the reference stores exactly what it wrote');
  });
  after(async () => {
    await reference?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('killed with SIGKILL at 5 random moments and restarted each time, Prometheus ends up holding exactly what one uninterrupted run stores', async () => {
    const prometheus = await startPrometheus();
    try {
      const stateDirectory = join(root, 'crash');
      const random = seededRandom(20261125);
      // Where each run is killed: once its checkpoints have passed a seeded fraction of the journal, after a seeded delay
      // (between two checkpoints, so the restart resends what the killed run did after its last one).
      const fractions = Array.from({ length: 5 }, () => 0.1 + random() * 0.7).sort((a, b) => a - b);
      const runs: RunResult[] = [];
      for (const fraction of fractions) {
        const delay = Math.floor(random() * 100);
        const run = await runFleet(args(prometheus.writeUrl, stateDirectory), {
          signal: 'SIGKILL',
          when: (_position, checkpoints) => ((checkpoints.at(-1)?.position ?? 0) >= fraction * journalBytes ? delay : undefined),
        });
        assert.equal(run.signal, 'SIGKILL', `run ${runs.length + 1} was killed (not ended by itself: ${JSON.stringify(run.end)}; ${run.stderr.slice(0, 2000)})`);
        if (runs.length > 0) assert.ok(run.started?.restored, `run ${runs.length + 1} restored a checkpoint`);
        runs.push(run);
      }
      const last = await runFleet(args(prometheus.writeUrl, stateDirectory));
      assert.equal(last.end?.ending, 'completed', last.stderr);
      assert.ok(last.started?.restored, 'the last run restored a checkpoint');
      runs.push(last);

      const stored = await readEverything(prometheus, range.from, range.to);
      assert.deepEqual(stored, expected, 'exactly the uninterrupted run: every window complete, none partial, no gap');
      // Nothing refused (a 400 would be counted as a rejected drop), nothing lost, in any run.
      for (const [i, run] of runs.entries()) assert.deepEqual(lossDrops(run.counters), {}, `run ${i + 1} lost nothing`);
      // The accounting adds up. In the completed run every sample that entered the sink, this
      // run's and those replayed from an earlier one, has exactly one outcome and none is pending.
      const end = last.end!.counters;
      const account = balanced(end);
      assert.deepEqual(account.thisRun, [account.thisRun[0], account.thisRun[0]]);
      assert.deepEqual(account.replayed, [account.replayed[0], account.replayed[0]]);
      assert.equal(end.pending + end.replayedPending, 0);
      // Over the runs, every stored sample was reported written, or recognised as already there
      // (`replayed`), by some run: a run killed before reporting a write leaves it to the next.
      const reported = (c: SinkCounters | undefined): number => (c ? c.written + c.replayedWritten : 0);
      const recognised = (c: SinkCounters | undefined): number => (c ? (c.dropped['replayed'] ?? 0) + (c.replayedDropped['replayed'] ?? 0) : 0);
      const writtenOverRuns = runs.reduce((total, run) => total + reported(run.counters), 0);
      const recognisedOverRuns = runs.reduce((total, run) => total + recognised(run.counters), 0);
      assert.ok(writtenOverRuns + recognisedOverRuns >= sampleCount(expected), `${writtenOverRuns} written + ${recognisedOverRuns} recognised >= ${sampleCount(expected)} stored`);
      // Duplicates: a kill can make the next run send again at most what the killed run wrote or
      // held after its last checkpoint's snapshot (written since then, pending at the kill). Since
      // the snapshot, not since the save: what is written while the checkpoint is being flushed
      // and saved may be acknowledged too late for the spool's saved marks.
      const resendBound = runs.slice(0, -1).reduce((total, run) => {
        const atCheckpoint = run.checkpoints.at(-1)?.atSnapshot;
        return total + reported(run.counters) - reported(atCheckpoint) + (run.counters?.pending ?? 0) + (run.counters?.replayedPending ?? 0);
      }, 0);
      const duplicates = writtenOverRuns - sampleCount(expected);
      const perRun = runs.map((run) => ({ restored: run.started?.restored?.sequence, checkpoint: run.checkpoints.at(-1)?.sequence, written: reported(run.counters), atSnapshot: reported(run.checkpoints.at(-1)?.atSnapshot), atSave: reported(run.checkpoints.at(-1)?.counters) }));
      assert.ok(duplicates <= resendBound, `duplicates ${duplicates} <= ${resendBound}, what the killed runs wrote or held after their last checkpoints' snapshots: ${JSON.stringify(perRun)}`);
    } finally {
      await prometheus.stop();
    }
  });

  it('stopped gracefully inside a window and restarted: the window is written once, complete; nothing refused, nothing written twice', async () => {
    const prometheus = await startPrometheus();
    try {
      const stateDirectory = join(root, 'graceful');
      const first = await runFleet(args(prometheus.writeUrl, stateDirectory), { signal: 'SIGTERM', when: (position) => (position >= 0.4 * journalBytes ? 0 : undefined) });
      assert.equal(first.end?.ending, 'stopped', first.stderr);
      assert.equal(first.checkpoints.at(-1)?.reason, 'stop');
      assert.ok(first.end!.position < journalBytes, 'stopped mid-journal');
      // What is stored at the stop is a part of the reference: no partial window (its count, sum … would differ).
      const atStop = await readEverything(prometheus, range.from, range.to);
      const expectedByKey = new Map(expected.flatMap((s) => s.samples.map(([t, v]) => [`${JSON.stringify(s.labels)}@${t}`, v] as const)));
      for (const series of atStop) {
        for (const [t, v] of series.samples) assert.equal(v, expectedByKey.get(`${JSON.stringify(series.labels)}@${t}`), `a complete window at ${t}`);
      }
      assert.ok(sampleCount(atStop) < sampleCount(expected), 'windows were still open at the stop');

      const second = await runFleet(args(prometheus.writeUrl, stateDirectory));
      assert.equal(second.end?.ending, 'completed', second.stderr);
      assert.equal(second.started?.restored?.sequence, first.checkpoints.at(-1)?.sequence, 'restored the checkpoint saved at the stop');
      assert.deepEqual(await readEverything(prometheus, range.from, range.to), expected);
      assert.deepEqual(lossDrops(first.counters), {});
      assert.deepEqual(lossDrops(second.end?.counters), {});
      const writtenOnce = first.end!.counters.written + first.end!.counters.replayedWritten + second.end!.counters.written + second.end!.counters.replayedWritten;
      assert.equal(writtenOnce, sampleCount(expected), 'each sample written exactly once over the two runs');
    } finally {
      await prometheus.stop();
    }
  });

  it('a truncated and a bit-flipped newest checkpoint are reported and skipped; the restart from the previous one stores exactly the reference', async () => {
    const prometheus = await startPrometheus();
    try {
      const stateDirectory = join(root, 'damaged-checkpoint');
      const first = await runFleet(args(prometheus.writeUrl, stateDirectory), { signal: 'SIGTERM', when: (position, checkpoints) => (position >= 0.3 * journalBytes && checkpoints.length >= 3 ? 0 : undefined) });
      assert.equal(first.end?.ending, 'stopped', first.stderr);
      const files = (await readdir(stateDirectory)).filter((name) => name.endsWith('.ckpt')).sort();
      assert.ok(files.length >= 3, `three checkpoints kept (${files.join(', ')})`);
      const newest = join(stateDirectory, files.at(-1)!);
      const second = join(stateDirectory, files.at(-2)!);
      await truncate(newest, Math.floor((await stat(newest)).size / 2));
      const bytes = await readFile(second);
      bytes[Math.floor(bytes.length / 2)]! ^= 0x40;
      await writeFile(second, bytes);

      const restart = await runFleet(args(prometheus.writeUrl, stateDirectory));
      assert.equal(restart.end?.ending, 'completed', restart.stderr);
      const damaged = restart.started?.damaged ?? [];
      assert.deepEqual(damaged.map((d) => d.file).sort(), [second, newest].sort());
      // Cut in half: short of its declared length, or (cut inside the state) failing its checksum.
      assert.match(damaged.find((d) => d.file === newest)!.reason, /truncated|torn/);
      assert.match(damaged.find((d) => d.file === second)!.reason, /checksum mismatch/);
      assert.match(restart.stderr, /checkpoint .*skipped: (truncated|checksum mismatch)/);
      assert.equal(restart.started?.restored?.sequence, Number(/(\d+)\.ckpt$/.exec(files.at(-3)!)![1]), 'resumed from the newest valid checkpoint');
      assert.deepEqual(await readEverything(prometheus, range.from, range.to), expected, 'nothing lost, nothing stored twice');
      assert.deepEqual(lossDrops(restart.end?.counters), {});
    } finally {
      await prometheus.stop();
    }
  });

  it('a full disk for checkpoints: every failure reported and counted, nothing committed, the pipeline still delivers everything', async () => {
    const prometheus = await startPrometheus();
    try {
      const run = await runFleet(args(prometheus.writeUrl, join(root, 'full-disk'), { checkpointMaxBytes: 64 }));
      assert.equal(run.end?.ending, 'completed', run.stderr);
      assert.equal(run.end?.checkpoints, 0);
      assert.ok(run.end!.checkpointFailures >= 2, `failures counted (${run.end?.checkpointFailures})`);
      assert.match(run.stderr, /checkpoint failed \(1 in a row\): .*no space left \(ENOSPC\)/);
      assert.deepEqual(await readEverything(prometheus, range.from, range.to), expected);
      assert.deepEqual(lossDrops(run.end?.counters), {});
    } finally {
      await prometheus.stop();
    }
  });

  it('a corrupted spool segment is reported with the records it lost; the rest is delivered and nothing wrong is stored', async () => {
    const prometheus = await startPrometheus();
    try {
      const stateDirectory = join(root, 'damaged-spool');
      const spool = { spoolSegmentBytes: 1024 };
      // The receiver is down during the first run: every batch stays in the spool.
      const down = `http://127.0.0.1:${await freePort()}/api/v1/write`;
      // Stopped at half the journal, however long that takes: the windows closed by then (event
      // time only) are the same on any machine, so the spool holds the same batches.
      const first = await runFleet(args(down, stateDirectory, spool), { signal: 'SIGTERM', when: (position) => (position >= 0.5 * journalBytes ? 0 : undefined) });
      assert.equal(first.end?.ending, 'stopped', first.stderr);
      assert.equal(first.end!.counters.written, 0);
      assert.ok((first.end!.counters.dropped['spooled'] ?? 0) > 0, `batches left in the spool for the next start: ${JSON.stringify(first.end)}`);
      const segments = await segmentFiles(join(stateDirectory, 'spool'));
      assert.ok(segments.length >= 2, `several segments (${segments.length})`);
      // A segment with a later one in its lane: damage there is corruption (a damaged last segment reads as a torn tail).
      const damaged = segments.find((file) => segments.some((other) => dirname(other) === dirname(file) && basename(other) > basename(file)));
      assert.ok(damaged !== undefined, `a lane with two segments (${segments.join(', ')})`);
      const bytes = await readFile(damaged);
      bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
      await writeFile(damaged, bytes);

      const second = await runFleet(args(prometheus.writeUrl, stateDirectory, spool));
      assert.equal(second.end?.ending, 'completed', second.stderr);
      const warning = /spool corruption in (\S+) at byte \d+: [^;]*; (\d+)\+? records \(\d+ bytes\) lost/.exec(second.stderr);
      assert.ok(warning, `the damage is reported: ${second.stderr.slice(0, 2000)}`);
      assert.equal(warning[1], damaged);
      const lostRecords = Number(warning[2]);
      assert.ok(lostRecords >= 1);
      // Nothing wrong stored: every stored sample is the reference's; what is missing is at most what the lost records held.
      const stored = await readEverything(prometheus, range.from, range.to);
      const expectedByKey = new Map(expected.flatMap((series) => series.samples.map(([t, v]) => [`${JSON.stringify(series.labels)}@${t}`, v] as const)));
      for (const series of stored) for (const [t, v] of series.samples) assert.equal(v, expectedByKey.get(`${JSON.stringify(series.labels)}@${t}`));
      const missing = sampleCount(expected) - sampleCount(stored);
      assert.ok(missing > 0 && missing <= lostRecords * 200, `${missing} samples missing, at most the ${lostRecords} lost records' (200 samples per request)`);
      assert.deepEqual(lossDrops(second.end?.counters), {});
    } finally {
      await prometheus.stop();
    }
  });

  it('refuses the state directory of another pipeline with a clear message, and writes nothing', async () => {
    const prometheus = await startPrometheus();
    try {
      const stateDirectory = join(root, 'graceful');
      const run = await runFleet(args(prometheus.writeUrl, stateDirectory, { pipeline: 'another-pipeline' }));
      assert.equal(run.code, 1);
      assert.match(run.refused ?? '', /holds checkpoints of pipeline "fleet-crash-test" .*not of "another-pipeline"; use another state directory or remove it/);
      assert.equal(sampleCount(await readEverything(prometheus, range.from, range.to)), 0);
    } finally {
      await prometheus.stop();
    }
  });
});

/** The spool's segment files, largest first. */
async function segmentFiles(directory: string): Promise<string[]> {
  const files: { file: string; size: number }[] = [];
  for (const lane of await readdir(directory, { withFileTypes: true })) {
    if (!lane.isDirectory()) continue;
    for (const name of await readdir(join(directory, lane.name))) {
      if (!name.endsWith('.seg')) continue;
      const file = join(directory, lane.name, name);
      files.push({ file, size: (await stat(file)).size });
    }
  }
  return files.sort((a, b) => b.size - a.size).map((f) => f.file);
}
