/**
 * The IoT gateway's pre-processing, shared by `npm start` and the end-to-end test:
 *
 *   readings → enrich (site, room from the registry) → dropOutliers (range, rate, MAD)
 *            → reorderByWatermark (per device) → drop repeated readings
 *            → temperature and humidity samples → tumblingWindow (per site and room)
 *
 * Written to keep up with hundreds of thousands of readings a second on one core
 * (`node dist/bench/run.js --only gateway`). What makes the difference, per reading:
 * - no copy of the reading: `enrich` pairs it with its device by reference (an object spread of
 *   every reading cost a tenth of the time, and most of the garbage);
 * - no work per reading that can be done once per device or room: each room's output label sets
 *   are built when the pipeline is, and each device gets a number (its slot in per-device
 *   arrays), both found in the one registry lookup `enrich` makes; the later stages key their
 *   per-device state by that number, not by the id string (an array slot instead of a hash
 *   lookup and a string comparison per stage);
 * - no subscription per reading: the two samples come out of one small operator, where
 *   `mergeMap` subscribes to an inner Observable for every reading; and no object per sample:
 *   that operator fills in one sample object, which the window reads and lets go of.
 */
import { defer, filter, finalize, Observable, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { dropOutliers, enrich, reorderByWatermark, tumblingWindow, type Aggregation, type Labels, type PipelineState, type Sample, type StateSlot } from '../src/index.js';
import type { DeviceContext, DeviceReading } from './fleet.js';

export interface GatewayPipelineOptions {
  readonly registry: ReadonlyMap<string, DeviceContext>;
  readonly windowMs: number;
  /** Largest network delay to wait for before a device's readings are put in order (default 1000 ms). */
  readonly maxOutOfOrderMs?: number;
  /** Release a quiet device's readings, and close quiet windows, after this long (processing time; default: off). */
  readonly idleTimeoutMs?: number;
  readonly scheduler?: SchedulerLike;
  /** Called with every reading the pipeline drops, and the stage that dropped it (late at the window: once per sample). */
  readonly onDrop?: (reading: DeviceReading, reason: GatewayDropReason) => void;
  /** With a durable pipeline's state: each stateful stage gets its slot ('enrich', 'outliers', 'reorder', 'repeats', 'window'). */
  readonly state?: PipelineState;
}

/** Where the gateway dropped a reading. */
export type GatewayDropReason = 'unregistered' | 'outlier' | 'late-reorder' | 'duplicate' | 'late-window';

export interface GatewayStats {
  unregistered: number;
  outliers: number;
  duplicates: number;
  lateReorder: number;
  lateWindow: number;
  samplesOut: number;
  windowsClosed: number;
  /** Windows open right now (restored ones included). */
  openWindows: number;
  /** Readings held by reorderByWatermark right now. */
  heldForReorder: number;
}

export const GATEWAY_AGGREGATIONS: readonly Aggregation[] = ['count', 'sum', 'min', 'max', 'avg', { quantile: 0.9 }];
export const TEMPERATURE_RANGE = { min: -30, max: 60 };

/** A registered device's room, with the label sets of its two output series, built once per room. */
interface Room {
  readonly temperature: Labels;
  readonly humidity: Labels;
}

/** A registered device: its number (a slot in per-device arrays) and its room. */
interface Device {
  readonly index: number;
  readonly room: Room;
}

/** A reading with its device, both by reference: enriching copies nothing. */
interface PlacedReading {
  readonly reading: DeviceReading;
  readonly device: Device;
}

/** A sample that remembers its reading, so a drop at the window can be traced back to it. */
interface ReadingSample extends Sample {
  labels: Labels;
  value: number;
  timestamp: number;
  reading: DeviceReading;
}

/** The repeat filter's checkpoint: by device id; the previous version's was by device number. */
type SavedRepeats = { readonly byDevice: Record<string, number> } | Record<string, number>;

/** Device id → its number and room, one `Room` (and one pair of label objects) per site and room. */
function devicesOf(registry: ReadonlyMap<string, DeviceContext>): Map<string, Device> {
  const rooms = new Map<string, Room>();
  const devices = new Map<string, Device>();
  for (const [id, { site, room }] of registry) {
    const key = `${site}\u0000${room}`;
    let placed = rooms.get(key);
    if (placed === undefined) {
      placed = {
        temperature: { __name__: 'room_temperature_celsius', site, room },
        humidity: { __name__: 'room_humidity_percent', site, room },
      };
      rooms.set(key, placed);
    }
    devices.set(id, { index: devices.size, room: placed });
  }
  return devices;
}

/**
 * A per-device stage's slot whose checkpoints name each device by its id, while the stage keys
 * its state by the device's number. A checkpoint stays valid if the registry lists its devices in
 * another order, and one saved before the stages were keyed by number (by id) restores as it is.
 * `list` is the field of the stage's saved state that holds one entry per key (`{ key, ... }`);
 * a held reading saved in an entry's `values` gets its device from today's registry.
 */
function savedByDeviceId<S>(slot: StateSlot<S> | undefined, list: 'keys' | 'series', devices: ReadonlyMap<string, Device>, ids: readonly string[]): StateSlot<S> | undefined {
  if (slot === undefined) return undefined;
  type Entry = { key?: unknown; values?: unknown };
  const renamed = (saved: S, name: (key: unknown) => unknown, relink: boolean): S => {
    const entries = (saved as Record<string, unknown>)[list];
    if (!Array.isArray(entries)) return saved;
    const relinked = (values: unknown): unknown =>
      Array.isArray(values)
        ? values.map((held: PlacedReading) => ({ reading: held.reading, device: devices.get(held.reading?.device) ?? held.device }))
        : values;
    const named = entries.map((entry: Entry) => ({ ...entry, key: name(entry.key), ...(relink && 'values' in entry ? { values: relinked(entry.values) } : {}) }));
    return { ...saved, [list]: named };
  };
  // Neither stage has `flush` or `checkpointed`: only the snapshot is renamed.
  return {
    name: slot.name,
    take: () => {
      const saved = slot.take();
      return saved === undefined ? undefined : renamed(saved, (key) => (typeof key === 'string' ? (devices.get(key)?.index ?? key) : key), true);
    },
    attach: (stage) => slot.attach({ snapshot: () => renamed(stage.snapshot(), (key) => (typeof key === 'number' ? (ids[key] ?? key) : key), false) }),
  };
}

/**
 * Each reading as its two samples, temperature then humidity. One sample object per
 * subscription, filled in for each: `tumblingWindow` reads a sample's fields while it is handed
 * over and keeps nothing of it, so a new object per sample would only be garbage. (The fast way
 * for a stage whose next stage keeps nothing; an object that is held, as by reorderByWatermark,
 * must be a new one.)
 */
const toSamples: OperatorFunction<PlacedReading, ReadingSample> = (source) =>
  new Observable<ReadingSample>((subscriber) => {
    const sample: ReadingSample = { labels: {}, value: 0, timestamp: 0, reading: undefined as unknown as DeviceReading };
    return source.subscribe({
      next: ({ reading, device: { room } }) => {
        sample.reading = reading;
        sample.timestamp = reading.timestamp;
        sample.labels = room.temperature;
        sample.value = reading.temperature;
        subscriber.next(sample);
        sample.labels = room.humidity;
        sample.value = reading.humidity;
        subscriber.next(sample);
      },
      error: (error: unknown) => subscriber.error(error),
      complete: () => subscriber.complete(),
    });
  });

export function gatewayPipeline(options: GatewayPipelineOptions): {
  operator: OperatorFunction<DeviceReading, Sample>;
  stats: () => GatewayStats;
  /** The operators, whose `stats` the gateway's /metrics exposes. */
  operators: Readonly<Record<string, { readonly stats: object }>>;
} {
  const maxOutOfOrderMs = options.maxOutOfOrderMs ?? 1000;
  const devices = devicesOf(options.registry);
  /** Device number → id, for checkpoints (which name devices by id). */
  const ids: string[] = [];
  for (const [id, device] of devices) ids[device.index] = id;
  const enriched = enrich({
    key: (reading: DeviceReading) => reading.device,
    reference: devices,
    join: (reading, device): PlacedReading => ({ reading, device }),
    onMiss: (reading) => options.onDrop?.(reading, 'unregistered'),
    state: options.state?.slot('enrich'),
  });
  const plausible = dropOutliers<PlacedReading>({
    // The device's number, not its id: found in an array slot (checkpoints still name devices by id).
    series: (p) => p.device.index,
    value: (p) => p.reading.temperature,
    eventTime: (p) => p.reading.timestamp,
    range: TEMPERATURE_RANGE,
    maxRate: { perSecond: 5 },
    // Within 2 °C of the recent median is never an outlier: the noise of a good sensor can look
    // extreme to MAD when a short window happens to be tight.
    mad: { window: 30, threshold: 6, minDeviation: 2 },
    onDrop: (p) => options.onDrop?.(p.reading, 'outlier'),
    state: savedByDeviceId(options.state?.slot('outliers'), 'series', devices, ids),
  });
  const ordered = reorderByWatermark<PlacedReading>({
    eventTime: (p) => p.reading.timestamp,
    key: (p) => p.device.index,
    maxOutOfOrderMs,
    idleTimeoutMs: options.idleTimeoutMs,
    scheduler: options.scheduler,
    onLate: (p) => options.onDrop?.(p.reading, 'late-reorder'),
    state: savedByDeviceId(options.state?.slot('reorder'), 'keys', devices, ids),
  });
  const windows = tumblingWindow<ReadingSample>({
    sizeMs: options.windowMs,
    // Each device comes out of reorderByWatermark in order, but the devices interleave: close a
    // window on its output watermark (the slowest device's), not on the newest reading seen.
    watermark: ordered,
    eventTime: (s) => s.timestamp,
    labels: (s) => s.labels,
    value: (s) => s.value,
    onLate: (s) => options.onDrop?.(s.reading, 'late-window'),
    idleTimeoutMs: options.idleTimeoutMs === undefined ? undefined : options.windowMs + options.idleTimeoutMs,
    aggregations: GATEWAY_AGGREGATIONS,
    scheduler: options.scheduler,
    state: options.state?.slot('window'),
  });
  let duplicates = 0;
  /**
   * Checkpointed as device id → newest timestamp, so that a checkpoint outlives a registry listed
   * in another order. The previous version saved device number → newest timestamp: read as such.
   */
  const repeatsSlot = options.state?.slot<SavedRepeats>('repeats');

  const dropRepeats: OperatorFunction<PlacedReading, PlacedReading> = (source) =>
    defer(() => {
      // After reordering, a device's readings come in time order: a repeat is one not newer than
      // the last. Per device, in its slot (no map lookup per reading), for this subscription.
      const newest = new Float64Array(devices.size).fill(-Infinity);
      const restored = repeatsSlot?.take();
      if (restored !== undefined && 'byDevice' in restored) {
        for (const [id, timestamp] of Object.entries(restored.byDevice)) {
          const device = devices.get(id);
          if (device !== undefined) newest[device.index] = timestamp as number;
        }
      } else {
        for (const [index, timestamp] of Object.entries(restored ?? {})) if (Number(index) < newest.length) newest[Number(index)] = timestamp as number;
      }
      const detach = repeatsSlot?.attach({
        snapshot: () => {
          const byDevice: Record<string, number> = {};
          newest.forEach((timestamp, index) => {
            if (timestamp !== -Infinity) byDevice[ids[index]] = timestamp;
          });
          return { byDevice };
        },
      });
      return source.pipe(
        filter(({ reading, device }) => {
          if (reading.timestamp <= newest[device.index]) {
            duplicates++;
            options.onDrop?.(reading, 'duplicate');
            return false;
          }
          newest[device.index] = reading.timestamp;
          return true;
        }),
        finalize(() => detach?.()),
      );
    });

  const operator: OperatorFunction<DeviceReading, Sample> = (source) =>
    source.pipe(
      enriched,
      plausible,
      ordered,
      dropRepeats,
      toSamples,
      windows,
    );

  return {
    operator,
    operators: { enrich: enriched, outliers: plausible, reorder: ordered, window: windows },
    stats: () => ({
      unregistered: enriched.stats.missing,
      outliers: Object.values(plausible.stats.dropped).reduce((a, b) => a + b, 0),
      duplicates,
      lateReorder: ordered.stats.late,
      lateWindow: windows.stats.late,
      samplesOut: windows.stats.samplesOut,
      windowsClosed: windows.stats.windowsClosed,
      openWindows: windows.stats.openWindows,
      heldForReorder: ordered.stats.buffered,
    }),
  };
}
