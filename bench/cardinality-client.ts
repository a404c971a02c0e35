/**
 * Cardinality probe, run with `node --expose-gc`: one million distinct series through
 * `remoteWrite` into a trivial in-process receiver (answers 204 after reading the body; it holds
 * nothing), then the heap retained per live series after forced GCs; optionally a soak at a steady
 * rate over the same series, printing the heap as it goes. Label objects are made per sample and
 * dropped, as a decoder of device messages would, so what stays on the heap is the sink's.
 * Prints JSON lines: {"soak":...} while soaking, and a final result line.
 *   node --expose-gc dist/bench/cardinality-client.js [--series 1000000] [--soak-seconds 0] [--rate 50000]
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Observable } from 'rxjs';
import { remoteWrite } from '../operators/remote-write.js';
import type { Sample } from '../src/core/model.js';
import { SinkPacer } from './common.js';

export interface CardinalityResult {
  readonly series: number;
  readonly activeSeries: number;
  readonly written: number;
  readonly dropped: number;
  readonly heapBaselineMB: number;
  readonly heapAfterMB: number;
  readonly bytesPerSeries: number;
  /** Also counting ArrayBuffers (request buffers), which heapUsed leaves out. */
  readonly bytesPerSeriesWithBuffers: number;
  readonly fillSeconds: number;
  readonly soakSeconds: number;
  /** Heap (MB, after GC) at each soak checkpoint. */
  readonly soakHeapMB: number[];
  /** Largest minus smallest soak checkpoint, per series (bytes). */
  readonly soakSpreadBytesPerSeries: number;
}

const { values: o } = parseArgs({
  options: {
    series: { type: 'string', default: '1000000' },
    'soak-seconds': { type: 'string', default: '0' },
    rate: { type: 'string', default: '50000' },
  },
});
const SERIES = Number(o.series);
const SOAK_SECONDS = Number(o['soak-seconds']);
const RATE = Number(o.rate);

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
async function settledHeap(): Promise<{ heap: number; buffers: number }> {
  for (let i = 0; i < 4; i++) {
    gc!();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed, buffers: usage.arrayBuffers };
}

const server = http.createServer((request, response) => {
  request.on('data', () => {});
  request.on('end', () => {
    response.statusCode = 204;
    response.end();
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/write`;

const sink = remoteWrite({ url, shards: 4, maxSamplesPerRequest: 2000, maxDelayMs: 200, logger: { info() {}, warn() {}, error() {} } });
const { metrics } = sink;
const pacer = new SinkPacer(metrics, 4 * 2000 * 3);
// Set by the measuring loop after its last checkpoint: the sink holds every series until then.
let soakDone = SOAK_SECONDS <= 0;

const startTime = Date.now() - 3_600_000;

/**
 * Emits series 0..SERIES-1 round and round (one second later each round), a fresh label object
 * per sample; first one round as fast as the sink takes it, then `RATE`/s for the soak.
 */
const source = new Observable<Sample>((subscriber) => {
  let cursor = 0;
  let round = 0;
  let emitted = 0;
  const fillEnd = SERIES;
  let soakStart = 0;
  const step = (): void => {
    if (subscriber.closed) return;
    let budget: number;
    if (emitted < fillEnd) budget = Math.min(2000, fillEnd - emitted);
    else if (!soakDone) {
      if (soakStart === 0) soakStart = performance.now();
      const due = Math.floor(((performance.now() - soakStart) / 1000) * RATE);
      budget = Math.min(4000, due - (emitted - fillEnd));
      if (budget <= 0) {
        setTimeout(step, 5);
        return;
      }
    } else {
      subscriber.complete();
      return;
    }
    for (let k = 0; k < budget; k++) {
      const labels = { __name__: 'rxprom_cardinality', device: `d${cursor}`, site: `site${cursor % 100}`, kind: 'temperature' };
      subscriber.next({ labels, value: cursor, timestamp: startTime + round * 1000 });
      emitted++;
      if (++cursor === SERIES) {
        cursor = 0;
        round++;
      }
    }
    const wait = pacer.ready();
    if (wait) void wait.then(() => setImmediate(step));
    else setImmediate(step);
  };
  setImmediate(step);
});

let fillSeconds = 0;
const baseline = await settledHeap();
const started = performance.now();
const done = new Promise<void>((resolve, reject) => {
  source.pipe(sink).subscribe({
    next: () => pacer.release(),
    error: reject,
    complete: resolve,
  });
});

// Wait for the first round to be written, then measure with the sink still holding every series.
while (metrics.samplesWritten + metrics.snapshot().samplesDroppedTotal < SERIES) await new Promise((r) => setTimeout(r, 50));
fillSeconds = (performance.now() - started) / 1000;
const filled = await settledHeap();
const soakHeapMB: number[] = [];
if (SOAK_SECONDS > 0) {
  const every = Math.max(1, Math.min(30, SOAK_SECONDS / 10));
  const soakStarted = performance.now();
  while (performance.now() - soakStarted < SOAK_SECONDS * 1000) {
    await new Promise((r) => setTimeout(r, every * 1000));
    const { heap } = await settledHeap();
    soakHeapMB.push(Math.round(heap / 1e5) / 10);
    console.log(JSON.stringify({ soak: Math.round((performance.now() - soakStarted) / 1000), heapMB: soakHeapMB[soakHeapMB.length - 1], written: metrics.samplesWritten, activeSeries: metrics.activeSeries }));
  }
}
soakDone = true;
await done;
server.close();
const snapshot = metrics.snapshot();
const spread = soakHeapMB.length > 0 ? (Math.max(...soakHeapMB) - Math.min(...soakHeapMB)) * 1e6 : 0;
const result: CardinalityResult = {
  series: SERIES,
  activeSeries: snapshot.activeSeries,
  written: snapshot.samplesWritten,
  dropped: snapshot.samplesDroppedTotal,
  heapBaselineMB: Math.round(baseline.heap / 1e5) / 10,
  heapAfterMB: Math.round(filled.heap / 1e5) / 10,
  bytesPerSeries: Math.round((filled.heap - baseline.heap) / SERIES),
  bytesPerSeriesWithBuffers: Math.round((filled.heap + filled.buffers - baseline.heap - baseline.buffers) / SERIES),
  fillSeconds,
  soakSeconds: SOAK_SECONDS,
  soakHeapMB,
  soakSpreadBytesPerSeries: Math.round(spread / SERIES),
};
console.log(JSON.stringify(result));
process.exit(0);
