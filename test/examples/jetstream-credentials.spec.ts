/**
 * The README's JetStream credentials example is examples/jetstream-credentials.ts verbatim; run
 * against a nats-server that wants a password, it prints what it says, and with a wrong password it
 * prints the refusal without the password.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { startNats, unavailable, type NatsServer } from '../harness/servers.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const PASSWORD = 'example-hunter2';

/** Runs the example with the given environment; resolves with its exit status and output. */
function runExample(env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'dist', 'examples', 'jetstream-credentials.js')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('JetStream credentials example', { skip: unavailable('nats') }, () => {
  let nats: NatsServer;
  before(async () => {
    nats = await startNats({ authorization: `users = [ { user: "gateway", password: "${PASSWORD}" } ]` });
    const admin = await connect({ servers: nats.url, user: 'gateway', pass: PASSWORD });
    try {
      await (await jetstreamManager(admin)).streams.add({ name: 'READINGS', subjects: ['readings.>'] });
      const js = jetstream(admin);
      for (const [device, value] of [['d1', 21.5], ['d2', 22], ['d3', 19.25]] as const) await js.publish(`readings.${device}`, JSON.stringify({ device, value }));
    } finally {
      await admin.close();
    }
  });
  after(() => nats?.stop());

  it('is in the README', () => {
    const source = readFileSync(join(root, 'examples', 'jetstream-credentials.ts'), 'utf8');
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    assert.ok(readme.includes(source.replaceAll("'../src/sources/jetstream/index.js'", "'rxprom/jetstream'").trim()), 'README.md must contain examples/jetstream-credentials.ts verbatim');
  });

  it('prints what it says with the right password', async () => {
    const source = readFileSync(join(root, 'examples', 'jetstream-credentials.ts'), 'utf8');
    const expected = source.slice(source.indexOf('// prints')).split('\n').slice(1).filter((l) => l.startsWith('//')).map((l) => l.slice(3));
    const run = await runExample({ NATS_URL: nats.url, NATS_PASSWORD: PASSWORD });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.stdout.trimEnd().split('\n'), expected);
  });

  it('prints the refusal, without the password, with a wrong one', async () => {
    const run = await runExample({ NATS_URL: nats.url, NATS_PASSWORD: 'wrong-hunter2' });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /refused the user and password given in credentials: Authorization Violation/i);
    assert.ok(!`${run.stdout}${run.stderr}`.includes('hunter2'));
  });
});
