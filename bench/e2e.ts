/**
 * Benchmark 3: samples/s a real Prometheus and a real VictoriaMetrics accept from `remoteWrite`,
 * against the reference sender (`reference-sender.ts`: labels pre-encoded, no compression: the ceiling) on the
 * same workload: same series, 4 labels, batch 2000, 4 lanes, same time order; rxprom with a fresh
 * label object per sample (the headline) and with one reused per series. Each client runs
 * in its own process for the same duration, each against a fresh server; the two runs alternate.
 * Client and server share the machine's two cores, so client CPU is receiver CPU lost: the CPU of
 * both is reported.
 */
import { startPrometheus, startVictoriaMetrics, type TsdbServer } from '../test/harness/servers.js';
import { benchScript, figure, fmt, runNodeJson, sleep, type BenchContext, type Figure } from './common.js';
import type { ClientResult } from './e2e-client.js';
import { processCpuSeconds } from './procstat.js';

interface RunFigures {
  readonly samplesPerSec: number;
  readonly samples: number;
  readonly errors: number;
  readonly lastError: string;
  readonly clientCpuPerMillion: number;
  readonly serverCpuPerMillion: number;
}

async function measure(start: () => Promise<TsdbServer>, args: (url: string) => string[], seconds: number): Promise<RunFigures> {
  const server = await start();
  try {
    await sleep(500);
    const serverCpu0 = processCpuSeconds(server.pid);
    const run = await runNodeJson<ClientResult & { requests?: number }>(args(server.writeUrl), (seconds + 120) * 1000);
    const serverCpu = processCpuSeconds(server.pid) - serverCpu0;
    const r = run.result;
    return {
      samplesPerSec: r.samplesPerSec,
      samples: r.samples,
      errors: r.errors,
      lastError: r.lastError,
      clientCpuPerMillion: (run.cpuSeconds / Math.max(1, r.samples)) * 1e6,
      serverCpuPerMillion: (serverCpu / Math.max(1, r.samples)) * 1e6,
    };
  } finally {
    await server.stop();
  }
}

export async function e2eBenchmark(context: BenchContext & { series?: readonly number[] }): Promise<Figure[]> {
  const figures: Figure[] = [];
  const all: Array<{ series: number; seconds: number; floor: number }> = context.quick
    ? [{ series: 10_000, seconds: 4, floor: 0.9 }]
    : [
        { series: 10_000, seconds: 15, floor: 0.9 },
        { series: 1_000_000, seconds: 30, floor: 0.8 },
      ];
  const servers: Array<{ name: string; start: () => Promise<TsdbServer> }> = [
    { name: 'VictoriaMetrics', start: startVictoriaMetrics },
    { name: 'Prometheus', start: () => startPrometheus() },
  ];
  // `--e2e-series N` keeps only the case with N series.
  const configs = context.series && context.series.length > 0 ? all.filter((c) => context.series?.includes(c.series)) : all;
  for (const { series, seconds, floor } of configs) {
    for (const server of servers) {
      const common = ['--series', String(series), '--batch', '2000', '--lanes', '4', '--labels', '4', '--seconds', String(seconds)];
      const raw = await measure(server.start, (url) => [benchScript('reference-sender'), '--url', url, ...common], seconds);
      // rxprom as configured by default (snappy-compressed bodies) with a fresh label object per
      // sample (the headline) and with one reused per series, and with the reference sender's own
      // framing (literal-only snappy blocks: `compression: 'literal'`) on fresh labels.
      const variants = [
        { labelObjects: 'fresh', compression: 'snappy' },
        { labelObjects: 'reused', compression: 'snappy' },
        { labelObjects: 'fresh', compression: 'literal' },
      ] as const;
      for (const { labelObjects, compression } of variants) {
        const rx = await measure(server.start, (url) => [benchScript('e2e-client'), '--impl', 'rxprom', '--compression', compression, '--label-objects', labelObjects, '--url', url, ...common], seconds);
        const ratio = rx.samplesPerSec / Math.max(1, raw.samplesPerSec);
        context.log(
          `e2e ${server.name} ${series} series, ${labelObjects} labels, ${compression}: rxprom ${rx.samplesPerSec}/s (client ${fmt(rx.clientCpuPerMillion)} CPU-s/M, server ${fmt(rx.serverCpuPerMillion)}), ` +
            `reference ${raw.samplesPerSec}/s (client ${fmt(raw.clientCpuPerMillion)}, server ${fmt(raw.serverCpuPerMillion)}), ratio ${ratio.toFixed(2)}`,
        );
        const how = `${labelObjects === 'fresh' ? 'fresh label object per sample' : 'label objects reused'}${compression === 'snappy' ? '' : ", compression 'literal' (the reference sender's framing)"}`;
        figures.push(
          figure('e2e', `${server.name} accepts from rxprom, ${series.toLocaleString('en-US')} series, ${seconds} s, ${how}`, rx.samplesPerSec, 'samples/s', {
            comparison: { name: 'reference sender (ceiling), same workload', value: raw.samplesPerSec },
            floor: { text: `>= ${floor} x reference sender`, met: ratio >= floor && rx.errors === 0 },
            note:
              `client CPU-s/M: rxprom ${fmt(rx.clientCpuPerMillion)}, reference ${fmt(raw.clientCpuPerMillion)}; ` +
              `server CPU-s/M: ${fmt(rx.serverCpuPerMillion)} vs ${fmt(raw.serverCpuPerMillion)}` +
              (rx.errors + raw.errors > 0 ? `; errors rxprom ${rx.errors} (${rx.lastError}), raw ${raw.errors} (${raw.lastError})` : ''),
          }),
        );
      }
    }
  }
  return figures;
}
