/**
 * Starts real time-series databases on loopback for integration tests and benchmarks: each on a
 * free port, with a fresh data directory, stopped (and its directory removed) by `stop()`.
 *
 * The binaries come from Debian (`apt-get install prometheus victoria-metrics mosquitto nats-server`;
 * `.ci/run` does it).
 * Outside CI a missing binary makes the tests that need it skip with a message (see
 * `unavailable()`); in CI (`CI=true`) they run and fail, as DEVELOPERS.md requires.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { Labels } from '../../src/core/model.js';

export interface StoredSeries {
  readonly labels: Labels;
  /** [timestamp ms, value], oldest first. */
  readonly samples: Array<[number, number]>;
}

export interface TsdbServer {
  readonly name: 'prometheus' | 'victoriametrics';
  /** http://127.0.0.1:PORT */
  readonly baseUrl: string;
  /** The remote-write endpoint. */
  readonly writeUrl: string;
  /** Makes just-written data visible to queries. */
  flush(): Promise<void>;
  /** Every raw sample of every series named `metric` with a timestamp in [fromMs, toMs], series sorted by labels. */
  readSeries(metric: string, fromMs: number, toMs: number): Promise<StoredSeries[]>;
  /** An instant PromQL query; returns the API's `data.result`. */
  query(promql: string, atMs?: number): Promise<unknown[]>;
  /** Number of distinct series the server holds for `metric`. */
  countSeries(metric: string): Promise<number>;
  /** The server process id (for measuring its CPU from a benchmark). */
  readonly pid: number;
  stop(): Promise<void>;
}

const BINARIES = {
  prometheus: 'prometheus',
  victoriametrics: 'victoria-metrics',
  mosquitto: 'mosquitto',
  nats: 'nats-server',
} as const;

/**
 * Where `binary` is: on PATH, or in a directory Debian installs daemons into (mosquitto and
 * nats-server go to /usr/sbin, which is not on an ordinary user's PATH: CI may not run as root).
 */
function locate(binary: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' });
  if (found.status === 0 && found.stdout.trim() !== '') return found.stdout.trim();
  return ['/usr/sbin', '/usr/local/sbin', '/sbin'].map((directory) => join(directory, binary)).find((path) => existsSync(path));
}

function onPath(binary: string): boolean {
  return locate(binary) !== undefined;
}

/**
 * `false` when the server can be started (or when running in CI, where a missing server must fail
 * the test), else a skip message. Use as `describe(name, { skip: unavailable('prometheus') }, ...)`.
 */
export function unavailable(server: keyof typeof BINARIES): false | string {
  if (process.env['CI'] === 'true' || process.env['CI'] === '1') return false;
  const binary = BINARIES[server];
  return onPath(binary) ? false : `${binary} is not installed (apt-get install -y ${binary}); in CI this fails`;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Started {
  child: ChildProcess;
  output: () => string;
}

function launch(binary: string, args: string[]): Started {
  const path = locate(binary);
  if (path === undefined) throw new Error(`${binary} is not installed: apt-get install -y ${binary}`);
  const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, output: () => tail };
}

async function waitReady(url: string, started: Started, name: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (started.child.exitCode !== null) throw new Error(`${name} exited with ${started.child.exitCode}:\n${started.output()}`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  started.child.kill('SIGKILL');
  throw new Error(`${name} not ready after ${timeoutMs} ms:\n${started.output()}`);
}

async function terminate(child: ChildProcess, dir: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  await rm(dir, { recursive: true, force: true });
}

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url);
  const text = await response.text();
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

interface PromResult {
  metric: Record<string, string>;
  values?: Array<[number, string]>;
  value?: [number, string];
}

function resultOf(body: unknown): PromResult[] {
  const data = (body as { data?: { result?: PromResult[] } }).data;
  return data?.result ?? [];
}

const parseValue = (v: string): number => (v === 'NaN' ? Number.NaN : v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v));

function sortSeries(series: StoredSeries[]): StoredSeries[] {
  const key = (l: Labels): string => JSON.stringify(Object.entries(l).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return series.sort((a, b) => (key(a.labels) < key(b.labels) ? -1 : 1));
}

function queryFns(baseUrl: string): Pick<TsdbServer, 'query' | 'countSeries'> {
  return {
    async query(promql, atMs = Date.now()) {
      const url = `${baseUrl}/api/v1/query?query=${encodeURIComponent(promql)}&time=${atMs / 1000}`;
      return resultOf(await getJson(url));
    },
    async countSeries(metric) {
      const url = `${baseUrl}/api/v1/series?match[]=${encodeURIComponent(metric)}&start=0&end=${Math.ceil(Date.now() / 1000) + 3600}`;
      const body = (await getJson(url)) as { data?: unknown[] };
      return body.data?.length ?? 0;
    },
  };
}

export interface PrometheusOptions {
  /** `storage.tsdb.out_of_order_time_window`; 0 (Prometheus' default) refuses any out-of-order sample. */
  readonly outOfOrderWindow?: string;
}

/** Prometheus with the remote-write receiver enabled (2.42 from Debian speaks remote-write 1.0). */
export async function startPrometheus(options: PrometheusOptions = {}): Promise<TsdbServer> {
  const dir = await mkdtemp(join(tmpdir(), 'rxprom-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  const storage = options.outOfOrderWindow ? `storage:\n  tsdb:\n    out_of_order_time_window: ${options.outOfOrderWindow}\n` : '';
  await writeFile(config, `global:\n  scrape_interval: 1h\n${storage}`);
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const started = launch('prometheus', [
    `--config.file=${config}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--web.enable-remote-write-receiver',
    '--storage.tsdb.retention.time=30d',
    '--log.level=warn',
  ]);
  await waitReady(`${baseUrl}/-/ready`, started, 'prometheus');
  return {
    name: 'prometheus',
    baseUrl,
    writeUrl: `${baseUrl}/api/v1/write`,
    pid: started.child.pid ?? 0,
    async flush() {
      // The head block is queryable as soon as a write is acknowledged.
    },
    async readSeries(metric, fromMs, toMs) {
      // A range selector in an instant query returns the raw samples in (at - range, at].
      const rangeMs = Math.max(1, toMs - fromMs + 1);
      const body = await getJson(
        `${baseUrl}/api/v1/query?query=${encodeURIComponent(`{__name__="${metric}"}[${rangeMs}ms]`)}&time=${toMs / 1000}`,
      );
      return sortSeries(
        resultOf(body).map((r) => ({
          labels: r.metric,
          samples: (r.values ?? []).map(([t, v]): [number, number] => [Math.round(t * 1000), parseValue(v)]),
        })),
      );
    },
    ...queryFns(baseUrl),
    stop: () => terminate(started.child, dir),
  };
}

/** VictoriaMetrics (single node). */
export async function startVictoriaMetrics(): Promise<TsdbServer> {
  const dir = await mkdtemp(join(tmpdir(), 'rxprom-victoriametrics-'));
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const started = launch('victoria-metrics', [
    `-storageDataPath=${join(dir, 'data')}`,
    `-httpListenAddr=127.0.0.1:${port}`,
    '-retentionPeriod=100y',
    '-loggerLevel=ERROR',
    // Raw samples back, as written: no deduplication, no search-cache staleness between writes.
    '-search.disableCache',
    '-search.latencyOffset=0s',
  ]);
  await waitReady(`${baseUrl}/health`, started, 'victoria-metrics');
  return {
    name: 'victoriametrics',
    baseUrl,
    writeUrl: `${baseUrl}/api/v1/write`,
    pid: started.child.pid ?? 0,
    async flush() {
      const response = await fetch(`${baseUrl}/internal/force_flush`);
      await response.text();
    },
    async readSeries(metric, fromMs, toMs) {
      const url = `${baseUrl}/api/v1/export?match[]=${encodeURIComponent(`{__name__="${metric}"}`)}&start=${fromMs / 1000}&end=${toMs / 1000}`;
      const response = await fetch(url);
      const text = await response.text();
      if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${text.slice(0, 500)}`);
      const series: StoredSeries[] = [];
      for (const line of text.split('\n')) {
        if (!line.trim()) continue;
        const row = JSON.parse(line) as { metric: Record<string, string>; values: Array<number | string>; timestamps: number[] };
        const samples = row.timestamps.map((t, i): [number, number] => [t, typeof row.values[i] === 'number' ? (row.values[i] as number) : parseValue(String(row.values[i]))]);
        samples.sort((a, b) => a[0] - b[0]);
        series.push({ labels: row.metric, samples });
      }
      return sortSeries(series);
    },
    ...queryFns(baseUrl),
    stop: () => terminate(started.child, dir),
  };
}

export interface MosquittoServer {
  /** mqtt://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  /** The broker process id (changes on `restart()`). */
  readonly pid: number;
  /** Stops the broker (SIGTERM: it saves its persistence file) and starts it again on the same port and directory. */
  restart(): Promise<void>;
  /** Kills the broker without letting it save (SIGKILL) and leaves it down; `start()` brings it back. */
  kill(): Promise<void>;
  /** Starts the broker again after `kill()` (same port, same persistence directory). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface MosquittoOptions {
  /** `max_inflight_messages`: QoS 1/2 messages in flight to an MQTT 3.1.1 client (mosquitto's default 20; 0 = no limit). */
  readonly maxInflightMessages?: number;
  /** `max_queued_messages` per client beyond those in flight; default here 0 (no limit: a slow or absent persistent consumer loses nothing). Mosquitto's own default, 1000, drops the rest. */
  readonly maxQueuedMessages?: number;
}

/**
 * Mosquitto on a free loopback port with persistence in a fresh directory, so that `restart()`
 * keeps persistent sessions, their subscriptions and their queued and in-flight QoS 1 messages.
 */
export async function startMosquitto(options: MosquittoOptions = {}): Promise<MosquittoServer> {
  const dir = await mkdtemp(join(tmpdir(), 'rxprom-mosquitto-'));
  const port = await freePort();
  const config = join(dir, 'mosquitto.conf');
  const lines = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    // Started as root, mosquitto switches to the user "mosquitto", who cannot write the temp dir:
    // stay who we are (ignored when not root).
    `user ${userInfo().username}`,
    'persistence true',
    `persistence_location ${dir}/`,
    'autosave_interval 1800',
    `max_queued_messages ${options.maxQueuedMessages ?? 0}`,
    'log_dest stderr',
    'log_type error',
    'log_type warning',
  ];
  if (options.maxInflightMessages !== undefined) lines.push(`max_inflight_messages ${options.maxInflightMessages}`);
  await writeFile(config, `${lines.join('\n')}\n`);
  let started: Started | undefined;
  const start = async (): Promise<void> => {
    started = launch('mosquitto', ['-c', config]);
    await waitListening(port, started, 'mosquitto');
  };
  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    const child = started?.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  await start();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    get pid() {
      return started?.child.pid ?? 0;
    },
    async restart() {
      await halt('SIGTERM');
      await start();
    },
    kill: () => halt('SIGKILL'),
    start,
    async stop() {
      await halt('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitListening(port: number, started: Started, name: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (started.child.exitCode !== null) throw new Error(`${name} exited with ${started.child.exitCode}:\n${started.output()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await sleep(50);
  }
  started.child.kill('SIGKILL');
  throw new Error(`${name} not listening on ${port} after ${timeoutMs} ms:\n${started.output()}`);
}

export interface NatsServer {
  /** nats://127.0.0.1:PORT */
  readonly url: string;
  /** The monitoring endpoint, http://127.0.0.1:PORT */
  readonly monitorUrl: string;
  /** The server process id (changes on restart). */
  readonly pid: number;
  /** Stops the server (SIGTERM, or SIGKILL with `{ kill: true }`) and starts it again on the same port with the same JetStream store. */
  restart(options?: { kill?: boolean; downMs?: number }): Promise<void>;
  /** Rewrites the configuration with another `authorization` block and has the running server reload it (SIGHUP); resolves once its log says it did. */
  reloadAuthorization(authorization: string): Promise<void>;
  stop(): Promise<void>;
}

export interface NatsOptions {
  /** Subject mappings (`mappings` in the server's configuration), e.g. NATS' own partitioning. */
  readonly mappings?: Readonly<Record<string, string>>;
  /** The body of the server's `authorization { ... }` block (users with passwords or NKeys, or a token); default none (anyone connects). */
  readonly authorization?: string;
}

/** nats-server with JetStream (`-js`) and its own store directory in a temporary directory. */
export async function startNats(options: NatsOptions = {}): Promise<NatsServer> {
  const dir = await mkdtemp(join(tmpdir(), 'rxprom-nats-'));
  const port = await freePort();
  const monitorPort = await freePort();
  const config = join(dir, 'nats.conf');
  const mappings = Object.entries(options.mappings ?? {}).map(([from, to]) => `  ${JSON.stringify(from)}: ${JSON.stringify(to)}`);
  const configText = (authorization: string | undefined): string =>
    `listen: 127.0.0.1:${port}\nhttp: 127.0.0.1:${monitorPort}\njetstream { store_dir: ${JSON.stringify(join(dir, 'store'))} }\n` +
      (mappings.length > 0 ? `mappings {\n${mappings.join('\n')}\n}\n` : '') +
      (authorization !== undefined ? `authorization {\n${authorization}\n}\n` : '');
  await writeFile(config, configText(options.authorization));
  const monitorUrl = `http://127.0.0.1:${monitorPort}`;
  const boot = async (): Promise<Started> => {
    const started = launch('nats-server', ['-c', config]);
    await waitReady(`${monitorUrl}/healthz`, started, 'nats-server');
    return started;
  };
  let started = await boot();
  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    const child = started.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  return {
    url: `nats://127.0.0.1:${port}`,
    monitorUrl,
    get pid() {
      return started.child.pid ?? 0;
    },
    async restart({ kill = false, downMs = 0 } = {}) {
      await halt(kill ? 'SIGKILL' : 'SIGTERM');
      if (downMs > 0) await sleep(downMs);
      started = await boot();
    },
    async reloadAuthorization(authorization) {
      await writeFile(config, configText(authorization));
      const child = started.child;
      let seen = '';
      let onData = (_chunk: Buffer): void => {};
      const reloaded = new Promise<void>((resolve) => {
        onData = (chunk) => {
          seen = (seen + chunk.toString()).slice(-1000);
          if (seen.includes('Reloaded server configuration')) resolve();
        };
        child.stderr?.on('data', onData);
        child.stdout?.on('data', onData);
      });
      child.kill('SIGHUP');
      let timer: NodeJS.Timeout | undefined;
      const failed = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`nats-server did not reload its configuration:\n${started.output()}`)), 30_000);
      });
      try {
        await Promise.race([reloaded, failed]);
      } finally {
        clearTimeout(timer);
        child.stderr?.off('data', onData);
        child.stdout?.off('data', onData);
      }
    },
    async stop() {
      await halt('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
