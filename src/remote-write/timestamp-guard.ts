/**
 * Timestamp checks of the sink, before a sample is batched: a remote-write timestamp is an int64
 * count of milliseconds, and a sample too far from the clock can poison a receiver.
 *
 * Prometheus refuses a sample older than its head's newest timestamp minus half a block (1 h with
 * the default 2 h blocks) as `out of bounds`, whatever its series, and takes any future
 * timestamp. One sample from a device whose clock is years ahead therefore moves the head's
 * newest timestamp into the future, after which every present-time batch is refused. Bounding
 * the future against the clock keeps that one sample out; bounding the past (optional) drops
 * alone what Prometheus would refuse with a whole batch.
 */

import { ConfigError, Undisclosed } from '../core/errors.js';

/** The smallest int64. */
export const INT64_MIN = -(2 ** 63);
/** The largest int64 a double holds (the next double up is 2^63, past the int64 maximum). */
export const INT64_MAX_DOUBLE = 2 ** 63 - 1024;

/**
 * A sample's timestamp as int64 milliseconds (floored), or NaN when it is none: not a number,
 * NaN, infinite, or outside the int64 range once floored.
 */
export function int64Millis(timestamp: unknown): number {
  if (typeof timestamp !== 'number') return NaN;
  const millis = Math.floor(timestamp);
  return millis >= INT64_MIN && millis <= INT64_MAX_DOUBLE ? millis : NaN;
}

/** Why `int64Millis` refused a timestamp. */
export function describeBadTimestamp(timestamp: unknown): string {
  if (typeof timestamp !== 'number') return `timestamp is ${timestamp === null ? 'null' : typeof timestamp}, not a number of milliseconds`;
  if (!Number.isFinite(timestamp)) return 'timestamp is not a finite number';
  return `timestamp ${timestamp} is outside the int64 range of milliseconds [-2^63, 2^63)`;
}

/** What the guard says of a timestamp against the clock. */
export type TimestampVerdict = 'ok' | 'too-far-in-future' | 'too-old';

export interface TimestampGuardOptions {
  /** Refuse timestamps more than this many ms ahead of `now()`; `Infinity` turns the bound off. */
  readonly maxFutureMs: number;
  /** Refuse timestamps more than this many ms behind `now()`; `Infinity` turns the bound off. */
  readonly maxAgeMs: number;
  /** The clock (ms since the epoch): the sink passes its scheduler's `now()`. */
  readonly now: () => number;
}

export class TimestampGuard {
  private readonly maxFutureMs: number;
  private readonly maxAgeMs: number;
  private readonly now: () => number;
  /**
   * The last clock reading. Only a later timestamp than it allows makes the guard read the clock
   * again, until `expire()` (a wall clock may be stepped back: the reading must not outlive that).
   */
  private clock = -Infinity;

  constructor(options: TimestampGuardOptions) {
    this.maxFutureMs = options.maxFutureMs;
    this.maxAgeMs = options.maxAgeMs;
    this.now = options.now;
  }

  /**
   * Forgets the last reading: the next sample reads the clock. A wall clock stepped back (NTP)
   * leaves a reading ahead of the time, which would loosen the future bound by the step for as
   * long as it stands; the sink expires it every second.
   */
  expire(): void {
    this.clock = -Infinity;
  }

  /** Checks integer milliseconds against the clock. */
  check(millis: number): TimestampVerdict {
    if (this.maxFutureMs !== Infinity && millis > this.clock + this.maxFutureMs) {
      // While the clock moves forward an old reading can only make the bound stricter: read it
      // again before refusing, and not at all for the usual sample that is well inside.
      this.clock = this.read();
      if (millis > this.clock + this.maxFutureMs) return 'too-far-in-future';
    }
    if (this.maxAgeMs !== Infinity) {
      // An old reading would make this bound looser: read the clock for every sample.
      this.clock = this.read();
      if (millis < this.clock - this.maxAgeMs) return 'too-old';
    }
    return 'ok';
  }

  /**
   * Reads the clock. A reading that is no time (NaN, infinite, not a number) would make every
   * comparison false and let any timestamp through: it throws, as a clock that throws does.
   */
  private read(): number {
    const reading: unknown = this.now();
    if (typeof reading !== 'number' || !Number.isFinite(reading)) {
      throw new ConfigError('clock', 'a function returning the time in ms since the epoch (a finite number)', new Undisclosed(`a function that returned ${String(reading)}`));
    }
    return reading;
  }

  /** A message for a refused timestamp (after `check` said so: uses its clock reading). */
  describe(verdict: Exclude<TimestampVerdict, 'ok'>, millis: number): string {
    if (verdict === 'too-far-in-future') {
      return `timestamp ${millis} is ${millis - this.clock} ms ahead of the clock (maxFutureMs ${this.maxFutureMs})`;
    }
    return `timestamp ${millis} is ${this.clock - millis} ms behind the clock (maxAgeMs ${this.maxAgeMs})`;
  }
}
