import { asyncScheduler, concatMap, from, mergeMap, Observable, type OperatorFunction, type Subscription } from 'rxjs';
import { BatchWriter } from '../src/batch-writer.js';
import { DropLog } from '../src/drop-log.js';
import { WriteRequestEncoder, type PreparedSample } from '../src/encoder.js';
import type { RemoteWriteMetrics } from '../src/metrics.js';
import type { DropReason, Sample, WriteOutcome } from '../src/model.js';
import { resolveRemoteWriteOptions, type RemoteWriteOptions } from '../src/remote-write-options.js';
import { guardOrder, SeriesInterner } from '../src/series.js';
import { HttpTransport } from '../src/transport.js';
import { batchSamples } from './batch-samples.js';
import { partitionBySeries } from './partition-by-series.js';

/** The sink operator, with the counters it updates. */
export type RemoteWriteOperator = OperatorFunction<Sample, WriteOutcome> & { readonly metrics: RemoteWriteMetrics };

/**
 * Ends a pipeline by writing its samples to a Prometheus Remote-Write endpoint.
 *
 * Each sample is validated, bound to its interned series and checked against the series' newest
 * accepted timestamp before it is batched, so a bad sample is dropped alone instead of making the
 * receiver reject its whole batch. Series are partitioned onto `shards` lanes; each lane batches
 * and sends with `concatMap` (one request in flight, retried in place), so a series never reorders.
 *
 * Every input sample is accounted for by exactly one emitted `WriteOutcome`. Completion of the
 * source flushes every batch and waits for every request; unsubscription aborts in-flight
 * requests and clears every timer.
 */
export function remoteWrite(options: RemoteWriteOptions): RemoteWriteOperator {
  const config = resolveRemoteWriteOptions(options);
  const { metrics, logger } = config;
  const scheduler = config.scheduler ?? asyncScheduler;

  const operator = (source: Observable<Sample>): Observable<WriteOutcome> =>
    new Observable<WriteOutcome>((subscriber) => {
      const interner = new SeriesInterner({ validation: config.validation, lanes: config.shards });
      const transport = new HttpTransport({
        url: config.url,
        timeoutMs: config.timeoutMs,
        headers: config.headers,
        retry: config.retry,
        maxSockets: config.shards,
        ...(config.signer ? { signer: config.signer } : {}),
        onRetry: (event) => {
          metrics.requestRetries++;
          logger.debug?.({ ...event }, 'retrying request');
        },
      });
      const writer = new BatchWriter(config, new WriteRequestEncoder(), transport);
      const abort = new AbortController();
      const dropLog = new DropLog(logger);

      const dropOne = (sample: Sample, reason: DropReason, message: string): void => {
        metrics.drop(reason, 1);
        dropLog.dropped(reason, message);
        subscriber.next({ type: 'dropped', samples: 1, series: 1, attempts: 0, reason, message, sample });
      };

      // Validation, interning and the order guard happen before batching, in arrival order.
      const prepared = new Observable<PreparedSample>((lane) =>
        source.subscribe({
          next(sample) {
            metrics.samplesIn++;
            if (typeof sample !== 'object' || sample === null) return dropOne(sample, 'invalid', 'not a sample object');
            const { value, timestamp } = sample;
            if (typeof value !== 'number') return dropOne(sample, 'invalid', 'value is not a number');
            if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) {
              return dropOne(sample, 'invalid', 'timestamp is not a finite number');
            }
            const series = interner.resolve(sample.labels);
            if (typeof series === 'string') return dropOne(sample, 'invalid', series);
            // Remote-write timestamps are integer milliseconds.
            const millis = Math.floor(timestamp);
            const verdict = guardOrder(series, millis);
            if (verdict !== 'ok') {
              return dropOne(sample, verdict, `timestamp ${millis} is ${verdict === 'duplicate' ? 'the same as' : 'older than'} the newest accepted for its series`);
            }
            if (metrics.samplesPending >= config.maxPendingSamples) {
              return dropOne(sample, 'overflow', `more than ${config.maxPendingSamples} samples are waiting to be sent`);
            }
            metrics.samplesPending++;
            lane.next({ series, value, timestamp: millis });
          },
          error: (error: unknown) => lane.error(error),
          complete: () => lane.complete(),
        }),
      );

      const writes = prepared
        .pipe(
          partitionBySeries<PreparedSample>({ shards: config.shards, key: (sample) => sample.series.hash }),
          mergeMap((lane) =>
            lane.pipe(
              batchSamples({ maxSamples: config.maxSamplesPerRequest, maxDelayMs: config.maxDelayMs, scheduler }),
              concatMap((batch) => from(writer.write(batch, abort.signal))),
            ),
          ),
        )
        .subscribe({
          next(result) {
            metrics.activeSeries = interner.size;
            subscriber.next(result.outcome);
            if (result.error) subscriber.error(result.error);
          },
          error: (error: unknown) => subscriber.error(error),
          complete: () => {
            dropLog.flush();
            subscriber.complete();
          },
        });

      // Housekeeping: forget series idle for longer than seriesIdleTimeoutMs.
      const tickMs = Math.min(60_000, Math.max(1000, Math.floor(config.seriesIdleTimeoutMs / 10)));
      const idleTicks = Math.ceil(config.seriesIdleTimeoutMs / tickMs);
      const housekeeping: Subscription = scheduler.schedule(function tick() {
        const forgotten = interner.advance(idleTicks);
        metrics.activeSeries = interner.size;
        if (forgotten > 0) logger.debug?.({ forgotten, active: interner.size }, 'forgot idle series');
        this.schedule(undefined, tickMs);
      }, tickMs);

      return () => {
        writes.unsubscribe();
        housekeeping.unsubscribe();
        abort.abort();
        transport.close();
      };
    });

  return Object.assign(operator, { metrics });
}
