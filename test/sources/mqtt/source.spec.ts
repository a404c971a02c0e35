/**
 * The MQTT source against a real mosquitto (test/harness/servers.ts): labels from topics, bad
 * messages counted by reason, acknowledgement on commit (what is not committed is delivered again
 * to the next client with the same id, what is committed is not), pause and resume, a broker
 * restart mid-run without loss.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { connectAsync, type MqttClient } from 'mqtt';
import type { Subscription } from 'rxjs';
import { ConfigError } from '../../../src/core/errors.js';
import type { Positioned } from '../../../src/sources/acknowledged.js';
import { isPausable } from '../../../src/sources/acknowledged.js';
import { jsonPayload, mqttSource, numberPayload, type BadMessage, type MqttMessage, type MqttSourceOptions, type Reading } from '../../../src/sources/mqtt/index.js';
import { createMqttSession } from '../../harness/mqtt-session.js';
import { startMosquitto, unavailable, type MosquittoServer } from '../../harness/servers.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
async function eventually(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

let clients = 0;
const PATTERN = 'sensors/{site}/{room}/{device}';

describe('mqttSource options', () => {
  const base: MqttSourceOptions<Reading> = { url: 'mqtt://127.0.0.1:1883', clientId: 'c', topics: PATTERN, payload: numberPayload() };
  for (const [option, value] of [
    ['url', 'http://127.0.0.1:1883'],
    ['clientId', ''],
    ['topics', []],
    ['topics', 'a/{x}/{x}'],
    ['payload', undefined],
    ['qos', 2],
    ['protocolVersion', 3],
    ['receiveMaximum', 0],
    ['receiveMaximum', 65536],
    ['rememberTopics', -1],
    ['rememberTopics', 2 ** 24 + 1],
    ['maxReconnectDelayMs', 10],
    ['onBadMessage', 'log'],
  ] as const) {
    it(`refuses ${option} = ${JSON.stringify(value)} at creation`, () => {
      assert.throws(() => mqttSource({ ...base, [option]: value }), (error: unknown) => error instanceof ConfigError && error.option === option);
    });
  }
  it('never prints the password of the URL', () => {
    assert.throws(
      () => mqttSource({ ...base, url: 'http://user:s3cret@host' }),
      (error: unknown) => error instanceof ConfigError && !error.message.includes('s3cret') && error.message.includes('***'),
    );
  });
  it('names the pattern that is wrong among several', () => {
    assert.throws(() => mqttSource({ ...base, topics: [PATTERN, 'a/#/b'] }), (error: unknown) => error instanceof ConfigError && error.option === 'topics[1]');
  });
  it('is pausable', () => {
    assert.ok(isPausable(mqttSource(base)));
  });
});

describe('mqttSource with mosquitto', { skip: unavailable('mosquitto') }, () => {
  let broker: MosquittoServer;
  let publisher: MqttClient;
  before(async () => {
    broker = await startMosquitto();
    publisher = await connectAsync(broker.url, { clientId: 'test-publisher', reconnectPeriod: 100 });
  });
  after(async () => {
    await publisher?.endAsync();
    await broker?.stop();
  });
  const publish = async (topic: string, payload: string): Promise<void> => {
    await publisher.publishAsync(topic, payload, { qos: 1 });
  };
  /**
   * Subscribes a source and waits for its connection. A fresh client id gets its session and
   * subscription made first, so nothing published from now on is missed, however late the source's
   * own SUBACK comes; a given `clientId` names a session that exists already.
   */
  async function subscribed<T>(options: Omit<MqttSourceOptions<T>, 'url' | 'clientId'> & { clientId?: string }) {
    const clientId = options.clientId ?? `test-${++clients}`;
    if (options.clientId === undefined) await createMqttSession(broker.url, clientId, options.topics, options.protocolVersion);
    const source = mqttSource<T>({ url: broker.url, clientId, reconnectDelayMs: 100, ...options });
    const received: Positioned<MqttMessage<T>, number>[] = [];
    let failure: unknown;
    const subscription: Subscription = source.resumeFrom().subscribe({ next: (element) => received.push(element), error: (error: unknown) => (failure = error) });
    await eventually(() => source.stats().connects === 1, 'the connection');
    return { source, received, subscription, failure: () => failure };
  }

  it('a checkpoint saved but not committed (a crash between the two): what it covers, sent again, is acknowledged and not emitted twice', async () => {
    const clientId = `covered-${++clients}`;
    const first = await subscribed({ clientId, topics: PATTERN, payload: numberPayload() });
    for (let i = 0; i < 20; i++) await publish('sensors/a/r/d', String(i));
    await eventually(() => first.received.length === 20, '20 messages');
    // The checkpoint covers the first 12; its commit never happens.
    const position = first.received[11].position;
    const covered = first.source.checkpointCovered(position);
    assert.equal(covered.unacknowledged.length, 12);
    first.subscription.unsubscribe();
    await sleep(200);
    for (let i = 20; i < 25; i++) await publish('sensors/a/r/d', String(i));
    const source = mqttSource({ url: broker.url, clientId, topics: PATTERN, payload: numberPayload(), reconnectDelayMs: 100 });
    const received: Positioned<MqttMessage<Reading>, number>[] = [];
    const subscription = source.resumeFrom(position, JSON.parse(JSON.stringify(covered))).subscribe((element) => received.push(element));
    await eventually(() => received.length >= 13, 'the uncovered messages');
    await sleep(300);
    subscription.unsubscribe();
    assert.deepEqual(received.map((e) => e.value.value.value), Array.from({ length: 13 }, (_, i) => 12 + i), 'exactly what the checkpoint does not cover, in order');
    assert.ok(received.every((e, i) => e.position === position + 1 + i), 'positions continue after the checkpoint');
    assert.equal(source.stats().alreadyCheckpointed, 12);
    assert.equal(source.stats().redelivered, 20);
  });

  it('emits each reading with its topic labels, in order, positions increasing', async () => {
    const { source, received, subscription } = await subscribed({ topics: PATTERN, payload: jsonPayload({ value: 'temperature', timestamp: 'ts' }) });
    for (let i = 0; i < 50; i++) await publish(`sensors/lyon/room-${i % 3}/dev-${i % 7}`, JSON.stringify({ temperature: 20 + i / 10, ts: 1_700_000_000_000 + i }));
    await eventually(() => received.length === 50, '50 messages');
    subscription.unsubscribe();
    assert.deepEqual(received.map((e) => e.value.value.timestamp), Array.from({ length: 50 }, (_, i) => 1_700_000_000_000 + i));
    assert.deepEqual(received[8].value.labels, { site: 'lyon', room: 'room-2', device: 'dev-1' });
    assert.equal(received[8].value.value.value, 20.8);
    assert.equal(received[8].value.topic, 'sensors/lyon/room-2/dev-1');
    for (let i = 1; i < received.length; i++) assert.ok(source.comparePositions(received[i - 1].position, received[i].position) < 0);
    assert.equal(source.stats().emitted, 50);
  });

  it('hands every message on a topic the same frozen labels object; an unmatched topic is counted with its reason each time', async () => {
    const told: BadMessage[] = [];
    const warnings: string[] = [];
    const logger = { info: () => {}, warn: (_fields: Record<string, unknown>, message: string) => warnings.push(message), error: () => {} };
    const { source, received, subscription } = await subscribed({ topics: PATTERN, payload: numberPayload(), rememberTopics: 2, onBadMessage: (bad) => told.push(bad), logger });
    const topics = ['sensors/a/r/d1', 'sensors/a/r/d2', 'sensors/a//d3', 'sensors/a/r/d1', 'sensors/a//d3', 'sensors/a/r/d2', 'sensors/a/r/d1'];
    for (const [i, topic] of topics.entries()) await publish(topic, String(i));
    await eventually(() => received.length === 5 && told.length === 2, 'the matched and unmatched messages');
    assert.equal(warnings.filter((w) => w.includes('distinct topics')).length, 0, 'two topics fit the bound: none forgotten');
    assert.equal(source.stats().topicsForgotten, 0);
    // A third and a fourth topic go past the bound of 2: told once.
    await publish('sensors/a/r/d4', '7');
    await publish('sensors/a/r/d5', '8');
    await eventually(() => received.length === 7, 'the messages past the bound');
    assert.deepEqual(received.slice(5).map((e) => e.value.labels), [{ site: 'a', room: 'r', device: 'd4' }, { site: 'a', room: 'r', device: 'd5' }]);
    assert.equal(source.stats().topicsForgotten, 2, 'd1 and d2 forgotten for d4 and d5');
    assert.deepEqual(warnings.filter((w) => w.includes('distinct topics')), [`MQTT source "${source.clientId}" sees more than 2 distinct topics: the oldest are forgotten and matched again when they come back (raise rememberTopics if they keep coming)`]);
    subscription.unsubscribe();
    const byTopic = (topic: string) => received.filter((e) => e.value.topic === topic).map((e) => e.value.labels);
    const [d1, d1again, d1third] = byTopic('sensors/a/r/d1');
    const [d2, d2again] = byTopic('sensors/a/r/d2');
    assert.equal(d1again, d1);
    assert.equal(d1third, d1);
    assert.equal(d2again, d2);
    assert.notEqual(d1, d2);
    assert.ok(Object.isFrozen(d1) && Object.isFrozen(d2));
    assert.deepEqual(d1, { site: 'a', room: 'r', device: 'd1' });
    assert.deepEqual(d2, { site: 'a', room: 'r', device: 'd2' });
    assert.deepEqual(told.map((b) => [b.kind, b.topic]), [['unmatched-topic', 'sensors/a//d3'], ['unmatched-topic', 'sensors/a//d3']]);
    for (const bad of told) assert.match(bad.reason, /\{room\}\) is empty/);
    assert.equal(source.stats().bad['unmatched-topic'], 2);
  });

  it('counts malformed payloads and unmatched topics by reason, tells onBadMessage and the logger, and goes on', async () => {
    const told: BadMessage[] = [];
    const warnings: string[] = [];
    const logger = { info: () => {}, warn: (_fields: Record<string, unknown>, message: string) => warnings.push(message), error: () => {} };
    const { source, received, subscription } = await subscribed({ topics: PATTERN, payload: jsonPayload({ value: 'temperature' }), onBadMessage: (bad) => told.push(bad), logger });
    await publish('sensors/a/r/d1', '{"temperature": 21}');
    await publish('sensors/a/r/d2', 'not json');
    await publish('sensors/a/r/d3', '{"humidity": 40}');
    await publish('sensors/a/r/d4', '{"temperature": "hot"}');
    await publish('sensors/a//d5', '{"temperature": 22}');
    await publish('sensors/a/r/d6', '{"temperature": 23}');
    await eventually(() => received.length === 2 && told.length === 4, 'the good and the bad messages');
    subscription.unsubscribe();
    assert.deepEqual(received.map((e) => e.value.labels['device']), ['d1', 'd6']);
    assert.deepEqual(source.stats().bad, { 'bad-payload': 3, 'unmatched-topic': 1 });
    assert.deepEqual(told.map((b) => [b.kind, b.topic]), [['bad-payload', 'sensors/a/r/d2'], ['bad-payload', 'sensors/a/r/d3'], ['bad-payload', 'sensors/a/r/d4'], ['unmatched-topic', 'sensors/a//d5']]);
    assert.match(told[0].reason, /not JSON/);
    assert.match(told[1].reason, /field "temperature" is missing/);
    assert.match(told[2].reason, /not a finite number/);
    assert.match(told[3].reason, /\{room\}\) is empty/);
    assert.equal(told[0].payload, 'not json');
    assert.equal(warnings.filter((w) => w.includes('dropped')).length, 4);
    assert.equal(source.stats().received, 6);
  });

  it('errors the stream when onBadMessage throws', async () => {
    const { subscription, failure } = await subscribed({ topics: PATTERN, payload: numberPayload(), onBadMessage: () => { throw new Error('callback failed'); } });
    await publish('sensors/a/r/d1', 'NaN-ish');
    await eventually(() => failure() !== undefined, 'the error');
    assert.match(String(failure()), /callback failed/);
    subscription.unsubscribe();
  });

  it('refuses a second subscription while one is open (one connection per client id)', async () => {
    const { source, subscription } = await subscribed({ topics: PATTERN, payload: numberPayload() });
    let failure: unknown;
    source.resumeFrom().subscribe({ error: (error: unknown) => (failure = error) });
    assert.match(String(failure), /already subscribed/);
    subscription.unsubscribe();
  });

  it('pause() stops delivery and resume() continues in order, losing nothing', async () => {
    const { source, received, subscription } = await subscribed({ topics: PATTERN, payload: numberPayload() });
    source.pause();
    assert.equal(source.paused, true);
    for (let i = 0; i < 300; i++) await publish('sensors/a/r/d', String(i));
    // The first message reaches the paused source (held); then nothing more may come.
    await eventually(() => source.stats().heldWhilePaused >= 1, 'a message held by the pause');
    await sleep(500);
    assert.equal(received.length, 0, 'nothing emitted while paused');
    assert.equal(source.stats().received, 0, 'nothing read while paused');
    source.resume();
    await eventually(() => received.length === 300, 'all 300 after resume');
    source.pause();
    for (let i = 300; i < 400; i++) await publish('sensors/a/r/d', String(i));
    await sleep(300);
    assert.equal(received.length, 300, 'paused again');
    source.resume();
    await eventually(() => received.length === 400, 'all 400');
    subscription.unsubscribe();
    assert.deepEqual(received.map((e) => e.value.value.value), Array.from({ length: 400 }, (_, i) => i));
  });

  for (const protocolVersion of [5, 4] as const) {
  it(`acknowledges only what commit covers (MQTT ${protocolVersion === 5 ? '5' : '3.1.1'}): after the consumer process is killed, a client with its id gets exactly the rest, flagged redelivered`, async () => {
    const clientId = `killed-${++clients}`;
    const script = fileURLToPath(new URL('./consumer-process.js', import.meta.url));
    const child = spawn(process.execPath, [script, broker.url, clientId, String(protocolVersion)], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines: Array<{ position?: number; value?: number; committed?: number }> = [];
    createInterface({ input: child.stdout }).on('line', (line) => lines.push(JSON.parse(line)));
    try {
      // The session must exist before publishing: wait for the child's subscription to take effect.
      for (let probe = 0; !lines.some((l) => l.value === -1); probe++) {
        if (probe > 200) assert.fail('the consumer never subscribed');
        await publish('sensors/probe/r/d', '-1');
        await sleep(50);
      }
      for (let i = 0; i < 200; i++) await publish('sensors/a/r/d', String(i));
      // Under MQTT 3.1.1 mosquitto sends 20 unacknowledged messages at most: commit what arrived
      // (never past value 119) until 119 is in, then exactly up to 119.
      const positionOf = (value: number): number | undefined => lines.find((l) => l.value === value)?.position;
      for (let step = 0; positionOf(119) === undefined; step++) {
        if (step > 300) assert.fail('value 119 never arrived');
        const upTo = Math.max(...lines.filter((l) => l.value !== undefined && l.value <= 119 && l.position !== undefined).map((l) => l.position as number));
        child.stdin.write(`commit ${upTo}\n`);
        await sleep(50);
      }
      const upTo = positionOf(119) as number;
      child.stdin.write(`commit ${upTo}\n`);
      await eventually(() => lines.some((l) => l.committed === upTo), 'the commit');
      await sleep(200);
    } finally {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    const { received, subscription, source } = await subscribed({ clientId, topics: PATTERN, payload: numberPayload(), protocolVersion });
    await eventually(() => received.length >= 80, 'the redelivered messages');
    await sleep(300);
    subscription.unsubscribe();
    assert.deepEqual(received.map((e) => e.value.value.value), Array.from({ length: 80 }, (_, i) => 120 + i), 'exactly the uncommitted ones, in order');
    // Those the killed consumer had received come again flagged; the rest were still queued.
    const unacknowledged = lines.filter((l) => l.value !== undefined && l.value >= 120).length;
    // (Under MQTT 5 all 80 are in flight; under 3.1.1 at least the window's 20, more as mosquitto
    // 2.0 releases queued messages per PUBACK.)
    assert.ok(protocolVersion === 5 ? unacknowledged === 80 : unacknowledged >= 20, `${unacknowledged} received unacknowledged`);
    assert.ok(received.slice(0, unacknowledged).every((e) => e.value.redelivered));
    assert.ok(received.slice(unacknowledged).every((e) => !e.value.redelivered));
    assert.equal(source.stats().redelivered, unacknowledged);
  });
  }

  it('a restart of the broker mid-run loses nothing: reconnects with backoff, resumes the session, redelivers the unacknowledged', async () => {
    const infos: string[] = [];
    const logger = { info: (_f: Record<string, unknown>, m: string) => infos.push(m), warn: (_f: Record<string, unknown>, m: string) => infos.push(m), error: () => {} };
    const { source, received, subscription } = await subscribed({ topics: PATTERN, payload: numberPayload(), logger });
    let last = 0;
    const committer = setInterval(() => {
      const position = received.at(-1)?.position;
      if (position !== undefined && position !== last) void source.commit((last = position));
    }, 50);
    const total = 600;
    const publishing = (async () => {
      for (let i = 0; i < total; i++) {
        await publish('sensors/a/r/d', String(i));
        if (i % 20 === 0) await sleep(5);
      }
    })();
    await eventually(() => received.length > 150, 'some messages before the restart');
    await broker.restart();
    await publishing;
    const distinct = (): Set<number> => new Set(received.map((e) => e.value.value.value));
    await eventually(() => distinct().size === total, `all ${total} distinct values`, 30_000);
    clearInterval(committer);
    subscription.unsubscribe();
    const stats = source.stats();
    assert.ok(stats.disconnects >= 1 && stats.connects >= 2, `reconnected (${JSON.stringify(stats)})`);
    assert.ok(stats.reconnectAttempts >= 1);
    assert.equal(stats.sessionsLost, 0, 'the session survived the restart');
    assert.equal(stats.bad['bad-payload'] + stats.bad['unmatched-topic'], 0);
    // At least once: a value twice at most (a PUBACK lost in the restart, ours or the publisher's).
    const copies = new Map<number, number>();
    for (const e of received) copies.set(e.value.value.value, (copies.get(e.value.value.value) ?? 0) + 1);
    assert.ok(Math.max(...copies.values()) <= 2, `${received.length - total} duplicates`);
    assert.ok(infos.some((m) => /reconnecting/.test(m)) && infos.some((m) => /session resumed/.test(m)));
  });

  it('subscribing again after unsubscribing: the uncommitted come again flagged, the committed never, what was published meanwhile is kept, positions go on', async () => {
    const { source, received, subscription } = await subscribed({ topics: PATTERN, payload: numberPayload() });
    const valuesOf = (elements: Positioned<MqttMessage<Reading>, number>[]): number[] => elements.map((e) => e.value.value.value);
    const run = (into: Positioned<MqttMessage<Reading>, number>[]): { subscription: Subscription; failure: () => unknown } => {
      let failure: unknown;
      const opened = source.resumeFrom().subscribe({ next: (element) => into.push(element), error: (error: unknown) => (failure = error) });
      opens.push(opened);
      return { subscription: opened, failure: () => failure };
    };
    // Every run is ended even when an assertion fails (an open connection would hold the file until the runner's timeout).
    const opens: Subscription[] = [];
    try {
      for (let i = 0; i < 10; i++) await publish('sensors/a/r/d', String(i));
      await eventually(() => received.length === 10, 'the first 10');
      await source.commit(received[4].position);
      subscription.unsubscribe();
      // Published while nobody reads: kept for the persistent session.
      for (let i = 10; i < 15; i++) await publish('sensors/a/r/d', String(i));

      // Subscribed and unsubscribed at once (as a take(0) or an early error would): never connects.
      run([]).subscription.unsubscribe();
      const second: Positioned<MqttMessage<Reading>, number>[] = [];
      const secondRun = run(second);
      // The broker sends what was in flight ahead of what was queued: once 14 is in, everything is.
      await eventually(() => second.some((e) => e.value.value.value === 14) || secondRun.failure() !== undefined, 'value 14 in the second run');
      assert.equal(secondRun.failure(), undefined);
      assert.deepEqual(valuesOf(second), [5, 6, 7, 8, 9, 10, 11, 12, 13, 14], 'what the commit did not cover, then what was published meanwhile, each once');
      assert.ok(second.slice(0, 5).every((e) => e.value.redelivered), 'the five emitted before come again flagged');
      assert.ok(second[0].position > received[9].position, 'positions go on after the first run');
      for (let i = 1; i < second.length; i++) assert.ok(second[i].position > second[i - 1].position);
      assert.equal(source.stats().connects, 2, 'the subscription unsubscribed at once never connected');
      assert.equal(source.stats().sessionsLost, 0);

      // Everything committed, then unsubscribed and subscribed again at once (the PUBACKs just written).
      await source.commit(second[9].position);
      secondRun.subscription.unsubscribe();
      const third: Positioned<MqttMessage<Reading>, number>[] = [];
      const thirdRun = run(third);
      // Published once the third run is connected (the second run's connection closed before it):
      // 15 is then new to this connection, not one the closing connection held (flagged as sent again).
      await eventually(() => source.stats().connects === 3, 'the third connection');
      await publish('sensors/a/r/d', '15');
      await eventually(() => third.length > 0 && third.at(-1)?.value.value.value === 15, 'value 15 in the third run');
      thirdRun.subscription.unsubscribe();
      assert.equal(thirdRun.failure(), undefined);
      assert.deepEqual(valuesOf(third), [15], 'nothing committed comes again');
      assert.equal(third[0].value.redelivered, false);
      assert.equal(source.stats().acknowledged, 15, 'five, then ten: value 15 waits for a commit');
    } finally {
      for (const opened of opens) opened.unsubscribe();
    }
  });

  it('with qos 0 nothing is acknowledged or held for a commit', async () => {
    const { source, received, subscription } = await subscribed({ topics: PATTERN, payload: numberPayload(), qos: 0 });
    for (let i = 0; i < 20; i++) await publish('sensors/a/r/d', String(i));
    await eventually(() => received.length === 20, '20 messages');
    subscription.unsubscribe();
    assert.equal(source.stats().acknowledged, 0);
    assert.equal(source.stats().pendingAcks, 0);
  });
});

describe('mqttSource reconnecting', { skip: unavailable('mosquitto') }, () => {
  it('backs off (delays doubling up to the maximum), counts and logs each attempt, and reports a broker that lost the session', async () => {
    const broker = await startMosquitto();
    const delays: number[] = [];
    const warnings: string[] = [];
    const logger = {
      info: (fields: Record<string, unknown>, message: string) => {
        if (message.includes('reconnecting')) delays.push(fields['nextDelayMs'] as number);
      },
      warn: (_fields: Record<string, unknown>, message: string) => warnings.push(message),
      error: () => {},
    };
    const source = mqttSource({ url: broker.url, clientId: 'backoff', topics: PATTERN, payload: numberPayload(), reconnectDelayMs: 50, maxReconnectDelayMs: 400, logger });
    const received: number[] = [];
    const subscription = source.resumeFrom().subscribe(({ value }) => received.push(value.value.value));
    try {
      await eventually(() => source.stats().connects === 1, 'the connection');
      await sleep(100);
      // SIGKILL: mosquitto saves its sessions only on a clean shutdown, so this one is lost.
      await broker.kill();
      await eventually(() => delays.length >= 5, 'five reconnect attempts');
      await broker.start();
      await eventually(() => source.stats().connects === 2, 'the reconnection', 20_000);
      // The broker lost the session: the source subscribes again after reconnecting. Publish until
      // a message arrives (when its SUBACK comes depends on the machine).
      const publisher = await connectAsync(broker.url, { clientId: 'backoff-publisher' });
      for (let attempt = 0; received.length === 0; attempt++) {
        if (attempt > 150) assert.fail('no message after the reconnection (not subscribed again)');
        await publisher.publishAsync('sensors/a/r/d', '7', { qos: 1 });
        await sleep(100);
      }
      await publisher.endAsync();
      assert.ok(received.every((value) => value === 7), `a message after the reconnection (subscribed again): ${JSON.stringify(received)}`);
    } finally {
      subscription.unsubscribe();
      await broker.stop();
    }
    assert.deepEqual(delays.slice(0, 5), [100, 200, 400, 400, 400]);
    const stats = source.stats();
    assert.equal(stats.disconnects, 1);
    assert.ok(stats.reconnectAttempts >= 5);
    assert.equal(stats.sessionsLost, 1);
    assert.ok(warnings.some((w) => /lost/.test(w)));
    assert.ok(warnings.some((w) => /had no session/.test(w)));
  });
});
