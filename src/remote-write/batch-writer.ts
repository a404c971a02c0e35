/**
 * Writes one lane batch to its end: sends it through the `WriteClient` (which retries in place)
 * and turns each final answer into a `WriteOutcome` per the sink's policies, reporting the events
 * to the metrics.
 *
 * A batch refused with 400 is halved and each half sent again, first half first, recursively, so
 * that what is lost is the refused samples and not their batch-mates (a receiver such as
 * Prometheus refuses a whole request for one bad sample). Each halving costs at most two
 * requests; a batch is halved at most `maxRefusalSplits` times, then a refused piece is dropped
 * whole. A half that follows a half written whole must hold the refused sample, so it is halved
 * at once without being sent as is: one bad sample in n costs between log2(n) and 2·log2(n)
 * extra requests.
 *
 * Halving happens under either `onNonRetryable` policy: with `'fail'` the pipeline then fails on
 * the refused sample itself, its batch-mates sent before it written. A policy of `'fail'` (and a
 * fatal 401/403/404) ends in a `RemoteWriteError` after the outcome that accounts for the refused
 * piece; the rest of the batch is left unsettled for the sink.
 *
 * A replayed batch (sent again after a restart: a spool record or samples a checkpoint carried)
 * is counted apart (`metrics.replayed`), and when the receiver refuses it with the 400 Prometheus
 * gives a sample it already holds (`out of order sample`, `duplicate sample for timestamp`), the
 * batch was written before the restart: it is settled as `'replayed'`, not halved, not a loss.
 * Prometheus refuses a request as a whole, so such a record was either stored whole or not at all.
 * A record the earlier run left sent in part resumes at its first unsettled sample, and the piece
 * that run may have had stored is sent alone first (`LaneBatch.mayBeStoredThrough`): the same
 * reasoning then holds per piece.
 */
import { classifyStatus } from './http/classify.js';
import type { EncodedRequest, SampleColumns, WriteRequestEncoder } from '../protocol/encoder.js';
import { RemoteWriteError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { DropReason, Sample, WriteOutcome } from '../core/model.js';
import { decodeLabelsKey } from '../core/series-key.js';
import type { LaneBatch } from './lane.js';
import type { BatchMetrics, RemoteWriteMetrics } from './metrics.js';
import type { WriteClient, WriteResult } from './http/write-client.js';

export interface BatchWriterOptions {
  readonly onMaxRetriesExceeded: 'fail' | 'discard';
  readonly onNonRetryable: 'discard' | 'fail';
  /** Halvings spent at most to isolate the samples refused (400) in one batch; 0 drops a refused batch whole. */
  readonly maxRefusalSplits: number;
  readonly metrics: RemoteWriteMetrics;
  /** Must not throw (the sink wraps the user's logger). */
  readonly logger: Logger;
  /**
   * Sees every answer, halved pieces included, before it is acted on; an error it returns ends the
   * pipeline at once, the answered piece dropped with it (the sink's check for a wrong URL path,
   * which must not wait for a refused batch to be halved down to single samples).
   */
  readonly onAnswer?: (result: WriteResult, samples: number) => RemoteWriteError | undefined;
  /**
   * The sink restarted from a checkpoint without a spool: what it regenerates may have been written
   * before the restart, and the receiver refuses it as already stored, several samples per series
   * and batch. Such refusals are halved past `maxRefusalSplits` (at most 2n − 1 requests for a
   * batch of n), so that they never take never-stored batch-mates with them.
   */
  readonly regeneratedMayBeStored?: boolean;
}

/** A range of a batch to send; `request` is its body when already encoded. */
interface Piece {
  readonly start: number;
  readonly end: number;
  readonly request: EncodedRequest | null;
  /** For a second half: the refusals seen when it was made. None since means its first half was written whole. */
  readonly refusalsAtSplit: number;
  /** Made from a piece the receiver refused as already stored. */
  readonly fromStoredRefusal: boolean;
}

interface OutcomeDetail {
  readonly samples: number;
  readonly series: number;
  readonly attempts: number;
  readonly status?: number;
  readonly responseBody?: string;
}

export class BatchWriter {
  /** Requests of this writer being sent or retried now (the metrics may sum several sinks). */
  private inFlight = 0;

  constructor(
    private readonly options: BatchWriterOptions,
    private readonly encoder: WriteRequestEncoder,
    private readonly client: WriteClient,
  ) {}

  /** Requests this writer has in flight now: its sink's own, whoever else shares the metrics. */
  get requestsInFlight(): number {
    return this.inFlight;
  }

  /**
   * Encodes a batch now, to be sent later. The sink encodes a batch as soon as it is full, so
   * that when a lane's previous request is answered the next body is ready: encoding is then off
   * the path between an answer and the next request, where it would leave the connection idle.
   */
  encode(columns: SampleColumns): EncodedRequest {
    return this.encoder.encode(columns);
  }

  /**
   * Sends `batch` until every sample in it has an outcome, reporting each outcome through
   * `report` once the counters and `batch.settled` account for it. Resolves with the error that
   * must end the pipeline, if any. Once `signal` aborts it stops, without an outcome and without
   * touching the counters: the sink accounts for what is left unsettled.
   */
  async write(batch: LaneBatch, signal: AbortSignal, report: (outcome: WriteOutcome) => void): Promise<RemoteWriteError | undefined> {
    let columns = batch.columns;
    /** Pieces are told to `beforePiece` while their bounds index the columns a restart reads back. */
    let marking = batch.beforePiece !== undefined;
    const metrics: BatchMetrics = batch.replayed === true ? this.options.metrics.replayed : this.options.metrics;
    const pieces: Piece[] = [{ start: batch.settled, end: columns.length, request: batch.settled === 0 ? batch.request : null, refusalsAtSplit: -1, fromStoredRefusal: false }];
    const through = batch.mayBeStoredThrough;
    if (through !== undefined && through > batch.settled && through < columns.length) {
      // The piece an earlier run may have had stored goes first, alone (see `LaneBatch`).
      pieces[0] = { start: through, end: columns.length, request: null, refusalsAtSplit: -1, fromStoredRefusal: false };
      pieces.push({ start: batch.settled, end: through, request: null, refusalsAtSplit: -1, fromStoredRefusal: false });
    }
    // Past the budget, only refusals of what a restart may have regenerated are still halved.
    const mayHalve = (stored: boolean): boolean => splits < this.options.maxRefusalSplits || (stored && this.options.regeneratedMayBeStored === true);
    let splits = 0;
    let refusals = 0;
    while (pieces.length > 0) {
      const piece = pieces.pop() as Piece;
      const size = piece.end - piece.start;
      if (piece.refusalsAtSplit === refusals && size > 1 && mayHalve(piece.fromStoredRefusal)) {
        // Its first half was written whole, so this half holds what was refused: halve it unsent.
        splits++;
        metrics.requestSplit();
        pushHalves(pieces, piece, refusals, piece.fromStoredRefusal);
        continue;
      }
      const request = piece.request ?? this.encoder.encode(slice(columns, piece.start, piece.end));
      // A spooled batch's progress is saved before a piece goes: a crash then never leaves a piece stored that a restart would send again inside a larger one.
      if (marking && batch.beforePiece !== undefined && (piece.start > 0 || piece.end < columns.length)) {
        await batch.beforePiece(piece.start, piece.end);
        if (signal.aborted) return undefined;
      }
      const result = await this.send(request, signal, metrics);
      if (result === undefined || signal.aborted) return undefined;
      if (batch.replayed === true && result.kind === 'response' && result.status === 400 && ALREADY_STORED.test(result.body)) {
        metrics.requestFailed('replayed', request.samples);
        batch.settled = piece.end;
        this.options.logger.debug?.({ samples: request.samples, responseBody: result.body }, 'replayed request already stored by the receiver');
        report({ type: 'dropped', reason: 'replayed', message: 'the receiver already had these replayed samples (written before the restart)', samples: request.samples, series: request.series, attempts: result.attempts, status: 400, responseBody: result.body });
        if (signal.aborted) return undefined;
        continue;
      }
      const stop = this.options.onAnswer?.(result, request.samples);
      if (stop !== undefined) {
        const detail = { samples: request.samples, series: request.series, attempts: result.attempts, ...(result.kind === 'response' ? { status: result.status, responseBody: result.body } : {}) };
        metrics.requestFailed('non-retryable', detail.samples);
        batch.settled = piece.end;
        // Named when refused alone, as in every other outcome of a single refused sample.
        report({ type: 'dropped', reason: 'non-retryable', message: stop.message, ...detail, ...(size === 1 ? { sample: sampleAt(columns, piece.start) } : {}) });
        return stop;
      }
      if (result.kind === 'response' && result.status === 400 && size > 1 && mayHalve(ALREADY_STORED.test(result.body))) {
        refusals++;
        splits++;
        metrics.requestSplit();
        this.options.logger.debug?.({ samples: size, status: 400, responseBody: result.body }, 'request refused; sending it again in halves');
        if (batch.inBodyOrder !== undefined && columns === batch.columns) {
          // First halving of a spooled batch: in the body's order, so that its progress marks hold after a restart.
          try {
            if (piece.start !== 0 || piece.end !== columns.length) throw new Error('not the whole batch');
            columns = batch.inBodyOrder();
          } catch {
            // Halved in the lane's order, which a restart cannot read back: no progress marks for it (replayed whole, at least once).
            marking = false;
            batch.beforePiece = undefined;
          }
        }
        pushHalves(pieces, piece, refusals, ALREADY_STORED.test(result.body));
        continue;
      }
      if (result.kind === 'response' && classifyStatus(result.status) !== 'written') refusals++;
      const settled = this.settle(request, result, metrics);
      batch.settled = piece.end;
      // A sample refused alone is named in its outcome, rebuilt from what was sent.
      report(size === 1 && settled.outcome.type === 'dropped' ? { ...settled.outcome, sample: sampleAt(columns, piece.start) } : settled.outcome);
      if (settled.error !== undefined) return settled.error;
      if (signal.aborted) return undefined; // the report ended the subscription
    }
    return undefined;
  }

  /** Sends one request; undefined when `signal` aborted first (the request is then abandoned). */
  private send(request: EncodedRequest, signal: AbortSignal, metrics: BatchMetrics): Promise<WriteResult | undefined> {
    if (signal.aborted) return Promise.resolve(undefined);
    metrics.requestStarted();
    this.inFlight++;
    return new Promise<WriteResult | undefined>((resolve) => {
      let ended = false;
      const end = (result: WriteResult | undefined): void => {
        if (ended) return;
        ended = true;
        signal.removeEventListener('abort', onAbort);
        metrics.requestEnded();
        this.inFlight--;
        resolve(signal.aborted ? undefined : result);
      };
      // A client may settle late, or never, after an abort: the request ends now for the sink.
      const onAbort = (): void => end(undefined);
      signal.addEventListener('abort', onAbort);
      let sent: Promise<WriteResult>;
      try {
        sent = this.client.send(request.body, signal);
      } catch (error) {
        sent = Promise.reject(error);
      }
      sent.then(end, (error: unknown) => {
        // A client rejects only on abort; anything else is a broken client, reported as a network error.
        end(signal.aborted ? undefined : { kind: 'network-error', message: `client failed: ${describe(error)}`, code: undefined, attempts: 1 });
      });
    });
  }

  /** The outcome of a final answer to `request`, with the counters updated. */
  private settle(request: EncodedRequest, result: WriteResult, metrics: BatchMetrics): { outcome: WriteOutcome; error?: RemoteWriteError } {
    const base = { samples: request.samples, series: request.series, attempts: result.attempts };
    if (result.kind === 'response') {
      const verdict = classifyStatus(result.status);
      if (verdict === 'written') {
        metrics.requestWritten(request.samples, request.body.length);
        return { outcome: { type: 'written', ...base, status: result.status } };
      }
      const detail = { ...base, status: result.status, responseBody: result.body };
      if (verdict === 'fatal') {
        return this.fail(metrics, 'fatal', detail, result.message ?? `receiver answered ${result.status}: check the URL and the credentials`);
      }
      if (verdict === 'non-retryable') {
        if (this.options.onNonRetryable === 'fail') {
          return this.fail(metrics, 'non-retryable', detail, `receiver rejected the request with ${result.status}`);
        }
        return this.discard(metrics, 'non-retryable', detail, `receiver rejected the request with ${result.status}; request discarded`);
      }
      // Retryable status, but the retries are used up.
      return this.maxRetries(metrics, detail, `still ${result.status} after ${result.attempts} attempts`);
    }
    this.options.logger.debug?.({ error: result.message }, 'network error');
    return this.maxRetries(metrics, { ...base }, `${result.message} after ${result.attempts} attempts`);
  }

  private maxRetries(metrics: BatchMetrics, detail: OutcomeDetail, message: string): { outcome: WriteOutcome; error?: RemoteWriteError } {
    if (this.options.onMaxRetriesExceeded === 'fail') return this.fail(metrics, 'max-retries', detail, message);
    return this.discard(metrics, 'max-retries', detail, `${message}; request discarded`);
  }

  private discard(metrics: BatchMetrics, reason: DropReason, detail: OutcomeDetail, message: string): { outcome: WriteOutcome } {
    metrics.requestFailed(reason, detail.samples);
    this.options.logger.warn({ reason, samples: detail.samples, status: detail.status, responseBody: detail.responseBody }, message);
    return { outcome: { type: 'dropped', reason, message, ...detail } };
  }

  private fail(metrics: BatchMetrics, reason: DropReason, detail: OutcomeDetail, message: string): { outcome: WriteOutcome; error: RemoteWriteError } {
    metrics.requestFailed(reason, detail.samples);
    this.options.logger.error({ reason, samples: detail.samples, status: detail.status, responseBody: detail.responseBody }, message);
    const error = new RemoteWriteError(`rxprom: ${message}`, detail.status, detail.responseBody, detail.samples, detail.attempts);
    return { outcome: { type: 'dropped', reason, message, ...detail }, error };
  }
}

/** Prometheus' answers to a sample it already holds (the whole request is refused, nothing stored). */
const ALREADY_STORED = /out of order sample|duplicate sample for timestamp/i;

/** Queues a piece's halves so that the first half is sent (and settled) first. */
function pushHalves(pieces: Piece[], piece: Piece, refusals: number, fromStoredRefusal: boolean): void {
  const middle = piece.start + Math.ceil((piece.end - piece.start) / 2);
  pieces.push({ start: middle, end: piece.end, request: null, refusalsAtSplit: refusals, fromStoredRefusal });
  pieces.push({ start: piece.start, end: middle, request: null, refusalsAtSplit: -1, fromStoredRefusal });
}

/** A view of `[start, end)` of a batch (the series list is copied, the numbers are not). */
function slice(columns: SampleColumns, start: number, end: number): SampleColumns {
  if (start === 0 && end === columns.length) return columns;
  return {
    length: end - start,
    series: columns.series.slice(start, end),
    values: columns.values.subarray(start, end),
    timestamps: columns.timestamps.subarray(start, end),
  };
}

function sampleAt(columns: SampleColumns, index: number): Sample {
  return { labels: { ...decodeLabelsKey(columns.series[index].key) }, value: columns.values[index], timestamp: columns.timestamps[index] };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
