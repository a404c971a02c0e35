/**
 * The sink's backpressure signal (`operator.pressure`): true when the samples it holds in memory
 * reach the high water mark (pause the source), false again once they fall to the low water mark
 * (resume it). The gap between the marks keeps a source from being paused and resumed per sample.
 */
import { BehaviorSubject, type Observable } from 'rxjs';

export class Pressure {
  private readonly subject = new BehaviorSubject<boolean>(false);
  /** Replays the current value on subscribe, then each change. */
  readonly changes: Observable<boolean> = this.subject.asObservable();

  constructor(
    readonly highWaterMark: number,
    readonly lowWaterMark: number,
  ) {}

  /** The signal now, kept apart from the subject: `level` runs per sample and reading a BehaviorSubject's value checks its state. */
  private on = false;

  get value(): boolean {
    return this.on;
  }

  /** The level now (samples held); changes the signal when it crosses a mark. */
  level(held: number): void {
    if (this.on ? held <= this.lowWaterMark : held >= this.highWaterMark) this.set(!this.on);
  }

  /** Forces the signal (a sink that is starting holds its source until it is ready). */
  set(value: boolean): void {
    if (this.on === value) return;
    this.on = value;
    this.subject.next(value);
  }
}
