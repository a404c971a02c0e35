/**
 * Runs the durable fleet pipeline (fixtures/durable-fleet-run.ts) as a child process and reads
 * everything a Prometheus stores, for the crash and restart tests.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FleetJournalOptions } from './fixtures/durable-fleet.js';
import type { StoredSeries, TsdbServer } from '../harness/servers.js';

const script = fileURLToPath(new URL('./fixtures/durable-fleet-run.js', import.meta.url));

export interface RunArguments {
  journalPath: string;
  journal: FleetJournalOptions;
  url: string;
  stateDirectory: string;
  checkpointIntervalMs: number;
  pipeline?: string;
  checkpointMaxBytes?: number;
  spoolMaxBytes?: number;
  spoolSegmentBytes?: number;
  highWaterMark?: number;
}

/** The sink's metrics: this run's samples, and (replayed…) an earlier run's sent again. */
export interface SinkCounters {
  samplesIn: number;
  written: number;
  dropped: Record<string, number>;
  pending: number;
  replayed: number;
  replayedWritten: number;
  replayedDropped: Record<string, number>;
  replayedPending: number;
  pipeline: Record<string, number>;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  started: { restored: { sequence: number; position: number | undefined; stages: string[]; untaken: string[] } | null; damaged: { file: string; reason: string }[] } | undefined;
  /** `counters` when the checkpoint was saved, `atSnapshot` when its state was taken (before the flush and the save). */
  checkpoints: { sequence: number; position: number; reason: string; counters: SinkCounters; atSnapshot: SinkCounters }[];
  /** The sink's counters after its last outcome (what a killed run reported before it died). */
  counters: SinkCounters | undefined;
  end: { ending: string; error?: string; elements: number; position: number; checkpoints: number; checkpointFailures: number; pauses: number; counters: SinkCounters } | undefined;
  refused: string | undefined;
  stderr: string;
}

/** How a run ends: by itself, or a signal once `when` says so. */
export interface Interrupt {
  signal: NodeJS.Signals;
  /**
   * Called with the position read so far (every 25 ms) and the checkpoints this run has saved so
   * far (how fast the journal is read depends on the machine: a condition on checkpoints holds on
   * any); returns a delay in ms after which the signal is sent, or undefined to wait.
   */
  when: (position: number, checkpoints: RunResult['checkpoints']) => number | undefined;
}

export function runFleet(args: RunArguments, interrupt?: Interrupt): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const result: RunResult = { code: null, signal: null, started: undefined, checkpoints: [], counters: undefined, end: undefined, refused: undefined, stderr: '' };
    let buffered = '';
    let armed = false;
    child.stderr.on('data', (chunk: Buffer) => (result.stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const event = JSON.parse(line) as Record<string, unknown>;
        if ('counters' in event) result.counters = event['counters'] as SinkCounters;
        if ('started' in event) result.started = event['started'] as RunResult['started'];
        if ('end' in event) result.end = event['end'] as RunResult['end'];
        if ('refused' in event) result.refused = event['refused'] as string;
        if ('checkpoint' in event) result.checkpoints.push(event['checkpoint'] as RunResult['checkpoints'][number]);
        if ('progress' in event && interrupt && !armed) {
          const delay = interrupt.when(event['progress'] as number, result.checkpoints);
          if (delay !== undefined) {
            armed = true;
            setTimeout(() => {
              if (child.exitCode === null && child.signalCode === null) child.kill(interrupt.signal);
            }, delay);
          }
        }
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      result.code = code;
      result.signal = signal;
      resolve(result);
    });
  });
}

/** Every series and raw sample a Prometheus stores, sorted: for comparing two servers. */
export async function readEverything(server: TsdbServer, fromMs: number, toMs: number): Promise<StoredSeries[]> {
  const response = await fetch(`${server.baseUrl}/api/v1/label/__name__/values`);
  const body = (await response.json()) as { data: string[] };
  const all: StoredSeries[] = [];
  for (const name of body.data.sort()) all.push(...(await server.readSeries(name, fromMs, toMs)));
  return all;
}

/** Number of samples in `series`. */
export function sampleCount(series: readonly StoredSeries[]): number {
  return series.reduce((sum, s) => sum + s.samples.length, 0);
}

const NOT_LOST = new Set(['replayed', 'spooled']);

/** The drops that lose a sample, this run's and replayed ones (every reason but `replayed` and `spooled`). */
export function lossDrops(counters: SinkCounters | undefined): Record<string, number> {
  const losses: Record<string, number> = {};
  for (const [prefix, drops] of [['', counters?.dropped], ['replayed ', counters?.replayedDropped]] as const) {
    for (const [reason, n] of Object.entries(drops ?? {})) if (!NOT_LOST.has(reason) && n > 0) losses[prefix + reason] = n;
  }
  return losses;
}

const sum = (counts: Record<string, number> | undefined): number => Object.values(counts ?? {}).reduce((a, b) => a + b, 0);

/** Every sample that entered the sink (this run's and replayed ones) has exactly one outcome or is pending. */
export function balanced(counters: SinkCounters): { thisRun: [number, number]; replayed: [number, number] } {
  return {
    thisRun: [counters.samplesIn, counters.written + sum(counters.dropped) + counters.pending],
    replayed: [counters.replayed, counters.replayedWritten + sum(counters.replayedDropped) + counters.replayedPending],
  };
}
