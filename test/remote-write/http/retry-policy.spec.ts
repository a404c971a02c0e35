import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRetryAfter, RetryPolicy } from '../../../src/remote-write/http/retry-policy.js';
import { ConfigError } from '../../../src/core/errors.js';

describe('RetryPolicy', () => {
  it('doubles from initialDelayMs up to maxDelayMs', () => {
    const policy = new RetryPolicy({ initialDelayMs: 30, maxDelayMs: 5000, jitter: 0 });
    assert.deepEqual([1, 2, 3, 4, 8, 9, 50, 2000].map((n) => policy.delayMs(n)), [30, 60, 120, 240, 3840, 5000, 5000, 5000]);
  });

  it('jitter takes up to that fraction off the delay', () => {
    assert.equal(new RetryPolicy({ jitter: 0.5 }, () => 1).delayMs(1), 15);
    assert.equal(new RetryPolicy({ jitter: 0.5 }, () => 0).delayMs(1), 30);
  });

  it('Retry-After overrides the computed delay, capped by maxRetryAfterMs', () => {
    const policy = new RetryPolicy({ jitter: 0, maxRetryAfterMs: 10_000 });
    assert.equal(policy.delayMs(1, '2'), 2000);
    assert.equal(policy.delayMs(1, '600'), 10_000);
    assert.equal(policy.delayMs(1, new Date(61_000).toUTCString(), 60_000), 1000);
    assert.equal(policy.delayMs(3, 'soon'), 120);
  });

  it('rejects bad options, naming the option and its range', () => {
    assert.throws(() => new RetryPolicy({ maxRetries: -1 }), (e: unknown) => e instanceof ConfigError && /retry\.maxRetries.*\[0, 1000000\]/.test(e.message));
    assert.throws(() => new RetryPolicy({ jitter: 2 }), /retry\.jitter/);
    assert.throws(() => new RetryPolicy({ initialDelayMs: 100, maxDelayMs: 10 }), /retry\.maxDelayMs.*\[100, /);
  });

  it('parses Retry-After forms', () => {
    assert.equal(parseRetryAfter('3'), 3000);
    assert.equal(parseRetryAfter(' 0.5 '), 500);
    assert.equal(parseRetryAfter(undefined), undefined);
    assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:00 GMT')), 60_000);
  });
});
