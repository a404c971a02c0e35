/**
 * `npm start`'s gateway as a user runs it: a separate process, stopped with Ctrl-C (SIGINT).
 * It must drain — close open windows, flush batches, finish requests — report, and exit 0.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startReceiver } from '../../src/testing/index.js';
import { whenAnswering } from '../harness/answering.js';
import { freePort } from '../harness/servers.js';

const gateway = fileURLToPath(new URL('../../examples/gateway.js', import.meta.url));

/**
 * Runs the gateway; with `interruptAfterMs`, sends Ctrl-C that long after it runs: once its live
 * page (on a free port) answers, which it does from the moment its Ctrl-C handler is installed
 * (loading it takes seconds on a busy machine: a signal timed from the spawn would kill it).
 */
async function run(args: string[], interruptAfterMs?: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const port = interruptAfterMs === undefined ? undefined : await freePort();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [gateway, ...args, ...(port === undefined ? [] : ['--dashboard', String(port)])], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let timer: NodeJS.Timeout | undefined;
    if (port !== undefined) {
      void whenAnswering(`http://127.0.0.1:${port}/metrics`, () => child.exitCode === null && child.signalCode === null).then((running) => {
        if (running) timer = setTimeout(() => child.kill('SIGINT'), interruptAfterMs);
        else if (child.exitCode === null && child.signalCode === null) {
          stderr += `\n(test) the gateway's live page on port ${port} never answered\n`;
          child.kill('SIGKILL');
        }
      });
    }
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('the gateway example (npm start)', () => {
  it('drains on Ctrl-C: every aggregate written into the embedded receiver, nothing pending, exit 0', async () => {
    const { code, stdout, stderr } = await run(['--devices', '200', '--window', '1s', '--json'], 5000);
    assert.equal(code, 0, stderr);
    const summary = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as {
      ending: string; eventsIn: number; samplesToSink: number; samplesWritten: number; samplesPending: number;
      samplesDropped: Record<string, number>; pipeline: { samplesOut: number; windowsClosed: number }; receiver: { samplesStored: number };
    };
    assert.equal(summary.ending, 'completed');
    // How many events arrive in 5 s depends on the machine's load (the fleet runs in real time):
    // what is asserted is the drain, whatever was in flight when Ctrl-C came.
    assert.ok(summary.eventsIn > 0, `events in: ${summary.eventsIn}`);
    assert.ok(summary.samplesWritten > 0);
    assert.ok(summary.pipeline.windowsClosed >= 1);
    // The drain flushed the open windows: every aggregate produced reached the sink and was written.
    assert.equal(summary.samplesToSink, summary.pipeline.samplesOut);
    assert.equal(summary.samplesWritten, summary.samplesToSink);
    assert.equal(summary.samplesPending, 0);
    assert.equal(Object.values(summary.samplesDropped).reduce((a, b) => a + b, 0), 0);
    assert.equal(summary.receiver.samplesStored, summary.samplesWritten, 'the receiver holds exactly what was written');
  });

  it('never prints the password of --url: the first line and the summary show it as ***', async () => {
    const receiver = await startReceiver({ mode: 'strict' });
    try {
      const url = receiver.url.replace('http://', 'http://gateway:s3cret@');
      const plain = await run(['--url', url, '--devices', '20', '--window', '1s', '--duration', '1500ms']);
      assert.equal(plain.code, 0, plain.stderr);
      const first = plain.stdout.split('\n')[0];
      assert.match(first, /^rxprom gateway: .* → http:\/\/gateway:\*\*\*@127\.0\.0\.1:\d+\//);
      const json = await run(['--url', url, '--devices', '20', '--window', '1s', '--duration', '1500ms', '--json']);
      assert.equal(json.code, 0, json.stderr);
      const summary = JSON.parse(json.stdout.trim().split('\n').pop() ?? '{}') as { url: string; samplesWritten: number };
      assert.match(summary.url, /gateway:\*\*\*@/);
      assert.ok(summary.samplesWritten > 0, 'it did write, with the credentials');
      for (const output of [plain.stdout, plain.stderr, json.stdout, json.stderr]) assert.doesNotMatch(output, /s3cret/);
    } finally {
      await receiver.close();
    }
  });

  it('refuses a bad flag with a message naming it and exit code 2', async () => {
    const { code, stderr } = await run(['--devices', '0']);
    assert.equal(code, 2);
    assert.match(stderr, /--devices must be an integer in \[1, 1000000\]/);
  });

  it('refuses a --header written as curl writes it without printing its value (a credential)', async () => {
    const { code, stderr } = await run(['--header', 'Authorization: Bearer hunter2']);
    assert.equal(code, 2);
    assert.match(stderr, /option --header must be Name=Value \(got "Authorization…"; the rest is not shown: it may be a credential\)/);
    assert.ok(!stderr.includes('hunter2'), stderr);
  });
});
