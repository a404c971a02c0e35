/**
 * Publishes the simulated fleet (examples/fleet.ts) into a JetStream stream, partitioned by room:
 * each reading goes to `readings.<partition>.<site>.<room>.<device>`, the partition being a stable
 * hash of site and room, so every reading of a room aggregate's inputs lands in one partition.
 * Deterministic for a seed and a start time: the fleet runs on a virtual clock from `startTime`
 * for `durationMs`, and the same options publish the same messages in the same order.
 */
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type PubAck } from '@nats-io/jetstream';
import { partitionOf, partitionSubject } from '../src/sources/jetstream/partitions.js';
import { simulateFleet, type DeviceReading, type FleetOptions } from './fleet.js';

export const READINGS_STREAM = 'READINGS';
export const READINGS_PREFIX = 'readings';

/** The partition a room's readings go to. */
export const roomPartition = (site: string, room: string, partitions: number): number => partitionOf(`${site}/${room}`, partitions);

export interface PublishFleetOptions {
  /** nats://HOST:PORT */
  readonly servers: string | readonly string[];
  readonly devices: number;
  readonly seed: number;
  /** Virtual time the fleet runs for. */
  readonly durationMs: number;
  /** The fleet's clock start (event times start here); default now. */
  readonly startTime?: number;
  /** Partitions of the stream; default 6. */
  readonly partitions?: number;
  /** Publish at most this many readings per second (wall clock); default: as fast as the broker acknowledges. */
  readonly rate?: number;
  /** Other fleet options (intervals, fractions); devices, seed and startTime come from above. */
  readonly fleet?: Omit<FleetOptions, 'devices' | 'seed' | 'startTime'>;
  /** Told about each reading published, with its partition. */
  readonly onPublished?: (reading: DeviceReading, partition: number) => void;
}

export interface PublishSummary {
  readonly published: number;
  readonly perPartition: number[];
  readonly seconds: number;
  readonly firstSequence: number;
  readonly lastSequence: number;
}

/** Creates the stream `READINGS` on `readings.>` if missing (file storage, limits retention). */
export async function ensureReadingsStream(servers: string | readonly string[]): Promise<void> {
  const nc = await connect({ servers: typeof servers === 'string' ? servers : [...servers] });
  try {
    const jsm = await jetstreamManager(nc);
    try {
      await jsm.streams.info(READINGS_STREAM);
    } catch {
      await jsm.streams.add({ name: READINGS_STREAM, subjects: [`${READINGS_PREFIX}.>`] });
    }
  } finally {
    await nc.close();
  }
}

/** Keeps up to `window` publishes in flight: a broker round trip per message would bound the rate at 1/RTT. */
class Pipelined {
  private inFlight: Promise<PubAck>[] = [];
  first = 0;
  last = 0;
  constructor(private readonly js: JetStreamClient, private readonly window: number) {}
  async publish(subject: string, payload: string): Promise<void> {
    this.inFlight.push(this.js.publish(subject, payload));
    if (this.inFlight.length >= this.window) await this.settle();
  }
  async settle(): Promise<void> {
    const acks = await Promise.all(this.inFlight.splice(0));
    for (const ack of acks) {
      if (this.first === 0) this.first = ack.seq;
      this.last = Math.max(this.last, ack.seq);
    }
  }
}

export async function publishFleet(options: PublishFleetOptions): Promise<PublishSummary> {
  const partitions = options.partitions ?? 6;
  const startTime = options.startTime ?? Date.now();
  await ensureReadingsStream(options.servers);
  const fleet = simulateFleet({ ...options.fleet, devices: options.devices, seed: options.seed, startTime });
  const nc = await connect({ servers: typeof options.servers === 'string' ? options.servers : [...options.servers] });
  const started = Date.now();
  const perPartition = new Array<number>(partitions).fill(0);
  let published = 0;
  const out = new Pipelined(jetstream(nc), 1000);
  try {
    const send = async (readings: DeviceReading[]): Promise<void> => {
      for (const reading of readings) {
        const place = fleet.placement.get(reading.device);
        if (!place) throw new Error(`fleet: device ${reading.device} has no placement`);
        const partition = roomPartition(place.site, place.room, partitions);
        await out.publish(partitionSubject(READINGS_PREFIX, partition, [place.site, place.room, reading.device]), JSON.stringify(reading));
        perPartition[partition]++;
        published++;
        options.onPublished?.(reading, partition);
        if (options.rate !== undefined) {
          const due = started + (published / options.rate) * 1000;
          const wait = due - Date.now();
          if (wait > 5) await new Promise((resolve) => setTimeout(resolve, wait));
        }
      }
    };
    for (let at = startTime + 100; at <= startTime + options.durationMs; at += 100) await send(fleet.advance(at));
    await send(fleet.drain());
    await out.settle();
  } finally {
    await nc.drain();
  }
  return { published, perPartition, seconds: (Date.now() - started) / 1000, firstSequence: out.first, lastSequence: out.last };
}
