/**
 * Writes one batch: encodes it, sends it through the `WriteClient` (which retries in place), and
 * turns the final answer into a `WriteOutcome` per the sink's policies, updating the counters.
 * A policy of `'fail'` (and a fatal 401/403/404) ends in a `RemoteWriteError` after the outcome
 * that accounts for the batch.
 */
import { classifyStatus } from './http/classify.js';
import type { EncodedRequest, PreparedSample, SampleColumns, WriteRequestEncoder } from '../protocol/encoder.js';
import { RemoteWriteError } from '../core/errors.js';
import type { DropReason, WriteOutcome } from '../core/model.js';
import type { ResolvedRemoteWriteOptions } from './options.js';
import type { WriteClient } from './http/write-client.js';

export type BatchResult =
  | { readonly outcome: WriteOutcome; readonly error?: undefined }
  | { readonly outcome: WriteOutcome; readonly error: RemoteWriteError };

export class BatchWriter {
  constructor(
    private readonly options: ResolvedRemoteWriteOptions,
    private readonly encoder: WriteRequestEncoder,
    private readonly client: WriteClient,
  ) {}

  async write(batch: readonly PreparedSample[] | SampleColumns, signal: AbortSignal): Promise<BatchResult> {
    return this.send(this.encode(batch), signal);
  }

  /**
   * Encodes a batch now, to be sent later with `send`. The sink encodes a batch as soon as it is
   * full, so that when a lane's previous request is answered the next body is ready: encoding is
   * then off the path between an answer and the next request, where it would leave the
   * connection idle.
   */
  encode(batch: readonly PreparedSample[] | SampleColumns): EncodedRequest {
    return this.encoder.encode(batch);
  }

  async send(request: EncodedRequest, signal: AbortSignal): Promise<BatchResult> {
    const { metrics, logger } = this.options;
    metrics.requestsInFlight++;
    let result;
    try {
      result = await this.client.send(request.body, signal);
    } finally {
      metrics.requestsInFlight--;
    }
    metrics.samplesPending -= request.samples;
    const base = { samples: request.samples, series: request.series, attempts: result.attempts };

    if (result.kind === 'response') {
      const verdict = classifyStatus(result.status);
      if (verdict === 'written') {
        metrics.samplesWritten += request.samples;
        metrics.requestsWritten++;
        metrics.bytesWritten += request.body.length;
        return { outcome: { type: 'written', ...base, status: result.status } };
      }
      const detail = { ...base, status: result.status, responseBody: result.body };
      if (verdict === 'fatal') {
        return this.fail('fatal', detail, result.message ?? `receiver answered ${result.status}: check the URL and the credentials`);
      }
      if (verdict === 'non-retryable') {
        if (this.options.onNonRetryable === 'fail') {
          return this.fail('non-retryable', detail, `receiver rejected the request with ${result.status}`);
        }
        return this.discard('non-retryable', detail, `receiver rejected the request with ${result.status}; request discarded`);
      }
      // Retryable status, but the retries are used up.
      return this.maxRetries(detail, `still ${result.status} after ${result.attempts} attempts`);
    }
    logger.debug?.({ error: result.message }, 'network error');
    return this.maxRetries({ ...base }, `${result.message} after ${result.attempts} attempts`);
  }

  private maxRetries(detail: OutcomeDetail, message: string): BatchResult {
    if (this.options.onMaxRetriesExceeded === 'fail') return this.fail('max-retries', detail, message);
    return this.discard('max-retries', detail, `${message}; request discarded`);
  }

  private discard(reason: DropReason, detail: OutcomeDetail, message: string): BatchResult {
    const { metrics, logger } = this.options;
    metrics.drop(reason, detail.samples);
    metrics.requestsPermanentlyFailed++;
    logger.warn({ reason, samples: detail.samples, status: detail.status, responseBody: detail.responseBody }, message);
    return { outcome: { type: 'dropped', reason, message, ...detail } };
  }

  private fail(reason: DropReason, detail: OutcomeDetail, message: string): BatchResult {
    const { metrics, logger } = this.options;
    metrics.drop(reason, detail.samples);
    metrics.requestsPermanentlyFailed++;
    logger.error({ reason, samples: detail.samples, status: detail.status, responseBody: detail.responseBody }, message);
    const error = new RemoteWriteError(`rxprom: ${message}`, detail.status, detail.responseBody, detail.samples, detail.attempts);
    return { outcome: { type: 'dropped', reason, message, ...detail }, error };
  }
}

interface OutcomeDetail {
  readonly samples: number;
  readonly series: number;
  readonly attempts: number;
  readonly status?: number;
  readonly responseBody?: string;
}
