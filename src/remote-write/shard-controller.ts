/**
 * Decides how many lanes the sink should have, from what one interval measured: samples in,
 * samples sent, the time lanes spent sending them, the backlog. No timer of its own: the lane set
 * calls `decide` once per interval, so tests drive it with made-up intervals.
 *
 * The idea is Prometheus' queue manager's (lanes needed = time to send one sample × samples
 * arriving per second, plus a share of the backlog to catch up on; rates smoothed over
 * intervals), with a hysteresis of our own instead of its symmetric tolerance band, so a load
 * that sits on a boundary does not flip the count every interval:
 * - up when the lanes are busy more than `UP_AT` of the time, to the count that leaves each busy
 *   `TARGET` of the time;
 * - down only when fewer lanes would still be busy at most `TARGET` of the time, and the sink is
 *   not far behind (draining a backlog first is cheaper than resharding under it).
 * It holds the count while the endpoint is failing, or when lanes are sending and nothing was
 * answered during the interval: the measured latency then says nothing about capacity, and a
 * reshard would wait for the retries to drain.
 */

/** What one interval measured. */
export interface IntervalLoad {
  /** Length of the interval (ms). */
  readonly intervalMs: number;
  /** Samples that arrived at the lanes. */
  readonly samplesIn: number;
  /** Samples of the batches whose sending ended (written, dropped or split, whatever the answer). */
  readonly samplesSent: number;
  /** Time lanes spent sending those batches, summed over lanes (ms). */
  readonly busyMs: number;
  /** Samples waiting now for a lane to be free (finished batches queued, samples held during a drain). */
  readonly backlog: number;
  /** Batches being sent now. */
  readonly inFlight: number;
  /** The endpoint is failing now (an attempt failed and none was written since). */
  readonly failing: boolean;
}

export interface ShardControllerOptions {
  readonly min: number;
  readonly max: number;
  /** Weight of the newest interval in the smoothed rates, in (0, 1]. Default 0.2. */
  readonly smoothing?: number;
}

/** Lanes are added when they are busy more than this share of the time... */
export const UP_AT = 0.8;
/** ...to the count that keeps each busy about this share; fewer are taken only when they would stay below it. */
export const TARGET = 0.5;
/** Share of the backlog to catch up on per second, added to the arrival rate. */
export const CATCH_UP_PER_SECOND = 0.05;
/** No lanes are taken away while the backlog is more than this many seconds of arrivals. */
export const BEHIND_SECONDS = 10;

export class ShardController {
  private readonly smoothing: number;
  private inRate = new SmoothedRate();
  private outRate = new SmoothedRate();
  /** Lane-seconds spent sending, per second. */
  private busyRate = new SmoothedRate();
  private lastNeed = 0;

  constructor(private readonly options: ShardControllerOptions) {
    this.smoothing = options.smoothing ?? 0.2;
  }

  /** Lanes the load needs (unrounded) as of the last decision: busy lane-seconds per second. */
  get need(): number {
    return this.lastNeed;
  }

  /** Takes one interval's measurements; returns the lane count to have, `current` to keep it. */
  decide(current: number, load: IntervalLoad): number {
    if (!(load.intervalMs > 0)) return current;
    const seconds = load.intervalMs / 1000;
    this.inRate.add(load.samplesIn / seconds, this.smoothing);
    this.outRate.add(load.samplesSent / seconds, this.smoothing);
    this.busyRate.add(load.busyMs / 1000 / seconds, this.smoothing);
    if (load.failing) return current;
    if (load.samplesSent === 0 && load.inFlight > 0) return current; // stalled: latency unknown
    const outRate = this.outRate.value;
    if (outRate <= 0) return current; // nothing sent yet: no latency to go by
    const secondsPerSample = this.busyRate.value / outRate;
    const need = secondsPerSample * (this.inRate.value + load.backlog * CATCH_UP_PER_SECOND);
    this.lastNeed = need;
    const { min, max } = this.options;
    const fitting = Math.min(max, Math.max(min, Math.ceil(need / TARGET)));
    if (fitting > current) return need > current * UP_AT ? fitting : current;
    if (fitting < current) {
      const behind = load.backlog > this.inRate.value * BEHIND_SECONDS;
      return behind ? current : fitting;
    }
    return current;
  }
}

/** An exponentially weighted rate: starts at the first non-zero reading, then moves by the weight. */
class SmoothedRate {
  private started = false;
  value = 0;

  add(reading: number, weight: number): void {
    if (this.started) this.value += weight * (reading - this.value);
    else if (reading > 0) {
      this.started = true;
      this.value = reading;
    }
  }
}
