import { setMaxListeners } from 'node:events';
import { asyncScheduler, Observable, type OperatorFunction, type Subscription } from 'rxjs';
import { BatchWriter } from '../src/remote-write/batch-writer.js';
import { DropLog } from '../src/remote-write/drop-log.js';
import { WriteRequestEncoder } from '../src/protocol/encoder.js';
import type { LaneBatch, UnsettledSamples } from '../src/remote-write/lane.js';
import { LaneSet } from '../src/remote-write/lane-set.js';
import type { RemoteWriteMetrics } from '../src/remote-write/metrics.js';
import type { Logger } from '../src/core/logger.js';
import type { DropReason, Sample, WriteOutcome } from '../src/core/model.js';
import { resolveRemoteWriteOptions, type RemoteWriteOptions } from '../src/remote-write/options.js';
import { orderOf, SeriesInterner, type SeriesRecord } from '../src/remote-write/series-interner.js';
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
 * receiver reject its whole batch; a sample that cannot even be read (a throwing getter, a revoked
 * Proxy) is dropped as `invalid` too. Series are partitioned onto `shards` lanes by the hash of
 * their labels (as `partitionBySeries` does; with a range of `shards`, the count follows the load
 * and changes only after the lanes drained, see `LaneSet`); each lane batches (as `batchSamples` does: full at
 * `maxSamplesPerRequest`, or after `maxDelayMs`) and sends its batches one after the other (one
 * request in flight, retried in place; a batch refused with 400 is halved until the refused
 * samples are isolated), so a series never reorders. The hot path is inlined here rather than
 * composed from those operators: it runs once per sample, and a groupBy plus a Subscriber chain
 * per sample cost more than everything else the sink does.
 *
 * Every input sample is accounted for by exactly one emitted `WriteOutcome`, however the
 * pipeline ends. Completion of the source flushes every batch and waits for every request. When
 * the source errors or a request fails the pipeline, every accepted sample not yet written is
 * emitted as dropped (`'aborted'`) before the error. Unsubscription aborts in-flight requests,
 * clears every timer, and counts what had no outcome as `'aborted'` in the metrics.
 */
export function remoteWrite(options: RemoteWriteOptions): RemoteWriteOperator {
  const config = resolveRemoteWriteOptions(options);
  const { metrics, maxPendingSamples } = config;
  const logger = guardLogger(config.logger);
  const scheduler = config.scheduler ?? asyncScheduler;

  const operator = (source: Observable<Sample>): Observable<WriteOutcome> =>
    new Observable<WriteOutcome>((subscriber) => {
      const interner = new SeriesInterner({ validation: config.validation });
      /** Accepted samples without an outcome yet: this subscription's own, for admission and for the accounting at the end. */
      let pending = 0;
      const health = new ConnectionHealth({
        url: config.displayUrl,
        logger,
        failFastAfterRejections: config.failFastAfterRejections,
        // This subscription's own: the metrics may be shared by other sinks and subscriptions.
        pending: (): { samples: number; requests: number } => ({ samples: pending, requests: writer.requestsInFlight }),
      });
      const timestampGuard = new TimestampGuard(config);
      const client = config.client ?? new AxiosWriteClient({
        url: config.url,
        timeoutMs: config.timeoutMs,
        headers: config.headers,
        retry: config.retry,
        maxSockets: config.shards.max,
        ...(config.signer ? { signer: config.signer } : {}),
        onRetry: (event) => {
          metrics.requestRetried();
          logger.debug?.({ ...event }, 'retrying request');
          health.attemptFailed(event);
        },
      });
      const writer = new BatchWriter(
        {
          onMaxRetriesExceeded: config.onMaxRetriesExceeded,
          onNonRetryable: config.onNonRetryable,
          maxRefusalSplits: config.maxRefusalSplits,
          metrics,
          logger,
          // Every answer, halved pieces included, tells the health check whether the endpoint works.
          onAnswer: (result, samples) => health.answered(result, samples),
        },
        new WriteRequestEncoder({ compression: config.compression }),
        client,
      );
      const abort = new AbortController();
      // Each lane's request in flight listens on it (and the client once): not a leak.
      setMaxListeners(config.shards.max + 8, abort.signal);
      const dropLog = new DropLog(logger);
      let sourceDone = false;
      let ended = false;
      /** What the user's `clock` threw: it ends the pipeline (the timestamp bounds cannot be judged). */
      let clockError: { readonly error: unknown } | undefined;

      const dropOne = (sample: Sample, reason: DropReason, message: string): void => {
        metrics.sampleDropped(reason);
        dropLog.dropped(reason, message);
        subscriber.next({ type: 'dropped', samples: 1, series: 1, attempts: 0, reason, message, sample });
      };

      /** A batch outcome: counted (by the writer) and settled here before it is emitted. */
      const report = (outcome: WriteOutcome): void => {
        pending -= outcome.samples;
        metrics.activeSeriesCounted(interner.size);
        subscriber.next(outcome);
      };

      const send = async (batch: LaneBatch): Promise<void> => {
        let error: unknown;
        try {
          error = await writer.write(batch, abort.signal, report);
        } catch (caught) {
          error = caught;
        }
        if (error !== undefined) end(error);
      };

      const completeWhenIdle = (): void => {
        if (!sourceDone || ended) return;
        if (!lanes.idle) return;
        ended = true;
        dropLog.flush();
        subscriber.complete();
      };

      // Ordered lanes: a series goes to the lane of its hash modulo the current count. Each lane
      // fills a column-wise batch (no object per sample), encodes it when it is full or timed
      // out, and sends its batches in order. The count changes only between two drained layouts.
      const lanes = new LaneSet({
        shards: config.shards,
        maxSamples: config.maxSamplesPerRequest,
        maxDelayMs: config.maxDelayMs,
        scheduler,
        encode: (columns) => writer.encode(columns),
        send,
        onIdle: completeWhenIdle,
        // A drain would wait on the retries: the count holds while the endpoint fails.
        failing: () => health.down,
        logger,
        metrics,
      });

      /**
       * Stops every lane and request; every accepted sample still without an outcome is dropped
       * as `'aborted'`: counted first (a subscriber may unsubscribe while outcomes are emitted),
       * then, when there is someone to tell, emitted.
       */
      const abandon = (emit: boolean): void => {
        abort.abort();
        const unsettled: UnsettledSamples[] = lanes.abandon();
        for (const part of unsettled) {
          pending -= part.samples;
          metrics.samplesDropped('aborted', part.samples);
        }
        if (pending !== 0) {
          // Never expected: keeps the counters' invariant even if a settlement was missed.
          logger.error({ samples: pending }, 'samples without an outcome at the end of the pipeline; counted as aborted');
          unsettled.push({ samples: pending, series: 0 });
          metrics.samplesDropped('aborted', pending);
          pending = 0;
        }
        if (!emit) return;
        for (const part of unsettled) {
          if (subscriber.closed) return;
          subscriber.next({ type: 'dropped', reason: 'aborted', samples: part.samples, series: part.series, attempts: 0, message: 'the pipeline ended before these samples were written' });
        }
      };

      /** Ends the pipeline with an error, after the outcomes of everything accepted. */
      const end = (error: unknown): void => {
        if (ended) return;
        ended = true;
        abandon(true);
        dropLog.flush();
        subscriber.error(error);
      };

      // Per-sample state, reused: what `inspect` read from the sample it accepted.
      let acceptedSeries: SeriesRecord | null = null;
      let acceptedValue = 0;
      let acceptedMillis = 0;
      let dropReason: DropReason = 'invalid';

      /** Reads and checks a sample: null when accepted (see above), else why it is dropped (`dropReason`). */
      const inspect = (sample: Sample): string | null => {
        dropReason = 'invalid';
        if (typeof sample !== 'object' || sample === null) return 'not a sample object';
        const { value, timestamp } = sample;
        if (typeof value !== 'number') return 'value is not a number';
        // Remote-write timestamps are int64 milliseconds.
        const millis = int64Millis(timestamp);
        if (millis !== millis) return describeBadTimestamp(timestamp);
        let bounds: TimestampVerdict;
        try {
          bounds = timestampGuard.check(millis);
        } catch (error) {
          clockError = { error };
          return 'the clock failed';
        }
        if (bounds !== 'ok') {
          dropReason = bounds;
          return timestampGuard.describe(bounds, millis);
        }
        const series = interner.resolve(sample.labels);
        if (typeof series === 'string') return series;
        // Only checked here: the series' newest moves once the sample is admitted (an overflow is not).
        const verdict = orderOf(series, millis);
        if (verdict !== 'ok') {
          dropReason = verdict;
          return `timestamp ${millis} is ${verdict === 'duplicate' ? 'the same as' : 'older than'} the newest accepted for its series`;
        }
        acceptedSeries = series;
        acceptedValue = value;
        acceptedMillis = millis;
        return null;
      };

      // Validation, interning and the order guard happen before batching, in arrival order.
      const input = source.subscribe({
        next(sample) {
          metrics.sampleIn();
          if (ended || subscriber.closed) {
            // Pushed while the pipeline was ending (e.g. from a handler of its last outcomes), or after the
            // subscriber left while a synchronous source was still pushing (the teardown runs only once
            // the source's subscribe returns): nobody can be told, and nothing more may be sent.
            metrics.sampleDropped('aborted');
            return;
          }
          let problem: string | null;
          try {
            problem = inspect(sample);
          } catch (error) {
            dropReason = 'invalid';
            problem = `sample could not be read: ${describeError(error)}`;
          }
          if (clockError !== undefined) {
            // The sample the clock failed on was read: it gets its outcome before the error.
            const { error } = clockError;
            dropOne(sample, 'aborted', `the clock failed: ${describeError(error)}`);
            return end(error);
          }
          if (problem !== null) return dropOne(sample, dropReason, problem);
          if (pending >= maxPendingSamples) {
            return dropOne(sample, 'overflow', `more than ${maxPendingSamples} samples are waiting to be sent`);
          }
          pending++;
          metrics.samplesAccepted(1);
          const series = acceptedSeries as SeriesRecord;
          acceptedSeries = null;
          series.lastTimestamp = acceptedMillis;
          lanes.push(series, acceptedValue, acceptedMillis);
        },
        error: (error: unknown) => end(error),
        complete: () => {
          if (ended || subscriber.closed) return; // the teardown accounts for what the lanes hold
          // Flush every lane, then let each finish its queue: the last answer completes the output.
          sourceDone = true;
          lanes.finish();
          completeWhenIdle();
        },
      });

      // Housekeeping: forget series idle for longer than seriesIdleTimeoutMs.
      const tickMs = Math.min(60_000, Math.max(1000, Math.floor(config.seriesIdleTimeoutMs / 10)));
      const idleTicks = Math.ceil(config.seriesIdleTimeoutMs / tickMs);
      const housekeeping: Subscription = scheduler.schedule(function tick() {
        const forgotten = interner.advance(idleTicks);
        metrics.activeSeriesCounted(interner.size);
        if (forgotten > 0) logger.debug?.({ forgotten, active: interner.size }, 'forgot idle series');
        this.schedule(undefined, tickMs);
      }, tickMs);

      return () => {
        ended = true;
        input.unsubscribe();
        abandon(false);
        // Drops summed up for the log interval are logged now: an unsubscription must not hide them.
        dropLog.flush();
        housekeeping.unsubscribe();
        try {
          client.close?.();
        } catch (error) {
          logger.warn({ error: describeError(error) }, 'the write client failed to close');
        }
      };
    });

  return Object.assign(operator, { metrics });
}

/** The user's logger, made safe to call: a logger that throws must not cost a sample its outcome. */
function guardLogger(logger: Logger): Logger {
  return {
    debug: (fields, message) => {
      try {
        logger.debug?.(fields, message);
      } catch {
        // A broken logger is the user's to notice; the sink goes on.
      }
    },
    info: (fields, message) => {
      try {
        logger.info(fields, message);
      } catch {
        // as above
      }
    },
    warn: (fields, message) => {
      try {
        logger.warn(fields, message);
      } catch {
        // as above
      }
    },
    error: (fields, message) => {
      try {
        logger.error(fields, message);
      } catch {
        // as above
      }
    },
  };
}

function describeError(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return 'an unprintable error';
  }
}
