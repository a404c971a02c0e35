/**
 * The bookkeeping the journal, MQTT and JetStream sources share, written once: positions that are
 * non-negative integers compared in numeric order, the committed position that only moves
 * forward, and pausing with the readers that wait for a change.
 *
 * What a position means stays each source's own (a journal's byte offset, the MQTT source's local
 * sequence, a JetStream stream sequence), and so does what a commit does besides recording it
 * (nothing, PUBACKs on the current connection, acknowledging held messages), how a subscription
 * reads, and what `stats()` counts.
 */
import type { Observable } from 'rxjs';
import type { AcknowledgedSource, Pausable, Positioned } from './acknowledged.js';

export abstract class AcknowledgedSourceBase<T> implements AcknowledgedSource<T, number>, Pausable {
  private committedPosition: number | undefined;
  private isPaused = false;
  /** Readers waiting in `waitForChange`; each removes itself however its wait ends. */
  private readonly waiters = new Set<() => void>();

  /**
   * `positionName` and `positionRule` word the error for a bad position:
   * `rxprom: <positionName> must be <positionRule> (got <position>)`.
   */
  protected constructor(
    private readonly positionName: string,
    private readonly positionRule = 'a non-negative integer',
  ) {}

  abstract resumeFrom(position?: number, covered?: unknown): Observable<Positioned<T, number>>;

  abstract commit(position: number): Promise<void>;

  /** The last committed position, if any. */
  get committed(): number | undefined {
    return this.committedPosition;
  }

  get paused(): boolean {
    return this.isPaused;
  }

  comparePositions(a: number, b: number): number {
    return a - b;
  }

  /** Stops reading until `resume()` (best effort: see the source's own description). */
  pause(): void {
    this.isPaused = true;
  }

  /** Reading goes on: the readers waiting for it wake. */
  resume(): void {
    this.isPaused = false;
    this.wake();
  }

  /**
   * The error for a position that is not a non-negative safe integer; undefined for a good one.
   * @internal
   */
  protected invalidPosition(position: number): RangeError | undefined {
    if (Number.isSafeInteger(position) && position >= 0) return undefined;
    return new RangeError(`rxprom: ${this.positionName} must be ${this.positionRule} (got ${position})`);
  }

  /**
   * Records a commit of `position`: the committed position moves forward to it, and never back.
   * Returns whether it moved; throws `invalidPosition`'s error for a bad position (a commit made in
   * an async method then rejects with it, changing nothing).
   * @internal
   */
  protected advanceCommitted(position: number): boolean {
    const invalid = this.invalidPosition(position);
    if (invalid) throw invalid;
    if (this.committedPosition !== undefined && position <= this.committedPosition) return false;
    this.committedPosition = position;
    return true;
  }

  /**
   * Wakes every reader waiting in `waitForChange` (`resume()` does; a source also wakes them on
   * whatever else its readers wait for).
   * @internal
   */
  protected wake(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }

  /**
   * Resolves at the next `wake()`, after `ms` when given, or when the function handed to
   * `exposeWake` is called (one reader's own teardown), whichever comes first.
   * @internal
   */
  protected waitForChange(ms?: number, exposeWake?: (wake: () => void) => void): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      const waiters = this.waiters;
      function done(): void {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      }
      waiters.add(done);
      exposeWake?.(done);
    });
  }
}
