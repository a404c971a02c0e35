/**
 * The gateway example's pipeline as it was first written (an object spread per reading in the
 * join, a string key per reading for the room labels, `mergeMap` into two samples), kept for the
 * gateway benchmark: it runs beside `examples/gateway-pipeline.ts` in the same run, so what the
 * example's way of writing a pipeline costs is measured on the same operators.
 * Behaviour is the example's; only the way it is written differs.
 */
import { defer, filter, mergeMap, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { dropOutliers, enrich, reorderByWatermark, tumblingWindow, type Labels, type Sample } from '../src/index.js';
import type { DeviceContext, DeviceReading } from '../examples/fleet.js';
import { GATEWAY_AGGREGATIONS, TEMPERATURE_RANGE, type GatewayPipelineOptions, type GatewayStats } from '../examples/gateway-pipeline.js';

type Placed = DeviceReading & DeviceContext;
/** A sample that remembers its reading, so a drop at the window can be traced back to it. */
type ReadingSample = Sample & { readonly reading: DeviceReading };

export function baselineGatewayPipeline(options: GatewayPipelineOptions): {
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
  });
  const ordered = reorderByWatermark<Placed>({
    eventTime: (r) => r.timestamp,
    key: (r) => r.device,
    maxOutOfOrderMs,
    idleTimeoutMs: options.idleTimeoutMs,
    scheduler: options.scheduler,
    onLate: (reading) => options.onDrop?.(reading, 'late-reorder'),
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
  });
  let duplicates = 0;

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
      const newest = new Map<string, number>();
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
