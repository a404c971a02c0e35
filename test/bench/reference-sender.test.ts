/**
 * The benchmarks' reference sender writes what it claims: valid Remote-Write 1.0 (a strict
 * receiver refuses anything the specification forbids, and out-of-order samples), the workload's
 * label sets, one sample per series per pass, each series one second further on per pass, and it
 * counts exactly the samples the receiver accepted.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startReceiver } from '../../src/testing/index.js';
import { buildLabelSets, WORKLOAD_METRIC } from '../../bench/workload.js';

const sender = fileURLToPath(new URL('../../bench/reference-sender.js', import.meta.url));

interface SenderResult {
  tool: string;
  samples: number;
  samplesPerSec: number;
  requests: number;
  errors: number;
  lastError: string;
}

function runSender(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [sender, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('bench reference sender', () => {
  it('sends valid, ordered requests of the workload and counts what the receiver accepted', async () => {
    const receiver = await startReceiver({ mode: 'strict' });
    try {
      const series = 30;
      const batch = 7; // not a divisor of a lane's series: requests straddle passes
      const run = await runSender(['--url', receiver.url, '--series', String(series), '--batch', String(batch), '--lanes', '3', '--labels', '4', '--seconds', '0.3']);
      assert.equal(run.code, 0, run.stderr);
      const result = JSON.parse(run.stdout.trim().split('\n').pop() ?? '') as SenderResult;
      assert.equal(result.tool, 'reference-sender');
      assert.equal(result.errors, 0, result.lastError);
      assert.ok(result.requests > 0);
      assert.equal(result.samples, result.requests * batch);
      const stats = receiver.stats();
      assert.equal(stats.requestsAccepted, result.requests);
      assert.equal(receiver.samplesStored(), result.samples);

      const expected = new Map(buildLabelSets(series, 4).map((labels) => [labels['l1'], labels]));
      const stored = receiver.series({ __name__: WORKLOAD_METRIC });
      assert.ok(stored.length > 0 && stored.length <= series);
      for (const s of stored) {
        assert.deepEqual(s.labels, expected.get(s.labels['l1']), 'the workload label set');
        const times = Array.from(s.timestamps);
        for (let k = 1; k < times.length; k++) assert.equal(times[k] - times[k - 1], 1000, `one second per pass (${s.labels['l1']})`);
        for (const [, value] of s.samples) assert.ok(value >= 0 && value < 1);
      }
    } finally {
      await receiver.close();
    }
  });

  it('refuses a missing --url or a bad number with usage on stderr', async () => {
    const missing = await runSender([]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /usage: reference-sender --url URL/);
    const bad = await runSender(['--url', 'http://127.0.0.1:9/api/v1/write', '--lanes', '0']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--lanes must be a positive integer \(got 0\)/);
  });
});
