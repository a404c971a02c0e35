/**
 * Benchmark 2: client CPU-seconds per million samples through the whole `remoteWrite` path
 * (generator → validation/interning/order guard → lanes → encoder → snappy → HTTP) into a real
 * VictoriaMetrics, against `prometheus-remote-write` on the same workload. Each client runs in
 * its own process (bench/e2e-client.ts) and measures itself with process.cpuUsage().
 * With `--profile`, the rxprom client also runs under `node --cpu-prof` and the top self-time
 * functions are printed (see bench/profile-summary.ts).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startVictoriaMetrics } from '../test/harness/servers.js';
import { benchScript, figure, fmt, runNodeJson, type BenchContext, type Figure } from './common.js';
import type { ClientResult } from './e2e-client.js';
import { summarizeProfile } from './profile-summary.js';

const SERIES = 10_000;

async function runClient(impl: string, samples: number, nodeFlags: string[] = [], extra: string[] = []): Promise<ClientResult> {
  const vm = await startVictoriaMetrics();
  try {
    const args = [...nodeFlags, benchScript('e2e-client'), '--impl', impl, '--url', vm.writeUrl, '--series', String(SERIES), '--batch', '2000', '--lanes', '4', '--samples', String(samples), ...extra];
    return (await runNodeJson<ClientResult>(args, 600_000)).result;
  } finally {
    await vm.stop();
  }
}

export async function sinkCpuBenchmark(context: BenchContext & { profile?: boolean }): Promise<Figure[]> {
  const rxSamples = context.quick ? 1_000_000 : 4_000_000;
  const peerSamples = context.quick ? 200_000 : 1_000_000;
  const source = (await runNodeJson<ClientResult>([benchScript('e2e-client'), '--impl', 'source', '--series', String(SERIES), '--samples', String(rxSamples)], 120_000)).result;
  const rx = await runClient('rxprom', rxSamples);
  context.log(`sink-cpu rxprom: ${fmt(rx.cpuSecondsPerMillion)} CPU-s/M (${rx.samples} written, ${rx.dropped} dropped, ${rx.samplesPerSec}/s)`);
  const literal = await runClient('rxprom', rxSamples, [], ['--compression', 'literal']);
  context.log(`sink-cpu rxprom, compression literal: ${fmt(literal.cpuSecondsPerMillion)} CPU-s/M (${literal.samples} written, ${literal.dropped} dropped, ${literal.samplesPerSec}/s)`);
  const peer = await runClient('peer', peerSamples);
  context.log(`sink-cpu peer: ${fmt(peer.cpuSecondsPerMillion)} CPU-s/M (${peer.samples} written, ${peer.dropped} dropped)`);
  const figures = [
    figure('sink-cpu', 'rxprom client CPU per million samples (10k series, batch 2000, 4 lanes, into VictoriaMetrics)', rx.cpuSecondsPerMillion, 'CPU-s/M samples', {
      comparison: { name: 'prometheus-remote-write 0.5.1, same workload', value: peer.cpuSecondsPerMillion },
      floor: { text: '<= 1.0 CPU-s/M', met: rx.cpuSecondsPerMillion <= 1.0 && rx.dropped === 0 },
      note: `rxprom ${rx.samples} samples at ${rx.samplesPerSec}/s, ${rx.dropped} dropped; peer ${peer.samples} at ${peer.samplesPerSec}/s, ${peer.dropped} dropped`,
    }),
    figure('sink-cpu', "rxprom client CPU per million samples, compression 'literal' (same workload)", literal.cpuSecondsPerMillion, 'CPU-s/M samples', {
      comparison: { name: 'prometheus-remote-write 0.5.1, same workload', value: peer.cpuSecondsPerMillion },
      floor: { text: '<= 1.0 CPU-s/M', met: literal.cpuSecondsPerMillion <= 1.0 && literal.dropped === 0 },
      note: `rxprom ${literal.samples} samples at ${literal.samplesPerSec}/s, ${literal.dropped} dropped; literal-only snappy blocks, no compression work`,
    }),
    figure('sink-cpu', 'feeding the sink: generator alone, CPU per million samples', source.cpuSecondsPerMillion, 'CPU-s/M samples', {
      note: 'included in the rxprom figure above',
    }),
  ];
  if (context.profile) {
    const dir = mkdtempSync(join(tmpdir(), 'rxprom-prof-'));
    try {
      await runClient('rxprom', rxSamples, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
      const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
      if (file) {
        const rows = summarizeProfile(JSON.parse(readFileSync(join(dir, file), 'utf8')), 20);
        context.log('profile of the rxprom client (self time, top 20):');
        for (const row of rows) context.log(`  ${row.percent.toFixed(1).padStart(5)}%  ${String(row.ms).padStart(8)} ms  ${row.function}  ${row.location}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return figures;
}
