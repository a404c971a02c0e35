/**
 * The sink's counters, with the Flink connector's meanings, readable at any time.
 */
import { DROP_REASONS, type DropReason } from '../core/model.js';

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
  /** Requests that ended without being written (Flink: numWriteRequestsPermanentlyFailed). */
  readonly requestsPermanentlyFailed: number;
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

export class RemoteWriteMetrics {
  samplesIn = 0;
  samplesWritten = 0;
  requestsWritten = 0;
  requestRetries = 0;
  requestsPermanentlyFailed = 0;
  bytesWritten = 0;
  requestsInFlight = 0;
  samplesPending = 0;
  activeSeries = 0;
  readonly samplesDropped: Record<DropReason, number> = zeroDrops();

  drop(reason: DropReason, samples: number): void {
    this.samplesDropped[reason] += samples;
  }

  snapshot(): RemoteWriteMetricsSnapshot {
    let total = 0;
    for (const reason of DROP_REASONS) total += this.samplesDropped[reason];
    return {
      samplesIn: this.samplesIn,
      samplesWritten: this.samplesWritten,
      requestsWritten: this.requestsWritten,
      requestRetries: this.requestRetries,
      samplesDropped: { ...this.samplesDropped },
      samplesDroppedTotal: total,
      requestsPermanentlyFailed: this.requestsPermanentlyFailed,
      bytesWritten: this.bytesWritten,
      requestsInFlight: this.requestsInFlight,
      samplesPending: this.samplesPending,
      activeSeries: this.activeSeries,
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
    emit('requests_permanently_failed_total', 'counter', 'Requests that ended unwritten.', s.requestsPermanentlyFailed);
    emit('bytes_written_total', 'counter', 'Compressed bytes accepted by the receiver.', s.bytesWritten);
    emit('requests_in_flight', 'gauge', 'Requests being sent or waiting to retry.', s.requestsInFlight);
    emit('samples_pending', 'gauge', 'Samples in lanes, not yet written or dropped.', s.samplesPending);
    emit('active_series', 'gauge', 'Series the sink remembers.', s.activeSeries);
    return lines.join('\n') + '\n';
  }
}
