/**
 * `npm start -- --state-dir DIR` as a user runs it, into a real Prometheus: Ctrl-C, start again
 * with the same DIR. The first run must not write its open windows half full (nor stamped with a
 * window end still in the future); the second restores them and has nothing refused.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { whenAnswering } from '../harness/answering.js';
import { freePort, startPrometheus, unavailable, type TsdbServer } from '../harness/servers.js';

const gateway = fileURLToPath(new URL('../../examples/gateway.js', import.meta.url));

interface GatewaySummary {
  ending: string;
  samplesWritten: number;
  samplesDropped: Record<string, number>;
  pipeline: { samplesOut: number };
  durable: {
    ending: string;
    restored: { sequence: number; openWindows: number; heldReadings: number } | null;
    saved: { sequence: number; reason: string; openWindows?: number } | null;
    checkpoints: number;
    checkpointFailures: number;
  };
}

/**
 * Runs the gateway and sends SIGINT `interruptAfterMs` after it runs (once its live page, on a free
 * port, answers: from then on its Ctrl-C handler is installed; loading it takes seconds on a busy
 * machine); returns its output and when the signal was sent.
 */
async function run(args: string[], interruptAfterMs: number): Promise<{ code: number | null; stdout: string; stderr: string; interruptedAt: number }> {
  const port = await freePort();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [gateway, ...args, '--dashboard', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let interruptedAt = 0;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let timer: NodeJS.Timeout | undefined;
    void whenAnswering(`http://127.0.0.1:${port}/metrics`, () => child.exitCode === null && child.signalCode === null).then((running) => {
      if (running) {
        timer = setTimeout(() => {
          interruptedAt = Date.now();
          child.kill('SIGINT');
        }, interruptAfterMs);
      } else if (child.exitCode === null && child.signalCode === null) {
        stderr += `\n(test) the gateway's live page on port ${port} never answered\n`;
        child.kill('SIGKILL');
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, interruptedAt });
    });
  });
}

const lastJson = (stdout: string): GatewaySummary => JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as GatewaySummary;
const total = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);

describe('npm start -- --state-dir: Ctrl-C and start again', { skip: unavailable('prometheus') }, () => {
  let prometheus: TsdbServer;
  let root: string;
  before(async () => {
    prometheus = await startPrometheus();
    root = await mkdtemp(join(tmpdir(), 'rxprom-gateway-state-'));
  });
  after(async () => {
    await prometheus?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('saves open windows on Ctrl-C instead of writing them, restores them on the next start, nothing refused', async () => {
    const stateDir = join(root, 'state');
    const common = ['--url', prometheus.writeUrl, '--devices', '200', '--window', '5s', '--state-dir', stateDir];
    const first = await run([...common, '--json'], 8000);
    assert.equal(first.code, 0, first.stderr);
    const one = lastJson(first.stdout);
    assert.equal(one.durable.ending, 'stopped');
    assert.equal(one.durable.restored, null, 'nothing to restore the first time');
    assert.equal(one.durable.saved?.reason, 'stop');
    assert.ok((one.durable.saved?.openWindows ?? 0) > 0, `open windows saved (${JSON.stringify(one.durable.saved)})`);
    assert.equal(total(one.samplesDropped), 0);
    // Today's drain writes the open windows stamped with their end, still in the future: not here.
    const newest = await prometheus.query('max(timestamp(room_temperature_celsius_count))', first.interruptedAt + 60_000);
    if (newest.length > 0) {
      const newestSeconds = Number((newest[0] as { value: [number, string] }).value[1]);
      assert.ok(newestSeconds * 1000 <= first.interruptedAt, `newest window end ${newestSeconds * 1000} not after the Ctrl-C at ${first.interruptedAt}`);
    }

    const second = await run([...common, '--json'], 9000);
    assert.equal(second.code, 0, second.stderr);
    const two = lastJson(second.stdout);
    assert.equal(two.durable.restored?.sequence, one.durable.saved?.sequence, 'restored the checkpoint saved at Ctrl-C');
    assert.ok((two.durable.restored?.openWindows ?? 0) > 0, 'with its open windows');
    assert.ok(two.samplesWritten > 0);
    assert.equal(total(two.samplesDropped), 0, `nothing refused or dropped: ${JSON.stringify(two.samplesDropped)}`);

    // The human-readable summary says what was restored and what was saved.
    const third = await run(common, 6000);
    assert.equal(third.code, 0, third.stderr);
    assert.match(third.stdout, /restored checkpoint #\d+ from .*: [\d,]+ open windows?, [\d,]+ readings held for reordering/);
    assert.match(third.stdout, /gap in the readings/);
    assert.match(third.stdout, /saved checkpoint #\d+ on exit .*not written half full/);
  });
});
