import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { firstValueFrom, take, timeout, toArray, type Observable } from 'rxjs';
import { inspect } from 'node:util';
import { connect, nkeys, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { JetStreamSource, jsonFieldsPayload, type BadPayload, type JetStreamSourceOptions } from '../../../src/sources/jetstream/index.js';
import type { Positioned } from '../../../src/sources/acknowledged.js';
import { ConfigError } from '../../../src/core/errors.js';
import { startNats, unavailable, type NatsServer } from '../../harness/servers.js';

interface Reading {
  device: string;
  value: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const first = <T>(observable: Observable<T>, n: number, ms = 10_000): Promise<T[]> => firstValueFrom(observable.pipe(take(n), toArray(), timeout(ms)));
const values = (elements: Positioned<Reading, number>[]): number[] => elements.map((e) => e.value.value);

async function eventually(check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('JetStreamSource', { skip: unavailable('nats') }, () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let streams = 0;
  const sources: JetStreamSource<Reading>[] = [];

  before(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    jsm = await jetstreamManager(nc);
  });
  after(async () => {
    for (const source of sources) await source.close();
    await nc?.close();
    await nats?.stop();
  });

  /** A fresh stream on `<name>.>` holding `count` readings 0..count-1. */
  async function stream(count: number): Promise<string> {
    const name = `S${++streams}`;
    await jsm.streams.add({ name, subjects: [`${name}.>`] });
    await publish(name, 0, count);
    return name;
  }
  async function publish(name: string, from: number, to: number): Promise<void> {
    const js = jetstream(nc);
    for (let i = from; i < to; i++) await js.publish(`${name}.d${i % 3}`, JSON.stringify({ device: `d${i % 3}`, value: i }));
  }
  const source = (name: string, extra: Partial<JetStreamSourceOptions<Reading>> = {}): JetStreamSource<Reading> => {
    const created = new JetStreamSource<Reading>({ servers: nats.url, stream: name, durable: 'gateway', reconnectTimeWaitMs: 100, ...extra });
    sources.push(created);
    return created;
  };
  const consumerInfo = (name: string) => jsm.consumers.info(name, 'gateway');

  it('emits every message once, in stream order, with its stream sequence as the position', async () => {
    const name = await stream(50);
    const elements = await first(source(name).resumeFrom(), 50);
    assert.deepEqual(values(elements), Array.from({ length: 50 }, (_, i) => i));
    assert.deepEqual(elements.map((e) => e.position), Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('acknowledges nothing until commit, then exactly the messages up to the committed position', async () => {
    const name = await stream(20);
    const reader = source(name);
    await first(reader.resumeFrom(), 20);
    let info = await consumerInfo(name);
    assert.equal(info.num_ack_pending, 20, 'all delivered, none acknowledged');
    await reader.commit(12);
    info = await consumerInfo(name);
    assert.equal(info.ack_floor.stream_seq, 12);
    assert.equal(info.num_ack_pending, 8);
    assert.equal(reader.committed, 12);
    assert.equal(reader.stats().acked, 12);
    assert.equal(reader.stats().pendingAcks, 8);
    await reader.commit(5); // behind: changes nothing
    assert.equal(reader.committed, 12);
  });

  it('a reader that dies without committing: a new reader of the durable consumer gets the unacknowledged messages at once', async () => {
    const name = await stream(30);
    const dying = source(name);
    await first(dying.resumeFrom(), 30);
    await dying.commit(10);
    await dying.close(); // the process is gone: 20 delivered, never acknowledged
    assert.equal((await consumerInfo(name)).num_ack_pending, 20);
    const next = source(name);
    const elements = await first(next.resumeFrom(), 20, 5000); // well before ack_wait (5 min)
    assert.deepEqual(values(elements), Array.from({ length: 20 }, (_, i) => i + 10));
    assert.equal(next.stats().consumerCreated, 1, 'recreated at the acknowledgement floor');
  });

  it('resumes from a checkpointed position ahead of the acknowledgements', async () => {
    const name = await stream(30);
    const dying = source(name);
    await first(dying.resumeFrom(), 30);
    await dying.close(); // crashed after saving a checkpoint at 17, before committing it
    const next = source(name);
    const elements = await first(next.resumeFrom(17), 13);
    assert.deepEqual(values(elements), Array.from({ length: 13 }, (_, i) => i + 17));
    assert.equal(next.committed, 17);
    await next.close(); // and dies at once, having committed nothing
    const third = source(name);
    const again = await first(third.resumeFrom(), 13);
    assert.deepEqual(values(again), Array.from({ length: 13 }, (_, i) => i + 17), 'the consumer remembers where it was made to start');
  });

  it('binds the durable consumer as it is when it stands at the resume position', async () => {
    const name = await stream(10);
    const reader = source(name);
    await first(reader.resumeFrom(), 10);
    await reader.commit(10);
    await reader.close();
    await publish(name, 10, 15);
    const next = source(name);
    const elements = await first(next.resumeFrom(), 5);
    assert.deepEqual(values(elements), [10, 11, 12, 13, 14]);
    assert.equal(next.stats().consumerCreated, 0);
  });

  it('counts bad payloads with reason and subject, acknowledges them with the next commit, and carries on', async () => {
    const name = `S${++streams}`;
    await jsm.streams.add({ name, subjects: [`${name}.>`] });
    const js = jetstream(nc);
    await js.publish(`${name}.a`, JSON.stringify({ device: 'a', value: 1 }));
    await js.publish(`${name}.b`, 'not json');
    await js.publish(`${name}.c`, JSON.stringify({ device: 'c' }));
    await js.publish(`${name}.d`, new Uint8Array([0xff, 0xfe]));
    await js.publish(`${name}.e`, JSON.stringify({ device: 'e', value: 5 }));
    const bad: BadPayload[] = [];
    const fields = jsonFieldsPayload({ value: 'value' });
    const reader = source(name, {
      parse: (payload, subject) => ({ device: subject, value: fields(payload, subject).value }),
      onBadPayload: (b) => bad.push(b),
    });
    const elements = await first(reader.resumeFrom(), 2);
    assert.deepEqual(values(elements), [1, 5]);
    assert.deepEqual(bad.map((b) => [b.subject, b.sequence]), [[`${name}.b`, 2], [`${name}.c`, 3], [`${name}.d`, 4]]);
    assert.match(bad[0].reason, /not JSON/);
    assert.match(bad[1].reason, /no field "value"/);
    assert.match(bad[2].reason, /UTF-8/);
    const stats = reader.stats();
    assert.equal(stats.badPayloads, 3);
    assert.equal(Object.values(stats.badPayloadReasons).reduce((a, b) => a + b, 0), 3);
    await reader.commit(5);
    assert.equal((await consumerInfo(name)).num_ack_pending, 0, 'bad payloads are acknowledged too');
  });

  it('a throw from onBadPayload errors the stream with that error (not a fetch error retried)', async () => {
    const name = `S${++streams}`;
    await jsm.streams.add({ name, subjects: [`${name}.>`] });
    const js = jetstream(nc);
    await js.publish(`${name}.a`, JSON.stringify({ device: 'a', value: 1 }));
    await js.publish(`${name}.b`, 'not json');
    await js.publish(`${name}.c`, JSON.stringify({ device: 'c', value: 3 }));
    const refusal = new Error('the callback refuses bad payloads');
    const reader = source(name, { onBadPayload: () => { throw refusal; } });
    const seen: number[] = [];
    const ended = await new Promise<unknown>((resolve) => {
      const subscription = reader.resumeFrom().subscribe({
        next: (e) => seen.push(e.value.value),
        error: resolve,
        complete: () => resolve('completed'),
      });
      setTimeout(() => {
        subscription.unsubscribe();
        resolve('still running after 10 s');
      }, 10_000);
    });
    assert.equal(ended, refusal);
    assert.deepEqual(seen, [1], 'nothing after the bad payload');
    assert.equal(reader.stats().badPayloads, 1);
    assert.equal(reader.stats().fetchErrors, 0);
  });

  it('a new subscription made as the previous one is unsubscribed (a retry or repeat) reads on from the committed position', async () => {
    const name = await stream(30);
    const reader = source(name, { batchSize: 10 });
    const seen: number[] = [];
    let failure: unknown;
    const firstRun = reader.resumeFrom().subscribe({
      next: (e) => {
        seen.push(e.position);
        if (e.position === 5) {
          void reader.commit(5);
          firstRun.unsubscribe();
          // At once, as RxJS' retry() and repeat() do: the first reader's fetch is still open.
          reader.resumeFrom().subscribe({ next: (again) => seen.push(again.position), error: (error: unknown) => (failure = error) });
        }
      },
      error: (error: unknown) => (failure = error),
    });
    await eventually(() => failure !== undefined || seen.length >= 30, '30 elements or an error', 15_000);
    assert.equal(failure, undefined);
    assert.deepEqual(seen, Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it('a commit acknowledges what it covers even when it does not move the committed position (a resume from an older checkpoint)', async () => {
    const name = await stream(20);
    const reader = source(name);
    const firstRun = await first(reader.resumeFrom(), 20);
    await reader.commit(20);
    assert.equal(firstRun.length, 20);
    // The same process goes back to an older checkpoint (say the newest file was found damaged).
    const again = await first(reader.resumeFrom(10), 10);
    assert.deepEqual(again.map((e) => e.position), Array.from({ length: 10 }, (_, i) => i + 11));
    await reader.commit(20);
    assert.equal(reader.stats().pendingAcks, 0, 'nothing held back for a commit that already came');
    assert.equal((await consumerInfo(name)).num_ack_pending, 0, 'the server holds nothing against maxAckPending');
  });

  it('pause() stops fetching: at most one batch arrives after it; resume() continues', async () => {
    const name = await stream(100);
    const reader = source(name, { batchSize: 10 });
    const seen: number[] = [];
    const subscription = reader.resumeFrom().subscribe((e) => {
      seen.push(e.value.value);
      if (seen.length === 5) reader.pause();
    });
    await eventually(() => seen.length >= 5, 'five elements');
    await sleep(1500);
    assert.ok(seen.length <= 10, `paused after 5, got ${seen.length} (batch size 10)`);
    reader.resume();
    await eventually(() => seen.length === 100, 'all 100');
    assert.deepEqual(seen, Array.from({ length: 100 }, (_, i) => i));
    subscription.unsubscribe();
  });

  it('never holds more than maxAckPending uncommitted messages; a commit lets it continue', async () => {
    const name = await stream(40);
    const reader = source(name, { maxAckPending: 15, batchSize: 100 });
    const seen: number[] = [];
    const subscription = reader.resumeFrom().subscribe((e) => seen.push(e.position));
    await eventually(() => seen.length === 15, '15 elements');
    await sleep(1200);
    assert.equal(seen.length, 15, 'stalled at maxAckPending');
    assert.ok(reader.stats().ackPendingStalls > 0);
    await reader.commit(15);
    await eventually(() => seen.length === 30, '30 elements');
    await reader.commit(30);
    await eventually(() => seen.length === 40, 'all 40');
    subscription.unsubscribe();
  });

  it('survives a broker restart: the client reconnects (counted), nothing is lost or repeated', async () => {
    const name = await stream(20);
    const reader = source(name);
    const seen: number[] = [];
    const subscription = reader.resumeFrom().subscribe((e) => seen.push(e.value.value));
    await eventually(() => seen.length === 20, 'first 20');
    await reader.commit(20);
    await nats.restart({ downMs: 300 });
    await eventually(() => reader.stats().reconnects >= 1, 'a reconnect');
    await eventually(async () => {
      try {
        await publish(name, 20, 40);
        return true;
      } catch {
        return false;
      }
    }, 'publishing after the restart');
    await eventually(() => seen.length >= 40, 'the 20 published after the restart', 20_000);
    assert.deepEqual(seen, Array.from({ length: 40 }, (_, i) => i));
    assert.ok(reader.stats().disconnects >= 1);
    subscription.unsubscribe();
  });

  it('drain() completes the subscription; what was fetched and not emitted comes to the next reader', async () => {
    const name = await stream(50);
    const reader = source(name, { batchSize: 20 });
    const seen: number[] = [];
    let completed = false;
    reader.resumeFrom().subscribe({
      next: (e) => {
        seen.push(e.position);
        if (seen.length === 5) reader.drain();
      },
      complete: () => (completed = true),
    });
    await eventually(() => completed, 'completion');
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
    await reader.commit(5);
    await reader.close();
    const next = source(name);
    const rest = await first(next.resumeFrom(), 45);
    assert.deepEqual(rest.map((e) => e.position), Array.from({ length: 45 }, (_, i) => i + 6));
  });

  it('rejects bad options with a ConfigError naming the option', () => {
    assert.throws(() => new JetStreamSource({ servers: [], stream: 's', durable: 'd' }), (e: unknown) => e instanceof ConfigError && /servers/.test(e.message));
    assert.throws(() => new JetStreamSource({ servers: 'nats://x', stream: 'a.b', durable: 'd' }), (e: unknown) => e instanceof ConfigError && /stream/.test(e.message));
    assert.throws(() => new JetStreamSource({ servers: 'nats://x', stream: 's', durable: 'd', batchSize: 0 }), (e: unknown) => e instanceof ConfigError && /batchSize/.test(e.message));
    assert.throws(() => new JetStreamSource({ servers: 'nats://x', stream: 's', durable: 'd', ackWaitMs: 10 }), (e: unknown) => e instanceof ConfigError && /ackWaitMs/.test(e.message));
  });

  it('refuses a bad servers list without keeping the password of any URL in it', () => {
    // The ConfigError's actual value is an own field: JSON.stringify(error) and loggers print it.
    for (const servers of [['nats://user:hunter2@127.0.0.1:4222', ''], ['nats://user:hunter2@127.0.0.1:4222', 4222 as unknown as string]]) {
      assert.throws(
        () => new JetStreamSource({ servers, stream: 's', durable: 'd' }),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError && e.option === 'servers', String(e));
          for (const text of [String(e), e.stack ?? '', JSON.stringify(e)]) assert.ok(!text.includes('hunter2'), `shows the password: ${text}`);
          assert.match(JSON.stringify(e), /nats:\/\/user:\*\*\*@127\.0\.0\.1:4222/);
          return true;
        },
      );
    }
  });
});

describe('JetStreamSource with credentials (nats-server with an authorization block)', { skip: unavailable('nats') }, () => {
  const PASSWORD = 'gw-hunter2-password';
  const TOKEN = 'tok-hunter2-token';
  const seed = nkeys.createUser();
  const SEED = new TextDecoder().decode(seed.getSeed());
  const otherSeed = new TextDecoder().decode(nkeys.createUser().getSeed());
  const SECRETS = [PASSWORD, TOKEN, SEED, otherSeed, 'wrong-password', 'wrong-token'];
  let users: NatsServer;
  let tokens: NatsServer;
  const opened: JetStreamSource<Reading>[] = [];

  before(async () => {
    users = await startNats({ authorization: `users = [\n  { user: "gateway", password: "${PASSWORD}" }\n  { nkey: "${seed.getPublicKey()}" }\n]` });
    tokens = await startNats({ authorization: `token: "${TOKEN}"` });
    // The stream, made by an authenticated client; 5 readings on each server.
    for (const [server, auth] of [[users, { user: 'gateway', pass: PASSWORD }], [tokens, { token: TOKEN }]] as const) {
      const admin = await connect({ servers: server.url, ...auth });
      try {
        await (await jetstreamManager(admin)).streams.add({ name: 'R', subjects: ['R.>'] });
        const js = jetstream(admin);
        for (let i = 0; i < 5; i++) await js.publish(`R.d${i}`, JSON.stringify({ device: `d${i}`, value: i }));
      } finally {
        await admin.close();
      }
    }
  });
  after(async () => {
    for (const source of opened) await source.close();
    await users?.stop();
    await tokens?.stop();
  });

  /** A source whose logger keeps every call, as JSON. */
  const source = (server: NatsServer, durable: string, credentials: JetStreamSourceOptions<Reading>['credentials']) => {
    const logged: string[] = [];
    const keep = (level: string) => (fields: Record<string, unknown>, message: string) => void logged.push(JSON.stringify({ level, fields, message }));
    const created = new JetStreamSource<Reading>({ servers: server.url, stream: 'R', durable, reconnectTimeWaitMs: 100, credentials, logger: { info: keep('info'), warn: keep('warn'), error: keep('error'), debug: keep('debug') } });
    opened.push(created);
    return { source: created, logged };
  };

  for (const [kind, server, durable, credentials] of [
    ['user and password', () => users, 'by-password', { user: 'gateway', password: PASSWORD }],
    ['NKey seed', () => users, 'by-nkey', { nkeySeed: SEED }],
    ['token', () => tokens, 'by-token', { token: TOKEN }],
  ] as const) {
    it(`consumes with the right ${kind}`, async () => {
      const { source: reader, logged } = source(server(), durable, credentials);
      const elements = await first(reader.resumeFrom(), 5);
      assert.deepEqual(values(elements), [0, 1, 2, 3, 4]);
      await reader.commit(5);
      assert.equal(reader.stats().acked, 5);
      for (const text of [...logged, JSON.stringify(reader.stats())]) for (const secret of SECRETS) assert.ok(!text.includes(secret), `shows a secret: ${text}`);
    });
  }

  for (const [kind, server, credentials, said] of [
    ['a wrong password', () => users, { user: 'gateway', password: 'wrong-password' }, /refused the user and password given in credentials: .*Authorization Violation/i],
    ['an NKey the server does not know', () => users, { nkeySeed: otherSeed }, /refused the NKey seed given in credentials/],
    ['a wrong token', () => tokens, { token: 'wrong-token' }, /refused the token given in credentials/],
    ['no credentials', () => users, undefined, /refused no credentials \(the credentials option is not set\)/],
  ] as const) {
    it(`with ${kind}: the stream errors saying the server refused them, and no form of the error, log or stats shows a secret`, async () => {
      const { source: reader, logged } = source(server(), 'refused', credentials);
      const seen: number[] = [];
      // A deadline only against a hang: the error comes from the server's first answer.
      const ended = await new Promise<unknown>((resolve) => {
        const subscription = reader.resumeFrom().subscribe({ next: (e) => seen.push(e.value.value), error: resolve, complete: () => resolve('completed') });
        setTimeout(() => {
          subscription.unsubscribe();
          resolve('still running after 20 s');
        }, 20_000).unref();
      });
      assert.ok(ended instanceof Error, `ended with ${String(ended)}`);
      assert.match(ended.message, said);
      assert.ok(ended.message.includes(`(${server().url})`), `names the server: ${ended.message}`);
      assert.deepEqual(seen, []);
      const texts = [String(ended), ended.stack ?? '', JSON.stringify(ended), inspect(ended, { depth: 5 }), ...logged, JSON.stringify(reader.stats())];
      for (const text of texts) for (const secret of SECRETS) assert.ok(!text.includes(secret), `shows a secret: ${text}`);
      await reader.close();
    });
  }
});

describe('JetStreamSource whose credentials the server stops taking mid-run', { skip: unavailable('nats') }, () => {
  for (const paused of [false, true]) {
  it(`errors the stream saying so (the client gives up after two refusals in a row), instead of retrying for ever${paused ? ': also while paused' : ''}`, async () => {
    const TOKEN = 'first-token-hunter2';
    const NEXT = 'second-token-hunter2';
    const server = await startNats({ authorization: `token: "${TOKEN}"` });
    const admin = await connect({ servers: server.url, token: TOKEN });
    const logged: string[] = [];
    const keep = (fields: Record<string, unknown>, message: string): void => void logged.push(JSON.stringify({ fields, message }));
    const reader = new JetStreamSource<Reading>({ servers: server.url, stream: 'R', durable: 'g', reconnectTimeWaitMs: 50, credentials: { token: TOKEN }, logger: { info: keep, warn: keep, error: keep } });
    try {
      await (await jetstreamManager(admin)).streams.add({ name: 'R', subjects: ['R.>'] });
      await jetstream(admin).publish('R.a', JSON.stringify({ device: 'a', value: 1 }));
      await admin.close();
      const seen: number[] = [];
      let ended: unknown;
      const subscription = reader.resumeFrom().subscribe({ next: (e) => seen.push(e.value.value), error: (error: unknown) => (ended = error), complete: () => (ended = 'completed') });
      await eventually(() => seen.length === 1, 'the first message');
      if (paused) reader.pause(); // waiting for resume() (up to a minute between looks) must not hide the end
      await server.reloadAuthorization(`token: "${NEXT}"`);
      await eventually(() => ended !== undefined, 'the end of the stream', 30_000);
      subscription.unsubscribe();
      assert.ok(ended instanceof Error, `ended with ${String(ended)}`);
      assert.match(ended.message, /refused the token given in credentials/);
      for (const text of [String(ended), ended.stack ?? '', inspect(ended, { depth: 5 }), ...logged, JSON.stringify(reader.stats())]) {
        assert.ok(!text.includes(TOKEN) && !text.includes(NEXT), `shows a token: ${text}`);
      }
    } finally {
      await reader.close();
      await admin.close().catch(() => {});
      await server.stop();
    }
  });
  }
});
