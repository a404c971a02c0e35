/**
 * The simulated fleet as an acknowledged source, for `npm start -- --state-dir DIR`: the fleet
 * runs on the wall clock, and an element's position is the simulated time reached when it
 * arrived. A real broker would hand back what arrived while the gateway was down; the simulation
 * cannot, so a restart resumes the simulation at the current time and the downtime is a gap in the
 * readings (the windows restored from the checkpoint still close, with what they held).
 * Pausing stops advancing the clock; on resume, what "arrived" meanwhile is emitted at once, as a
 * broker would deliver its backlog.
 */
import { Observable } from 'rxjs';
import type { AcknowledgedSource, Pausable, Positioned } from '../src/index.js';
import type { DeviceReading, Fleet } from './fleet.js';

export class FleetSource implements AcknowledgedSource<DeviceReading, number>, Pausable {
  private committedPosition: number | undefined;
  private isPaused = false;
  /** Readings emitted by this source (all subscriptions). */
  emitted = 0;

  constructor(
    private readonly fleet: Fleet,
    private readonly tickMs = 100,
  ) {}

  get committed(): number | undefined {
    return this.committedPosition;
  }

  get paused(): boolean {
    return this.isPaused;
  }

  /** Readings from now on; a `position` in the past is the downtime, which the simulation cannot replay. */
  resumeFrom(): Observable<Positioned<DeviceReading, number>> {
    return new Observable((subscriber) => {
      const timer = setInterval(() => {
        if (this.isPaused) return;
        const reached = Date.now();
        for (const reading of this.fleet.advance(reached)) {
          this.emitted++;
          subscriber.next({ value: reading, position: reached });
          if (subscriber.closed) return;
        }
      }, this.tickMs);
      return () => clearInterval(timer);
    });
  }

  commit(position: number): Promise<void> {
    if (this.committedPosition === undefined || position > this.committedPosition) this.committedPosition = position;
    return Promise.resolve();
  }

  comparePositions(a: number, b: number): number {
    return a - b;
  }

  pause(): void {
    this.isPaused = true;
  }

  resume(): void {
    this.isPaused = false;
  }
}
