/**
 * The IoT gateway's pre-processing, shared by `npm start` and the end-to-end test:
 *
 *   readings → enrich (site, room from the registry) → dropOutliers (range, rate, MAD)
 *            → reorderByWatermark (per device) → drop repeated readings
 *            → temperature and humidity samples → tumblingWindow (per site and room)
 */
import { defer, filter, finalize, mergeMap, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { dropOutliers, enrich, reorderByWatermark, tumblingWindow, type Aggregation, type Labels, type PipelineState, type Sample } from '../src/index.js';
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

type Placed = DeviceReading & DeviceContext;
/** A sample that remembers its reading, so a drop at the window can be traced back to it. */
type ReadingSample = Sample & { readonly reading: DeviceReading };

export function gatewayPipeline(options: GatewayPipelineOptions): {
  operator: OperatorFunction<DeviceReading, Sample>;
  stats: () => GatewayStats;
  /** The operators, whose `stats` the gateway's /metrics exposes. */
  operators: Readonly<Record<string, { readonly stats: object }>>;
} {
  const maxOutOfOrderMs = options.maxOutOfOrderMs ?? 1000;
  const enriched = enrich({
    key: (reading: DeviceReading) => reading.device,
    reference: options.registry,
    join: (reading, context): Placed => ({ ...reading, site: context.site, room: context.room }),
    onMiss: (reading) => options.onDrop?.(reading, 'unregistered'),
    state: options.state?.slot('enrich'),
  });
  const plausible = dropOutliers<Placed>({
    series: (r) => r.device,
    value: (r) => r.temperature,
    eventTime: (r) => r.timestamp,
    range: TEMPERATURE_RANGE,
    maxRate: { perSecond: 5 },
    // Within 2 °C of the recent median is never an outlier: the noise of a good sensor can look
    // extreme to MAD when a short window happens to be tight.
    mad: { window: 30, threshold: 6, minDeviation: 2 },
    onDrop: (reading) => options.onDrop?.(reading, 'outlier'),
    state: options.state?.slot('outliers'),
  });
  const ordered = reorderByWatermark<Placed>({
    eventTime: (r) => r.timestamp,
    key: (r) => r.device,
    maxOutOfOrderMs,
    idleTimeoutMs: options.idleTimeoutMs,
    scheduler: options.scheduler,
    onLate: (reading) => options.onDrop?.(reading, 'late-reorder'),
    state: options.state?.slot('reorder'),
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
  const repeatsSlot = options.state?.slot<Record<string, number>>('repeats');

  // One label object per (metric, site, room): built once, recognised by identity downstream.
  const labelCache = new Map<string, Labels>();
  const roomLabels = (metric: string, site: string, room: string): Labels => {
    const key = `${metric}\u0000${site}\u0000${room}`;
    let labels = labelCache.get(key);
    if (labels === undefined) labelCache.set(key, (labels = { __name__: metric, site, room }));
    return labels;
  };

  const dropRepeats: OperatorFunction<Placed, Placed> = (source) =>
    defer(() => {
      // After reordering, a device's readings come in time order: a repeat is one not newer than the last.
      const newest = new Map<string, number>(Object.entries(repeatsSlot?.take() ?? {}));
      const detach = repeatsSlot?.attach({ snapshot: () => Object.fromEntries(newest) });
      return source.pipe(
        filter((r) => {
          if (r.timestamp <= (newest.get(r.device) ?? -Infinity)) {
            duplicates++;
            options.onDrop?.(r, 'duplicate');
            return false;
          }
          newest.set(r.device, r.timestamp);
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
      mergeMap((r): ReadingSample[] => [
        { labels: roomLabels('room_temperature_celsius', r.site, r.room), value: r.temperature, timestamp: r.timestamp, reading: r },
        { labels: roomLabels('room_humidity_percent', r.site, r.room), value: r.humidity, timestamp: r.timestamp, reading: r },
      ]),
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
