/**
 * The sink at a given rate, in its own process, for the lanes benchmark (`lanes.ts`). Prints one
 * JSON line (see `LanesResult`).
 *
 *   node dist/bench/lanes-client.js --url URL --shards 4|adaptive --rate N|max --seconds S
 *     [--series 1000] [--batch 2000] [--delay 1000]
 *
 * A paced rate pushes, every 10 ms or so, what the rate owes since the start (a late timer on a
 * busy machine does not lower it); `max` pushes chunks as fast as the sink takes them (paused while it holds more than three full batches per lane it may have).
 */
import { parseArgs } from 'node:util';
import { Observable } from 'rxjs';
import type { Sample } from '../src/core/model.js';
import { remoteWrite } from '../operators/remote-write.js';
import { SinkPacer } from './common.js';
import { buildLabelSets } from './workload.js';

export interface LanesResult {
  readonly shards: string;
  readonly rate: string;
  readonly seconds: number;
  readonly samples: number;
  readonly samplesPerSec: number;
  /** Samples/s written after the first `WARM_UP_SECONDS` (the count settled, connections open). */
  readonly steadySamplesPerSec: number;
  readonly requests: number;
  readonly requestsPerSec: number;
  readonly samplesPerRequest: number;
  /** Lanes last seen before the end (sampled every 100 ms), and changes of the count during the run. */
  readonly lanes: number;
  readonly reshards: number;
  /** Most lanes seen (sampled every 100 ms). */
  readonly mostLanes: number;
  readonly dropped: number;
}

const { values: o } = parseArgs({
  options: {
    url: { type: 'string', default: '' },
    shards: { type: 'string', default: 'adaptive' },
    rate: { type: 'string', default: 'max' },
    seconds: { type: 'string', default: '8' },
    series: { type: 'string', default: '1000' },
    batch: { type: 'string', default: '2000' },
    delay: { type: 'string', default: '1000' },
  },
});
const SERIES = Number(o.series);
const BATCH = Number(o.batch);
const SECONDS = Number(o.seconds);
const RATE = o.rate === 'max' ? Infinity : Number(o.rate);
const FIXED = o.shards === 'adaptive' ? undefined : Number(o.shards);

const WARM_UP_SECONDS = 3;
const sets = buildLabelSets(SERIES, 4);
const startTime = Date.now() - 3_600_000;

const sink = remoteWrite({
  url: o.url ?? '',
  ...(FIXED === undefined ? {} : { shards: FIXED }),
  maxSamplesPerRequest: BATCH,
  maxDelayMs: Number(o.delay),
  logger: { info() {}, warn() {}, error() {} },
});
const { metrics } = sink;
const pacer = new SinkPacer(metrics, 3 * BATCH * (FIXED ?? 8));

/** The workload: every series in turn, one second further on every pass. */
function workload(): Observable<Sample> {
  return new Observable<Sample>((subscriber) => {
    let cursor = 0;
    let t = startTime;
    let stopped = false;
    const begun = Date.now();
    const deadline = begun + SECONDS * 1000;
    let emitted = 0;
    const emit = (count: number): void => {
      emitted += count;
      for (let i = 0; i < count; i++) {
        subscriber.next({ labels: sets[cursor], value: i, timestamp: t });
        if (++cursor === SERIES) {
          cursor = 0;
          t += 1000;
        }
      }
    };
    const step = (): void => {
      if (stopped) return;
      if (Date.now() >= deadline) return subscriber.complete();
      if (RATE === Infinity) {
        emit(1000);
        const wait = pacer.ready();
        if (wait) void wait.then(() => setImmediate(step));
        else setImmediate(step);
      } else {
        emit(Math.floor(((Date.now() - begun) * RATE) / 1000) - emitted);
        setTimeout(step, 10);
      }
    };
    step();
    return () => {
      stopped = true;
    };
  });
}

let mostLanes = 0;
let lastLanes = 0;
const probe = setInterval(() => {
  lastLanes = metrics.lanes;
  mostLanes = Math.max(mostLanes, lastLanes);
}, 100);
const started = Date.now();
let warmWritten = 0;
let warmAt = started;
const warmUp = setTimeout(() => {
  warmWritten = metrics.samplesWritten;
  warmAt = Date.now();
}, WARM_UP_SECONDS * 1000);
await new Promise<void>((resolve, reject) => {
  workload()
    .pipe(sink)
    .subscribe({ next: () => pacer.release(), error: reject, complete: resolve });
});
const seconds = (Date.now() - started) / 1000;
clearInterval(probe);
clearTimeout(warmUp);
const s = metrics.snapshot();
const result: LanesResult = {
  shards: o.shards ?? 'adaptive',
  rate: o.rate ?? 'max',
  seconds,
  samples: s.samplesWritten,
  samplesPerSec: Math.round(s.samplesWritten / seconds),
  steadySamplesPerSec: Math.round((s.samplesWritten - warmWritten) / Math.max(0.001, (Date.now() - warmAt) / 1000)),
  requests: s.requestsWritten,
  requestsPerSec: s.requestsWritten / seconds,
  samplesPerRequest: s.samplesWritten / Math.max(1, s.requestsWritten),
  lanes: lastLanes,
  reshards: s.reshards,
  mostLanes,
  dropped: s.samplesDroppedTotal,
};
console.log(JSON.stringify(result));
process.exit(0);
