/**
 * `enrich`'s output in input order: every element takes a slot in a queue, filled once its
 * reference data is known (at once for a map, later for a pending lookup or the first snapshot);
 * the filled prefix of the queue is emitted. Completion waits until the queue is empty.
 */
import type { Subscriber } from 'rxjs';

/** What to emit for an element: nothing (dropped) or `output`. */
export interface EnrichOutcome {
  emit: boolean;
  output: unknown;
}

/** A place in the output queue, filled when its element's reference data is known. */
export interface EnrichSlot<T, K> extends EnrichOutcome {
  readonly element: T;
  readonly key: K;
  done: boolean;
}

export class EnrichOutput<T, K, U> {
  private queue: EnrichSlot<T, K>[] = [];
  /** The first slot not yet emitted. */
  private head = 0;
  private sourceDone = false;

  constructor(private readonly destination: Subscriber<U>) {}

  /** Elements in the queue, waiting for their own or an earlier element's reference data. */
  get waiting(): number {
    return this.queue.length - this.head;
  }

  /** Emits an outcome now: only when nothing waits ahead of it. */
  emit(outcome: EnrichOutcome): void {
    if (outcome.emit) this.destination.next(outcome.output as U);
  }

  /** Takes a place in line for `element`. */
  enqueue(element: T, key: K): EnrichSlot<T, K> {
    const slot: EnrichSlot<T, K> = { element, key, done: false, emit: false, output: undefined };
    this.queue.push(slot);
    return slot;
  }

  fill(slot: EnrichSlot<T, K>, outcome: EnrichOutcome): void {
    slot.done = true;
    slot.emit = outcome.emit;
    slot.output = outcome.output;
  }

  /**
   * Fills every waiting slot not yet filled with what `decide` makes of it (e.g. when the first
   * snapshot comes). A filled slot is decided and counted already: a snapshot that comes while the
   * filled ones go out (pushed from downstream) must not decide and count them again.
   */
  fillWaiting(decide: (slot: EnrichSlot<T, K>) => EnrichOutcome): void {
    for (let i = this.head; i < this.queue.length; i++) {
      const slot = this.queue[i];
      if (!slot.done) this.fill(slot, decide(slot));
    }
  }

  /** The source completed: completes the output once nothing waits. */
  sourceCompleted(): void {
    this.sourceDone = true;
    this.flush();
  }

  /** Emits the filled prefix of the queue; completes once the source is done and nothing waits. */
  flush(): void {
    const { queue, destination } = this;
    while (!destination.closed && this.head < queue.length && queue[this.head].done) {
      const slot = queue[this.head];
      queue[this.head++] = undefined as unknown as EnrichSlot<T, K>;
      this.emit(slot);
    }
    if (destination.closed) return;
    if (this.head === queue.length) {
      queue.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > queue.length) {
      queue.splice(0, this.head);
      this.head = 0;
    }
    if (this.sourceDone && this.head === queue.length) destination.complete();
  }

  /** The elements in the queue, emitted or not yet known, in input order (for checkpoints). */
  waitingElements(): T[] {
    const elements = new Array<T>(this.queue.length - this.head);
    for (let i = this.head; i < this.queue.length; i++) elements[i - this.head] = this.queue[i].element;
    return elements;
  }

  clear(): void {
    this.queue = [];
    this.head = 0;
  }
}
