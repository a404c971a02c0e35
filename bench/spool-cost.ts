/**
 * Benchmark: what the sink's durability costs (`--only spool`). The sink-cpu workload (10,000
 * series, fresh label object per sample, batch 2000, 4 lanes) through `remoteWrite` into a real
 * VictoriaMetrics, in three modes that differ only in durability (bench/spool-cost-client.ts, one
 * process per run, a fresh server each):
 *
 * - without a spool;
 * - with a spool (its defaults: fsync every 500 ms, acknowledgements saved as often);
 * - with a spool and `state`, under a `DurablePipeline` checkpointing every 5 s.
 *
 * The modes alternate (A B C A B C) because the machine is noisy; samples/s and client CPU-s per
 * million are reported per run, the medians compared with "without" (the issue's floor: the
 * spool and checkpoints cost at most 20%). The load average before and after goes in the notes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startVictoriaMetrics } from '../test/harness/servers.js';
import { benchScript, figure, fmt, runNodeJson, type BenchContext, type Figure } from './common.js';
import type { SpoolCostMode, SpoolCostResult } from './spool-cost-client.js';

const MODES: ReadonlyArray<{ mode: SpoolCostMode; name: string }> = [
  { mode: 'plain', name: 'without a spool' },
  { mode: 'spool', name: 'with a spool (fsync every 500 ms)' },
  { mode: 'durable', name: 'with a spool + state, DurablePipeline checkpointing every CHECKPOINT' },
];

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

const uptime = (): string => loadavg().map((n) => n.toFixed(2)).join(', ');

async function run(mode: SpoolCostMode, samples: number, checkpointMs: number): Promise<SpoolCostResult & { childCpuPerMillion: number }> {
  const vm = await startVictoriaMetrics();
  const dir = await mkdtemp(join(tmpdir(), 'rxprom-bench-spool-cost-'));
  try {
    const args = [benchScript('spool-cost-client'), '--mode', mode, '--url', vm.writeUrl, '--dir', dir, '--samples', String(samples), '--checkpoint-ms', String(checkpointMs)];
    const child = await runNodeJson<SpoolCostResult>(args, 600_000);
    const r = child.result;
    if (r.error !== '' || r.dropped > 0 || r.samples !== samples) throw new Error(`spool-cost ${mode}: ${r.samples} of ${samples} written, ${r.dropped} dropped (${r.lastError}) ${r.error}`);
    if (mode !== 'plain' && r.spoolLanes === 0) throw new Error(`spool-cost ${mode}: the spool directory stayed empty`);
    // The last checkpoint is taken at completion; a run that lasted two intervals must have taken one on its timer too.
    if (mode === 'durable' && r.checkpoints < 2 && r.seconds * 1000 > 2 * checkpointMs) throw new Error(`spool-cost durable: ${r.checkpoints} checkpoint(s) in ${r.seconds.toFixed(1)} s at one per ${checkpointMs} ms`);
    return { ...r, childCpuPerMillion: (child.cpuSeconds / r.samples) * 1e6 };
  } finally {
    await vm.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function spoolCostBenchmark(context: BenchContext): Promise<Figure[]> {
  const samples = context.quick ? 500_000 : 4_000_000;
  const checkpointMs = context.quick ? 500 : 5000;
  const rounds = context.quick ? 1 : 2;
  const loadBefore = uptime();
  const every = checkpointMs >= 1000 ? `${checkpointMs / 1000} s` : `${checkpointMs} ms`;
  const named = (name: string): string => name.replace('CHECKPOINT', every);
  const results = new Map<SpoolCostMode, SpoolCostResult[]>(MODES.map(({ mode }) => [mode, []]));
  for (let round = 0; round < rounds; round++) {
    for (const { mode, name } of MODES) {
      const r = await run(mode, samples, checkpointMs);
      results.get(mode)!.push(r);
      context.log(`spool round ${round + 1}, ${named(name)}: ${r.samplesPerSec}/s, ${fmt(r.cpuSecondsPerMillion)} CPU-s/M (${r.seconds.toFixed(1)} s${mode === 'durable' ? `, ${r.checkpoints} checkpoints` : ''}); load ${uptime()}`);
    }
  }
  const loadAfter = uptime();
  const rate = (mode: SpoolCostMode): number => median(results.get(mode)!.map((r) => r.samplesPerSec));
  const cpu = (mode: SpoolCostMode): number => median(results.get(mode)!.map((r) => r.cpuSecondsPerMillion));
  const perRun = (mode: SpoolCostMode): string => results.get(mode)!.map((r) => `${r.samplesPerSec}/s ${fmt(r.cpuSecondsPerMillion)}`).join('; ');
  const base = MODES[0]!;
  const workload = `${samples.toLocaleString('en-US')} samples per run, 10k series, fresh labels, batch 2000, 4 lanes, into VictoriaMetrics; ${rounds} alternating round(s)`;
  const figures: Figure[] = [
    figure('spool', `samples/s ${base.name} (${workload})`, Math.round(rate('plain')), 'samples/s', {
      note: `per run (samples/s CPU-s/M): ${perRun('plain')}; load average before ${loadBefore}, after ${loadAfter}`,
    }),
    figure('spool', `client CPU per million samples ${base.name}`, cpu('plain'), 'CPU-s/M samples'),
  ];
  for (const { mode, name } of MODES.slice(1)) {
    const rateRatio = rate(mode) / rate('plain');
    const cpuRatio = cpu(mode) / cpu('plain');
    figures.push(
      figure('spool', `samples/s ${named(name)}`, Math.round(rate(mode)), 'samples/s', {
        comparison: { name: base.name, value: Math.round(rate('plain')) },
        floor: { text: '>= 0.8x without', met: rateRatio >= 0.8 },
        note: `per run: ${perRun(mode)}${mode === 'durable' ? `; checkpoints per run ${results.get(mode)!.map((r) => r.checkpoints).join(', ')}` : ''}`,
      }),
      figure('spool', `client CPU per million samples ${named(name)}`, cpu(mode), 'CPU-s/M samples', {
        comparison: { name: base.name, value: cpu('plain') },
        floor: { text: '<= 1.2x without', met: cpuRatio <= 1.2 },
      }),
    );
  }
  return figures;
}
