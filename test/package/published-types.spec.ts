/**
 * The published types stand on their own: a consumer project without Node's typings
 * (`"types": []`, no DOM lib, `skipLibCheck: false`) compiles against `rxprom` as resolved
 * through the package's `exports`; the Node-server tooling subpaths compile with Node's typings.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

const CONSUMER = `
import { remoteWrite, snappyCompress, sample, type Sample, type WriteAbortSignal, type WriteClient, type WriteResult, type RemoteWriteOptions } from 'rxprom';

const client: WriteClient = {
  async send(body: Uint8Array, signal: WriteAbortSignal): Promise<WriteResult> {
    return { kind: 'response', status: signal.aborted ? 499 : 204, body: String(body.length), attempts: 1 };
  },
};
const options: RemoteWriteOptions = { url: 'http://127.0.0.1:9090/api/v1/write', client, maxFutureMs: 600_000 };
export const sink = remoteWrite(options);
export const one: Sample = sample({ __name__: 'm' }, 1, 0);
export const bytes: Uint8Array = snappyCompress(new Uint8Array(8));
`;

// The tooling subpaths run Node servers (the receiver, the live feed's request handler): a project
// that uses them runs on Node and has its typings.
const NODE_CONSUMER = `
import { generateSamples, startReceiver, type Receiver } from 'rxprom/testing';
import { liveFeed, type LiveFeed } from 'rxprom/live';
import { mqttSource, jsonPayload, mqttSamples, type MqttSource, type Reading, type BadMessage } from 'rxprom/mqtt';
import type { Sample, AcknowledgedSource, Pausable } from 'rxprom';
export const samples = generateSamples({ series: 2, count: 4 });
export const receiver: Promise<Receiver> = startReceiver();
export const feed: LiveFeed<Sample> = liveFeed<Sample>();
export const source: MqttSource<Reading> & Pausable = mqttSource({
  url: 'mqtt://127.0.0.1:1883',
  clientId: 'gateway-1',
  topics: 'sensors/{site}/{room}/{device}',
  payload: jsonPayload({ value: 'temperature', timestamp: 'ts' }),
  onBadMessage: (bad: BadMessage) => console.warn(bad.kind, bad.topic, bad.reason),
});
export const acknowledged: AcknowledgedSource<unknown, number> = source;
export const samples$ = source.resumeFrom().pipe(mqttSamples('room_temperature_celsius'));
`;

// The JetStream subpath needs the optional peers @nats-io/jetstream and @nats-io/transport-node.
const JETSTREAM_CONSUMER = `
import { JetStreamSource, jsonFieldsPayload, partitionFilter, partitionsOfWorker, type JetStreamStats, type Positioned } from 'rxprom/jetstream';
import type { Observable } from 'rxjs';
const parse = jsonFieldsPayload({ temperature: 'data.temp' });
export const source = new JetStreamSource({ servers: 'nats://127.0.0.1:4222', stream: 'READINGS', durable: 'p0', filterSubject: partitionFilter('readings', 0), parse });
export const elements: Observable<Positioned<{ temperature: number }, number>> = source.resumeFrom();
export const stats: JetStreamStats = source.stats();
export const mine: number[] = partitionsOfWorker(0, 3, 6);
`;

/** Every module specifier `entry` reaches through relative imports, and the bare ones it names. */
function bareImports(entry: string, seen = new Set<string>(), bare = new Set<string>()): Set<string> {
  if (seen.has(entry)) return bare;
  seen.add(entry);
  const text = readFileSync(entry, 'utf8');
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    const specifier = match[1] ?? match[2];
    if (specifier.startsWith('.')) bareImports(join(dirname(entry), specifier), seen, bare);
    else bare.add(specifier);
  }
  return bare;
}

function compile(dir: string): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('the published types', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rxprom-consumer-'));
    await mkdir(join(dir, 'node_modules'));
    await symlink(root, join(dir, 'node_modules', 'rxprom'), 'dir');
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module', private: true }));
    const compilerOptions = { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022'], types: [], strict: true, noEmit: true, skipLibCheck: false };
    // rxjs' own types name the host's setTimeout (any runtime has one: DOM, Node, Deno): declared
    // here as a runtime would, so the only typings present are ES2022's, rxjs' and rxprom's.
    await writeFile(join(dir, 'host.d.ts'), 'declare function setTimeout(handler: () => void, timeout?: number): number;\n');
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['host.d.ts', 'consumer.ts'] }));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('compile in a project without Node types ("types": [], lib ES2022 only, skipLibCheck false)', async () => {
    await writeFile(join(dir, 'consumer.ts'), CONSUMER);
    const { status, output } = compile(dir);
    assert.equal(output.trim(), '', 'no diagnostics');
    assert.equal(status, 0);
  });

  it('rxprom/testing, rxprom/live and rxprom/mqtt compile in a project with Node types', async () => {
    const nodeDir = await mkdtemp(join(tmpdir(), 'rxprom-node-consumer-'));
    try {
      await mkdir(join(nodeDir, 'node_modules', '@types'), { recursive: true });
      await symlink(root, join(nodeDir, 'node_modules', 'rxprom'), 'dir');
      await symlink(join(root, 'node_modules', '@types', 'node'), join(nodeDir, 'node_modules', '@types', 'node'), 'dir');
      // rxprom/mqtt's types name mqtt.js' (its optional peer dependency, installed by who uses it).
      await symlink(join(root, 'node_modules', 'mqtt'), join(nodeDir, 'node_modules', 'mqtt'), 'dir');
      await writeFile(join(nodeDir, 'package.json'), JSON.stringify({ name: 'node-consumer', type: 'module', private: true }));
      const compilerOptions = { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022'], types: ['node'], strict: true, noEmit: true, skipLibCheck: true };
      await writeFile(join(nodeDir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['consumer.ts'] }));
      await writeFile(join(nodeDir, 'consumer.ts'), NODE_CONSUMER);
      const { status, output } = compile(nodeDir);
      assert.equal(output.trim(), '', 'no diagnostics');
      assert.equal(status, 0);
    } finally {
      await rm(nodeDir, { recursive: true, force: true });
    }
  });

  it('and that project really has no Node types: naming Buffer fails there', async () => {
    await writeFile(join(dir, 'consumer.ts'), `${CONSUMER}\nexport const node: Buffer | undefined = undefined;\n`);
    const { status, output } = compile(dir);
    assert.notEqual(status, 0);
    assert.match(output, /consumer\.ts.*Cannot find name 'Buffer'/);
  });

  it('rxprom/jetstream compiles in a Node project that has the NATS packages', async () => {
    const natsDir = await mkdtemp(join(tmpdir(), 'rxprom-nats-consumer-'));
    try {
      await mkdir(join(natsDir, 'node_modules', '@types'), { recursive: true });
      await symlink(root, join(natsDir, 'node_modules', 'rxprom'), 'dir');
      await symlink(join(root, 'node_modules', '@types', 'node'), join(natsDir, 'node_modules', '@types', 'node'), 'dir');
      await symlink(join(root, 'node_modules', 'rxjs'), join(natsDir, 'node_modules', 'rxjs'), 'dir');
      await writeFile(join(natsDir, 'package.json'), JSON.stringify({ name: 'nats-consumer', type: 'module', private: true }));
      const compilerOptions = { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022'], types: ['node'], strict: true, noEmit: true, skipLibCheck: true };
      await writeFile(join(natsDir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['consumer.ts'] }));
      await writeFile(join(natsDir, 'consumer.ts'), JETSTREAM_CONSUMER);
      const { status, output } = compile(natsDir);
      assert.equal(output.trim(), '', 'no diagnostics');
      assert.equal(status, 0);
    } finally {
      await rm(natsDir, { recursive: true, force: true });
    }
  });

  it('the main entry never imports the optional NATS packages; rxprom/jetstream does', () => {
    const main = bareImports(join(root, 'dist', 'src', 'index.js'));
    assert.ok(main.has('rxjs'), 'the walk follows the imports');
    assert.deepEqual([...main].filter((name) => name.startsWith('@nats-io/') || name === 'mqtt'), []);
    const subpath = bareImports(join(root, 'dist', 'src', 'sources', 'jetstream', 'index.js'));
    assert.ok(subpath.has('@nats-io/jetstream') && subpath.has('@nats-io/transport-node'));
  });
});

describe('the package entry points', () => {
  it('rxprom does not load mqtt (an optional peer dependency); rxprom/mqtt does', () => {
    // mqtt.js is CommonJS: loaded, it is in require's cache.
    const probe = `
      await import('rxprom');
      const { createRequire } = await import('node:module');
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((path) => /node_modules[\\\\/]mqtt[\\\\/]/.test(path));
      const afterMain = loaded();
      await import('rxprom/mqtt');
      console.log(JSON.stringify({ afterMain, afterMqtt: loaded() }));
    `;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: root, encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout.trim()), { afterMain: false, afterMqtt: true });
  });

  it('package.json exports ./mqtt with its types, in the published files', async () => {
    const { readFile } = await import('node:fs/promises');
    const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { exports: Record<string, { types: string; import: string }>; files: string[] };
    assert.deepEqual(manifest.exports['./mqtt'], { types: './dist/src/sources/mqtt/index.d.ts', import: './dist/src/sources/mqtt/index.js' });
    assert.ok(manifest.files.includes('dist/src'));
  });
});
