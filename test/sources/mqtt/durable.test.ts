/**
 * The MQTT source under the checkpoint coordinator, killed with `kill -9` mid-run and restarted
 * on its state directory: Prometheus ends with exactly what an uninterrupted consumer of the same
 * readings stores (every window's count, sum and max), and both equal the windows computed here.
 * Real mosquitto and Prometheus; each consumer is its own process (`durable-consumer.ts`).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { connectAsync } from 'mqtt';
import { createMqttSession } from '../../harness/mqtt-session.js';
import { startMosquitto, startPrometheus, unavailable, type MosquittoServer, type StoredSeries, type TsdbServer } from '../../harness/servers.js';

const script = fileURLToPath(new URL('./durable-consumer.js', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const DEVICES = 8;
const SECONDS = 30;
const PER_SECOND = 4;
const value = (d: number, i: number): number => 20 + d + (i % 7) / 10;

interface Consumer {
  child: ChildProcess;
  lines: Array<{ checkpoint?: number; received?: number }>;
  exited: Promise<void>;
}

function consumer(args: string[]): Consumer {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: Consumer['lines'] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(JSON.parse(line)));
  return { child, lines, exited: new Promise((resolve) => child.once('exit', () => resolve())) };
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('MQTT source + checkpoint coordinator, kill -9', { skip: unavailable('mosquitto') || unavailable('prometheus') }, () => {
  let broker: MosquittoServer;
  let prometheus: TsdbServer;
  let stateRoot: string;
  const running: Consumer[] = [];
  before(async () => {
    [broker, prometheus] = await Promise.all([startMosquitto(), startPrometheus()]);
    stateRoot = await mkdtemp(join(tmpdir(), 'rxprom-mqtt-durable-'));
  });
  after(async () => {
    for (const c of running) c.child.kill('SIGKILL');
    await Promise.all([broker?.stop(), prometheus?.stop(), rm(stateRoot, { recursive: true, force: true })]);
  });

  it('a consumer killed mid-run and restarted stores exactly what an uninterrupted one stores', { timeout: 300_000 }, async () => {
    const t0 = Math.floor(Date.now() / 1000) * 1000 - (SECONDS + 120) * 1000;
    const args = (name: string): string[] => [broker.url, `durable-${name}`, prometheus.writeUrl, join(stateRoot, name), `durable_${name}`];
    // The sessions exist before anything is published: the broker keeps every reading for both
    // consumers, however long they take to start and subscribe.
    for (const name of ['whole', 'killed']) await createMqttSession(broker.url, `durable-${name}`, 'sensors/{site}/{room}/{device}');
    const whole = consumer(args('whole'));
    let killed = consumer(args('killed'));
    running.push(whole, killed);
    await until(() => whole.lines.length > 0 && killed.lines.length > 0, 'both consumers connected');

    const publisher = await connectAsync(broker.url, { clientId: 'durable-publisher' });
    const total = DEVICES * SECONDS * PER_SECOND;
    let published = 0;
    const publish = async (fromStep: number, toStep: number): Promise<void> => {
      for (let i = fromStep; i < toStep; i++) {
        for (let d = 0; d < DEVICES; d++) {
          await publisher.publishAsync(`sensors/s/r/dev-${d}`, JSON.stringify({ temperature: value(d, i), ts: t0 + i * (1000 / PER_SECOND) }), { qos: 1 });
          published++;
        }
        if (i % 4 === 3) await sleep(60);
      }
    };
    // The last third is published only after the kill (on any machine, however fast the consumer
    // or the publisher): the kill always comes mid-run.
    const killedAtStep = Math.floor((SECONDS * PER_SECOND * 2) / 3);
    const publishing = publish(0, killedAtStep);
    // Kill it once it has checkpointed some of the run and is still reading.
    await until(() => killed.lines.some((l) => (l.received ?? 0) > total / 3) && killed.lines.filter((l) => l.checkpoint !== undefined).length >= 2, 'the consumer to be mid-run');
    assert.ok(published < total, 'killed before the last reading was published');
    killed.child.kill('SIGKILL');
    await killed.exited;
    killed = consumer(args('killed'));
    running.push(killed);
    await publishing;
    await publish(killedAtStep, SECONDS * PER_SECOND);
    await publisher.endAsync();

    // Every window but each device's last (still open: nothing later arrives) closes.
    const expected = (aggregate: 'count' | 'sum' | 'max'): StoredSeries[] =>
      Array.from({ length: DEVICES }, (_, d) => ({
        labels: { __name__: `durable_whole_${aggregate}`, device: `dev-${d}` },
        samples: Array.from({ length: SECONDS - 1 }, (_, k): [number, number] => {
          const values = Array.from({ length: PER_SECOND }, (_, j) => value(d, k * PER_SECOND + j));
          const result = aggregate === 'count' ? values.length : aggregate === 'sum' ? values.reduce((a, b) => a + b, 0) : Math.max(...values);
          return [t0 + (k + 1) * 1000, result];
        }),
      })).sort((a, b) => (a.labels.device < b.labels.device ? -1 : 1));
    const read = (name: string, aggregate: string): Promise<StoredSeries[]> => prometheus.readSeries(`durable_${name}_${aggregate}`, t0, t0 + (SECONDS + 1) * 1000);
    const rounded = (series: StoredSeries[], name: string): StoredSeries[] =>
      series.map((s) => ({ labels: { ...s.labels, __name__: s.labels['__name__'].replace(name, 'whole') }, samples: s.samples.map(([t, v]): [number, number] => [t, Math.round(v * 1e9) / 1e9]) }));

    for (const aggregate of ['count', 'sum', 'max'] as const) {
      const want = rounded(expected(aggregate), 'whole');
      await until(async () => JSON.stringify(rounded(await read('whole', aggregate), 'whole')) === JSON.stringify(want), `the uninterrupted consumer's ${aggregate}`).catch(async () => {
        assert.deepEqual(rounded(await read('whole', aggregate), 'whole'), want);
      });
      await until(async () => JSON.stringify(rounded(await read('killed', aggregate), 'killed')) === JSON.stringify(want), `the restarted consumer's ${aggregate}`).catch(async () => {
        assert.deepEqual(rounded(await read('killed', aggregate), 'killed'), want, `the killed and restarted consumer's ${aggregate}`);
      });
    }
    const restarted = killed.lines.find((l) => (l as { restored?: number | null }).restored !== undefined) as { restored?: number | null } | undefined;
    assert.ok(typeof restarted?.restored === 'number', 'the restarted consumer resumed from a checkpoint');
  });
});
