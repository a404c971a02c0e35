import { asyncScheduler, concatMap, from, merge, Observable, type OperatorFunction, type Subscription } from 'rxjs';
import { BatchWriter } from '../src/remote-write/batch-writer.js';
import { DropLog } from '../src/remote-write/drop-log.js';
import { WriteRequestEncoder } from '../src/protocol/encoder.js';
import { Lane } from '../src/remote-write/lane.js';
import type { RemoteWriteMetrics } from '../src/remote-write/metrics.js';
import type { DropReason, Sample, WriteOutcome } from '../src/core/model.js';
import { resolveRemoteWriteOptions, type RemoteWriteOptions } from '../src/remote-write/options.js';
import { guardOrder, SeriesInterner } from '../src/remote-write/series-interner.js';
import { AxiosWriteClient } from '../src/remote-write/http/axios-client.js';
import { ConnectionHealth } from '../src/remote-write/connection-health.js';
import { describeBadTimestamp, int64Millis, TimestampGuard, type TimestampVerdict } from '../src/remote-write/timestamp-guard.js';

/** The sink operator, with the counters it updates. */
export type RemoteWriteOperator = OperatorFunction<Sample, WriteOutcome> & { readonly metrics: RemoteWriteMetrics };

/**
 * Ends a pipeline by writing its samples to a Prometheus Remote-Write endpoint.
 *
 * Each sample is validated, bound to its interned series and checked against the series' newest
 * accepted timestamp before it is batched, so a bad sample is dropped alone instead of making the
 * receiver reject its whole batch. Series are partitioned onto `shards` lanes by the hash of their
 * labels (as `partitionBySeries` does); each lane batches (as `batchSamples` does: full at
 * `maxSamplesPerRequest`, or after `maxDelayMs`) and sends with `concatMap` (one request in flight,
 * retried in place), so a series never reorders. The hot path is inlined here rather than composed
 * from those operators: it runs once per sample, and a groupBy plus a Subscriber chain per sample
 * cost more than everything else the sink does.
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
      const health = new ConnectionHealth({
        url: config.url,
        logger,
        failFastAfterRejections: config.failFastAfterRejections,
        pending: () => ({ samples: metrics.samplesPending, requests: metrics.requestsInFlight }),
      });
      const timestampGuard = new TimestampGuard(config);
      const client = config.client ?? new AxiosWriteClient({
        url: config.url,
        timeoutMs: config.timeoutMs,
        headers: config.headers,
        retry: config.retry,
        maxSockets: config.shards,
        ...(config.signer ? { signer: config.signer } : {}),
        onRetry: (event) => {
          metrics.requestRetries++;
          logger.debug?.({ ...event }, 'retrying request');
          health.attemptFailed(event);
        },
      });
      const writer = new BatchWriter(config, new WriteRequestEncoder({ compression: config.compression }), client);
      const abort = new AbortController();
      const dropLog = new DropLog(logger);

      const dropOne = (sample: Sample, reason: DropReason, message: string): void => {
        metrics.drop(reason, 1);
        dropLog.dropped(reason, message);
        subscriber.next({ type: 'dropped', samples: 1, series: 1, attempts: 0, reason, message, sample });
      };

      // One ordered lane per shard: a series always maps to the lane its record was given when
      // it was interned (hash modulo shards). Each lane fills a column-wise batch (no object per
      // sample), encodes it when it is full or timed out, and hands the body to its own
      // concatMap: one request in flight, the next one ready.
      const lanes: Lane[] = [];
      for (let i = 0; i < config.shards; i++) lanes.push(new Lane(config.maxSamplesPerRequest));
      const flush = (lane: Lane): void => {
        lane.timer?.unsubscribe();
        lane.timer = null;
        const batch = lane.take();
        if (batch === null) return;
        const request = writer.encode(batch);
        lane.recycle(batch);
        lane.batches.next(request);
      };

      const writes = merge(...lanes.map((lane) => lane.batches.pipe(concatMap((request) => from(writer.send(request, abort.signal)))))).subscribe({
        next(result) {
          metrics.activeSeries = interner.size;
          subscriber.next(result.outcome);
          const misconfigured = health.observe(result.outcome);
          if (result.error ?? misconfigured) subscriber.error(result.error ?? misconfigured);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          dropLog.flush();
          subscriber.complete();
        },
      });

      // Validation, interning and the order guard happen before batching, in arrival order.
      const input = source.subscribe({
        next(sample) {
          metrics.samplesIn++;
          if (typeof sample !== 'object' || sample === null) return dropOne(sample, 'invalid', 'not a sample object');
          const { value, timestamp } = sample;
          if (typeof value !== 'number') return dropOne(sample, 'invalid', 'value is not a number');
          // Remote-write timestamps are int64 milliseconds.
          const millis = int64Millis(timestamp);
          if (millis !== millis) return dropOne(sample, 'invalid', describeBadTimestamp(timestamp));
          let bounds: TimestampVerdict;
          try {
            bounds = timestampGuard.check(millis);
          } catch (error) {
            return subscriber.error(error); // the user's clock threw
          }
          if (bounds !== 'ok') return dropOne(sample, bounds, timestampGuard.describe(bounds, millis));
          const series = interner.resolve(sample.labels);
          if (typeof series === 'string') return dropOne(sample, 'invalid', series);
          const verdict = guardOrder(series, millis);
          if (verdict !== 'ok') {
            return dropOne(sample, verdict, `timestamp ${millis} is ${verdict === 'duplicate' ? 'the same as' : 'older than'} the newest accepted for its series`);
          }
          if (metrics.samplesPending >= config.maxPendingSamples) {
            return dropOne(sample, 'overflow', `more than ${config.maxPendingSamples} samples are waiting to be sent`);
          }
          metrics.samplesPending++;
          const lane = lanes[series.lane];
          if (lane.push(series, value, millis) >= config.maxSamplesPerRequest) flush(lane);
          else if (lane.timer === null) lane.timer = scheduler.schedule(() => flush(lane), config.maxDelayMs);
        },
        error: (error: unknown) => {
          for (const lane of lanes) lane.clear();
          subscriber.error(error);
        },
        complete: () => {
          // Flush every lane, then let each finish its queue: `writes` completes after the last answer.
          for (const lane of lanes) flush(lane);
          for (const lane of lanes) lane.batches.complete();
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
        input.unsubscribe();
        writes.unsubscribe();
        for (const lane of lanes) lane.clear();
        housekeeping.unsubscribe();
        abort.abort();
        client.close?.();
      };
    });

  return Object.assign(operator, { metrics });
}
