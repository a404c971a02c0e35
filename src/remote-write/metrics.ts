/**
 * The sink's counters, with the Flink connector's meanings, readable at any time.
 *
 * They change only through one method per event (as the Flink connector's `SinkMetricsCallback`),
 * so every count is kept in one place and the invariant
 * `samplesIn = samplesWritten + samplesDroppedTotal + samplesPending` holds between any two events.
 * One object may be shared by several sinks: it sums them. It holds no control state: a sink's
 * admission (`maxPendingSamples`) uses its subscription's own count, never this one.
 */
import { DROP_REASONS, NOT_LOST_REASONS, type DropReason } from '../core/model.js';

export interface RemoteWriteMetricsSnapshot {
  /** Samples that entered the sink. */
  readonly samplesIn: number;
  /** Samples in requests the receiver accepted (Flink: numSamplesOut). */
  readonly samplesWritten: number;
  /** Requests the receiver accepted (Flink: numWriteRequestsOut). */
  readonly requestsWritten: number;
  /** Retries of a request, all causes (Flink: numWriteRequestsRetries). */
  readonly requestRetries: number;
  /** Samples dropped, by reason (Flink: numSamplesDropped and its breakdown). */
  readonly samplesDropped: Readonly<Record<DropReason, number>>;
  /** Total of `samplesDropped`. */
  readonly samplesDroppedTotal: number;
  /** `samplesDroppedTotal` without the reasons that are no loss (`'replayed'`, `'spooled'`). */
  readonly samplesLostTotal: number;
  /**
   * Samples of an earlier run sent again by this one: records replayed from the disk spool, or
   * unwritten samples a checkpoint carried. Outside `samplesIn` (they entered the earlier run):
   * `samplesReplayed = samplesReplayedWritten + samplesReplayedDropped (all reasons) + samplesReplayedPending`.
   */
  readonly samplesReplayed: number;
  readonly samplesReplayedWritten: number;
  /** By reason; `'replayed'` here means the receiver already had them (written before the restart). */
  readonly samplesReplayedDropped: Readonly<Record<DropReason, number>>;
  readonly samplesReplayedPending: number;
  /** Requests that ended without being written (Flink: numWriteRequestsPermanentlyFailed). */
  readonly requestsPermanentlyFailed: number;
  /** Requests refused with 400 and halved to isolate the refused samples. */
  readonly requestsSplit: number;
  /** Compressed bytes of requests accepted by the receiver. */
  readonly bytesWritten: number;
  /** Requests being sent or waiting to retry now. */
  readonly requestsInFlight: number;
  /** Samples accepted into lanes and not yet written or dropped. */
  readonly samplesPending: number;
  /** Series the sink currently remembers (interned, order-guarded). */
  readonly activeSeries: number;
}

function zeroDrops(): Record<DropReason, number> {
  const drops = {} as Record<DropReason, number>;
  for (const reason of DROP_REASONS) drops[reason] = 0;
  return drops;
}

/** The request events a batch writer reports: this run's samples, or (`metrics.replayed`) an earlier run's. */
export interface BatchMetrics {
  requestStarted(): void;
  requestEnded(): void;
  requestSplit(): void;
  requestWritten(samples: number, bytes: number): void;
  requestFailed(reason: DropReason, samples: number): void;
}

export class RemoteWriteMetrics implements BatchMetrics {
  private inCount = 0;
  private writtenCount = 0;
  private requestsWrittenCount = 0;
  private retryCount = 0;
  private permanentlyFailedCount = 0;
  private splitCount = 0;
  private bytesCount = 0;
  private inFlightCount = 0;
  private pendingCount = 0;
  private seriesCount = 0;
  private readonly drops: Record<DropReason, number> = zeroDrops();
  private replayedCount = 0;
  private replayedWrittenCount = 0;
  private replayedPendingCount = 0;
  private readonly replayedDrops: Record<DropReason, number> = zeroDrops();
  /** The request events of replayed samples, counted apart from this run's samples. */
  readonly replayed: BatchMetrics = {
    requestStarted: () => this.requestStarted(),
    requestEnded: () => this.requestEnded(),
    requestSplit: () => this.requestSplit(),
    requestWritten: (samples, bytes) => {
      this.replayedWrittenCount += samples;
      this.requestsWrittenCount++;
      this.bytesCount += bytes;
      this.replayedPendingCount -= samples;
    },
    requestFailed: (reason, samples) => {
      if (reason !== 'replayed') this.permanentlyFailedCount++;
      this.replayedDrops[reason] += samples;
      this.replayedPendingCount -= samples;
    },
  };

  // Events. Each is called once per event by the sink (or a client), never a field written from outside.

  /** A sample entered the sink. */
  sampleIn(): void {
    this.inCount++;
  }

  /** A sample was dropped before it was accepted into a lane (it was never pending). */
  sampleDropped(reason: DropReason): void {
    this.drops[reason]++;
  }

  /** Samples were accepted into a lane: pending until written or dropped. */
  samplesAccepted(samples: number): void {
    this.pendingCount += samples;
  }

  /** Accepted samples were dropped outside of a request's answer (e.g. `'aborted'`). */
  samplesDropped(reason: DropReason, samples: number): void {
    this.drops[reason] += samples;
    this.pendingCount -= samples;
  }

  /** Samples of an earlier run were queued to be sent again (see `samplesReplayed`). */
  replayQueued(samples: number): void {
    this.replayedCount += samples;
    this.replayedPendingCount += samples;
  }

  /** Replayed samples left without an answer (e.g. `'spooled'` again at the end of the run). */
  replayDropped(reason: DropReason, samples: number): void {
    this.replayedDrops[reason] += samples;
    this.replayedPendingCount -= samples;
  }

  /**
   * Dropped samples turn out to have another reason than first counted (samples counted as
   * `'spooled'` at the end of a run that the spool then dropped or failed to write).
   */
  samplesReclassified(from: DropReason, to: DropReason, samples: number): void {
    this.drops[from] -= samples;
    this.drops[to] += samples;
  }

  /** As `samplesReclassified`, for replayed samples. */
  replayReclassified(from: DropReason, to: DropReason, samples: number): void {
    this.replayedDrops[from] -= samples;
    this.replayedDrops[to] += samples;
  }

  /** A request was handed to the client. */
  requestStarted(): void {
    this.inFlightCount++;
  }

  /** A request started with `requestStarted` got its final answer or was abandoned. */
  requestEnded(): void {
    this.inFlightCount--;
  }

  /** A request was tried again. */
  requestRetried(): void {
    this.retryCount++;
  }

  /** The receiver accepted a request of `samples` samples and `bytes` body bytes. */
  requestWritten(samples: number, bytes: number): void {
    this.writtenCount += samples;
    this.requestsWrittenCount++;
    this.bytesCount += bytes;
    this.pendingCount -= samples;
  }

  /** A request ended unwritten; its samples are dropped for `reason`. */
  requestFailed(reason: DropReason, samples: number): void {
    this.permanentlyFailedCount++;
    this.drops[reason] += samples;
    this.pendingCount -= samples;
  }

  /** A request refused with 400 was halved, to be sent again as two. */
  requestSplit(): void {
    this.splitCount++;
  }

  /** The sink now remembers `count` series. */
  activeSeriesCounted(count: number): void {
    this.seriesCount = count;
  }

  // Readers. `snapshot()` reads everything at once (drops by reason included); a getter reads one counter cheaply.

  get samplesIn(): number {
    return this.inCount;
  }
  get samplesWritten(): number {
    return this.writtenCount;
  }
  get requestsWritten(): number {
    return this.requestsWrittenCount;
  }
  get requestRetries(): number {
    return this.retryCount;
  }
  get requestsPermanentlyFailed(): number {
    return this.permanentlyFailedCount;
  }
  get requestsSplit(): number {
    return this.splitCount;
  }
  get bytesWritten(): number {
    return this.bytesCount;
  }
  get requestsInFlight(): number {
    return this.inFlightCount;
  }
  get samplesPending(): number {
    return this.pendingCount;
  }
  get activeSeries(): number {
    return this.seriesCount;
  }

  snapshot(): RemoteWriteMetricsSnapshot {
    let total = 0;
    for (const reason of DROP_REASONS) total += this.drops[reason];
    let notLost = 0;
    for (const reason of NOT_LOST_REASONS) notLost += this.drops[reason];
    return {
      samplesIn: this.inCount,
      samplesWritten: this.writtenCount,
      requestsWritten: this.requestsWrittenCount,
      requestRetries: this.retryCount,
      samplesDropped: { ...this.drops },
      samplesDroppedTotal: total,
      samplesLostTotal: total - notLost,
      samplesReplayed: this.replayedCount,
      samplesReplayedWritten: this.replayedWrittenCount,
      samplesReplayedDropped: { ...this.replayedDrops },
      samplesReplayedPending: this.replayedPendingCount,
      requestsPermanentlyFailed: this.permanentlyFailedCount,
      requestsSplit: this.splitCount,
      bytesWritten: this.bytesCount,
      requestsInFlight: this.inFlightCount,
      samplesPending: this.pendingCount,
      activeSeries: this.seriesCount,
    };
  }

  /** The counters in the Prometheus text exposition format, for a `/metrics` endpoint. */
  toPrometheusText(prefix = 'rxprom_remote_write_'): string {
    const s = this.snapshot();
    const lines: string[] = [];
    const emit = (name: string, type: 'counter' | 'gauge', help: string, value: number, labels = ''): void => {
      if (labels === '' || !lines.some((l) => l.startsWith(`# TYPE ${prefix}${name} `))) {
        lines.push(`# HELP ${prefix}${name} ${help}`, `# TYPE ${prefix}${name} ${type}`);
      }
      lines.push(`${prefix}${name}${labels} ${value}`);
    };
    emit('samples_in_total', 'counter', 'Samples that entered the sink.', s.samplesIn);
    emit('samples_written_total', 'counter', 'Samples accepted by the receiver.', s.samplesWritten);
    emit('requests_written_total', 'counter', 'Requests accepted by the receiver.', s.requestsWritten);
    emit('request_retries_total', 'counter', 'Request retries.', s.requestRetries);
    for (const reason of DROP_REASONS) {
      emit('samples_dropped_total', 'counter', 'Samples dropped, by reason.', s.samplesDropped[reason], `{reason="${reason}"}`);
    }
    emit('samples_replayed_total', 'counter', 'Samples of an earlier run sent again (spool replay, checkpointed samples).', s.samplesReplayed);
    emit('samples_replayed_written_total', 'counter', 'Replayed samples accepted by the receiver.', s.samplesReplayedWritten);
    emit('requests_permanently_failed_total', 'counter', 'Requests that ended unwritten.', s.requestsPermanentlyFailed);
    emit('requests_split_total', 'counter', 'Requests refused with 400 and halved to isolate the refused samples.', s.requestsSplit);
    emit('bytes_written_total', 'counter', 'Compressed bytes accepted by the receiver.', s.bytesWritten);
    emit('requests_in_flight', 'gauge', 'Requests being sent or waiting to retry.', s.requestsInFlight);
    emit('samples_pending', 'gauge', 'Samples in lanes, not yet written or dropped.', s.samplesPending);
    emit('active_series', 'gauge', 'Series the sink remembers.', s.activeSeries);
    return lines.join('\n') + '\n';
  }
}
