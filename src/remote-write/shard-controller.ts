/**
 * Decides how many lanes the sink should have, from what one interval measured: samples in, the
 * batches sent (their sizes and how long each took), the backlog. No timer of its own: the lane
 * set reports each batch and calls `decide` once per interval, so tests drive it with made-up
 * intervals.
 *
 * The idea is Prometheus' queue manager's: lanes needed = time to send one sample × samples
 * arriving per second, plus a share of the backlog to catch up on, with the measurements smoothed
 * over intervals. Three things differ:
 * - The time per sample is that of a full request, read off a least-squares line through the
 *   (batch size, send time) of the batches sent. A lane whose request takes longer than
 *   `maxDelayMs` is busy all the time yet keeps up, by sending bigger batches; dividing its busy
 *   time by the samples it sent (as Prometheus does, whose batch deadline is seconds) would call
 *   it saturated at any lane count and add lanes without end.
 * - A hysteresis of our own instead of a symmetric tolerance band, so a load that sits on a
 *   boundary does not flip the count every interval: up when the lanes would be busy more than
 *   `UP_AT` of the time, to the count that keeps each busy `TARGET` of the time; down only when
 *   fewer lanes would still be busy at most `TARGET` of the time, and the sink is not far behind.
 * - Quick up, slow down: lanes are added on the last interval's figure or the smoothed one,
 *   whichever is higher (a sink that starts under a backlog gets its lanes within seconds), and
 *   taken away only when both fit in fewer, and not within `DOWN_AFTER_INTERVALS` of a change.
 * It holds the count while the endpoint is failing, or when lanes are sending and nothing was
 * answered during the interval: send times then say nothing about capacity, and a change would
 * wait for the retries.
 */

/** What one interval measured, besides the batches reported one by one. */
export interface IntervalLoad {
  /** Length of the interval (ms). */
  readonly intervalMs: number;
  /** Samples that arrived at the lanes. */
  readonly samplesIn: number;
  /** Samples waiting now for a lane to be free (finished batches queued, samples held during a change). */
  readonly backlog: number;
  /** Batches being sent now. */
  readonly inFlight: number;
  /** The endpoint is failing now (an attempt failed and none was written since). */
  readonly failing: boolean;
}

export interface ShardControllerOptions {
  readonly min: number;
  readonly max: number;
  /** Samples in a full request (`maxSamplesPerRequest`). */
  readonly maxSamples: number;
  /** Weight of the newest interval in the smoothed measurements, in (0, 1]. Default 0.2. */
  readonly smoothing?: number;
}

/** Lanes are added when they would be busy more than this share of the time... */
export const UP_AT = 0.8;
/** ...to the count that keeps each busy about this share; fewer are taken only when they would stay below it. */
export const TARGET = 0.5;
/** Share of the backlog to catch up on per second, added to the arrival rate. */
export const CATCH_UP_PER_SECOND = 0.05;
/** No lanes are taken away while the backlog is more than this many seconds of arrivals. */
export const BEHIND_SECONDS = 10;
/** Intervals after a change before lanes may be taken away: a change costs a drain, and a load near a boundary must not make the count saw. */
export const DOWN_AFTER_INTERVALS = 5;
/**
 * Batch sizes that vary less than this (coefficient of variation), or fewer batches than
 * `MIN_BATCHES_FOR_LINE` in one interval, place no line: stretched from a narrow range to a full
 * request, timer noise would decide the count.
 */
const MIN_SIZE_SPREAD = 0.25;
const MIN_BATCHES_FOR_LINE = 10;

export class ShardController {
  private readonly smoothing: number;
  private readonly inRate = new Smoothed();
  // Smoothed sums over the batches sent, for the least-squares line: n, Σb, Σt, Σb², Σbt.
  private readonly batches = new Smoothed();
  private readonly sizes = new Smoothed();
  private readonly times = new Smoothed();
  private readonly sizeSquares = new Smoothed();
  private readonly sizeTimes = new Smoothed();
  // This interval's sums, not yet smoothed.
  private n = 0;
  private b = 0;
  private t = 0;
  private bb = 0;
  private bt = 0;
  private lastNeed = 0;
  private intervalsSinceChange = Infinity;

  constructor(private readonly options: ShardControllerOptions) {
    this.smoothing = options.smoothing ?? 0.2;
  }

  /** Lanes the load needs (unrounded) as of the last decision. */
  get need(): number {
    return this.lastNeed;
  }

  /** One batch of `samples` samples took `ms` to send (answers, retries and splits included). */
  observe(samples: number, ms: number): void {
    this.n++;
    this.b += samples;
    this.t += ms;
    this.bb += samples * samples;
    this.bt += samples * ms;
  }

  /** Closes the interval; returns the lane count to have, `current` to keep it. */
  decide(current: number, load: IntervalLoad): number {
    const wanted = this.want(current, load);
    this.intervalsSinceChange = wanted === current ? this.intervalsSinceChange + 1 : 0;
    return wanted;
  }

  private want(current: number, load: IntervalLoad): number {
    if (!(load.intervalMs > 0)) return current;
    const seconds = load.intervalMs / 1000;
    const sent = this.n;
    // This interval alone, before smoothing: lanes are added on it at once (a load that jumps
    // is met within one interval), and taken away only on the smoothed figure (slowly).
    const msNow = msPerSampleInFullRequest(this.options.maxSamples, this.n, this.b, this.t, this.bb, this.bt, this.n >= MIN_BATCHES_FOR_LINE);
    const inNow = load.samplesIn / seconds;
    this.closeInterval(load.samplesIn, seconds);
    if (load.failing) return current;
    if (sent === 0 && load.inFlight > 0) return current; // stalled: send times unknown
    const msSmoothed = msPerSampleInFullRequest(this.options.maxSamples, this.batches.value, this.sizes.value, this.times.value, this.sizeSquares.value, this.sizeTimes.value, true);
    if (msSmoothed === undefined) return current; // nothing sent yet
    const catchUp = load.backlog * CATCH_UP_PER_SECOND;
    const need = (msSmoothed / 1000) * (this.inRate.value + catchUp);
    const needNow = msNow === undefined ? 0 : (msNow / 1000) * (inNow + catchUp);
    this.lastNeed = need;
    const { min, max } = this.options;
    const rising = Math.max(need, needNow);
    const more = Math.min(max, Math.max(min, Math.ceil(rising / TARGET)));
    if (more > current && rising > current * UP_AT) return more;
    // Fewer only when both figures fit in fewer: a smoothed figure still lagging a rise never undoes it.
    const fitting = Math.min(max, Math.max(min, Math.ceil(need / TARGET), Math.ceil(needNow / TARGET)));
    if (fitting < current && this.intervalsSinceChange + 1 >= DOWN_AFTER_INTERVALS) {
      const behind = load.backlog > this.inRate.value * BEHIND_SECONDS;
      return behind ? current : fitting;
    }
    return current;
  }

  private closeInterval(samplesIn: number, seconds: number): void {
    const w = this.smoothing;
    this.inRate.add(samplesIn / seconds, w);
    this.batches.add(this.n / seconds, w);
    this.sizes.add(this.b / seconds, w);
    this.times.add(this.t / seconds, w);
    this.sizeSquares.add(this.bb / seconds, w);
    this.sizeTimes.add(this.bt / seconds, w);
    this.n = this.b = this.t = this.bb = this.bt = 0;
  }
}

/**
 * Send time per sample of a full request (ms), from the least-squares line through batches given
 * by their sums (count, Σ size, Σ time, Σ size², Σ size·time); undefined when nothing was sent.
 */
function msPerSampleInFullRequest(full: number, n: number, sb: number, st: number, sbb: number, sbt: number, lineAllowed: boolean): number | undefined {
  if (n <= 0 || sb <= 0) return undefined;
  const meanSize = sb / n;
  const variance = sbb / n - meanSize * meanSize;
  // Batches of one size place no line: take their time as a full request's. Exact when they are
  // full; when they are not, the lanes keep up with room to spare, which fuller batches would use.
  if (!lineAllowed || variance <= (MIN_SIZE_SPREAD * meanSize) ** 2) return st / n / Math.max(full, meanSize);
  let slope = (sbt / n - meanSize * (st / n)) / variance;
  let intercept = st / n - slope * meanSize;
  if (slope < 0) {
    slope = 0;
    intercept = st / n;
  } else if (intercept < 0) {
    slope = st / sb;
    intercept = 0;
  }
  return (intercept + slope * full) / full;
}

/** An exponentially weighted value: starts at the first non-zero reading, then moves by the weight. */
class Smoothed {
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
