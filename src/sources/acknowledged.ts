/**
 * The contract of a source whose elements can be acknowledged: an MQTT subscription at QoS 1, a
 * NATS JetStream consumer, a Kafka partition, a journal file. Each element carries its position;
 * the consumer commits a position only once a checkpoint covering it is durable, and after a
 * restart resumes from the committed (or checkpointed) position. An element is then delivered at
 * least once; for a deterministic pipeline that restores its state from the same checkpoint, the
 * replayed elements rebuild exactly that state, so the effect is exactly once.
 *
 * The protocol, in order:
 *   1. `resumeFrom(checkpoint?.position)` and process elements, keeping the last `position` seen;
 *   2. save a checkpoint holding the pipeline state and that position (`CheckpointStore.save`);
 *   3. once it has resolved, `commit(position)`: the source may forget (or acknowledge to its
 *      broker) everything up to and including it.
 * Committing before the checkpoint is durable would lose the elements in between on a crash.
 */
import type { Observable } from 'rxjs';

/** An element and where it came from. */
export interface Positioned<T, P> {
  readonly value: T;
  /** Resuming from this position emits the elements after this one. */
  readonly position: P;
}

export interface AcknowledgedSource<T, P> {
  /**
   * The elements after `position` (after the last committed position when omitted, from the
   * beginning when nothing was committed). Cold: each subscription reads on its own, and
   * unsubscribing releases what it holds (files, broker subscriptions).
   */
  resumeFrom(position?: P, covered?: unknown): Observable<Positioned<T, P>>;
  /**
   * Optional: what a checkpoint at `position` must also carry for this source to recognise, after
   * a restart, elements the checkpoint covers that it delivers again (a crash between the
   * checkpoint's save and `commit` leaves them unacknowledged). JSON; given back to `resumeFrom`
   * as `covered` with that position.
   */
  checkpointCovered?(position: P): unknown;
  /**
   * Everything up to and including `position` is durable downstream. Cumulative: a position at or
   * before the last committed one changes nothing. Sources that acknowledge per message (MQTT)
   * acknowledge every outstanding message up to it.
   */
  commit(position: P): Promise<void>;
  /** The last committed position, if any. */
  readonly committed: P | undefined;
  /** Orders positions: negative when `a` comes before `b`, zero when equal, positive after. */
  comparePositions(a: P, b: P): number;
}

/**
 * Steps 2 and 3 of the protocol in their only safe order: saves the checkpoint that covers
 * `position`, then commits it. If the save fails nothing is committed and the error propagates.
 */
export async function checkpointThenCommit<P>(source: Pick<AcknowledgedSource<unknown, P>, 'commit'>, position: P, saveCheckpoint: () => Promise<unknown>): Promise<void> {
  await saveCheckpoint();
  await source.commit(position);
}

/**
 * A source that can stop emitting for a while: the backpressure seam. A stage that buffers (the
 * sink above its high water mark) asks the source to `pause()` and, once below its low water mark,
 * to `resume()`. Pausing is best effort (an element already being read may still arrive); a source
 * without it keeps the sink's overflow rule.
 */
export interface Pausable {
  pause(): void;
  resume(): void;
  readonly paused: boolean;
}

/** Whether `source` implements `Pausable`. */
export function isPausable(source: object): source is Pausable {
  const candidate = source as Partial<Pausable>;
  return typeof candidate.pause === 'function' && typeof candidate.resume === 'function';
}
