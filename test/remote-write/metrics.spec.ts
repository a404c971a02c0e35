import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RemoteWriteMetrics } from '../../src/remote-write/metrics.js';
import { DROP_REASONS } from '../../src/core/model.js';

/** samplesIn = written + dropped + pending, read from one snapshot. */
function balanced(metrics: RemoteWriteMetrics): boolean {
  const s = metrics.snapshot();
  return s.samplesIn === s.samplesWritten + s.samplesDroppedTotal + s.samplesPending;
}

describe('RemoteWriteMetrics', () => {
  it('starts at zero, with every drop reason present', () => {
    const s = new RemoteWriteMetrics().snapshot();
    assert.deepEqual(Object.keys(s.samplesDropped), [...DROP_REASONS]);
    assert.ok(Object.values(s.samplesDropped).every((n) => n === 0));
    assert.equal(s.samplesIn + s.samplesWritten + s.samplesPending + s.requestsInFlight + s.samplesDroppedTotal, 0);
  });

  it('keeps samplesIn = written + dropped + pending through every event', () => {
    const m = new RemoteWriteMetrics();
    for (let i = 0; i < 10; i++) m.sampleIn();
    m.sampleDropped('invalid');
    m.samplesAccepted(9);
    assert.ok(balanced(m));
    m.requestStarted();
    m.requestStarted();
    m.requestRetried();
    m.requestWritten(4, 120);
    m.requestEnded();
    m.requestFailed('non-retryable', 2);
    m.requestEnded();
    m.requestSplit();
    assert.ok(balanced(m));
    m.samplesDropped('aborted', 3);
    assert.ok(balanced(m));
    const s = m.snapshot();
    assert.deepEqual(
      [s.samplesIn, s.samplesWritten, s.samplesPending, s.samplesDroppedTotal, s.requestsWritten, s.requestsPermanentlyFailed, s.requestsSplit, s.requestRetries, s.bytesWritten, s.requestsInFlight],
      [10, 4, 0, 6, 1, 1, 1, 1, 120, 0],
    );
    assert.deepEqual([s.samplesDropped.invalid, s.samplesDropped['non-retryable'], s.samplesDropped.aborted], [1, 2, 3]);
  });

  it('reads single counters through getters, and a snapshot is a copy', () => {
    const m = new RemoteWriteMetrics();
    m.sampleIn();
    m.samplesAccepted(1);
    m.activeSeriesCounted(7);
    const before = m.snapshot();
    m.requestWritten(1, 10);
    assert.equal(before.samplesPending, 1);
    assert.equal(m.samplesPending, 0);
    assert.equal(m.samplesWritten, 1);
    assert.equal(m.activeSeries, 7);
    (before.samplesDropped as Record<string, number>)['invalid'] = 99;
    assert.equal(m.snapshot().samplesDropped.invalid, 0);
  });

  it('renders the Prometheus text format, one HELP/TYPE per family, every reason labelled', () => {
    const m = new RemoteWriteMetrics();
    m.sampleIn();
    m.samplesAccepted(1);
    m.samplesDropped('aborted', 1);
    const text = m.toPrometheusText();
    assert.match(text, /^rxprom_remote_write_samples_in_total 1$/m);
    assert.match(text, /^rxprom_remote_write_samples_dropped_total\{reason="aborted"\} 1$/m);
    assert.match(text, /^rxprom_remote_write_requests_split_total 0$/m);
    assert.match(text, /^# TYPE rxprom_remote_write_samples_pending gauge$/m);
    assert.equal(text.match(/^# TYPE rxprom_remote_write_samples_dropped_total counter$/gm)?.length, 1);
    assert.equal(text.match(/^rxprom_remote_write_samples_dropped_total\{/gm)?.length, DROP_REASONS.length);
    assert.match(m.toPrometheusText('x_'), /^x_samples_in_total 1$/m);
  });
});
