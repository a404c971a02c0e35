/**
 * The data model that flows through every rxprom pipeline.
 */

/** A label set. Must hold `__name__` (the metric name) when it reaches the sink. */
export type Labels = Readonly<Record<string, string>>;

/** One point of one series. `timestamp` is milliseconds since the epoch. */
export interface Sample {
  readonly labels: Labels;
  readonly value: number;
  readonly timestamp: number;
}

/** Why a sample did not reach storage. */
export type DropReason =
  /** The label set or the value/timestamp failed validation. */
  | 'invalid'
  /** Older than the newest sample already accepted for its series. */
  | 'out-of-order'
  /** Same timestamp as the newest sample already accepted for its series. */
  | 'duplicate'
  /** The receiver answered a 4xx that must not be retried; the request was discarded. */
  | 'non-retryable'
  /** The retry limit was reached; the request was discarded. */
  | 'max-retries'
  /** The receiver answered 401/403/404 or the pipeline failed: the request could not be written. */
  | 'fatal'
  /** More samples were waiting to be sent than `maxPendingSamples` allows (the receiver is too slow). */
  | 'overflow'
  /** The timestamp is more than `maxFutureMs` ahead of the clock. */
  | 'too-far-in-future'
  /** The timestamp is more than `maxAgeMs` behind the clock. */
  | 'too-old'
  /**
   * The pipeline ended (the source errored, the sink failed, or the subscriber unsubscribed) while
   * the samples were accepted but not yet written: still in a batch, queued, or in a request whose
   * answer never came (the receiver may have stored a request that was in flight).
   */
  | 'aborted'
  /**
   * Not a loss: already spooled or written before a restart. A sample a restarted pipeline
   * regenerated (replaying its source from a checkpoint) that the sink had already accepted before
   * the restart, or a record replayed from the spool that the receiver answered it already had.
   */
  | 'replayed'
  /**
   * Not a loss: the pipeline ended while the samples were in the sink's disk spool; the next start
   * over the same spool sends them (counted there as `samplesReplayed`).
   */
  | 'spooled';

export const DROP_REASONS: readonly DropReason[] = [
  'invalid',
  'out-of-order',
  'duplicate',
  'non-retryable',
  'max-retries',
  'fatal',
  'overflow',
  'too-far-in-future',
  'too-old',
  'aborted',
  'replayed',
  'spooled',
];

/** Drop reasons that are not losses: the samples were, or will be, written (see each reason). */
export const NOT_LOST_REASONS: readonly DropReason[] = ['replayed', 'spooled'];

/** What became of samples that entered `remoteWrite`. Every input sample is in exactly one outcome. */
export interface WriteOutcome {
  readonly type: 'written' | 'dropped';
  /** Number of samples this outcome accounts for. */
  readonly samples: number;
  /** Number of distinct series among them. */
  readonly series: number;
  /** HTTP attempts made (0 for samples dropped before sending). */
  readonly attempts: number;
  /** Last HTTP status seen, when there was one. */
  readonly status?: number;
  /** Why the samples were dropped (only for `type: 'dropped'`). */
  readonly reason?: DropReason;
  /** A human-readable explanation of the drop. */
  readonly message?: string;
  /** The receiver's response body, when it explains a drop. */
  readonly responseBody?: string;
  /**
   * For a sample dropped alone: the offending sample (as it came in when dropped before batching;
   * rebuilt from what was sent when the receiver refused it alone).
   */
  readonly sample?: Sample;
}

/** Builds a `Sample`; `timestamp` defaults to now. */
export function sample(labels: Labels, value: number, timestamp: number = Date.now()): Sample {
  return { labels, value, timestamp };
}

/** The Prometheus stale marker: a NaN with this exact bit pattern ends a series. */
export const STALE_NAN: number = new Float64Array(new BigUint64Array([0x7ff0000000000002n]).buffer)[0];
