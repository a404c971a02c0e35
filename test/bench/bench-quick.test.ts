/**
 * `npm run bench -- --quick` end to end, so the suite never rots. Timings are not asserted here
 * (they belong to the benchmark's own table): only that every benchmark produced its figures,
 * finite and positive, and that the encoding check found rxprom's bodies byte-identical.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unavailable } from '../harness/servers.js';

const runner = fileURLToPath(new URL('../../bench/run.js', import.meta.url));
const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('benchmark suite (--quick)', { skip: unavailable('prometheus') || unavailable('victoriametrics') || unavailable('mosquitto') || unavailable('nats') }, () => {
  it('runs every benchmark and reports each figure with its comparison', { timeout: 1_500_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'rxprom-bench-'));
    try {
      const out = join(dir, 'results.json');
      // A limit for a hung run, not a speed: the quick suite took over 10 minutes on a loaded 2-core machine.
      const run = spawnSync(process.execPath, [runner, '--quick', '--out', out], { cwd: root, encoding: 'utf8', timeout: 1_500_000 });
      assert.equal(run.status, 0, `${run.signal ? `killed (${run.signal}) after the time limit; ` : ''}${run.stderr.slice(-3000)}`);
      const parsed = JSON.parse(readFileSync(out, 'utf8')) as unknown;
      const figures = (Array.isArray(parsed) ? parsed : (parsed as { figures: unknown[] }).figures) as Array<{ benchmark: string; name: string; value: number; unit: string }>;
      for (const benchmark of ['encoding', 'sink-cpu', 'e2e', 'cardinality', 'operators', 'outage', 'checkpoint', 'spool', 'lanes', 'gateway', 'mqtt', 'jetstream']) {
        assert.ok(figures.some((f) => f.benchmark === benchmark), `figures of ${benchmark}`);
      }
      for (const f of figures) assert.ok(Number.isFinite(f.value) && f.value >= 0, `${f.name}: ${f.value}`);
      const identical = figures.filter((f) => f.name.includes('== protobufjs reference'));
      assert.equal(identical.length, 2);
      for (const f of identical) assert.equal(f.value, 1, f.name);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
