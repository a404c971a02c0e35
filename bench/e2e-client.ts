/**
 * A remote-write client in its own process, so that its CPU and throughput are measured like
 * the reference sender (`reference-sender.ts`): same series, labels, batch size, lanes and time order.
 * Prints one JSON line (see `ClientResult`).
 *
 *   node dist/bench/e2e-client.js --impl rxprom|peer|source --url URL [--series 10000]
 *     [--batch 2000] [--lanes 4] [--labels 4] [--compression snappy|literal]
 *     [--label-objects reused|fresh] (--seconds S | --samples N)
 *
 * - `rxprom`: a generator Observable into `remoteWrite` (one reused label object per series, or
 *   with `--label-objects fresh` a new one per sample; chunks of samples per macrotask, paused
 *   while the sink holds more than a few batches per lane).
 * - `peer`: `prometheus-remote-write` 0.5.1, one `pushTimeseries` call per batch, `lanes` calls
 *   in flight, each lane owning its series like the reference sender.
 * - `source`: the rxprom generator alone, into a no-op subscriber (the cost of feeding the sink).
 */
import { parseArgs } from 'node:util';
import prw from 'prometheus-remote-write';
import { Observable } from 'rxjs';
import type { Labels, Sample, WriteOutcome } from '../src/core/model.js';
import { remoteWrite } from '../operators/remote-write.js';
import { SinkPacer } from './common.js';
import { buildLabelSets, freshLabels } from './workload.js';

export interface ClientResult {
  readonly tool: string;
  readonly series: number;
  readonly batch: number;
  readonly lanes: number;
  readonly seconds: number;
  /** Samples the receiver accepted (2xx). */
  readonly samples: number;
  readonly samplesPerSec: number;
  /** User + system CPU of this process while sending. */
  readonly cpuSeconds: number;
  readonly cpuSecondsPerMillion: number;
  readonly dropped: number;
  readonly errors: number;
  readonly lastError: string;
  readonly heapUsedMB: number;
}

const { values: o } = parseArgs({
  options: {
    impl: { type: 'string', default: 'rxprom' },
    url: { type: 'string', default: '' },
    series: { type: 'string', default: '10000' },
    batch: { type: 'string', default: '2000' },
    lanes: { type: 'string', default: '4' },
    labels: { type: 'string', default: '4' },
    seconds: { type: 'string' },
    samples: { type: 'string' },
    chunk: { type: 'string', default: '1000' },
    queue: { type: 'string', default: '3' },
    compression: { type: 'string', default: 'snappy' },
    'label-objects': { type: 'string', default: 'reused' },
  },
});
const SERIES = Number(o.series);
const BATCH = Number(o.batch);
const LANES = Number(o.lanes);
const CHUNK = Number(o.chunk);
const SECONDS = o.seconds !== undefined ? Number(o.seconds) : Infinity;
const MAX_SAMPLES = o.samples !== undefined ? Number(o.samples) : Infinity;
if (!Number.isFinite(SECONDS) && !Number.isFinite(MAX_SAMPLES)) throw new Error('give --seconds or --samples');

const sets = buildLabelSets(SERIES, Number(o.labels));
if (o['label-objects'] !== 'reused' && o['label-objects'] !== 'fresh') throw new Error('--label-objects is reused or fresh');
/** The labels of series i for one sample: the series' one object, or a new object per sample. */
const labelsOf: (i: number) => Labels = o['label-objects'] === 'fresh' ? freshLabels(SERIES, Number(o.labels)) : (i) => sets[i];
// Same start as the reference sender: an hour ago, one second further on every pass over the series.
const startTime = Date.now() - 3_600_000;

/**
 * Emits the workload in chunks, one chunk per macrotask, until the deadline or the sample count;
 * `ready()` is awaited before each chunk so a slow receiver pauses the source instead of
 * overflowing the sink.
 */
function workload(ready: () => Promise<void> | undefined): Observable<Sample> {
  return new Observable<Sample>((subscriber) => {
    let cursor = 0;
    let t = startTime;
    let emitted = 0;
    let stopped = false;
    const deadline = Date.now() + SECONDS * 1000;
    const step = (): void => {
      if (stopped) return;
      if (emitted >= MAX_SAMPLES || Date.now() >= deadline) {
        subscriber.complete();
        return;
      }
      const end = Math.min(emitted + CHUNK, MAX_SAMPLES);
      while (emitted < end) {
        subscriber.next({ labels: labelsOf(cursor), value: Math.random(), timestamp: t });
        emitted++;
        if (++cursor === SERIES) {
          cursor = 0;
          t += 1000;
        }
      }
      const wait = ready();
      if (wait) void wait.then(() => setImmediate(step));
      else setImmediate(step);
    };
    setImmediate(step);
    return () => {
      stopped = true;
    };
  });
}

async function runRxprom(): Promise<Omit<ClientResult, 'seconds' | 'samplesPerSec' | 'cpuSeconds' | 'cpuSecondsPerMillion' | 'heapUsedMB'>> {
  const sink = remoteWrite({
    url: o.url ?? '',
    shards: LANES,
    maxSamplesPerRequest: BATCH,
    maxDelayMs: 1000,
    validation: 'strict',
    compression: o.compression === 'literal' ? 'literal' : 'snappy',
    logger: { info() {}, warn() {}, error() {} },
  });
  const { metrics } = sink;
  // A few batches per lane in the sink keep every lane busy without queueing without bound.
  const highWater = LANES * BATCH * Number(o.queue);
  let inFlightSum = 0;
  let inFlightN = 0;
  const probe = setInterval(() => {
    inFlightSum += metrics.requestsInFlight;
    inFlightN++;
  }, 20);
  const pacer = new SinkPacer(metrics, highWater);
  let errors = 0;
  let lastError = '';
  await new Promise<void>((resolve, reject) => {
    workload(() => pacer.ready())
      .pipe(sink)
      .subscribe({
        next(outcome: WriteOutcome) {
          if (outcome.type === 'dropped') {
            errors++;
            lastError = `${outcome.reason}: ${outcome.message ?? ''} ${outcome.responseBody ?? ''}`.slice(0, 200);
          }
          pacer.release();
        },
        error: reject,
        complete: resolve,
      });
  });
  clearInterval(probe);
  const snapshot = metrics.snapshot();
  if (process.env['BENCH_DEBUG']) console.error(`requests in flight on average: ${(inFlightSum / Math.max(1, inFlightN)).toFixed(2)}`);
  return { tool: 'rxprom', series: SERIES, batch: BATCH, lanes: LANES, samples: snapshot.samplesWritten, dropped: snapshot.samplesDroppedTotal, errors, lastError };
}

async function runPeer(): Promise<Omit<ClientResult, 'seconds' | 'samplesPerSec' | 'cpuSeconds' | 'cpuSecondsPerMillion' | 'heapUsedMB'>> {
  const deadline = Date.now() + SECONDS * 1000;
  let samples = 0;
  let sent = 0;
  let errors = 0;
  let dropped = 0;
  let lastError = '';
  const fetcher = async (url: string, init?: { method: string; headers: Record<string, string>; body: ArrayBufferLike }) => {
    const response = await fetch(url, { method: init?.method ?? 'POST', headers: init?.headers, body: init?.body as unknown as Uint8Array });
    return { status: response.status, statusText: response.statusText, text: () => response.text() };
  };
  await Promise.all(
    Array.from({ length: Math.min(LANES, SERIES) }, async (_, lane) => {
      const own: Labels[] = [];
      for (let i = lane; i < SERIES; i += LANES) own.push(sets[i]);
      let cursor = 0;
      let t = startTime;
      while (Date.now() < deadline && sent < MAX_SAMPLES) {
        const count = Math.min(BATCH, MAX_SAMPLES - sent);
        sent += count;
        const timeseries = new Array<{ labels: Labels & { __name__: string }; samples: Array<{ value: number; timestamp: number }> }>(count);
        for (let k = 0; k < count; k++) {
          timeseries[k] = { labels: own[cursor] as Labels & { __name__: string }, samples: [{ value: Math.random(), timestamp: t }] };
          if (++cursor === own.length) {
            cursor = 0;
            t += 1000;
          }
        }
        const result = await prw.pushTimeseries(timeseries, {
          url: o.url,
          fetch: fetcher,
          headers: { 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
        });
        if (result.status >= 200 && result.status < 300) samples += count;
        else {
          errors++;
          dropped += count;
          lastError = `${result.status} ${result.errorMessage ?? ''}`.slice(0, 200);
        }
      }
    }),
  );
  return { tool: 'prometheus-remote-write', series: SERIES, batch: BATCH, lanes: LANES, samples, dropped, errors, lastError };
}

async function runSource(): Promise<Omit<ClientResult, 'seconds' | 'samplesPerSec' | 'cpuSeconds' | 'cpuSecondsPerMillion' | 'heapUsedMB'>> {
  let samples = 0;
  await new Promise<void>((resolve, reject) => {
    workload(() => undefined).subscribe({ next: () => void samples++, error: reject, complete: resolve });
  });
  return { tool: 'source-only', series: SERIES, batch: BATCH, lanes: LANES, samples, dropped: 0, errors: 0, lastError: '' };
}

const cpuStart = process.cpuUsage();
const started = performance.now();
const partial = o.impl === 'peer' ? await runPeer() : o.impl === 'source' ? await runSource() : await runRxprom();
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuStart);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const result: ClientResult = {
  ...partial,
  seconds,
  samplesPerSec: Math.round(partial.samples / seconds),
  cpuSeconds,
  cpuSecondsPerMillion: partial.samples > 0 ? (cpuSeconds / partial.samples) * 1e6 : Infinity,
  heapUsedMB: Math.round(process.memoryUsage().heapUsed / 1e5) / 10,
};
console.log(JSON.stringify(result));
