/**
 * The outage benchmark's sender, in its own process so its memory is its own: a source of
 * `--rate` samples/s over `--series` series (timestamps are the wall clock) into `remoteWrite`
 * with a disk spool, for as long as the benchmark says. It reads commands on stdin (`down`, `up`:
 * the receiver was taken down / brought back; `stop`: complete the source) and prints one JSON
 * line per second (`OutageProgress`) and a last one (`OutageResult`).
 *
 *   node dist/bench/outage-client.js --url URL --spool DIR [--rate 20000] [--series 1000]
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Observable } from 'rxjs';
import { remoteWrite } from '../operators/remote-write.js';
import { silentLogger } from '../src/core/logger.js';
import type { Labels, Sample } from '../src/core/model.js';

export interface OutageProgress {
  readonly type: 'progress';
  /** Seconds since the start. */
  readonly t: number;
  readonly rssMB: number;
  readonly heapMB: number;
  readonly spoolBytes: number;
  readonly samplesIn: number;
  readonly written: number;
  /** Accepted, not yet written (on disk or in memory). */
  readonly pending: number;
  readonly replayedWritten: number;
}

export interface OutageResult {
  readonly type: 'result';
  readonly samplesIn: number;
  readonly written: number;
  readonly dropped: Readonly<Record<string, number>>;
  readonly lost: number;
  readonly maxRssMB: number;
  readonly maxHeapMB: number;
  readonly maxSpoolBytes: number;
  /** Seconds from `up` until the backlog was sent (pending back near its live level); when not drained, until the stop. */
  readonly drainSeconds: number;
  readonly drained: boolean;
  readonly outageSeconds: number;
  readonly error: string;
}

const { values: o } = parseArgs({
  options: {
    url: { type: 'string', default: '' },
    spool: { type: 'string', default: '' },
    rate: { type: 'string', default: '20000' },
    series: { type: 'string', default: '1000' },
  },
});
const RATE = Number(o.rate);
const SERIES = Number(o.series);
const TICK_MS = 50;

const labels: Labels[] = Array.from({ length: SERIES }, (_, i) => ({ __name__: 'rxprom_outage', instance: `device-${i}`, site: `site-${i % 17}` }));
const sink = remoteWrite({ url: o.url, logger: silentLogger, spool: { directory: o.spool } });
const started = Date.now();
let stopRequested = false;
let downAt = 0;
let upAt = 0;
let drainedAt = 0;
let maxRss = 0;
let maxHeap = 0;
let maxSpool = 0;

/** The wall-clock source: every tick, the samples due since the last one, spread over the series in turn. */
const source = new Observable<Sample>((subscriber) => {
  let emitted = 0;
  let cursor = 0;
  let lastTimestamp = 0;
  let timer: NodeJS.Timeout | undefined;
  const tick = (): void => {
    if (stopRequested) return subscriber.complete();
    const now = Date.now();
    const due = Math.floor(((now - started) * RATE) / 1000) - emitted;
    // A late tick catches up; each pass over the series takes a newer timestamp, so every series stays in order.
    for (let i = 0; i < due; i++) {
      if (cursor === 0) lastTimestamp = Math.max(now, lastTimestamp + 1);
      subscriber.next({ labels: labels[cursor]!, value: emitted + i, timestamp: lastTimestamp });
      cursor = (cursor + 1) % SERIES;
    }
    emitted += Math.max(0, due);
    timer = setTimeout(tick, TICK_MS);
  };
  timer = setTimeout(tick, TICK_MS);
  return () => clearTimeout(timer);
});

async function directoryBytes(directory: string): Promise<number> {
  let total = 0;
  try {
    for (const entry of await readdir(directory, { withFileTypes: true })) {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) total += await directoryBytes(path);
      else total += (await stat(path).catch(() => ({ size: 0 }))).size;
    }
  } catch {
    // not there yet
  }
  return total;
}

const reporter = setInterval(() => {
  void (async () => {
    const m = sink.metrics.snapshot();
    const memory = process.memoryUsage();
    const spoolBytes = await directoryBytes(o.spool);
    maxRss = Math.max(maxRss, memory.rss);
    maxHeap = Math.max(maxHeap, memory.heapUsed);
    maxSpool = Math.max(maxSpool, spoolBytes);
    if (upAt > 0 && drainedAt === 0 && m.samplesPending < 2 * 2000 * 4 + RATE) drainedAt = Date.now();
    const progress: OutageProgress = {
      type: 'progress',
      t: (Date.now() - started) / 1000,
      rssMB: memory.rss / 1e6,
      heapMB: memory.heapUsed / 1e6,
      spoolBytes,
      samplesIn: m.samplesIn,
      written: m.samplesWritten,
      pending: m.samplesPending,
      replayedWritten: m.samplesReplayedWritten,
    };
    console.log(JSON.stringify(progress));
  })();
}, 1000);

createInterface({ input: process.stdin }).on('line', (line) => {
  const command = line.trim();
  if (command === 'down') downAt = Date.now();
  else if (command === 'up') upAt = Date.now();
  else if (command === 'stop') stopRequested = true;
});

let error = '';
await new Promise<void>((resolve) => {
  source.pipe(sink).subscribe({
    error: (e: unknown) => {
      error = e instanceof Error ? e.message : String(e);
      resolve();
    },
    complete: resolve,
  });
});
clearInterval(reporter);
const m = sink.metrics.snapshot();
const result: OutageResult = {
  type: 'result',
  samplesIn: m.samplesIn,
  written: m.samplesWritten,
  dropped: Object.fromEntries(Object.entries(m.samplesDropped).filter(([, n]) => n > 0)),
  lost: m.samplesLostTotal,
  maxRssMB: Math.max(maxRss, process.memoryUsage().rss) / 1e6,
  maxHeapMB: maxHeap / 1e6,
  maxSpoolBytes: maxSpool,
  drainSeconds: upAt === 0 ? 0 : ((drainedAt > 0 ? drainedAt : Date.now()) - upAt) / 1000,
  drained: drainedAt > 0,
  outageSeconds: upAt > 0 && downAt > 0 ? (upAt - downAt) / 1000 : 0,
  error,
};
console.log(JSON.stringify(result));
process.exit(0);
