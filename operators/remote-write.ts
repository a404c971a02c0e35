import { setMaxListeners } from 'node:events';
import { asyncScheduler, Observable, type OperatorFunction, type Subscription } from 'rxjs';
import { BatchWriter } from '../src/remote-write/batch-writer.js';
import { DropLog } from '../src/remote-write/drop-log.js';
import { WriteRequestEncoder } from '../src/protocol/encoder.js';
import type { LaneBatch, UnsettledSamples } from '../src/remote-write/lane.js';
import { LaneSet } from '../src/remote-write/lane-set.js';
import type { RemoteWriteMetrics } from '../src/remote-write/metrics.js';
import type { Logger } from '../src/core/logger.js';
import type { DropReason, Labels, Sample, WriteOutcome } from '../src/core/model.js';
import { seriesHandle } from '../src/remote-write/series-handle.js';
import { cachedLabelsKey } from '../src/core/series-key.js';
import { resolveRemoteWriteOptions, type RemoteWriteOptions } from '../src/remote-write/options.js';
import { orderOf, SeriesInterner, type SeriesRecord } from '../src/remote-write/series-interner.js';
import { AxiosWriteClient } from '../src/remote-write/http/axios-client.js';
import { ConnectionHealth } from '../src/remote-write/connection-health.js';
import { describeBadTimestamp, int64Millis, TimestampGuard, type TimestampVerdict } from '../src/remote-write/timestamp-guard.js';
import { Pressure } from '../src/remote-write/pressure.js';
import { SinkSpool } from '../src/remote-write/sink-spool.js';
import { checkState, decodeValue, encodeValue, scanSpooledSince, snapshotGuard, type RemoteWriteState } from '../src/remote-write/sink-state.js';

/** The sink operator, with the counters it updates, its backpressure signal and its series handles. */
export type RemoteWriteOperator = OperatorFunction<Sample, WriteOutcome> & {
  readonly metrics: RemoteWriteMetrics;
  /**
   * True: pause the source (the samples held in memory reached `backpressure.highWaterMark`, or
   * the sink is still reading its spool at start); false: resume (down to `lowWaterMark`).
   * Replays the current value on subscribe. A source that cannot pause meets `maxPendingSamples`.
   */
  readonly pressure: Observable<boolean>;
  /**
   * A handle for one series: its labels checked as this sink checks them (`validation`) and
   * returned as a frozen label object (canonical: names sorted, empty values left out). Keep it
   * and put it in every sample of the series: the sink recognises it by identity and skips all
   * per-series work. Throws a `TypeError` for labels the sink would refuse.
   */
  series(labels: Labels): Labels;
};

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
 *
 * With `spool`, every batch is appended to its lane's spool before it is sent and acknowledged
 * there once settled; what is in the spool when the pipeline ends is `'spooled'` (not lost) and
 * sent by the next start over the same spool, before anything new. With `state`, the sink takes
 * part in checkpoints (see `sink-state.ts`).
 */
export function remoteWrite(options: RemoteWriteOptions): RemoteWriteOperator {
  const config = resolveRemoteWriteOptions(options);
  const { metrics, maxPendingSamples } = config;
  const logger = guardLogger(config.logger);
  const scheduler = config.scheduler ?? asyncScheduler;
  const pressure = new Pressure(config.highWaterMark, config.lowWaterMark);

  const operator = (source: Observable<Sample>): Observable<WriteOutcome> =>
    new Observable<WriteOutcome>((subscriber) => {
      const interner = new SeriesInterner({ validation: config.validation });
      /** Accepted samples without an outcome yet: this subscription's own, for admission and for the accounting at the end. */
      let pending = 0;
      /** With a spool: accepted samples held only in memory (open batches, batches waiting for their append). */
      let held = 0;
      const inMemory = (): number => (spool !== undefined ? held : pending);

      // The state restored for this sink, checked before anything starts.
      let restored: RemoteWriteState | undefined;
      if (config.state !== undefined) {
        const taken = config.state.take();
        if (taken !== undefined) {
          const checked = checkState(taken);
          if (typeof checked === 'string') {
            subscriber.error(new Error(`rxprom: the sink's checkpointed state (slot "${config.state.name}") cannot be used: ${checked}`));
            return;
          }
          restored = checked;
        }
      }
      /**
       * Series key → timestamps (from, through]: samples the sink accepted before the restart, dropped
       * as 'replayed' when regenerated. `from` follows the regenerated samples (the guard as the source
       * has rebuilt it); a sample past `through` ends the mark. A checkpoint taken before then saves
       * `from` as the series' newest and the mark itself, so a second restart still knows them.
       */
      const replayMarks = new Map<string, { from: number; readonly through: number }>();
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
          // Restored without a spool: windows written after the checkpoint come again and are refused.
          regeneratedMayBeStored: restored !== undefined && config.spool === undefined,
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
      // On the scheduler's clock, as the timer that logs its sums when due.
      const dropLog = new DropLog(logger, DROP_LOG_INTERVAL_MS, () => scheduler.now());
      let sourceDone = false;
      let ended = false;
      /** Ended by an error whose outcomes wait for the spool to close: no checkpoint may cover this run's samples now. */
      let endingWithError = false;
      /** The source's subscription (undefined while it is being made). */
      let input: Subscription | undefined;
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
        if (spool === undefined) pressure.level(pending);
        subscriber.next(outcome);
      };
      /** Outcomes of an earlier run's samples: counted by the writer (`metrics.replayed`), not emitted. */
      const reportReplayed = (): void => {};

      const send = async (batch: LaneBatch): Promise<void> => {
        let error: unknown;
        try {
          error = await writer.write(batch, abort.signal, batch.replayed === true ? reportReplayed : report);
        } catch (caught) {
          error = caught;
        }
        if (error !== undefined) end(error);
      };

      const completeWhenIdle = (): void => {
        if (!sourceDone || ended || starting !== null) return;
        // Records an earlier run left in the spool are only known once it is open.
        if (spool !== undefined && !spool.isOpen) return;
        if (!lanes.idle) return;
        ended = true;
        dropLog.flush();
        if (spool === undefined) return subscriber.complete();
        // The acknowledgements are saved before completion: a next start must not send these again.
        spool.close().then(
          () => subscriber.complete(),
          (error: unknown) => subscriber.error(error),
        );
      };

      /** This run's samples that left the spool unsent (`'drop-oldest'`). */
      const lostFromSpool = (samples: number, series: number, reason: DropReason, message: string): void => {
        pending -= samples;
        metrics.samplesDropped(reason, samples);
        dropLog.dropped(reason, message);
        if (!subscriber.closed) subscriber.next({ type: 'dropped', reason, samples, series, attempts: 0, message });
      };

      const spool =
        config.spool === undefined
          ? undefined
          : new SinkSpool({
              spool: config.spool,
              shards: config.shards.max,
              metrics,
              logger,
              retain: config.state !== undefined,
              ...(restored?.spool ? { retainFrom: restored.spool } : {}),
              onAppended: (samples) => {
                held -= samples;
                pressure.level(held);
              },
              onLost: lostFromSpool,
            });
      spool?.opened.then(() => {
        // The records replayed from the spool are queued: send them (and complete when there are none).
        for (const lane of lanes.all) lane.wake();
        completeWhenIdle();
      }, () => {});
      spool?.opened.catch((error: unknown) => {
        logger.error({ directory: config.spool?.directory, error: describeError(error) }, 'the spool could not be opened');
        end(error);
      });

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
        // A spooled sink's count is fixed (see the options): each lane appends to its own spool folder.
        ...(spool !== undefined ? { storeFor: (index: number) => spool.lanes[index] } : {}),
      });

      /**
       * Stops every lane and request; every accepted sample still without an outcome is dropped
       * as `'aborted'` (or `'spooled'`) and counted; returns them, for `tell` when there is
       * someone to tell (counted first: a subscriber may unsubscribe while outcomes are emitted).
       */
      const abandon = (): UnsettledSamples[] => {
        abort.abort();
        const unsettled: UnsettledSamples[] = lanes.abandon();
        for (const part of unsettled) {
          if (part.replayed === true) {
            metrics.replayDropped('aborted', part.samples);
            continue;
          }
          pending -= part.samples;
          metrics.samplesDropped(part.spooled === true && spool?.usable !== false ? 'spooled' : 'aborted', part.samples);
        }
        held = 0;
        if (starting !== null) {
          // Received while the sink was starting, never admitted: nobody will send them. Never
          // pending, so counted apart; told (below) with the rest when there is someone to tell.
          const waiting = starting;
          starting = null;
          for (const _ of waiting) metrics.sampleDropped('aborted');
          if (waiting.length > 0) unsettled.push({ samples: waiting.length, series: seriesAmong(waiting) });
        }
        pressure.set(false);
        if (pending !== 0) {
          // Never expected: keeps the counters' invariant even if a settlement was missed.
          logger.error({ samples: pending }, 'samples without an outcome at the end of the pipeline; counted as aborted');
          unsettled.push({ samples: pending, series: 0 });
          metrics.samplesDropped('aborted', pending);
          pending = 0;
        }
        return unsettled;
      };

      /** Emits the outcomes of what `abandon` counted. */
      const tell = (unsettled: readonly UnsettledSamples[]): void => {
        for (const part of unsettled) {
          if (subscriber.closed) return;
          if (part.replayed === true) continue;
          const lost = part.lostAs?.();
          if (lost !== undefined) {
            subscriber.next({ type: 'dropped', reason: lost.reason, samples: part.samples, series: part.series, attempts: 0, message: lost.message });
          } else if (part.spooled === true && spool?.usable !== false) {
            subscriber.next({ type: 'dropped', reason: 'spooled', samples: part.samples, series: part.series, attempts: 0, message: 'the pipeline ended while these samples were in the spool; the next start sends them' });
          } else {
            subscriber.next({ type: 'dropped', reason: 'aborted', samples: part.samples, series: part.series, attempts: 0, message: 'the pipeline ended before these samples were written' });
          }
        }
      };

      /** Ends the pipeline with an error, after the outcomes of everything accepted. */
      const end = (error: unknown): void => {
        if (ended) return;
        ended = true;
        const unsettled = abandon();
        dropLog.flush();
        const appending = unsettled.flatMap((part) => (part.appending !== undefined ? [part.appending] : []));
        if (spool === undefined || appending.length === 0) {
          tell(unsettled);
          subscriber.error(error);
          return;
        }
        // Samples on their way into the spool are told 'spooled' only once they are there: an
        // append that fails meanwhile moves them to 'aborted' in the counters, and so here. Closing
        // the spool settles every append (one waiting for space is refused).
        input?.unsubscribe();
        endingWithError = true;
        void Promise.allSettled([spool.close(), ...appending]).then(() => {
          tell(unsettled);
          subscriber.error(error);
        });
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
          const mark = replayMarks.size > 0 ? replayMarks.get(series.key) : undefined;
          if (mark !== undefined && millis > mark.from && millis <= mark.through) {
            mark.from = millis;
            dropReason = 'replayed';
            return `timestamp ${millis} was accepted before the restart (spooled or written); not lost`;
          }
          dropReason = verdict;
          return `timestamp ${millis} is ${verdict === 'duplicate' ? 'the same as' : 'older than'} the newest accepted for its series`;
        }
        acceptedSeries = series;
        acceptedValue = value;
        acceptedMillis = millis;
        return null;
      };

      /** Samples received while the sink reads its spool at start (to know what it accepted before the restart); admitted after. */
      let starting: Sample[] | null = null;
      /** Settles once they are admitted: a checkpoint's flush waits for it (the source's position is past them). */
      let started: Promise<void> = Promise.resolve();

      const admit = (sample: Sample): void => {
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
          if (inMemory() >= maxPendingSamples) {
            return dropOne(sample, 'overflow', `more than ${maxPendingSamples} samples are waiting ${spool !== undefined ? 'in memory for the spool' : 'to be sent'}`);
          }
          pending++;
          held++;
          metrics.samplesAccepted(1);
          const series = acceptedSeries as SeriesRecord;
          acceptedSeries = null;
          if (replayMarks.size > 0) replayMarks.delete(series.key); // past its mark: the source has caught up
          series.acceptNewest(acceptedMillis);
          lanes.push(series, acceptedValue, acceptedMillis);
          pressure.level(inMemory());
      };

      // Restore: the order guard first, then (without a spool) the unwritten samples, queued before anything new.
      if (restored !== undefined) {
        for (const [key, newest] of Object.entries(restored.newest)) if (typeof newest === 'number') interner.restore(key, newest);
        // Marks a checkpoint carried from an earlier restart (the source had not caught up yet).
        for (const [key, through] of Object.entries(restored.replayed ?? {})) {
          if (typeof through !== 'number') continue;
          replayMarks.set(key, { from: restored.newest[key] ?? -Infinity, through });
          interner.restore(key, through);
        }
        if (spool === undefined && restored.unwritten !== undefined && restored.unwritten.length > 0) {
          for (const lane of lanes.all) lane.replaying = true;
          for (const [key, value, timestamp] of restored.unwritten) {
            const series = interner.restore(key, -Infinity);
            lanes.push(series, decodeValue(value), timestamp);
          }
          metrics.replayQueued(restored.unwritten.length);
          for (const lane of lanes.all) {
            lane.flush();
            lane.replaying = false;
          }
        }
      }
      if (spool !== undefined && restored?.spool !== undefined) {
        // What was spooled after the checkpoint was accepted before the restart: its samples,
        // regenerated by a pipeline replaying its source, must not be sent twice.
        const positions = restored.spool;
        const newestRestored = restored.newest;
        starting = [];
        pressure.set(true);
        started = spool.opened
          .then((opened) => scanSpooledSince(opened, positions))
          .then(({ newest, records, undecodable }) => {
            if (ended || subscriber.closed) return;
            for (const [key, through] of newest) {
              const from = newestRestored[key] ?? -Infinity;
              const known = replayMarks.get(key);
              if (through <= from || (known !== undefined && through <= known.through)) continue;
              replayMarks.set(key, { from, through });
              interner.restore(key, through);
            }
            if (undecodable > 0) logger.warn({ records, undecodable }, 'spooled records that could not be decoded were skipped when restoring the order guard');
            logger.info({ records, series: replayMarks.size }, 'order guard restored from the checkpoint and the spool');
            const waiting = starting ?? [];
            starting = null;
            pressure.level(inMemory());
            for (const sample of waiting) admit(sample);
            if (sourceDone && !ended) {
              for (const lane of lanes.all) lane.flush();
              completeWhenIdle();
            }
          })
          .catch((error: unknown) => {
            if (!ended) logger.error({ error: describeError(error) }, 'the spool could not be read at start');
            end(error);
          });
      }

      // Validation, interning and the order guard happen before batching, in arrival order.
      input = source.subscribe({
        next(sample) {
          metrics.sampleIn();
          if (starting !== null && !ended && !subscriber.closed) {
            if (starting.length >= maxPendingSamples) return dropOne(sample, 'overflow', `more than ${maxPendingSamples} samples arrived while the sink was starting`);
            starting.push(sample);
            return;
          }
          admit(sample);
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

      // Checkpoints: the guard and (with a spool) each lane's position, or the unwritten samples.
      const detachState = config.state?.attach({
        snapshot: (): RemoteWriteState => {
          const newest = snapshotGuard(interner);
          // A series still under a replay mark: its newest is what the source has rebuilt, the mark goes along.
          const replayed: Record<string, number> = {};
          for (const [key, mark] of replayMarks) {
            if (mark.from === -Infinity) delete newest[key];
            else newest[key] = mark.from;
            replayed[key] = mark.through;
          }
          const marks = replayMarks.size > 0 ? { replayed } : {};
          // Still reading the spool at start: the marks of what the earlier run spooled after its
          // checkpoint are not known yet, so this checkpoint keeps the restored positions and a
          // restart from it reads those records again (the current positions would skip them).
          if (spool !== undefined) return { version: 1, newest, ...marks, spool: starting !== null && restored?.spool !== undefined ? { ...restored.spool } : spool.positions() };
          const unwritten: Array<readonly [string, number | string, number]> = [];
          lanes.forEachUnsettled((series, value, timestamp) => unwritten.push([series.key, encodeValue(value), timestamp]));
          return { version: 1, newest, ...marks, unwritten };
        },
        flush: async (): Promise<void> => {
          // Some of what the checkpoint's position covers may be lost (a failed append): it must not be saved.
          if (endingWithError) throw new Error('rxprom: the sink is ending with an error; a checkpoint now could cover samples that are not in the spool');
          if (spool === undefined || ended) return;
          await started;
          // Every batch cut and fsynced: the checkpoint never refers to samples only in memory.
          for (const lane of lanes.all) lane.flush();
          await spool.flush();
        },
        checkpointed: (snapshot: RemoteWriteState): void => {
          if (spool === undefined || snapshot.spool === undefined) return;
          spool.release(snapshot.spool).catch((error: unknown) => logger.warn({ error: describeError(error) }, 'the spool could not release what the checkpoint covers'));
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

      // Every second: the future bound's clock reading expires (a wall clock may be stepped back),
      // and drops summed up during a burst are logged once their interval has passed.
      const everySecond: Subscription = scheduler.schedule(function tick() {
        timestampGuard.expire();
        dropLog.logDue();
        this.schedule(undefined, TICK_MS);
      }, TICK_MS);

      return () => {
        ended = true;
        everySecond.unsubscribe();
        detachState?.();
        input?.unsubscribe();
        abandon();
        spool?.close().catch((error: unknown) => logger.error({ error: describeError(error) }, 'the spool failed to close'));
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

  const series = (labels: Labels): Labels => seriesHandle(labels, config.validation);
  return Object.assign(operator, { metrics, pressure: pressure.changes, series });
}

/** Longest a clock reading of the future bound stands, and how often due drop sums are logged (ms). */
const TICK_MS = 1000;
/** Drops of one reason are logged at most this often (the first at once, then sums). */
const DROP_LOG_INTERVAL_MS = 10_000;

/** The user's logger, made safe to call: a logger that throws must not cost a sample its outcome. */
function guardLogger(logger: Logger): Logger {
  return {
    debug: (fields, message) => ignoringFailure(() => logger.debug?.(fields, message)),
    info: (fields, message) => ignoringFailure(() => logger.info(fields, message)),
    warn: (fields, message) => ignoringFailure(() => logger.warn(fields, message)),
    error: (fields, message) => ignoringFailure(() => logger.error(fields, message)),
  };
}

/**
 * Calls a user's log method: a throw is ignored, and so is a promise it returns that rejects (an
 * async logger whose service is down), which would otherwise be an unhandled rejection and end
 * the process. A broken logger is the user's to notice; the sink goes on.
 */
function ignoringFailure(call: () => unknown): void {
  try {
    const result = call();
    if (typeof result === 'object' && result !== null && typeof (result as PromiseLike<unknown>).then === 'function') {
      (result as PromiseLike<unknown>).then(undefined, () => {});
    }
  } catch {
    // Ignored: see above.
  }
}

/** Distinct series among samples that were never read (a sample that cannot be read counts once, with the other unreadable ones). */
function seriesAmong(samples: readonly Sample[]): number {
  const keys = new Set<string>();
  for (const sample of samples) {
    try {
      keys.add(cachedLabelsKey((sample as Partial<Sample> | null)?.labels));
    } catch {
      keys.add('');
    }
  }
  return keys.size;
}

function describeError(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return 'an unprintable error';
  }
}
