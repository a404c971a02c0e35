/**
 * Crash tests: a real child process writes and is killed with SIGKILL at a random moment; what
 * it was told was written must be there after a reopen, intact and in order.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CheckpointStore, type CheckpointProblem } from '../../src/durable/checkpoint-store.js';
import { DiskSpool, type SpoolProblem } from '../../src/durable/spool.js';
import { crashBody } from './fixtures/crash-writer.js';

const writer = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'crash-writer.js');
let root: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rxprom-crash-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Runs the writer until it has reported `atLeast` numbers (plus a random few), kills it, returns the last one reported. */
function runAndKill(mode: 'spool' | 'checkpoint', directory: string, atLeast: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writer, mode, directory], { stdio: ['ignore', 'pipe', 'pipe'] });
    const target = atLeast + Math.floor(Math.random() * atLeast);
    let last = -1;
    let buffered = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) last = Number(line);
      if (last >= target && child.exitCode === null) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(last);
      else reject(new Error(`writer exited with ${code}: ${stderr}`));
    });
  });
}

describe('crash safety (SIGKILL)', () => {
  it('the spool replays every record whose append resolved, intact and in order, across several crashes', async () => {
    const directory = join(root, 'spool');
    let expectedAtLeast = 0;
    for (let round = 0; round < 3; round++) {
      const last = await runAndKill('spool', directory, 150);
      const problems: SpoolProblem[] = [];
      const spool = await DiskSpool.open({ directory, fsync: 'never', onProblem: (p) => problems.push(p) });
      const samples: number[] = [];
      for await (const record of spool.replay('0')) {
        assert.ok(Buffer.from(record.body).equals(crashBody(record.samples)), `record ${record.samples} intact`);
        samples.push(record.samples);
      }
      await spool.close();
      // Each run numbers its records from 0; the replay holds every run's records, oldest run first.
      const runs: number[][] = [];
      for (const n of samples) {
        if (n === 0 || runs.length === 0) runs.push([]);
        runs[runs.length - 1]!.push(n);
      }
      assert.equal(runs.length, round + 1);
      const newest = runs[round]!;
      assert.deepEqual(newest, Array.from({ length: newest.length }, (_, i) => i), 'contiguous and in order');
      assert.ok(newest.length >= last + 1, `all ${last + 1} reported appends replayed (got ${newest.length})`);
      assert.ok(problems.every((p) => p.kind === 'torn-tail'), 'a kill can only tear the tail');
      expectedAtLeast += last + 1;
      assert.ok(samples.length >= expectedAtLeast);
    }
  });

  it('the checkpoint store loads a valid checkpoint at least as new as the last save that resolved', async () => {
    const directory = join(root, 'checkpoints');
    for (let round = 0; round < 3; round++) {
      const last = await runAndKill('checkpoint', directory, 40);
      const problems: CheckpointProblem[] = [];
      const loaded = await new CheckpointStore<{ i: number; pad: string }>({ directory, pipeline: 'crash-test', fsync: false, onProblem: (p) => problems.push(p) }).load();
      assert.ok(loaded, 'a checkpoint loads');
      assert.ok(loaded.state.i >= last, `state ${loaded.state.i} covers the last reported save ${last}`);
      assert.equal(loaded.state.pad.length, loaded.state.i % 500);
      assert.ok(Buffer.from(loaded.blobs['blob']!).equals(crashBody(loaded.state.i)));
      assert.deepEqual(problems, [], 'rename makes a save all or nothing');
    }
  });
});
