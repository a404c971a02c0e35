/**
 * The fleet's readings, in simulated arrival order, handed to a publisher: what `npm run fleet`
 * does, as a function (the tests compute the expected readings with a recording publisher).
 */
import { simulateFleet, type DeviceReading } from '../fleet.js';
import type { ReadingPublisher } from './publisher.js';

export interface PublishFleetOptions {
  readonly devices: number;
  /** Readings per second per device. */
  readonly rate: number;
  /** Simulated time covered: readings taken in [startTime, startTime + durationMs). */
  readonly durationMs: number;
  readonly seed: number;
  readonly startTime: number;
  /** `'realtime'`: each reading goes out when it arrives in the simulation; `'max'`: as fast as the publisher accepts. */
  readonly pace: 'realtime' | 'max';
  /** Publishes awaiting acknowledgement at most. */
  readonly maxInFlight: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with the number of readings the publisher acknowledged; rejects with the first publish error. */
export async function publishFleet(publisher: ReadingPublisher, options: PublishFleetOptions): Promise<number> {
  const fleet = simulateFleet({ devices: options.devices, intervalMs: 1000 / options.rate, seed: options.seed, startTime: options.startTime });
  const endTime = options.startTime + options.durationMs;
  const inFlight = new Set<Promise<void>>();
  let published = 0;
  let failed: { error: unknown } | undefined;
  const send = async (reading: DeviceReading): Promise<void> => {
    while (inFlight.size >= options.maxInFlight) await Promise.race(inFlight);
    if (failed) throw failed.error;
    const placement = fleet.placement.get(reading.device);
    if (!placement) throw new Error(`no placement for ${reading.device}`);
    const done: Promise<void> = publisher.publish(reading, placement).then(
      () => {
        published++;
        inFlight.delete(done);
      },
      (error: unknown) => {
        failed ??= { error };
        inFlight.delete(done);
      },
    );
    inFlight.add(done);
  };
  const began = Date.now();
  // Simulated time advances in 100 ms steps; realtime waits until the wall clock catches up.
  for (let at = options.startTime + 100; ; at += 100) {
    const step = Math.min(at, endTime);
    if (options.pace === 'realtime') await sleep(Math.max(0, began + (step - options.startTime) - Date.now()));
    for (const reading of fleet.advance(step)) if (reading.timestamp < endTime) await send(reading);
    if (step >= endTime) break;
  }
  // Readings taken before the end but still in flight (jitter, late ones) go out last.
  for (const reading of fleet.drain()) if (reading.timestamp < endTime) await send(reading);
  await Promise.all(inFlight);
  if (failed) throw failed.error;
  return published;
}
