/**
 * The pipeline process of the gateway benchmark. It starts the fleet in a child process
 * (`gateway-fleet.ts`), reads its batches from the pipe, runs them through the gateway pipeline
 * into `remoteWrite` (the embedded receiver the benchmark started) and measures, after every
 * batch, the lag: now minus the fleet's clock when it sent the batch. Prints one JSON line
 * (`GatewayClientResult`).
 *
 *   node dist/bench/gateway-client.js --variant example|baseline|transport --devices N --seconds S
 *     [--warmup S] [--url URL] [--seed 1] [--window-ms 10000]
 *
 * - `example`: `examples/gateway-pipeline.ts`, the pipeline users copy.
 * - `baseline`: the same pipeline as first written (`gateway-baseline-pipeline.ts`).
 * - `transport`: the fleet, the pipe and the decoding alone, into a counter: the ceiling.
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { Observable, type OperatorFunction, type Subscriber } from 'rxjs';
import type { DeviceReading } from '../examples/fleet.js';
import { gatewayPipeline } from '../examples/gateway-pipeline.js';
import type { Sample } from '../src/core/model.js';
import { silentLogger } from '../src/core/logger.js';
import { remoteWrite } from '../operators/remote-write.js';
import { baselineGatewayPipeline } from './gateway-baseline-pipeline.js';
import { FrameReader, registryOf, type FleetHeader } from './gateway-wire.js';
import { processCpuSeconds } from './procstat.js';

export interface GatewayClientResult {
  readonly variant: string;
  readonly devices: number;
  /** Readings the fleet offered per second (4 per device). */
  readonly offeredPerSec: number;
  /** Readings that went through the pipeline per second, measured after the warm-up. */
  readonly processedPerSec: number;
  /** Lag (ms) after the warm-up: median, 99th percentile and largest, and the largest in the last second. */
  readonly lagP50: number;
  readonly lagP99: number;
  readonly lagMax: number;
  readonly lagLastSecond: number;
  /** CPU of this process after the warm-up, as a fraction of one core, and per reading (µs). */
  readonly cpuCores: number;
  readonly cpuMicrosPerReading: number;
  /** CPU of the fleet process, as a fraction of one core (it shares the machine). */
  readonly fleetCpuCores: number;
  readonly samplesOut: number;
  readonly samplesWritten: number;
  readonly dropped: number;
  readonly heapUsedMB: number;
}

const { values: o } = parseArgs({
  options: {
    variant: { type: 'string', default: 'example' },
    devices: { type: 'string', default: '3000' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    url: { type: 'string' },
    seed: { type: 'string', default: '1' },
    'window-ms': { type: 'string', default: '10000' },
  },
});
const variant = o.variant;
if (variant !== 'example' && variant !== 'baseline' && variant !== 'transport') throw new Error(`unknown variant ${variant}`);
if (variant !== 'transport' && o.url === undefined) throw new Error('give --url (the receiver)');
const devices = Number(o.devices);
const seconds = Number(o.seconds);
const warmupMs = Number(o.warmup) * 1000;
const windowMs = Number(o['window-ms']);

const fleet = spawn(process.execPath, [new URL('./gateway-fleet.js', import.meta.url).pathname, '--devices', String(devices), '--seconds', String(seconds), '--seed', o.seed], {
  stdio: ['ignore', 'pipe', 'inherit'],
});

const startedAt = Date.now();
const measureFrom = startedAt + warmupMs;
const lags: number[] = [];
const lagTimes: number[] = [];
let processed = 0;
let cpuAtWarm: NodeJS.CpuUsage | undefined;
let fleetCpuAtWarm = Number.NaN;
let warmAt = 0;
let ids: readonly string[] = [];
let input: Subscriber<DeviceReading> | undefined;
let samplesOut = 0;
let samplesWritten = 0;
let dropped = 0;

const run = (header: FleetHeader): void => {
  ids = header.ids;
  if (variant === 'transport') return;
  const registry = registryOf(header);
  const pipeline: OperatorFunction<DeviceReading, Sample> =
    variant === 'example' ? gatewayPipeline({ registry, windowMs }).operator : baselineGatewayPipeline({ registry, windowMs }).operator;
  const sink = remoteWrite({ url: o.url as string, maxDelayMs: 1000, logger: silentLogger });
  new Observable<DeviceReading>((subscriber) => void (input = subscriber))
    .pipe(pipeline, (source) => new Observable<Sample>((out) => source.subscribe({ next: (s) => (samplesOut++, out.next(s)), error: (e: unknown) => out.error(e), complete: () => out.complete() })), sink)
    .subscribe({
      next: (outcome) => {
        if (outcome.type === 'written') samplesWritten += outcome.samples;
        else if (outcome.type === 'dropped') dropped += outcome.samples;
      },
      error: (error: unknown) => {
        console.error(`gateway-client: the pipeline failed: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    });
};

const reader = new FrameReader({
  header: run,
  batch(sentAt, count, decode) {
    const readings = decode(ids);
    if (input !== undefined) for (let i = 0; i < count; i++) input.next(readings[i]);
    const now = Date.now();
    if (now < measureFrom) return;
    if (cpuAtWarm === undefined) {
      cpuAtWarm = process.cpuUsage();
      fleetCpuAtWarm = processCpuSeconds(fleet.pid ?? 0);
      warmAt = now;
      return;
    }
    processed += count;
    lags.push(now - sentAt);
    lagTimes.push(now);
  },
});
fleet.stdout.on('data', (chunk: Buffer) => reader.push(chunk));

const finish = (): void => {
  const now = Date.now();
  const cpu = process.cpuUsage(cpuAtWarm);
  const fleetCpu = processCpuSeconds(fleet.pid ?? 0) - fleetCpuAtWarm;
  fleet.kill('SIGKILL');
  const wall = Math.max(1, now - warmAt) / 1000;
  const sorted = [...lags].sort((a, b) => a - b);
  const at = (q: number): number => (sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
  let lagLastSecond = 0;
  for (let i = 0; i < lags.length; i++) if (lagTimes[i] >= now - 1000 && lags[i] > lagLastSecond) lagLastSecond = lags[i];
  const result: GatewayClientResult = {
    variant,
    devices,
    offeredPerSec: devices * 4,
    processedPerSec: Math.round(processed / wall),
    lagP50: at(0.5),
    lagP99: at(0.99),
    lagMax: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1],
    // No batch processed in the last second is the worst lag of all.
    lagLastSecond: lagTimes.length === 0 || lagTimes[lagTimes.length - 1] < now - 1000 ? Infinity : lagLastSecond,
    cpuCores: (cpu.user + cpu.system) / 1e6 / wall,
    cpuMicrosPerReading: processed > 0 ? (cpu.user + cpu.system) / processed : Number.NaN,
    fleetCpuCores: fleetCpu / wall,
    samplesOut,
    samplesWritten,
    dropped,
    heapUsedMB: Math.round(process.memoryUsage().heapUsed / 1e5) / 10,
  };
  console.log(JSON.stringify(result));
  process.exit(0);
};
// Stop on the clock, whatever is still queued in the pipe: a pipeline that fell behind would take
// long to drain, and its lag has been measured already.
setTimeout(finish, seconds * 1000 + 300);
fleet.on('exit', (code) => {
  if (code !== 0 && code !== null) {
    console.error(`gateway-client: the fleet exited with ${code}`);
    process.exit(1);
  }
});
