/**
 * Every exported factory, every option: a bad value (wrong type, NaN, ±Infinity, negative,
 * fractional where an integer is meant, out of range) is refused when the factory is called, with
 * a `ConfigError` naming the option, and the valid base options are accepted. One table for all
 * entry points (`rxprom`, `rxprom/testing`, `rxprom/live`, `rxprom/mqtt`, `rxprom/jetstream`), so
 * a new option or factory that skips the checks shows up here.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import * as rxprom from '../../src/index.js';
import * as testing from '../../src/testing/index.js';
import * as live from '../../src/live/index.js';
import * as mqtt from '../../src/sources/mqtt/index.js';
import * as jetstream from '../../src/sources/jetstream/index.js';

type Options = Record<string, unknown>;

interface Factory {
  readonly name: string;
  /** Valid options; each case changes one option path of a fresh copy. */
  readonly base: () => Options;
  /** Calls the factory; may return a promise; what it returns is closed afterwards if it can be. */
  readonly create: (options: Options) => unknown;
  /** Option path → values that must be refused with a ConfigError naming that option (or a part of it). */
  readonly bad: Readonly<Record<string, readonly unknown[]>>;
  /** Valid values of the objects that nested paths go into (e.g. `spool` for `spool.maxBytes`). */
  readonly parents?: Readonly<Record<string, () => Options>>;
  /** Releases what `create` returned (default: its `close()`, if it has one). */
  readonly close?: (created: unknown) => unknown;
}

const directories: string[] = [];
const directory = (): string => {
  const path = mkdtempSync(join(tmpdir(), 'rxprom-config-'));
  directories.push(path);
  return path;
};
after(() => directories.forEach((path) => rmSync(path, { recursive: true, force: true })));

// Bad for any number option: not numbers, NaN, infinities, negatives.
const NUMBER = [NaN, Infinity, -Infinity, -1, '5', {}, true];
const NUMBER_OR_INFINITY = [NaN, -Infinity, -1, '5', {}, true];
const FINITE = [NaN, Infinity, -Infinity, '5', {}, true];
const INTEGER = [...NUMBER, 0.5];
const FUNCTION = ['f', 5, {}, true];
const ENUM = ['no-such-value', 5, {}, true];
const BOOLEAN = ['yes', 1, {}];
const STRING = [5, {}, true];
const LOGGER = [5, 'console', true, {}, { info: () => undefined, warn: () => undefined }, { info: 5, warn: () => undefined, error: () => undefined }, { info: () => undefined, warn: () => undefined, error: () => undefined, debug: 'on' }];

const SCHEDULER = [5, 'async', {}, null, { now: () => 0 }, { schedule: () => undefined }];

const FACTORIES: readonly Factory[] = [
  {
    name: 'remoteWrite',
    base: () => ({ url: 'http://127.0.0.1:1/api/v1/write' }),
    parents: { spool: () => ({ directory: directory() }) },
    create: (o) => rxprom.remoteWrite(o as never),
    bad: {
      url: [undefined, 5, 'not a url', 'ftp://127.0.0.1/w'],
      shards: [0, 257, 1.5, NaN, Infinity, '4', true],
      'shards.min': [...INTEGER, 0, 257],
      'shards.max': [...INTEGER, 0, 257],
      'shards.updateEveryMs': [...INTEGER, 99],
      maxSamplesPerRequest: [...INTEGER, 0, 1_000_001],
      maxDelayMs: [...INTEGER, 3_600_001],
      retry: [5, 'x', true],
      'retry.initialDelayMs': NUMBER,
      'retry.maxDelayMs': NUMBER,
      'retry.maxRetries': INTEGER,
      'retry.jitter': [...NUMBER, 1.5],
      'retry.maxRetryAfterMs': NUMBER,
      onMaxRetriesExceeded: ENUM,
      onNonRetryable: ENUM,
      failFastAfterRejections: INTEGER,
      maxRefusalSplits: [...INTEGER, 1001],
      timeoutMs: [...INTEGER, 0, 600_001],
      headers: [5, 'X-A: b', [], null, new Map([['X-Tenant', 'a']]), new Headers({ 'X-Tenant': 'a' })],
      'headers.X-Tenant': [5, {}, null, 'a\r\nb'],
      userAgent: [5, '', 'a\nb'],
      signer: FUNCTION,
      compression: ENUM,
      validation: ENUM,
      maxPendingSamples: [...INTEGER, 0],
      seriesIdleTimeoutMs: [...INTEGER, 999],
      maxFutureMs: [...NUMBER_OR_INFINITY, 0.5],
      maxAgeMs: [...NUMBER_OR_INFINITY, 999],
      clock: [...FUNCTION, () => NaN, () => 'now'],
      logger: LOGGER,
      scheduler: SCHEDULER,
      metrics: [5, {}, 'm'],
      client: [5, {}, { send: 5 }],
      state: [5, 'slot', {}],
      spool: [5, 'dir', {}],
      'spool.directory': [5, ''],
      'spool.maxBytes': NUMBER,
      'spool.segmentBytes': [...NUMBER, 63],
      'spool.whenFull': ENUM,
      'spool.fsync': ENUM,
      'spool.fsyncIntervalMs': [...INTEGER, 0],
      'spool.memoryBatches': [...INTEGER, 0, 1001],
      backpressure: [5, 'x'],
      'backpressure.highWaterMark': [...INTEGER, 0],
      'backpressure.lowWaterMark': INTEGER,
    },
  },
  {
    name: 'partitionBySeries',
    base: () => ({ shards: 2 }),
    create: (o) => rxprom.partitionBySeries(o as never),
    bad: { shards: [...INTEGER, 0], key: FUNCTION },
  },
  {
    name: 'batchSamples',
    base: () => ({ maxSamples: 2, maxDelayMs: 10 }),
    create: (o) => rxprom.batchSamples(o as never),
    bad: { maxSamples: [...INTEGER, 0], maxDelayMs: INTEGER, scheduler: SCHEDULER },
  },
  {
    name: 'RetryPolicy',
    base: () => ({}),
    create: (o) => new rxprom.RetryPolicy(o as never),
    bad: { initialDelayMs: NUMBER, maxDelayMs: NUMBER, maxRetries: INTEGER, jitter: [...NUMBER, 1.5], maxRetryAfterMs: NUMBER },
  },
  {
    name: 'AxiosWriteClient',
    base: () => ({ url: 'http://127.0.0.1:1/api/v1/write', timeoutMs: 1000, headers: {}, retry: new rxprom.RetryPolicy({}), maxSockets: 1 }),
    create: (o) => new rxprom.AxiosWriteClient(o as never),
    bad: {
      url: [undefined, 5, 'not a url', 'ftp://127.0.0.1/w'],
      timeoutMs: [undefined, ...INTEGER, 0],
      headers: [undefined, 5, [], null, new Map([['X-Tenant', 'a']])],
      'headers.X-Tenant': [5, null, 'a\r\nb'],
      retry: [undefined, {}, 5],
      maxSockets: [undefined, ...INTEGER, 0],
      signer: FUNCTION,
      onRetry: FUNCTION,
    },
  },
  {
    name: 'reorderByWatermark',
    base: () => ({ eventTime: (e: { t: number }) => e.t, maxOutOfOrderMs: 100 }),
    create: (o) => rxprom.reorderByWatermark(o as never),
    bad: {
      eventTime: [undefined, ...FUNCTION],
      maxOutOfOrderMs: NUMBER,
      key: FUNCTION,
      idleTimeoutMs: NUMBER,
      late: ENUM,
      onLate: FUNCTION,
      onInvalid: FUNCTION,
      maxBuffered: [...INTEGER, 0],
      scheduler: SCHEDULER,
      state: [5, 'slot', {}],
    },
  },
  {
    name: 'tumblingWindow',
    base: () => ({ sizeMs: 1000, aggregations: ['count'] }),
    create: (o) => rxprom.tumblingWindow(o as never),
    bad: {
      sizeMs: [undefined, ...INTEGER, 0],
      offsetMs: INTEGER,
      aggregations: [[], ['median'], 'count', 5],
      allowedLatenessMs: INTEGER,
      watermark: [5, 'w', {}],
      idleTimeoutMs: NUMBER,
      timestampAt: ENUM,
      relativeAccuracy: [...NUMBER, 0, 1],
      onLate: FUNCTION,
      onDrop: FUNCTION,
      scheduler: SCHEDULER,
      state: [5, 'slot', {}],
    },
  },
  {
    name: 'enrich',
    base: () => ({ key: (e: string) => e, reference: new Map<string, string>(), join: (e: string) => e }),
    create: (o) => rxprom.enrich(o as never),
    bad: {
      key: [undefined, ...FUNCTION],
      reference: [undefined, 5, 'r', {}],
      join: [undefined, ...FUNCTION],
      onMiss: FUNCTION,
      concurrency: [...INTEGER, 0],
      cacheSize: INTEGER,
      cacheTtlMs: NUMBER,
      maxWaiting: [...INTEGER, 0],
      scheduler: SCHEDULER,
      logger: LOGGER,
      state: [5, 'slot', {}],
      onMissing: ['ignore', 5, {}],
    },
  },
  {
    name: 'dropOutliers',
    base: () => ({ range: { min: 0, max: 100 } }),
    parents: { maxRate: () => ({ perSecond: 1 }) },
    create: (o) => rxprom.dropOutliers(o as never),
    bad: {
      series: FUNCTION,
      value: FUNCTION,
      eventTime: FUNCTION,
      time: FUNCTION,
      range: [5, 'x', null],
      'range.min': FINITE,
      'range.max': FINITE,
      maxRate: [5, 'x', null],
      'maxRate.perSecond': [undefined, ...NUMBER],
      'maxRate.change': FUNCTION,
      mad: [5, 'x', null],
      maxSeries: [...INTEGER, 0],
      onDrop: FUNCTION,
      logger: LOGGER,
      state: [5, 'slot', {}],
    },
  },
  {
    name: 'CheckpointStore',
    base: () => ({ directory: directory(), pipeline: 'p' }),
    create: (o) => new rxprom.CheckpointStore(o as never),
    bad: { directory: [undefined, 5, ''], pipeline: [undefined, 5, ''], keep: [...INTEGER, 0, 1001], maxBytes: [...INTEGER, 0], fsync: BOOLEAN, onProblem: FUNCTION, logger: LOGGER },
  },
  {
    name: 'DiskSpool.open',
    base: () => ({ directory: directory() }),
    create: (o) => rxprom.DiskSpool.open(o as never),
    bad: {
      directory: [undefined, 5, ''],
      maxBytes: [...INTEGER, 0],
      segmentBytes: [...INTEGER, 63],
      whenFull: ENUM,
      fsync: ENUM,
      fsyncIntervalMs: [...INTEGER, 0],
      onProblem: FUNCTION,
      onDrop: FUNCTION,
      logger: LOGGER,
      retain: BOOLEAN,
      retainFrom: [5, 'lane0', []],
      'retainFrom.lane0': [NaN, -Infinity, -1, 0.5, '5', {}, null],
    },
  },
  {
    name: 'JournalSource',
    base: () => ({ path: join(directory(), 'journal.jsonl') }),
    create: (o) => new rxprom.JournalSource(o as never),
    bad: { path: [undefined, 5, ''], follow: BOOLEAN, pollIntervalMs: [...INTEGER, 0], watch: BOOLEAN, readBytes: [...INTEGER, 0], maxLineBytes: [...INTEGER, 0], parse: FUNCTION, onBadLine: FUNCTION, logger: LOGGER },
  },
  {
    name: 'DurablePipeline.start',
    base: () => {
      const dir = directory();
      return { directory: dir, pipeline: 'p', source: new rxprom.JournalSource({ path: join(dir, 'journal.jsonl') }), build: () => (input: unknown) => input };
    },
    create: async (o) => {
      const pipeline = await rxprom.DurablePipeline.start(o as never);
      await pipeline.stop?.();
      return undefined;
    },
    bad: {
      build: [undefined, ...FUNCTION],
      checkpointIntervalMs: [...INTEGER, 0],
      failAfterCheckpointFailures: INTEGER,
      onOutput: FUNCTION,
      onCheckpoint: FUNCTION,
      onProblem: FUNCTION,
      logger: LOGGER,
    },
  },
  {
    name: 'registerRxpromMetrics',
    base: () => ({}),
    create: (o) => {
      const { prefix, ...sources } = o;
      return rxprom.registerRxpromMetrics(new Registry(), sources as never, prefix === undefined ? {} : ({ prefix } as never));
    },
    bad: {
      sink: [5, 'sink', {}, { metrics: {} }, null],
      operators: [5, 'reorder', null],
      'operators.reorder': [5, 'x', {}, { stats: 5 }, null],
      feeds: [5, 'live', null],
      'feeds.live': [5, 'x', {}, { stats: 5 }, null],
      prefix: [5, NaN, true, {}, '', '1x', 'a-b'],
    },
  },
  {
    name: 'sigv4Signer',
    base: () => ({ region: 'eu-west-1', credentials: { accessKeyId: 'AKID', secretAccessKey: 'SECRET' } }),
    create: (o) => rxprom.sigv4Signer(o as never),
    bad: {
      region: [5, '', 'not a region!'],
      credentials: [5, 'AKID:SECRET', {}],
      'credentials.accessKeyId': [5, ''],
      'credentials.secretAccessKey': [5, ''],
      service: [5, '', 'APS!'],
      'credentials.sessionToken': [5, '', {}, true],
      contentSha256Header: BOOLEAN,
      now: FUNCTION,
    },
  },
  {
    name: 'oauth2ClientCredentials',
    base: () => ({ tokenUrl: 'http://127.0.0.1:1/token', clientId: 'id', clientSecret: 'secret' }),
    create: (o) => rxprom.oauth2ClientCredentials(o as never),
    bad: {
      tokenUrl: [undefined, 5, 'not a url', 'ftp://127.0.0.1/t', 'http://user:pw@127.0.0.1/t'],
      clientId: [undefined, 5, ''],
      clientSecret: [undefined, 5, ''],
      clientAuthentication: ENUM,
      refreshBeforeExpiryMs: NUMBER,
      defaultLifetimeMs: NUMBER,
      timeoutMs: [...NUMBER, 0],
      scope: [5, {}, true, ['metrics:write', 5], 'a\nb'],
      params: [5, 'audience=x', []],
      'params.audience': [5, {}, true, null],
      now: FUNCTION,
    },
  },
  {
    name: 'startReceiver',
    base: () => ({}),
    create: (o) => testing.startReceiver(o as never),
    bad: {
      host: [5, ''],
      port: [...INTEGER, 65536],
      mode: ENUM,
      maxSamples: [...INTEGER, 0],
      maxSeries: [...INTEGER, 0],
      maxBodyBytes: [...INTEGER, 0],
      maxDecompressedBytes: [...INTEGER, 0],
      outOfBoundsMs: INTEGER,
    },
  },
  {
    name: 'generateSamples',
    base: () => ({ series: 2, count: 4 }),
    create: (o) => testing.generateSamples(o as never),
    bad: {
      series: [...INTEGER, 0],
      labelsPerSeries: INTEGER,
      metric: [5, '', '1bad'],
      rate: [NaN, -Infinity, -1, '5', {}, true],
      count: INTEGER,
      durationMs: NUMBER,
      stepMs: [...INTEGER, 0],
      seed: [NaN, Infinity, '5', {}, 0.5],
      outOfOrder: [...NUMBER, 1.5],
      late: [...NUMBER, 1.5],
      duplicate: [...NUMBER, 1.5],
      malformed: [...NUMBER, 1.5],
      lateByMs: INTEGER,
      chunkSize: [...INTEGER, 0],
      scheduler: SCHEDULER,
    },
  },
  {
    name: 'liveFeed',
    base: () => ({}),
    parents: { cors: () => ({ origin: '*' }) },
    create: (o) => live.liveFeed(o as never),
    bad: {
      history: [...INTEGER, 100_001],
      maxBufferedBytes: [...INTEGER, 1023],
      slowClient: ENUM,
      stalledAfterMs: [...INTEGER, 0],
      serialize: FUNCTION,
      event: [5, '', 'a:b', 'a\nb'],
      token: [5, ''],
      cors: [5, 'https://a.example', null],
      'cors.origin': [undefined, 5, [5]],
      'cors.credentials': ['yes', 1],
      heartbeatMs: INTEGER,
      retryMs: INTEGER,
    },
  },
  {
    name: 'mqttSource',
    base: () => ({ url: 'mqtt://127.0.0.1:1', clientId: 'gateway-1', topics: 'sensors/{device}', payload: mqtt.numberPayload() }),
    create: (o) => mqtt.mqttSource(o as never),
    close: () => undefined, // nothing to release before resumeFrom() is subscribed
    bad: {
      url: [undefined, 5, 'http://127.0.0.1:1', 'not a url'],
      clientId: [undefined, 5, ''],
      topics: [undefined, 5, '', 'a/{x}/{x}'],
      rememberTopics: INTEGER,
      payload: FUNCTION,
      qos: [2, 3, -1, '1', NaN],
      protocolVersion: [3, 6, '5', NaN],
      receiveMaximum: [...INTEGER, 0, 65_536],
      sessionExpirySeconds: INTEGER,
      reconnectDelayMs: [...INTEGER, 0],
      maxReconnectDelayMs: [...INTEGER, 0],
      connectTimeoutMs: [...INTEGER, 0],
      keepaliveSeconds: INTEGER,
      username: STRING,
      password: STRING,
      onBadMessage: FUNCTION,
      logger: LOGGER,
    },
  },
  {
    name: 'mqtt jsonPayload',
    base: () => ({ value: 'temperature' }),
    create: (o) => mqtt.jsonPayload(o as never),
    bad: { value: [undefined, 5, ''], timestamp: [5, ''], timestampUnit: ENUM },
  },
  {
    name: 'JetStreamSource',
    base: () => ({ servers: 'nats://127.0.0.1:1', stream: 'READINGS', durable: 'p0' }),
    create: (o) => new jetstream.JetStreamSource(o as never),
    bad: {
      servers: [undefined, 5, '', [], ['nats://127.0.0.1:1', '']],
      stream: [undefined, 5, '', 'a.b'],
      durable: [undefined, 5, '', 'a b'],
      filterSubject: [5, '', 'a b'],
      parse: FUNCTION,
      onBadPayload: FUNCTION,
      batchSize: [...INTEGER, 0],
      fetchExpiresMs: [...INTEGER, 999],
      maxAckPending: [...INTEGER, 0],
      ackWaitMs: [...INTEGER, 999],
      reconnectTimeWaitMs: [...INTEGER, 9],
      name: STRING,
      logger: LOGGER,
    },
  },
];

/** A copy of `base` with the option at `path` (dot-separated) set to `value`. */
function withOption(base: Options, path: string, value: unknown, parents: Readonly<Record<string, () => Options>> = {}): Options {
  const copy: Options = { ...base };
  const keys = path.split('.');
  // Header names hold dots in no case here; 'headers.X-Tenant' is one level down.
  let target = copy;
  for (const key of keys.slice(0, -1)) {
    const inner = target[key];
    target[key] = inner !== null && typeof inner === 'object' && !Array.isArray(inner) && !(inner instanceof Map) ? { ...(inner as Options) } : (parents[key]?.() ?? {});
    target = target[key] as Options;
  }
  target[keys[keys.length - 1]] = value;
  return copy;
}

function shown(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint' || value === undefined) return String(value);
  if (typeof value === 'function') return 'a function';
  try {
    return JSON.stringify(value);
  } catch {
    return typeof value;
  }
}

async function close(created: unknown, factory: Factory): Promise<void> {
  if (factory.close !== undefined) return void (await factory.close(created));
  const closable = created as { close?: () => unknown } | null | undefined;
  if (closable !== null && typeof closable === 'object' && typeof closable.close === 'function') await closable.close();
}

describe('every exported factory refuses bad options with a ConfigError naming the option', () => {
  for (const factory of FACTORIES) {
    it(factory.name, async () => {
      await close(await factory.create(factory.base()), factory);
      const wrong: string[] = [];
      for (const [path, values] of Object.entries(factory.bad)) {
        for (const value of values) {
          let thrown: unknown;
          let created: unknown;
          try {
            created = await factory.create(withOption(factory.base(), path, value, factory.parents));
          } catch (error) {
            thrown = error;
          }
          await close(created, factory);
          const named = thrown instanceof rxprom.ConfigError && (thrown.option === path || thrown.option.startsWith(`${path}.`) || thrown.option.startsWith(`${path}[`) || thrown.option.endsWith(`.${path}`) || path.startsWith(`${thrown.option}.`));
          if (!named) wrong.push(`${path} = ${shown(value)}: ${thrown === undefined ? 'accepted' : String(thrown)}`);
        }
      }
      assert.deepEqual(wrong, [], `${factory.name} took these without a ConfigError naming the option`);
    });
  }
});
