/**
 * `npm run fleet -- --mqtt URL` and `npm start -- --mqtt URL` as a user runs them, against a real
 * mosquitto: the publisher sends exactly the simulated fleet's readings for its seed (the same
 * readings as computed in-process), each once, and says how many; the gateway reads them all
 * from the broker, through the pipeline into its receiver.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connectAsync } from 'mqtt';
import type { Subscription } from 'rxjs';
import { mqttSource } from '../../src/sources/mqtt/index.js';
import { deviceReadingPayload, FLEET_TOPICS } from '../../examples/mqtt-readings.js';
import { publishFleet } from '../../examples/publishers/publish-fleet.js';
import { readingPayload, readingTopic, type ReadingPublisher } from '../../examples/publishers/publisher.js';
import { createMqttSession } from '../harness/mqtt-session.js';
import { untilGatewayRead } from '../harness/gateway-readings.js';
import { freePort, startMosquitto, unavailable, type MosquittoServer } from '../harness/servers.js';

const fleetCli = fileURLToPath(new URL('../../examples/fleet-publish.js', import.meta.url));
const gatewayCli = fileURLToPath(new URL('../../examples/gateway.js', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function run(script: string, args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return { child, done: new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr }))) };
}

describe('npm run fleet -- --mqtt and npm start -- --mqtt', { skip: unavailable('mosquitto') }, () => {
  let broker: MosquittoServer;
  before(async () => {
    broker = await startMosquitto();
  });
  after(() => broker?.stop());

  it('publishes exactly the readings of the seed, each once, and prints how many', async () => {
    const flags = { devices: 40, rate: 4, durationMs: 3000, seed: 11, startTime: 1_700_000_000_000 };
    const expected: string[] = [];
    const recorder: ReadingPublisher = {
      target: 'memory',
      publish: async (reading, placement) => void expected.push(`${readingTopic(reading, placement)} ${JSON.stringify(readingPayload(reading))}`),
      close: async () => {},
    };
    await publishFleet(recorder, { ...flags, pace: 'max', maxInFlight: 100 });
    assert.ok(expected.length > 400, `${expected.length} readings`);

    // The session exists before anything is published, however long the source takes to subscribe.
    await createMqttSession(broker.url, 'fleet-check', FLEET_TOPICS);
    const source = mqttSource({ url: broker.url, clientId: 'fleet-check', topics: FLEET_TOPICS, payload: (payload) => new TextDecoder().decode(payload) });
    const received: string[] = [];
    const subscription: Subscription = source.resumeFrom().subscribe(({ value, position }) => {
      received.push(`${value.topic} ${value.value}`);
      void source.commit(position);
    });
    const { done } = run(fleetCli, ['--mqtt', broker.url, '--devices', '40', '--rate', '4', '--duration', '3s', '--seed', '11', '--start', String(flags.startTime), '--pace', 'max', '--json']);
    const { code, stdout, stderr } = await done;
    assert.equal(code, 0, stderr);
    const summary = JSON.parse(stdout.trim()) as { published: number };
    assert.equal(summary.published, expected.length);
    const deadline = Date.now() + 60_000;
    while (received.length < expected.length && Date.now() < deadline) await sleep(50);
    await sleep(200);
    subscription.unsubscribe();
    assert.deepEqual([...received].sort(), [...expected].sort(), 'the same readings, each once');
    assert.equal(source.stats().bad['bad-payload'] + source.stats().bad['unmatched-topic'], 0);
  });

  it('refuses a run without a broker, naming the flag', async () => {
    const { code, stderr } = await run(fleetCli, ['--devices', '1']).done;
    assert.equal(code, 2);
    assert.match(stderr, /--mqtt URL/);
  });

  it('the gateway reads the fleet from the broker into its receiver: every reading in, every aggregate written', async () => {
    // The session exists before anything is published, however long the gateway takes to start.
    const session = await connectAsync(broker.url, { clientId: 'gateway-check', clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 } });
    await session.subscribeAsync('sensors/+/+/+', { qos: 1 });
    await session.endAsync();
    // With its /metrics on a free port (how many readings it has taken in): it is stopped (SIGTERM,
    // the same drain as at the end of --duration) once it has read what was published, however long
    // that takes on this machine. The --duration only ends a gateway the test has given up on.
    const metricsPort = await freePort();
    const gateway = run(gatewayCli, ['--mqtt', broker.url, '--client-id', 'gateway-check', '--devices', '60', '--seed', '5', '--window', '1s', '--duration', '300s', '--json', '--dashboard', String(metricsPort)]);
    await sleep(1500);
    const publisher = run(fleetCli, ['--mqtt', broker.url, '--devices', '60', '--rate', '4', '--duration', '4s', '--seed', '5', '--json']);
    const published = await publisher.done;
    if (published.code !== 0) gateway.child.kill('SIGKILL');
    assert.equal(published.code, 0, published.stderr);
    const { published: count } = JSON.parse(published.stdout.trim()) as { published: number };
    await untilGatewayRead(`http://127.0.0.1:${metricsPort}/metrics`, count, () => gateway.child.exitCode === null);
    gateway.child.kill('SIGTERM');
    const { code, stdout, stderr } = await gateway.done;
    assert.equal(code, 0, stderr);
    const summary = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as {
      eventsIn: number; samplesToSink: number; samplesWritten: number; pipeline: { samplesOut: number; unregistered: number };
      mqtt: { received: number; bad: Record<string, number> }; receiver: { samplesStored: number };
    };
    assert.equal(summary.mqtt.received, count, 'every published reading reached the gateway');
    assert.equal(summary.eventsIn, count);
    assert.deepEqual(summary.mqtt.bad, { 'unmatched-topic': 0, 'bad-payload': 0 });
    assert.ok(summary.pipeline.unregistered > 0, 'the registry (same devices and seed) knows most devices, not all');
    assert.ok(summary.samplesWritten > 0);
    assert.equal(summary.samplesWritten, summary.samplesToSink);
    assert.equal(summary.receiver.samplesStored, summary.samplesWritten);
  });
});
