/**
 * A simulated IoT fleet for the examples and the end-to-end tests: devices in rooms across sites
 * read temperature and humidity a few times a second, and the readings reach the gateway the way
 * real ones do — with network jitter (so out of order), some very late, some sent twice, a few
 * spikes from faulty sensors, and some devices missing from the registry.
 *
 * Deterministic for a seed: `advance(toMs)` returns what arrives up to `toMs`, so the same fleet
 * can run on the wall clock (the gateway) or on a virtual clock (tests). Every reading carries the
 * simulator's ground truth in `kind`, which the pipeline never reads and the tests compare against.
 */
import { seededRandom } from '../src/testing/index.js';

export interface DeviceReading {
  readonly device: string;
  /** When the reading was taken (event time, ms epoch). */
  readonly timestamp: number;
  readonly temperature: number;
  readonly humidity: number;
  /** Ground truth for tests: what the simulator made of this reading. */
  readonly kind: 'genuine' | 'late' | 'duplicate' | 'spike';
}

export interface DeviceContext {
  readonly site: string;
  readonly room: string;
}

export interface FleetOptions {
  /** Number of devices (default 3000). */
  readonly devices?: number;
  /** Devices per room (default 25); rooms are spread over `sites`. */
  readonly devicesPerRoom?: number;
  /** Number of sites (default 4). */
  readonly sites?: number;
  /** Time between two readings of one device (default 250 ms). */
  readonly intervalMs?: number;
  /** Network delay of a reading: uniform in [0, jitterMs] (default 800 ms). */
  readonly jitterMs?: number;
  /** Fraction of readings that arrive `lateByMs` later still (default 0.005). */
  readonly lateFraction?: number;
  readonly lateByMs?: number;
  /** Fraction of readings sent twice (default 0.01). */
  readonly duplicateFraction?: number;
  /** Fraction of readings with a faulty-sensor spike (default 0.002). */
  readonly spikeFraction?: number;
  /** Fraction of devices missing from the registry (default 0.01). */
  readonly unregisteredFraction?: number;
  readonly seed?: number;
  /** Clock start (default now). */
  readonly startTime?: number;
}

export interface Fleet {
  /** Device id → site and room, without the unregistered devices. */
  readonly registry: ReadonlyMap<string, DeviceContext>;
  /** Every device id → its true site and room (registered or not). */
  readonly placement: ReadonlyMap<string, DeviceContext>;
  /** Readings that have arrived by `toMs`, in arrival order. */
  advance(toMs: number): DeviceReading[];
  /** Everything still in flight, in arrival order (call at the end of a finite run). */
  drain(): DeviceReading[];
  /** Current clock. */
  now(): number;
}

/** Arrival slots of this width keep the in-flight queue cheap without a heap. */
const SLOT_MS = 10;

/** Readings arriving in one slot: arrival times and readings, in the order they were sent. */
interface InFlightSlot {
  readonly at: number[];
  readonly readings: DeviceReading[];
}

export function simulateFleet(options: FleetOptions = {}): Fleet {
  const devices = options.devices ?? 3000;
  const perRoom = options.devicesPerRoom ?? 25;
  const sites = options.sites ?? 4;
  const intervalMs = options.intervalMs ?? 250;
  const jitterMs = options.jitterMs ?? 800;
  const lateFraction = options.lateFraction ?? 0.005;
  const lateByMs = options.lateByMs ?? 30_000;
  const duplicateFraction = options.duplicateFraction ?? 0.01;
  const spikeFraction = options.spikeFraction ?? 0.002;
  const unregisteredFraction = options.unregisteredFraction ?? 0.01;
  const random = seededRandom(options.seed ?? 1);
  let clock = options.startTime ?? Date.now();
  const startedAt = clock;

  const ids: string[] = [];
  const nextAt: number[] = [];
  const baseTemperature: number[] = [];
  const baseHumidity: number[] = [];
  const registry = new Map<string, DeviceContext>();
  const placement = new Map<string, DeviceContext>();
  for (let i = 0; i < devices; i++) {
    const roomIndex = Math.floor(i / perRoom);
    const context = { site: `site-${roomIndex % sites}`, room: `room-${roomIndex}` };
    const id = `dev-${i}`;
    ids.push(id);
    placement.set(id, context);
    if (random() >= unregisteredFraction) registry.set(id, context);
    nextAt.push(clock + Math.floor(random() * intervalMs));
    baseTemperature.push(19 + roomIndex % 7 + random());
    baseHumidity.push(35 + (roomIndex % 5) * 5 + random() * 2);
  }

  // In-flight readings by arrival slot; slots are visited in order, readings within a slot by
  // arrival time. Arrival times and readings sit in parallel arrays (no wrapper object per
  // reading), and a slot sorts an index array by the times: the fleet can offer a million
  // readings a second to a benchmark in another process.
  const inFlight = new Map<number, InFlightSlot>();
  let nextSlot = Math.floor(clock / SLOT_MS);
  const send = (at: number, reading: DeviceReading): void => {
    const slot = Math.max(nextSlot, Math.floor(at / SLOT_MS));
    let list = inFlight.get(slot);
    if (!list) inFlight.set(slot, (list = { at: [], readings: [] }));
    list.at.push(at);
    list.readings.push(reading);
  };

  const read = (i: number, t: number): void => {
    // Slow drift plus bounded noise: realistic enough, and never an outlier by itself.
    const drift = Math.sin(((t - startedAt) / 600_000) * 2 * Math.PI + i) * 1.5;
    let temperature = Math.round((baseTemperature[i] + drift + (random() - 0.5) * 0.4) * 100) / 100;
    const humidity = Math.round((baseHumidity[i] + drift + (random() - 0.5)) * 100) / 100;
    let kind: DeviceReading['kind'] = 'genuine';
    const roll = random();
    let delay = random() * jitterMs;
    if (roll < spikeFraction) {
      kind = 'spike';
      temperature += (random() < 0.5 ? -1 : 1) * (80 + random() * 120);
    } else if (roll < spikeFraction + lateFraction) {
      kind = 'late';
      delay += lateByMs;
    }
    send(t + delay, { device: ids[i], timestamp: t, temperature, humidity, kind });
    if (kind === 'genuine' && random() < duplicateFraction) {
      send(t + delay + random() * jitterMs, { device: ids[i], timestamp: t, temperature, humidity, kind: 'duplicate' });
    }
  };

  const collect = (untilSlot: number): DeviceReading[] => {
    const out: DeviceReading[] = [];
    for (; nextSlot <= untilSlot; nextSlot++) {
      const list = inFlight.get(nextSlot);
      if (!list) continue;
      inFlight.delete(nextSlot);
      const { at, readings } = list;
      // Stable: equal arrival times keep the order they were sent in.
      const order = Array.from(at.keys()).sort((a, b) => at[a] - at[b]);
      for (const i of order) out.push(readings[i]);
    }
    return out;
  };

  return {
    registry,
    placement,
    now: () => clock,
    advance(toMs) {
      if (toMs < clock) return [];
      for (let i = 0; i < devices; i++) {
        while (nextAt[i] <= toMs) {
          read(i, nextAt[i]);
          nextAt[i] += intervalMs;
        }
      }
      clock = toMs;
      return collect(Math.floor(toMs / SLOT_MS) - 1);
    },
    drain() {
      const last = Math.max(nextSlot, ...inFlight.keys());
      return collect(last);
    },
  };
}
