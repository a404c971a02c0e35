/**
 * `npm start -- --mqtt URL --state-dir DIR` killed with `kill -9` mid-run and restarted on the
 * same DIR, against a real mosquitto and a real Prometheus: Prometheus ends with exactly what an
 * uninterrupted gateway stores from the same published readings (`npm run fleet`, one seed), in a
 * second Prometheus. Both gateways end the same way (stopped with SIGTERM once done: their open
 * windows are saved, not written).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectAsync } from 'mqtt';
import { untilGatewayRead } from '../harness/gateway-readings.js';
import { freePort, startMosquitto, startPrometheus, unavailable, type MosquittoServer, type StoredSeries, type TsdbServer } from '../harness/servers.js';

const gatewayCli = fileURLToPath(new URL('../../examples/gateway.js', import.meta.url));
const fleetCli = fileURLToPath(new URL('../../examples/fleet-publish.js', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Run {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

function start(script: string, args: string[]): Run {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return { child, done: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }))) };
}

/** The sequence of the newest checkpoint file in `directory` (0 when none). */
async function newestCheckpoint(directory: string): Promise<number> {
  const names = await readdir(directory).catch(() => [] as string[]);
  return Math.max(0, ...names.map((name) => /^checkpoint-(\d+)\.ckpt$/.exec(name)).filter((m) => m !== null).map((m) => Number(m[1])));
}

async function everything(server: TsdbServer, from: number, to: number): Promise<StoredSeries[]> {
  const response = await fetch(`${server.baseUrl}/api/v1/label/__name__/values`);
  const names = ((await response.json()) as { data: string[] }).data.filter((name) => name.startsWith('room_')).sort();
  const all: StoredSeries[] = [];
  for (const name of names) all.push(...(await server.readSeries(name, from, to)));
  return all;
}

describe('the gateway from MQTT, kill -9 and restart on its state dir', { skip: unavailable('mosquitto') || unavailable('prometheus'), timeout: 300_000 }, () => {
  let broker: MosquittoServer;
  let whole: TsdbServer;
  let crashed: TsdbServer;
  let root: string;
  before(async () => {
    [broker, whole, crashed] = await Promise.all([startMosquitto(), startPrometheus(), startPrometheus()]);
    root = await mkdtemp(join(tmpdir(), 'rxprom-gateway-mqtt-'));
  });
  after(async () => {
    await Promise.all([broker?.stop(), whole?.stop(), crashed?.stop(), rm(root, { recursive: true, force: true })]);
  });

  it('Prometheus ends with exactly what an uninterrupted gateway stores', async () => {
    // The sessions exist before anything is published: the broker keeps every reading for both.
    for (const clientId of ['gateway-whole', 'gateway-crashed']) {
      const session = await connectAsync(broker.url, { clientId, clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 } });
      await session.subscribeAsync('sensors/+/+/+', { qos: 1 });
      await session.endAsync();
    }
    const startTime = Math.floor((Date.now() - 15 * 60_000) / 2000) * 2000;
    const common = ['--mqtt', broker.url, '--devices', '100', '--seed', '3', '--window', '2s', '--checkpoint-interval', '300ms', '--json'];
    // Each gateway is stopped with SIGTERM (the same stop as at the end of --duration) once it has
    // done its part, however long that takes on this machine; the --duration only ends one the test
    // has given up on. Its /metrics (on a free port) tell how many readings it has taken in.
    const gateway = (name: string, url: string, dashboardPort: number): Run =>
      start(gatewayCli, [...common, '--client-id', `gateway-${name}`, '--state-dir', join(root, name), '--url', url, '--duration', '600s', '--dashboard', String(dashboardPort)]);

    const wholePort = await freePort();
    const uninterrupted = gateway('whole', whole.writeUrl, wholePort);
    let victim = gateway('crashed', crashed.writeUrl, await freePort());
    await sleep(2000);
    const publisher = start(fleetCli, ['--mqtt', broker.url, '--devices', '100', '--rate', '4', '--duration', '60s', '--seed', '3', '--start', String(startTime), '--pace', 'max', '--in-flight', '1', '--json']);
    // Killed once it has checkpointed a few times during the run (each checkpoint commits what it covers).
    const atPublish = await newestCheckpoint(join(root, 'crashed'));
    for (let waited = 0; (await newestCheckpoint(join(root, 'crashed'))) < atPublish + 3; waited += 50) {
      if (waited > 60_000) assert.fail('the gateway never checkpointed');
      await sleep(50);
    }
    assert.equal(publisher.child.exitCode, null, 'killed while readings are still being published');
    assert.equal(victim.child.exitCode, null, 'the gateway is still running when killed');
    victim.child.kill('SIGKILL');
    const killed = await victim.done;
    assert.equal(killed.signal, 'SIGKILL');
    victim = gateway('crashed', crashed.writeUrl, await freePort());
    const published = await publisher.done;
    assert.equal(published.code, 0, published.stderr);
    const { published: count } = JSON.parse(published.stdout.trim()) as { published: number };
    assert.ok(publisher.child.exitCode === 0);

    const from = startTime - 60_000;
    const to = startTime + 180_000;
    // The uninterrupted gateway: stopped once it has read every published reading.
    await untilGatewayRead(`http://127.0.0.1:${wholePort}/metrics`, count, () => uninterrupted.child.exitCode === null, 240_000);
    uninterrupted.child.kill('SIGTERM');
    const first = await uninterrupted.done;
    const expected = await everything(whole, from, to);
    // The restarted one reads what the killed one left (how much is the broker's to say): stopped
    // once it has written every window the uninterrupted one wrote (the windows still open at the
    // end are saved, not written, by both). If it never does, the comparison below says how not.
    for (const deadline = Date.now() + 240_000; victim.child.exitCode === null && Date.now() < deadline; await sleep(500)) {
      if (JSON.stringify(await everything(crashed, from, to)) === JSON.stringify(expected)) break;
    }
    victim.child.kill('SIGTERM');
    const second = await victim.done;
    assert.equal(first.code, 0, first.stderr.slice(-2000));
    assert.equal(second.code, 0, second.stderr.slice(-2000));
    type Summary = { mqtt: { received: number; redelivered: number }; durable: { restored: { sequence: number } | null } };
    const a = JSON.parse(first.stdout.trim().split('\n').pop() ?? '{}') as Summary;
    const b = JSON.parse(second.stdout.trim().split('\n').pop() ?? '{}') as Summary;
    assert.equal(a.mqtt.received, count, 'the uninterrupted gateway read every published reading');
    assert.ok(b.durable.restored !== null, 'the restarted gateway resumed from a checkpoint');
    // What the killed run had read and no checkpoint covered comes again, flagged by the broker.
    assert.ok(b.mqtt.received <= count + b.mqtt.redelivered, `read ${b.mqtt.received} of ${count}, ${b.mqtt.redelivered} again`);

    const stored = await everything(crashed, from, to);
    const samples = expected.reduce((n, s) => n + s.samples.length, 0);
    assert.ok(samples > 1000, `the uninterrupted gateway stored a real amount (${samples} samples)`);
    assert.deepEqual(stored, expected);
  });
});
