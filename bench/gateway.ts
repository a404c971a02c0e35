/**
 * Benchmark 6: the IoT gateway's whole pipeline (`examples/gateway-pipeline.ts`: enrich →
 * dropOutliers → reorderByWatermark → drop repeats → tumblingWindow → remoteWrite) on one core,
 * fed by the simulated fleet (`examples/fleet.ts`) running in another process and streaming its
 * readings over a pipe in batches (`gateway-client.ts`, `gateway-fleet.ts`, `gateway-wire.ts`).
 *
 * The offered rate steps up (4 readings/s per device); at each step a fresh pipeline process runs
 * for a while and measures its lag after every batch (now minus the fleet's clock when it sent
 * the batch). A step keeps up when, after the warm-up, the 99th percentile and the largest lag in
 * its last second both stay under `LAG_BOUND_MS`; the figure is the highest offered rate that
 * kept up. Measured in the same run: the same pipeline as first written
 * (`gateway-baseline-pipeline.ts`), and the fleet, pipe and decoding alone (the transport's
 * ceiling: it must not be what limits the pipeline). The aggregates go into the embedded receiver
 * (`rxprom/testing`) in this process.
 */
import { startReceiver } from '../src/testing/index.js';
import { benchScript, figure, fmt, runNodeJson, type BenchContext, type Figure } from './common.js';
import type { GatewayClientResult } from './gateway-client.js';
import { drain, fleetReadings } from './gateway-drain.js';

/** Lag (ms) under which a step counts as keeping up: above the fleet's batching and a window close. */
export const LAG_BOUND_MS = 1000;

type Variant = 'transport' | 'baseline' | 'example';

interface Ramp {
  /** Highest offered rate that kept up, and that step's result; undefined when even the first did not. */
  readonly best: GatewayClientResult | undefined;
  readonly steps: readonly GatewayClientResult[];
}

/** JSON turns the figures of a step that processed nothing after its warm-up (NaN, Infinity) into null. */
function measured(r: GatewayClientResult): GatewayClientResult {
  const lag = (v: number | null): number => (v === null ? Infinity : v);
  const cpu = (v: number | null): number => (v === null ? Number.NaN : v);
  return { ...r, lagP50: lag(r.lagP50), lagP99: lag(r.lagP99), lagMax: lag(r.lagMax), lagLastSecond: lag(r.lagLastSecond), cpuCores: cpu(r.cpuCores), cpuMicrosPerReading: cpu(r.cpuMicrosPerReading), fleetCpuCores: cpu(r.fleetCpuCores) };
}

const keptUp = (r: GatewayClientResult): boolean =>
  r.lagP99 <= LAG_BOUND_MS && r.lagLastSecond <= LAG_BOUND_MS && r.processedPerSec >= 0.8 * r.offeredPerSec;

export async function gatewayBenchmark(context: BenchContext): Promise<Figure[]> {
  const rates = context.quick ? [20_000, 40_000] : [25_000, 50_000, 100_000, 150_000, 200_000, 300_000, 400_000, 600_000, 800_000, 1_000_000, 1_400_000];
  const seconds = context.quick ? 3 : 8;
  const warmup = context.quick ? 1 : 3;
  const receiver = await startReceiver({ mode: 'strict', maxSamples: 50_000_000, maxSeries: 10_000_000 });
  try {
    const ramp = async (variant: Variant): Promise<Ramp> => {
      const steps: GatewayClientResult[] = [];
      let best: GatewayClientResult | undefined;
      for (const rate of rates) {
        const args = [benchScript('gateway-client'), '--variant', variant, '--devices', String(rate / 4), '--seconds', String(seconds), '--warmup', String(warmup), '--url', receiver.url];
        const { result: raw } = await runNodeJson<GatewayClientResult>(args, (seconds + 60) * 1000);
        const result = measured(raw);
        steps.push(result);
        const ok = keptUp(result);
        context.log(
          `gateway ${variant} ${fmt(rate)}/s offered: ${fmt(result.processedPerSec)}/s processed, lag p50 ${fmt(result.lagP50)} p99 ${fmt(result.lagP99)} ` +
            `last second ${fmt(result.lagLastSecond)} ms, CPU ${result.cpuCores.toFixed(2)} cores (${result.cpuMicrosPerReading.toFixed(2)} µs/reading), fleet ${result.fleetCpuCores.toFixed(2)} cores: ${ok ? 'kept up' : 'fell behind'}`,
        );
        if (!ok) break;
        best = result;
      }
      return { best, steps };
    };
    // The CPU cost without a clock first, the variants alternating (each round's best counts).
    const drainDevices = context.quick ? 5_000 : 10_000;
    const drainRounds = 2;
    const input = fleetReadings(drainDevices, context.quick ? 10 : 15);
    const drained = { readings: input.readings.length, example: Infinity, baseline: Infinity };
    for (let round = 0; round < drainRounds; round++) {
      for (const variant of ['baseline', 'example'] as const) drained[variant] = Math.min(drained[variant], drain(variant, input).microsPerReading);
    }
    context.log(`gateway drain: ${drained.example.toFixed(2)} µs/reading, first written ${drained.baseline.toFixed(2)} µs/reading`);

    // Interleaved per variant would mix their loads; one ramp after the other, the ceiling first.
    const transport = await ramp('transport');
    const baseline = await ramp('baseline');
    const example = await ramp('example');

    const rateOf = (r: Ramp): number => r.best?.offeredPerSec ?? 0;
    const describe = (r: Ramp): string =>
      r.steps.map((s) => `${fmt(s.offeredPerSec)}: p99 ${fmt(s.lagP99)} ms, ${s.cpuMicrosPerReading.toFixed(2)} µs/reading${keptUp(s) ? '' : ' (fell behind)'}`).join('; ');
    const cpuNote = (r: Ramp): string =>
      r.best === undefined ? 'no step kept up' : `at ${fmt(r.best.offeredPerSec)}/s: pipeline process ${r.best.cpuCores.toFixed(2)} cores, ${r.best.cpuMicrosPerReading.toFixed(2)} µs/reading, fleet process ${r.best.fleetCpuCores.toFixed(2)} cores, lag p50 ${fmt(r.best.lagP50)} ms`;
    const top = rates[rates.length - 1];
    const capped = (r: Ramp): string => (r.best?.offeredPerSec === top ? ` (the highest step offered: at least this)` : '');
    return [
      figure('gateway', 'examples/gateway-pipeline.ts into remoteWrite, highest readings/s with bounded lag (fleet in another process)', rateOf(example), 'readings/s', {
        comparison: { name: 'the same pipeline as first written (bench/gateway-baseline-pipeline.ts)', value: rateOf(baseline) },
        floor: { text: '>= 300,000 readings/s (stretch 1M)', met: rateOf(example) >= 300_000 },
        note: `${cpuNote(example)}${capped(example)}; steps ${describe(example)}; baseline ${cpuNote(baseline)}; steps ${describe(baseline)}`,
      }),
      figure('gateway', `examples/gateway-pipeline.ts, readings per CPU-second, synchronous drain (${fmt(drained.readings)} readings, ${fmt(drainDevices)} devices)`, Math.round(1e6 / drained.example), 'readings/CPU-s', {
        comparison: { name: 'the same pipeline as first written', value: Math.round(1e6 / drained.baseline) },
        note: `best of ${drainRounds} alternating rounds, CPU per reading: ${drained.example.toFixed(2)} µs vs ${drained.baseline.toFixed(2)} µs as first written (no clock, no process boundary: what the pipeline costs, whatever the machine's load)`,
      }),
      figure('gateway', 'transport alone (fleet process, pipe, decoding), highest readings/s with bounded lag', rateOf(transport), 'readings/s', {
        note: `${cpuNote(transport)}${capped(transport)}; steps ${describe(transport)}`,
      }),
    ];
  } finally {
    await receiver.close();
  }
}
