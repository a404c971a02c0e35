import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runGenerateCli, USAGE } from '../../../src/testing/generator/cli.js';
import type { GeneratorReport } from '../../../src/testing/generator/generator.js';
import { startReceiver, type Receiver } from '../../../src/testing/receiver/server.js';

// Compiled, this spec is dist/test/testing/generator/cli.spec.js: the package root is four levels up.
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const packageJson = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { bin: Record<string, string>; files: string[]; scripts: Record<string, string> };

const run = async (argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runGenerateCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
};

/** Runs the installed executable as npx would: `node <bin> ...args`. */
const runBin = (args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`${root}${packageJson.bin['rxprom-generate']}`, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });

describe('runGenerateCli', () => {
  let receiver: Receiver;
  before(async () => {
    receiver = await startReceiver({ mode: 'strict' });
  });
  after(() => receiver.close());

  it('bad flags: exit code 2 and a message naming the flag and its range', async () => {
    const cases: [string[], RegExp][] = [
      [['--dry-run', '--series', '0'], /--series must be an integer in \[1, 10000000\]/],
      [['--dry-run', '--late', '2'], /--late must be a fraction in \[0, 1\]/],
      [['--dry-run', '--malformed', 'x'], /--malformed must be a fraction/],
      [['--dry-run', '--out-of-order', '0.6', '--duplicate', '0.6'], /must be at most 1/],
      [['--dry-run', '--duration', 'soon'], /--duration must be a duration like/],
      [['--dry-run', '--rate=-5'], /--rate must be a number in \[0, 1e9\]/],
      [['--dry-run', '--shards', '1000'], /--shards must be an integer in \[1, 256\]/],
      [['--dry-run', '--metric', 'bad-name'], /--metric must match \[a-zA-Z_:\]\[a-zA-Z0-9_:\]\* \(got "bad-name"\)/],
      [['--dry-run', '--bogus'], /bogus/],
      [['--series', '10'], /--url is required/],
      [['--url', 'ftp://x'], /--url must be an http\(s\) URL/],
    ];
    for (const [argv, message] of cases) {
      const { code, err } = await run(argv);
      assert.equal(code, 2, argv.join(' '));
      assert.match(err.join('\n'), message);
    }
  });

  it('--help prints usage, with both ways to run it, and exits 0', async () => {
    const { code, out } = await run(['--help']);
    assert.equal(code, 0);
    const text = out.join('\n');
    assert.match(text, /^usage: rxprom-generate --url <remote-write URL> \[options\]/);
    assert.match(text, /npx rxprom-generate --url /);
    assert.match(text, /npm run generate -- --url /);
    assert.match(text, /--out-of-order F/);
  });

  it('--dry-run generates and exits 0', async () => {
    const { code, out } = await run(['--dry-run', '--rate', 'max', '--count', '5000', '--malformed', '0.1']);
    assert.equal(code, 0);
    assert.match(out.join('\n'), /generated 5000 samples/);
    assert.match(out.join('\n'), /dry run: report consistent/);
  });

  it('writes to a receiver and exits 0 when the accounting balances', async () => {
    receiver.reset();
    const { code, out } = await run([
      '--url', receiver.url, '--rate', 'max', '--count', '8000', '--series', '100', '--seed', '3',
      '--out-of-order', '0.05', '--late', '0.05', '--duplicate', '0.05', '--malformed', '0.05', '--json',
    ]);
    assert.equal(code, 0, out.join('\n'));
    const final = JSON.parse(out[out.length - 1]) as { type: string; url: string; ok: boolean; report: GeneratorReport; mismatches: string[] };
    assert.equal(final.type, 'report');
    assert.equal(final.url, receiver.url);
    assert.equal(final.ok, true);
    assert.deepEqual(final.mismatches, []);
    assert.equal(final.report.produced, 8000);
    assert.equal(receiver.stats().samplesAccepted, final.report.valid);
    assert.equal(receiver.samplesStored(), final.report.valid);
  });

  it('exits 1 when the receiver refuses the samples (the accounting does not balance)', async () => {
    receiver.reset();
    receiver.randomFaults({ rate: 1, faults: [{ status: 400, body: 'refused' }] });
    const { code, out } = await run(['--url', receiver.url, '--rate', 'max', '--count', '1000', '--series', '10']);
    receiver.randomFaults(undefined);
    assert.equal(code, 1);
    assert.match(out.join('\n'), /accounting MISMATCH: written \(valid\): expected 1000, got 0/);
    assert.match(out.join('\n'), /dropped 'non-retryable' \(none injected\): expected 0, got 1000/);
    assert.equal(receiver.samplesStored(), 0);
  });

  it('never prints the password of the URL, in flag errors, progress, warnings and the report', async () => {
    receiver.reset();
    const secret = 'hunter2-s3cret';
    const withPassword = receiver.url.replace('http://', `http://alice:${secret}@`);
    receiver.randomFaults({ rate: 1, faults: [{ status: 400, body: `echo ${withPassword}` }] });
    const runs = [
      await run(['--url', withPassword, '--rate', 'max', '--count', '200', '--series', '10']),
      await run(['--url', withPassword, '--rate', 'max', '--count', '200', '--series', '10', '--json']),
      await run([`--url=${withPassword}`, '--series', '0']),
      // Unparsable (a '/' in the password): remoteWrite's ConfigError quotes it whole.
      await run(['--url', `http://alice:${secret}/x@127.0.0.1:1/api/v1/write`, '--count', '1']),
      await run(['--url', `ftp://alice:${secret}@host/`]),
    ];
    receiver.randomFaults(undefined);
    assert.deepEqual(runs.map((r) => r.code), [1, 1, 2, 2, 2]);
    for (const { out, err } of runs) {
      const printed = [...out, ...err].join('\n');
      assert.doesNotMatch(printed, /hunter2/);
    }
    assert.match(runs[0].out.join('\n'), /writing to http:\/\/alice:\*\*\*@127\.0\.0\.1:\d+\/api\/v1\/write/);
    assert.equal((JSON.parse(runs[1].out[runs[1].out.length - 1]) as { url: string }).url, withPassword.replace(secret, '***'));
    assert.match(runs[3].err.join('\n'), /option "url" must be an http\(s\) URL string \(got "http:\/\/alice:\*\*\*@127\.0\.0\.1:1\/api\/v1\/write"\)/);
    assert.match(runs[4].err.join('\n'), /--url must be an http\(s\) URL \(got "ftp:\/\/alice:\*\*\*@host\/"\)/);
  });
});

describe('rxprom-generate (the executable)', () => {
  it('is the package bin, shipped in `files`, with a node shebang; npm run generate runs the same file', () => {
    const bin = packageJson.bin['rxprom-generate'];
    assert.equal(bin, './dist/src/testing/generator/main.js');
    assert.ok(packageJson.files.some((dir) => bin.replace(/^\.\//, '').startsWith(`${dir}/`)), `${bin} is in files`);
    assert.match(readFileSync(`${root}${bin}`, 'utf8'), /^#!\/usr\/bin\/env node\n/);
    assert.match(packageJson.scripts.generate, new RegExp(`node ${bin.replace(/^\.\//, '').replace(/\./g, '\\.')}$`));
  });

  it('exits 0 with the usage for --help, 2 for a bad flag, 1 when the accounting does not balance', async () => {
    const help = await runBin(['--help']);
    assert.equal(help.code, 0);
    assert.equal(help.stdout, `${USAGE}\n`);
    const bad = await runBin(['--dry-run', '--series', '0']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^rxprom-generate: --series must be an integer in \[1, 10000000\]/);
    const receiver = await startReceiver();
    try {
      receiver.randomFaults({ rate: 1, faults: [{ status: 400 }] });
      const refused = await runBin(['--url', receiver.url, '--rate', 'max', '--count', '100', '--series', '5']);
      assert.equal(refused.code, 1, refused.stderr);
      assert.match(refused.stdout, /accounting MISMATCH/);
      receiver.randomFaults(undefined);
      const ok = await runBin(['--url', receiver.url, '--rate', 'max', '--count', '100', '--series', '5']);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(receiver.samplesStored(), 100);
    } finally {
      await receiver.close();
    }
  });
});
