/**
 * Benchmark: a long receiver outage with a spooling sink. A sender (bench/outage-client.ts, its
 * own process) writes 20,000 samples/s over 1,000 series through a fault proxy to a real
 * Prometheus; the proxy refuses connections for `--outage-minutes` (default 10; `--quick`: 5 s).
 * Reported: the sender's RSS over the run (the aim: at most 150 MB however long the outage), the
 * spool's bytes on disk, the time to drain the backlog once the receiver is back, and what
 * Prometheus holds at the end (every sample, read back with `count_over_time`; a sample out of
 * order would have been refused, so all stored means all in order).
 *
 * Also the spool's own write throughput: 2,000-sample request bodies appended to a `DiskSpool`
 * (fsync every 500 ms), against plain appends of the same bytes to one file in the same run.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startPrometheus } from '../test/harness/servers.js';
import { startFaultProxy } from '../test/harness/fault-proxy.js';
import { DiskSpool } from '../src/durable/spool.js';
import { WriteRequestEncoder } from '../src/protocol/encoder.js';
import { SeriesInterner, type SeriesRecord } from '../src/remote-write/series-interner.js';
import { benchScript, figure, fmt, sleep, type BenchContext, type Figure } from './common.js';
import type { OutageProgress, OutageResult } from './outage-client.js';

export interface OutageOptions {
  /** Minutes the receiver is down (default 10). */
  readonly outageMinutes?: number;
}

const RATE = 20_000;

export async function outageBenchmark(context: BenchContext & OutageOptions): Promise<Figure[]> {
  const outageSeconds = context.quick ? 5 : Math.round((context.outageMinutes ?? 10) * 60);
  const beforeSeconds = context.quick ? 2 : 10;
  const figures: Figure[] = [];
  figures.push(...(await spoolThroughput(context)));

  const server = await startPrometheus();
  const proxy = await startFaultProxy(server.writeUrl);
  const spool = await mkdtemp(join(tmpdir(), 'rxprom-outage-spool-'));
  try {
    const child = spawn(process.execPath, [benchScript('outage-client'), '--url', proxy.url, '--spool', spool, '--rate', String(RATE)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    const progress: OutageProgress[] = [];
    let result: OutageResult | undefined;
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const parsed = JSON.parse(line) as OutageProgress | OutageResult;
        if (parsed.type === 'progress') progress.push(parsed);
        else result = parsed;
      } catch {
        // not ours
      }
    });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    const started = Date.now();
    const command = (line: string): void => void child.stdin.write(`${line}\n`);

    await sleep(beforeSeconds * 1000);
    await proxy.down({ letInFlightFinish: true });
    command('down');
    context.log(`outage: receiver down for ${outageSeconds} s`);
    const outageEnd = Date.now() + outageSeconds * 1000;
    while (Date.now() < outageEnd) {
      await sleep(Math.min(30_000, outageEnd - Date.now()));
      const last = progress.at(-1);
      if (last) context.log(`outage: t=${last.t.toFixed(0)} s RSS ${last.rssMB.toFixed(0)} MB, spool ${(last.spoolBytes / 1e6).toFixed(1)} MB, pending ${last.pending}`);
    }
    await proxy.up();
    command('up');
    const upAt = Date.now();
    // Let it drain (the backlog plus the live rate), at most 10 minutes, then stop the source.
    const drainLimit = upAt + (context.quick ? 60_000 : 600_000);
    let steady = 0;
    while (Date.now() < drainLimit && steady < 3) {
      await sleep(1000);
      const last = progress.at(-1);
      steady = last && last.t * 1000 > upAt - started && last.pending < 50_000 ? steady + 1 : 0;
    }
    command('stop');
    await Promise.race([exited, sleep(120_000)]);
    if (result === undefined) throw new Error(`outage client gave no result: ${stderr}`);
    const r = result;

    // Read back: every sample the sender took in, stored once.
    const spanSeconds = Math.ceil((Date.now() - started) / 1000) + 60;
    const rows = (await server.query(`sum(count_over_time(rxprom_outage[${spanSeconds}s]))`)) as Array<{ value: [number, string] }>;
    const stored = rows.length > 0 ? Number(rows[0]!.value[1]) : 0;
    const duringOutage = progress.filter((p) => p.t >= beforeSeconds && p.t <= beforeSeconds + outageSeconds);
    const rssAt = (p: OutageProgress[]): string => p.filter((_, i) => i % Math.max(1, Math.floor(p.length / 8)) === 0).map((x) => `${x.t.toFixed(0)}s:${x.rssMB.toFixed(0)}`).join(' ');
    context.log(`outage: result ${JSON.stringify(r)}; stored ${stored}`);
    const allStored = stored === r.samplesIn && r.lost === 0 && r.error === '';
    figures.push(
      figure('outage', `sender RSS, max over a ${outageSeconds} s outage at ${RATE} samples/s (spool on disk)`, r.maxRssMB, 'MB', {
        floor: { text: '<= 150 MB', met: r.maxRssMB <= 150 },
        note: `RSS MB over time (t:MB) ${rssAt(progress)}; during the outage ${fmt(Math.min(...duringOutage.map((p) => p.rssMB)))}-${fmt(Math.max(...duringOutage.map((p) => p.rssMB)))} MB; heap used at most ${fmt(r.maxHeapMB)} MB; ${fmt(r.samplesIn / Math.max(1, progress.at(-1)?.t ?? 1))} samples/s taken in on average`,
      }),
      figure('outage', 'spool on disk at the end of the outage (max)', r.maxSpoolBytes / 1e6, 'MB', {
        note: `${fmt(r.maxSpoolBytes / Math.max(1, outageSeconds * RATE))} bytes/sample`,
      }),
      figure('outage', 'drain time after the receiver is back (backlog sent, live rate kept)', r.drainSeconds, 's', {
        floor: { text: 'drained before the stop', met: r.drained },
        note: `backlog about ${(outageSeconds * RATE).toLocaleString('en-US')} samples`,
      }),
      figure('outage', 'samples Prometheus holds / samples the sender took in', r.samplesIn > 0 ? stored / r.samplesIn : 0, 'ratio', {
        floor: { text: '= 1 (all stored, none refused as out of order, none lost)', met: allStored },
        note: `stored ${stored}, in ${r.samplesIn}, written ${r.written}, dropped ${JSON.stringify(r.dropped)}${r.error ? `, error ${r.error}` : ''}`,
      }),
    );
  } finally {
    await proxy.stop();
    await server.stop();
    await rm(spool, { recursive: true, force: true });
  }
  return figures;
}

/** Appends 2,000-sample request bodies to a DiskSpool, against plain appends of the same bytes. */
async function spoolThroughput(context: BenchContext): Promise<Figure[]> {
  const interner = new SeriesInterner({ validation: 'strict', lanes: 1 });
  const series: SeriesRecord[] = Array.from({ length: 1000 }, (_, i) => interner.resolve({ __name__: 'rxprom_outage', instance: `device-${i}`, site: `site-${i % 17}` }) as SeriesRecord);
  const encoder = new WriteRequestEncoder();
  const samples = 2000;
  const start = Date.now();
  const bodies = Array.from({ length: 8 }, (_, b) => {
    const columns = {
      length: samples,
      series: Array.from({ length: samples }, (_, i) => series[i % 1000]!),
      values: Float64Array.from({ length: samples }, (_, i) => Math.sin(i + b) * 100),
      timestamps: Float64Array.from({ length: samples }, (_, i) => start + b * 2 + Math.floor(i / 1000)),
    };
    return Buffer.from(encoder.encode(columns).body);
  });
  const records = context.quick ? 500 : 5000;
  const directory = await mkdtemp(join(tmpdir(), 'rxprom-spool-bench-'));
  try {
    const spool = await DiskSpool.open({ directory: join(directory, 'spool'), maxBytes: 4 * 1024 ** 3 });
    const t0 = process.hrtime.bigint();
    const appends: Array<Promise<unknown>> = [];
    for (let i = 0; i < records; i++) {
      appends.push(spool.append(String(i % 4), bodies[i % bodies.length]!, samples));
      if (appends.length >= 64) await appends.shift();
    }
    await Promise.all(appends);
    await spool.flush();
    const spoolSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const bytes = spool.stats().appendedBytes;
    await spool.close();

    const file = await open(join(directory, 'plain'), 'a');
    const t1 = process.hrtime.bigint();
    for (let i = 0; i < records; i++) await file.write(bodies[i % bodies.length]!);
    await file.datasync();
    const plainSeconds = Number(process.hrtime.bigint() - t1) / 1e9;
    await file.close();
    const mbs = bytes / 1e6 / spoolSeconds;
    const plainMbs = bytes / 1e6 / plainSeconds;
    context.log(`outage: spool append ${fmt(mbs)} MB/s (${fmt((records * samples) / spoolSeconds)} samples/s), plain file ${fmt(plainMbs)} MB/s`);
    return [
      figure('outage', 'spool write throughput (2,000-sample bodies, fsync every 500 ms)', mbs, 'MB/s', {
        comparison: { name: 'plain appends of the same bytes to one file', value: plainMbs },
        note: `${fmt((records * samples) / spoolSeconds)} samples/s; ${records} records, ${fmt(bytes / records)} bytes each`,
      }),
    ];
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
