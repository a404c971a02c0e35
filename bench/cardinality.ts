/**
 * Benchmark 4: retained heap per live series with one million distinct series in `remoteWrite`,
 * measured in a child process with --expose-gc (bench/cardinality-client.ts), and its flatness
 * over a soak at a steady rate (`--soak`: 10 minutes; default 60 s; `--quick`: 5 s).
 */
import { benchScript, figure, type BenchContext, type Figure } from './common.js';
import type { CardinalityResult } from './cardinality-client.js';
import { runNodeJson } from './common.js';

export async function cardinalityBenchmark(context: BenchContext): Promise<Figure[]> {
  const soakSeconds = context.soak ? 600 : context.quick ? 5 : 60;
  const run = await runNodeJson<CardinalityResult>(
    ['--expose-gc', '--max-old-space-size=4096', benchScript('cardinality-client'), '--series', '1000000', '--soak-seconds', String(soakSeconds), '--rate', '50000'],
    (soakSeconds + 300) * 1000,
  );
  const r = run.result;
  context.log(`cardinality: ${r.bytesPerSeries} B/series (${r.activeSeries} live, fill ${r.fillSeconds.toFixed(1)} s), soak heap MB ${r.soakHeapMB.join(' ')}`);
  const flat = r.soakSpreadBytesPerSeries <= 40; // within 10% of the floor over the soak
  return [
    figure('cardinality', 'retained heap per live series, 1M series in remoteWrite (after GC)', r.bytesPerSeries, 'bytes/series', {
      floor: { text: '<= 400 bytes/series', met: r.bytesPerSeries <= 400 && r.activeSeries === 1_000_000 },
      note: `heap ${r.heapBaselineMB} -> ${r.heapAfterMB} MB; with ArrayBuffers ${r.bytesPerSeriesWithBuffers} B/series; written ${r.written}, dropped ${r.dropped}; in-process 204 receiver`,
    }),
    figure('cardinality', `heap spread over a ${soakSeconds} s soak at 50k samples/s over the same 1M series`, r.soakSpreadBytesPerSeries, 'bytes/series', {
      floor: { text: 'flat (spread <= 40 B/series)', met: flat },
      note: `heap MB at checkpoints: ${r.soakHeapMB.join(', ')}`,
    }),
  ];
}
