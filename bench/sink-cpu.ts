/**
 * Benchmark 2: client CPU-seconds per million samples through the whole `remoteWrite` path
 * (generator → validation/interning/order guard → lanes → encoder → snappy → HTTP) into a real
 * VictoriaMetrics, with a fresh label object per sample (the headline: labels parsed from JSON or
 * built per message) and with one reused per series, against `prometheus-remote-write` and the
 * reference sender on the same workload. Each client runs in its own process (bench/e2e-client.ts)
 * and measures itself with process.cpuUsage() (the reference sender: from /proc).
 * With `--profile`, the rxprom client also runs under `node --cpu-prof` and the top self-time
 * functions are printed (see bench/profile-summary.ts).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startVictoriaMetrics } from '../test/harness/servers.js';
import { benchScript, figure, fmt, runNodeJson, type BenchContext, type Figure } from './common.js';
import type { ClientResult } from './e2e-client.js';
import type { TransportResult } from './transport-client.js';
import { summarizeProfile } from './profile-summary.js';
import type { LabelObjects } from './workload.js';

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

/** The reference sender on the same workload for `seconds`: its CPU (from /proc) per million samples accepted. */
async function runReference(seconds: number): Promise<{ samples: number; seconds: number; cpuSecondsPerMillion: number }> {
  const vm = await startVictoriaMetrics();
  try {
    const args = [benchScript('reference-sender'), '--url', vm.writeUrl, '--series', String(SERIES), '--batch', '2000', '--lanes', '4', '--labels', '4', '--seconds', String(seconds)];
    const run = await runNodeJson<{ samples: number; seconds: number }>(args, (seconds + 120) * 1000);
    return { samples: run.result.samples, seconds: run.result.seconds, cpuSecondsPerMillion: (run.cpuSeconds / Math.max(1, run.result.samples)) * 1e6 };
  } finally {
    await vm.stop();
  }
}

/** The transport alone (bench/transport-client.ts): `requests` encoded bodies through one client, alternating axios and node:http. */
async function runTransports(requests: number): Promise<{ axios: TransportResult; nodeHttp: TransportResult }> {
  const vm = await startVictoriaMetrics();
  try {
    const run = async (transport: string): Promise<TransportResult> =>
      (await runNodeJson<TransportResult>([benchScript('transport-client'), '--url', vm.writeUrl, '--transport', transport, '--requests', String(requests), '--lanes', '4', '--batch', '2000'], 300_000)).result;
    const axios1 = await run('axios');
    const node1 = await run('node-http');
    const axios2 = await run('axios');
    const node2 = await run('node-http');
    // The lower of two runs each: the machine is shared, and noise only ever adds CPU.
    return { axios: axios1.cpuSeconds <= axios2.cpuSeconds ? axios1 : axios2, nodeHttp: node1.cpuSeconds <= node2.cpuSeconds ? node1 : node2 };
  } finally {
    await vm.stop();
  }
}

export async function sinkCpuBenchmark(context: BenchContext & { profile?: boolean }): Promise<Figure[]> {
  const rxSamples = context.quick ? 1_000_000 : 4_000_000;
  const peerSamples = context.quick ? 200_000 : 1_000_000;
  const generator = async (labelObjects: LabelObjects): Promise<ClientResult> =>
    (await runNodeJson<ClientResult>([benchScript('e2e-client'), '--impl', 'source', '--series', String(SERIES), '--samples', String(rxSamples), '--label-objects', labelObjects], 120_000)).result;
  const sourceFresh = await generator('fresh');
  const sourceReused = await generator('reused');
  // Fresh label objects first (the headline: what a gateway's parsed messages are), then reused, alternating with the peer.
  const fresh = await runClient('rxprom', rxSamples, [], ['--label-objects', 'fresh']);
  context.log(`sink-cpu rxprom, fresh labels: ${fmt(fresh.cpuSecondsPerMillion)} CPU-s/M (${fresh.samples} written, ${fresh.dropped} dropped, ${fresh.samplesPerSec}/s)`);
  const peer = await runClient('peer', peerSamples);
  context.log(`sink-cpu peer: ${fmt(peer.cpuSecondsPerMillion)} CPU-s/M (${peer.samples} written, ${peer.dropped} dropped)`);
  const reused = await runClient('rxprom', rxSamples, [], ['--label-objects', 'reused']);
  context.log(`sink-cpu rxprom, reused labels: ${fmt(reused.cpuSecondsPerMillion)} CPU-s/M (${reused.samples} written, ${reused.dropped} dropped, ${reused.samplesPerSec}/s)`);
  const literal = await runClient('rxprom', rxSamples, [], ['--label-objects', 'fresh', '--compression', 'literal']);
  context.log(`sink-cpu rxprom, fresh labels, compression literal: ${fmt(literal.cpuSecondsPerMillion)} CPU-s/M (${literal.samples} written, ${literal.dropped} dropped, ${literal.samplesPerSec}/s)`);
  const reference = await runReference(context.quick ? 4 : 10);
  context.log(`sink-cpu reference sender: ${fmt(reference.cpuSecondsPerMillion)} CPU-s/M (${reference.samples} written)`);
  const transports = await runTransports(context.quick ? 300 : 2000);
  context.log(`sink-cpu transport alone: axios client ${transports.axios.cpuMicrosPerRequest} µs CPU/request, node:http ${transports.nodeHttp.cpuMicrosPerRequest} µs CPU/request (${transports.axios.written}/${transports.axios.requests} and ${transports.nodeHttp.written}/${transports.nodeHttp.requests} written)`);
  const peerComparison = { name: 'prometheus-remote-write 0.5.1, same workload (reused labels)', value: peer.cpuSecondsPerMillion };
  const figures = [
    figure('sink-cpu', 'rxprom client CPU per million samples, fresh label object per sample (10k series, batch 2000, 4 lanes, into VictoriaMetrics)', fresh.cpuSecondsPerMillion, 'CPU-s/M samples', {
      comparison: peerComparison,
      floor: { text: '<= 1.0 CPU-s/M (stretch 0.5)', met: fresh.cpuSecondsPerMillion <= 1.0 && fresh.dropped === 0 },
      note: `rxprom ${fresh.samples} samples at ${fresh.samplesPerSec}/s, ${fresh.dropped} dropped; peer ${peer.samples} at ${peer.samplesPerSec}/s, ${peer.dropped} dropped; fresh/reused ${(fresh.cpuSecondsPerMillion / reused.cpuSecondsPerMillion).toFixed(2)}x`,
    }),
    figure('sink-cpu', 'rxprom client CPU per million samples, one label object per series reused (same workload)', reused.cpuSecondsPerMillion, 'CPU-s/M samples', {
      comparison: peerComparison,
      floor: { text: '<= 0.7 CPU-s/M', met: reused.cpuSecondsPerMillion <= 0.7 && reused.dropped === 0 },
      note: `rxprom ${reused.samples} samples at ${reused.samplesPerSec}/s, ${reused.dropped} dropped`,
    }),
    figure('sink-cpu', "rxprom client CPU per million samples, fresh labels, compression 'literal' (same workload)", literal.cpuSecondsPerMillion, 'CPU-s/M samples', {
      comparison: peerComparison,
      floor: { text: '<= 1.0 CPU-s/M', met: literal.cpuSecondsPerMillion <= 1.0 && literal.dropped === 0 },
      note: `rxprom ${literal.samples} samples at ${literal.samplesPerSec}/s, ${literal.dropped} dropped; literal-only snappy blocks, no compression work`,
    }),
    figure('sink-cpu', 'reference sender (labels pre-encoded, literal snappy, node:http): client CPU per million samples, same workload', reference.cpuSecondsPerMillion, 'CPU-s/M samples', {
      note: `${reference.samples} samples in ${reference.seconds} s`,
    }),
    figure('sink-cpu', "transport alone: rxprom's axios client, CPU per request (same bodies, 2000 samples each, 4 in flight)", transports.axios.cpuMicrosPerRequest, 'µs/request', {
      comparison: { name: 'plain node:http (as the reference sender), same bodies', value: transports.nodeHttp.cpuMicrosPerRequest },
      note: `at 2000 samples per request: ${fmt(transports.axios.cpuMicrosPerRequest / 2000)} CPU-s/M samples (node:http ${fmt(transports.nodeHttp.cpuMicrosPerRequest / 2000)}); ${transports.axios.written}/${transports.axios.requests} and ${transports.nodeHttp.written}/${transports.nodeHttp.requests} written`,
    }),
    figure('sink-cpu', 'feeding the sink: generator alone, fresh label objects, CPU per million samples', sourceFresh.cpuSecondsPerMillion, 'CPU-s/M samples', {
      note: 'included in the fresh-label figures above',
    }),
    figure('sink-cpu', 'feeding the sink: generator alone, reused label objects, CPU per million samples', sourceReused.cpuSecondsPerMillion, 'CPU-s/M samples', {
      note: 'included in the reused-label figure above',
    }),
  ];
  if (context.profile) {
    const dir = mkdtempSync(join(tmpdir(), 'rxprom-prof-'));
    try {
      await runClient('rxprom', rxSamples, ['--cpu-prof', `--cpu-prof-dir=${dir}`], ['--label-objects', 'fresh']);
      const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
      if (file) {
        const rows = summarizeProfile(JSON.parse(readFileSync(join(dir, file), 'utf8')), 20);
        context.log('profile of the rxprom client, fresh labels (self time, top 20):');
        for (const row of rows) context.log(`  ${row.percent.toFixed(1).padStart(5)}%  ${String(row.ms).padStart(8)} ms  ${row.function}  ${row.location}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return figures;
}
