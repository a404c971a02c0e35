import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DROP_REASONS, sample, STALE_NAN } from '../../src/core/model.js';

describe('the data model', () => {
  it('sample() builds a sample, stamped now unless given a timestamp', () => {
    const labels = { __name__: 'm' };
    assert.deepEqual(sample(labels, 1.5, 1000), { labels, value: 1.5, timestamp: 1000 });
    const before = Date.now();
    const stamped = sample(labels, 2);
    assert.ok(stamped.timestamp >= before && stamped.timestamp <= Date.now());
    assert.equal(stamped.labels, labels, 'the label object is kept as is (the sink recognises it by identity)');
  });

  it('STALE_NAN is the NaN with Prometheus\' stale-marker bits', () => {
    assert.ok(Number.isNaN(STALE_NAN));
    // Through a DataView, as the encoder writes doubles (an array literal would quiet the NaN).
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, STALE_NAN, true);
    assert.equal(view.getBigUint64(0, true), 0x7ff0000000000002n);
  });

  it('DROP_REASONS lists every reason once', () => {
    assert.equal(new Set(DROP_REASONS).size, DROP_REASONS.length);
    for (const reason of ['invalid', 'out-of-order', 'duplicate', 'non-retryable', 'max-retries', 'fatal', 'overflow', 'too-far-in-future', 'too-old', 'aborted']) {
      assert.ok(DROP_REASONS.includes(reason as never), reason);
    }
  });
});
