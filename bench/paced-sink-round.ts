/**
 * One round of the in-process sink benchmarks (`sink-inprocess.ts`, `mqtt-inprocess.ts`): a sink
 * whose `WriteClient` answers 204 at once, fed `warmup + measured` elements built by `element`,
 * in chunks of `chunk`, one chunk per macrotask, paused while the sink holds more than 3 batches
 * per lane. The first `warmup` elements (one pass over the series, interning them) are not
 * measured. Elements go round `cycle` series; the timestamp moves on by 1 s per pass.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import type { Sample } from '../src/core/model.js';
import type { remoteWrite as RemoteWrite } from '../operators/remote-write.js';
import type { WriteClient, WriteResult } from '../src/remote-write/http/write-client.js';
import type { Compression } from '../src/protocol/snappy.js';
import { SinkPacer } from './common.js';

const accepted: WriteResult = { kind: 'response', status: 204, body: '', attempts: 1 };
/** Answers every request at once, as a receiver with no cost would. */
const instantClient: WriteClient = { send: () => Promise.resolve(accepted) };

export interface PacedSinkRound<T> {
  /** `remoteWrite` of the tree measured (another build's may be passed in). */
  readonly remoteWrite: typeof RemoteWrite;
  readonly lanes: number;
  readonly batch: number;
  readonly chunk: number;
  readonly compression?: Compression;
  readonly warmup: number;
  readonly measured: number;
  /** Series gone round before the timestamp moves on. */
  readonly cycle: number;
  readonly startTime: number;
  /** The element for series `cursor` at `timestamp`; `count` is its 1-based place in the round. */
  readonly element: (cursor: number, timestamp: number, count: number) => T;
  /** What turns elements into samples before the sink (none when they are samples). */
  readonly toSamples?: OperatorFunction<T, Sample>;
}

/** Runs one round: the samples written, and CPU µs per measured element. */
export async function pacedSinkRound<T>(options: PacedSinkRound<T>): Promise<{ written: number; cpuMicros: number }> {
  const { warmup, measured, chunk, cycle, element } = options;
  const sink = options.remoteWrite({
    url: 'http://127.0.0.1:1/api/v1/write',
    client: instantClient,
    shards: options.lanes,
    maxSamplesPerRequest: options.batch,
    maxDelayMs: 1000,
    validation: 'strict',
    compression: options.compression,
    logger: { info() {}, warn() {}, error() {} },
  });
  const pacer = new SinkPacer(sink.metrics, options.lanes * options.batch * 3);
  const total = warmup + measured;
  let cpuAtStart: NodeJS.CpuUsage | undefined;
  let written = 0;
  const source = new Observable<T>((subscriber) => {
    let cursor = 0;
    let t = options.startTime;
    let emitted = 0;
    const step = (): void => {
      if (subscriber.closed) return;
      if (emitted === warmup && cpuAtStart === undefined) cpuAtStart = process.cpuUsage();
      if (emitted >= total) return subscriber.complete();
      const end = Math.min(emitted + chunk, total, emitted < warmup ? warmup : total);
      while (emitted < end) {
        emitted++;
        subscriber.next(element(cursor, t, emitted));
        if (++cursor === cycle) {
          cursor = 0;
          t += 1000;
        }
      }
      const backlog = pacer.ready();
      if (backlog === undefined) setImmediate(step);
      else void backlog.then(() => setImmediate(step));
    };
    setImmediate(step);
  });
  const samples = options.toSamples === undefined ? (source as unknown as Observable<Sample>) : source.pipe(options.toSamples);
  await new Promise<void>((resolve, reject) => {
    samples.pipe(sink).subscribe({
      next(outcome) {
        if (outcome.type === 'written') written += outcome.samples;
        else reject(new Error(`unexpected outcome: ${outcome.type} ${outcome.reason ?? ''} ${outcome.message ?? ''}`));
        pacer.release();
      },
      error: reject,
      complete: resolve,
    });
  });
  const cpu = process.cpuUsage(cpuAtStart);
  return { written, cpuMicros: (cpu.user + cpu.system) / measured };
}
