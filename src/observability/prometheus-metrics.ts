/**
 * rxprom's own counters in a prom-client registry: the sink's metrics, each operator's `stats`
 * and each live feed's stats, read at scrape time by collect callbacks (nothing is copied on the
 * hot path). Serve `registry.metrics()` on `/metrics` as usual.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { ConfigError } from '../core/errors.js';
import { DROP_REASONS } from '../core/model.js';
import { RemoteWriteMetrics } from '../remote-write/metrics.js';
import type { LiveFeedStats } from '../live/live-feed-stats.js';
import { METRIC_NAME } from '../protocol/label-rules.js';

/** Anything with operator stats: a flat record of numbers, or of records of numbers by reason. */
export type OperatorStatsSource = { readonly stats: object } | (() => object);

export interface RxpromMetricsSources {
  /** The sink (`remoteWrite(...)`) or its `metrics`. */
  readonly sink?: { readonly metrics: RemoteWriteMetrics } | RemoteWriteMetrics;
  /** Operators by the name to use as their `operator` label, e.g. `{ reorder: ordered }`. */
  readonly operators?: Readonly<Record<string, OperatorStatsSource>>;
  /** Live feeds by the name to use as their `feed` label. */
  readonly feeds?: Readonly<Record<string, { stats(): LiveFeedStats }>>;
}

export interface RxpromMetricsOptions {
  /** Prefix of every name (default "rxprom_"). */
  readonly prefix?: string;
}

export interface RegisteredMetrics {
  /** Removes every metric this call registered. */
  unregister(): void;
}

type Kind = 'counter' | 'gauge';

/** The operators' stats fields, with their Prometheus type and help. Unknown fields become gauges. */
const OPERATOR_FIELDS: Readonly<Record<string, readonly [Kind, string]>> = {
  released: ['counter', 'Elements released in event-time order (reorderByWatermark).'],
  late: ['counter', 'Elements that came too late: behind the watermark or after their window closed.'],
  invalid: ['counter', 'Elements with a non-finite time or value, or unusable labels.'],
  forcedReleases: ['counter', 'Releases forced by a full reorder buffer.'],
  idleReleases: ['counter', 'Releases of a quiet key after the idle timeout.'],
  buffered: ['gauge', 'Elements held for reordering now.'],
  accepted: ['counter', 'Elements added to an open window.'],
  windowsClosed: ['counter', 'Windows closed and aggregated.'],
  samplesOut: ['counter', 'Aggregate samples emitted.'],
  openWindows: ['gauge', 'Windows open now.'],
  joined: ['counter', 'Elements joined with their reference data (enrich).'],
  missing: ['counter', 'Elements whose key was not in the reference data.'],
  lookupErrors: ['counter', 'Reference lookups that failed.'],
  overflow: ['counter', 'Elements dropped because too many lookups were pending.'],
  dropped: ['counter', 'Elements dropped by the operator (by reason where it has reasons).'],
  lookups: ['counter', 'Reference lookups made.'],
  cacheHits: ['counter', 'Reference lookups answered from the cache.'],
  passed: ['counter', 'Elements that passed the outlier checks.'],
  rebased: ['counter', 'Times a series was re-based after a persistent level change.'],
};

/** A stats field as part of a metric name: camelCase to snake_case, any other character that a name cannot hold to `_`. */
const snake = (name: string): string =>
  name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9_:]/g, '_');

function metricsOf(sink: RxpromMetricsSources['sink']): RemoteWriteMetrics | undefined {
  if (sink === undefined) return undefined;
  return 'metrics' in sink ? sink.metrics : sink;
}

function statsOf(source: OperatorStatsSource): object {
  // An operator is itself a function that carries `stats`: look for the property first.
  return 'stats' in source ? source.stats : source();
}

/**
 * Checks the sources now: a wrong one would otherwise fail every scrape (or be ignored), far from
 * the call that named it.
 */
function checkSources(sources: unknown): void {
  if (typeof sources !== 'object' || sources === null) throw new ConfigError('sources', 'an object { sink?, operators?, feeds? }', sources);
  const { sink, operators, feeds } = sources as Record<string, unknown>;
  const isMetrics = (value: unknown): boolean => value instanceof RemoteWriteMetrics;
  if (sink !== undefined && !isMetrics(sink) && !(typeof sink === 'object' && sink !== null && isMetrics((sink as { metrics?: unknown }).metrics)) && !(typeof sink === 'function' && isMetrics((sink as { metrics?: unknown }).metrics))) {
    throw new ConfigError('sink', 'a remoteWrite sink or its RemoteWriteMetrics', sink);
  }
  const record = (option: string, value: unknown, ok: (entry: unknown) => boolean, expected: string): void => {
    if (value === undefined) return;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(option, `an object of names to ${expected}`, value);
    for (const [name, entry] of Object.entries(value)) if (!ok(entry)) throw new ConfigError(`${option}.${name}`, expected, entry);
  };
  const hasStats = (entry: unknown): boolean => (typeof entry === 'function' || (typeof entry === 'object' && entry !== null)) && typeof (entry as { stats?: unknown }).stats === 'object' && (entry as { stats?: unknown }).stats !== null;
  record('operators', operators, (entry) => hasStats(entry) || (typeof entry === 'function' && !('stats' in entry)), 'an operator with stats, or a function returning stats');
  record('feeds', feeds, (entry) => typeof entry === 'object' && entry !== null && typeof (entry as { stats?: unknown }).stats === 'function', 'a live feed (with stats())');
}

/**
 * Registers rxprom's counters in `registry` (prom-client). Names follow Prometheus' conventions:
 * `rxprom_remote_write_samples_written_total`, `rxprom_operator_late_total{operator="reorder"}`,
 * `rxprom_live_clients{feed="aggregates"}`.
 */
export function registerRxpromMetrics(registry: Registry, sources: RxpromMetricsSources, options: RxpromMetricsOptions = {}): RegisteredMetrics {
  const prefix = options.prefix ?? 'rxprom_';
  if (typeof prefix !== 'string' || !METRIC_NAME.test(prefix)) throw new ConfigError('prefix', 'a Prometheus metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)', prefix);
  checkSources(sources);
  const names: string[] = [];
  try {
    registerAll(registry, sources, prefix, names);
  } catch (error) {
    // A name already taken in the registry fails part way: take back what this call registered,
    // so that the caller is left with the registry as it was, and can fix and call again.
    for (const name of names) registry.removeSingleMetric(name);
    throw error;
  }
  return {
    unregister() {
      for (const name of names) registry.removeSingleMetric(name);
    },
  };
}

/** Registers every family of `sources`, adding each full name to `names` as it is registered. */
function registerAll(registry: Registry, sources: RxpromMetricsSources, prefix: string, names: string[]): void {

  function counter<L extends string>(name: string, help: string, labelNames: readonly L[], read: () => Iterable<[Partial<Record<L, string>>, number]>): void {
    const full = `${prefix}${name}`;
    new Counter<L>({
      name: full,
      help,
      labelNames,
      registers: [registry],
      collect() {
        // The source is the truth: restate it at every scrape.
        this.reset();
        for (const [labels, value] of read()) this.inc(labels, value);
      },
    });
    names.push(full);
  }

  function gauge<L extends string>(name: string, help: string, labelNames: readonly L[], read: () => Iterable<[Partial<Record<L, string>>, number]>): void {
    const full = `${prefix}${name}`;
    new Gauge<L>({
      name: full,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const [labels, value] of read()) this.set(labels, value);
      },
    });
    names.push(full);
  }

  const metrics = metricsOf(sources.sink);
  if (metrics !== undefined) {
    const one = (read: () => number) => (): [Record<string, never>, number][] => [[{}, read()]];
    const rw = 'remote_write_';
    counter(`${rw}samples_in_total`, 'Samples that entered the sink.', [], one(() => metrics.samplesIn));
    counter(`${rw}samples_written_total`, 'Samples in requests the receiver accepted.', [], one(() => metrics.samplesWritten));
    counter(`${rw}requests_written_total`, 'Requests the receiver accepted.', [], one(() => metrics.requestsWritten));
    counter(`${rw}request_retries_total`, 'Retries of a request, all causes.', [], one(() => metrics.requestRetries));
    counter(`${rw}samples_dropped_total`, 'Samples dropped, by reason.', ['reason'], () => {
      const dropped = metrics.snapshot().samplesDropped;
      return DROP_REASONS.map((reason): [{ reason: string }, number] => [{ reason }, dropped[reason]]);
    });
    counter(`${rw}requests_permanently_failed_total`, 'Requests that ended without being written.', [], one(() => metrics.requestsPermanentlyFailed));
    counter(`${rw}bytes_written_total`, 'Compressed bytes of requests the receiver accepted.', [], one(() => metrics.bytesWritten));
    gauge(`${rw}requests_in_flight`, 'Requests being sent or waiting to retry.', [], one(() => metrics.requestsInFlight));
    gauge(`${rw}samples_pending`, 'Samples accepted into lanes and not yet written or dropped.', [], one(() => metrics.samplesPending));
    gauge(`${rw}active_series`, 'Series the sink remembers (interned, order-guarded).', [], one(() => metrics.activeSeries));
    gauge(`${rw}lanes`, 'Parallel ordered lanes, one request in flight each.', [], one(() => metrics.lanes));
    counter(`${rw}reshards_total`, 'Changes of the lane count.', [], one(() => metrics.reshards));
  }

  const operators = Object.entries(sources.operators ?? {});
  if (operators.length > 0) {
    // One family per stats field across all operators, labelled by operator (and reason).
    const fields = new Map<string, Kind>();
    for (const [, source] of operators) {
      for (const [field, value] of Object.entries(statsOf(source))) {
        if (typeof value !== 'number' && (typeof value !== 'object' || value === null)) continue;
        fields.set(field, OPERATOR_FIELDS[field]?.[0] ?? 'gauge');
      }
    }
    for (const [field, kind] of fields) {
      const help = OPERATOR_FIELDS[field]?.[1] ?? `The operator's stats.${field}.`;
      const read = (): [Partial<Record<'operator' | 'reason', string>>, number][] => {
        const values: [Partial<Record<'operator' | 'reason', string>>, number][] = [];
        for (const [operator, source] of operators) {
          const value: unknown = (statsOf(source) as Record<string, unknown>)[field];
          if (typeof value === 'number') values.push([{ operator }, value]);
          else if (typeof value === 'object' && value !== null) {
            for (const [reason, n] of Object.entries(value)) if (typeof n === 'number') values.push([{ operator, reason }, n]);
          }
        }
        return values;
      };
      const name = `operator_${snake(field)}`;
      if (kind === 'counter') counter(`${name}_total`, help, ['operator', 'reason'], read);
      else gauge(name, help, ['operator', 'reason'], read);
    }
  }

  const feeds = Object.entries(sources.feeds ?? {});
  if (feeds.length > 0) {
    const per = (read: (s: LiveFeedStats) => number) => (): [{ feed: string }, number][] => feeds.map(([feed, f]) => [{ feed }, read(f.stats())]);
    gauge('live_clients', 'Live feed clients connected now.', ['feed'], per((s) => s.clients));
    counter('live_connections_total', 'Live feed connections accepted.', ['feed'], per((s) => s.connections));
    counter('live_rejected_total', 'Live feed requests refused (token, method, origin check, closed).', ['feed'], per((s) => s.rejected));
    counter('live_points_in_total', 'Points published to the live feed.', ['feed'], per((s) => s.pointsIn));
    counter('live_points_delivered_total', 'Points handed to client sockets, summed over clients.', ['feed'], per((s) => s.pointsDelivered));
    counter('live_points_skipped_total', 'Points slow clients skipped, summed over clients.', ['feed'], per((s) => s.pointsSkipped));
    counter('live_slow_disconnects_total', 'Clients cut off for not keeping up.', ['feed'], per((s) => s.slowDisconnects));
    gauge('live_buffered_bytes', 'Bytes waiting in client send buffers.', ['feed'], per((s) => s.bufferedBytes));
  }
}
