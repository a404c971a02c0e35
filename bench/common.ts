/** Shared pieces of the benchmark suite: the figure record, timing, child processes. */
import { spawn } from 'node:child_process';
import { processCpuSeconds } from './procstat.js';

/** One measured figure, with the comparison measured in the same run. */
export interface Figure {
  readonly benchmark: string;
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** What the figure is compared with, measured in the same run (absent for absolute figures). */
  readonly comparison?: { readonly name: string; readonly value: number };
  /** value / comparison.value. */
  readonly ratio?: number;
  /** The floor and whether this run met it. */
  readonly floor?: { readonly text: string; readonly met: boolean };
  readonly note?: string;
}

export interface BenchContext {
  readonly quick: boolean;
  readonly soak: boolean;
  /** Prints progress to stderr. */
  log(message: string): void;
}

export type Benchmark = (context: BenchContext) => Promise<Figure[]>;

export function figure(
  benchmark: string,
  name: string,
  value: number,
  unit: string,
  extra: { comparison?: { name: string; value: number }; floor?: { text: string; met: boolean }; note?: string } = {},
): Figure {
  const ratio = extra.comparison && extra.comparison.value !== 0 ? value / extra.comparison.value : undefined;
  return {
    benchmark,
    name,
    value,
    unit,
    ...(extra.comparison ? { comparison: extra.comparison } : {}),
    ...(ratio !== undefined ? { ratio } : {}),
    ...(extra.floor ? { floor: extra.floor } : {}),
    ...(extra.note ? { note: extra.note } : {}),
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** CPU seconds (user + system) of this process since `since`. */
export function cpuSeconds(since?: NodeJS.CpuUsage): number {
  const usage = process.cpuUsage(since);
  return (usage.user + usage.system) / 1e6;
}

/** What a child printed last as JSON, and the CPU it used (sampled from /proc while it ran). */
export interface ChildRun<T> {
  readonly result: T;
  /** User + system CPU seconds of the child, as last sampled (at most 100 ms before it exited). */
  readonly cpuSeconds: number;
}

/** Runs `node args...`, returns the last JSON line it printed on stdout and its CPU. */
export async function runNodeJson<T>(args: string[], timeoutMs: number): Promise<ChildRun<T>> {
  return new Promise<ChildRun<T>>((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let cpu = 0;
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      err = (err + chunk.toString()).slice(-4000);
      if (process.env['BENCH_VERBOSE']) process.stderr.write(chunk);
    });
    const sampler = setInterval(() => {
      const seconds = processCpuSeconds(child.pid ?? 0);
      if (Number.isFinite(seconds)) cpu = seconds;
    }, 100);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      clearInterval(sampler);
      const lines = out.trim().split('\n').filter((line) => line.startsWith('{'));
      if (code !== 0 || lines.length === 0) {
        reject(new Error(`node ${args.join(' ')} exited with ${code ?? signal}:\n${err}${out.slice(-2000)}`));
        return;
      }
      try {
        resolve({ result: JSON.parse(lines[lines.length - 1]) as T, cpuSeconds: cpu });
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  });
}

/** Path of a compiled sibling module of this file (dist/bench/<name>.js). */
export function benchScript(name: string): string {
  return new URL(`./${name}.js`, import.meta.url).pathname;
}


export function fmt(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  return Number(value.toPrecision(digits)).toString();
}

/**
 * Paces a benchmark's source by the sink's backlog: `ready()` is undefined while the sink holds
 * fewer than `highWater` samples, else a promise that `release()` (called on every outcome)
 * resolves once the backlog is below the mark again.
 */
export class SinkPacer {
  private wake: (() => void) | undefined;

  constructor(
    private readonly metrics: { readonly samplesPending: number },
    private readonly highWater: number,
  ) {}

  ready(): Promise<void> | undefined {
    if (this.metrics.samplesPending < this.highWater) return undefined;
    return new Promise<void>((resolve) => (this.wake = resolve));
  }

  release(): void {
    if (this.wake && this.metrics.samplesPending < this.highWater) {
      const resume = this.wake;
      this.wake = undefined;
      resume();
    }
  }
}
