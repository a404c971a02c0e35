import { asyncScheduler, isObservable, type Observable, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { ConfigError } from '../src/core/errors.js';
import type { Logger } from '../src/core/logger.js';
import { functionOption, loggerOption, numberOption, schedulerOption } from '../src/core/options.js';
import { enrichFromLookup, type EnrichLookup } from './internal/enrich-from-lookup.js';
import { enrichFromMap } from './internal/enrich-from-map.js';
import { enrichFromSnapshots } from './internal/enrich-from-snapshots.js';
import { EnrichOutput, type EnrichOutcome } from './internal/enrich-output.js';
import { ENRICH_STATE, loadEnrich, type SavedEnrich } from './internal/enrich-state.js';
import { stateOption, takeRestored } from './internal/state-codec.js';
import type { StateSlot } from '../src/durable/pipeline-state.js';
import type { EnrichStrategy, EnrichStrategyContext } from './internal/enrich-strategy.js';
import { LruTtlCache } from './internal/lru-ttl-cache.js';
import { operate } from './internal/operate.js';

/** Where reference data comes from. */
export type EnrichReference<K, R> =
  /** A fixed map (anything with `get` and `has`). */
  | ReadonlyMap<K, R>
  /**
   * A lookup, sync or async (e.g. a database or HTTP call). `undefined` means "no reference data".
   * Results and misses are cached; a throw or a rejection is a miss with reason `'lookup-error'`.
   */
  | ((key: K) => R | undefined | PromiseLike<R | undefined>)
  /** Snapshots that replace each other while the stream runs (e.g. a registry reloaded every minute). */
  | Observable<ReadonlyMap<K, R>>;

/** Why `enrich` did not join an element with its own reference data. */
export type EnrichDropReason =
  /** The reference has no entry for the key (or the reference Observable completed without a snapshot). */
  | 'missing'
  /** The async lookup threw or rejected. Not cached: the next element with that key tries again. */
  | 'lookup-error'
  /** More than `maxWaiting` elements were waiting; this one was dropped, whatever `onMissing` says. */
  | 'overflow';

/**
 * What becomes of an element without reference data (reason `'missing'` or `'lookup-error'`):
 * - `'drop'` (default): not emitted;
 * - `{ default: value }`: joined with `value` instead;
 * - `{ keep: (element) => output }`: emitted as `keep(element)`.
 * For "emit the element itself" use `onMissing: 'keep'` (see {@link EnrichKeepOptions}).
 */
export type EnrichMissingPolicy<T, R, U> = 'drop' | { readonly default: R } | { readonly keep: (element: T) => U };

/** Options shared by every form of `enrich`. */
export interface EnrichCommonOptions<T, K, R, U> {
  /** The join key of an element. */
  readonly key: (element: T) => K;
  readonly reference: EnrichReference<K, R>;
  /** Builds the output from an element and its reference data. */
  readonly join: (element: T, reference: R) => U;
  /** Called for every element not joined with its own reference data, with the reason (whatever `onMissing` does with it). */
  readonly onMiss?: (element: T, reason: EnrichDropReason) => void;
  /** Async lookups running at once, 1 to 10,000 (default 16). Output order is input order regardless. */
  readonly concurrency?: number;
  /** Lookup results (and misses) cached, least recently used evicted first; 0 (no cache) to 10,000,000, default 100,000. */
  readonly cacheSize?: number;
  /** How long a cached lookup result (or miss) stays valid, in ms (>= 1). Default: until evicted. */
  readonly cacheTtlMs?: number;
  /**
   * Elements waiting (behind a pending async lookup, or for the first snapshot) at most,
   * 1 to 100,000,000 (default 100,000); beyond it an element is dropped with reason `'overflow'`.
   */
  readonly maxWaiting?: number;
  /** Clock for `cacheTtlMs` (default `asyncScheduler`; tests pass a `TestScheduler`). */
  readonly scheduler?: SchedulerLike;
  /** Misses are logged here at debug level (default: not logged; they are always counted and given to `onMiss`). */
  readonly logger?: Logger;
  /**
   * Checkpoint this operator's state in a pipeline's state (`PipelineState.slot(name)`): the
   * elements accepted but not yet emitted (lookups in flight, elements waiting behind them or for
   * the first snapshot), saved as they are (they must survive `JSON.stringify` / `JSON.parse`
   * unchanged). A subscription restored from the slot looks them up again before the source's
   * next element, so relative to the checkpoint's source position none is lost or emitted twice;
   * their `onMiss` calls and counts happen again. The cache is not saved. `stats` are per run.
   * Default: no checkpoints.
   */
  readonly state?: StateSlot<SavedEnrich>;
}

/** `enrich` options: the output is `join(...)`, or what `onMissing` makes of an element without reference data. */
export interface EnrichOptions<T, K, R, U> extends EnrichCommonOptions<T, K, R, U> {
  readonly onMissing?: EnrichMissingPolicy<T, R, U>;
}

/** `enrich` options that pass an element without reference data through unchanged: the output is `U | T`. */
export interface EnrichKeepOptions<T, K, R, U> extends EnrichCommonOptions<T, K, R, U> {
  readonly onMissing: 'keep';
}

/**
 * Counters of an `enrich` operator, summed over its subscriptions.
 * Every input element is either emitted (`joined` + misses not dropped) or in `dropped`.
 */
export interface EnrichStats {
  /** Elements joined with their own reference data. */
  joined: number;
  /** Elements whose key had no reference data (dropped, defaulted or kept per `onMissing`). */
  missing: number;
  /** Elements whose lookup threw or rejected (dropped, defaulted or kept per `onMissing`). */
  lookupErrors: number;
  /** Elements dropped because more than `maxWaiting` were waiting. */
  overflow: number;
  /** Elements not emitted: misses under `onMissing: 'drop'`, plus `overflow`. */
  dropped: number;
  /** Lookup calls made. */
  lookups: number;
  /** Elements answered from the lookup cache. */
  cacheHits: number;
}

export type EnrichOperator<T, U> = OperatorFunction<T, U> & { readonly stats: EnrichStats };

const isMapLike = <K, R>(value: unknown): value is ReadonlyMap<K, R> =>
  typeof value === 'object' && value !== null && typeof (value as Map<K, R>).get === 'function' && typeof (value as Map<K, R>).has === 'function';

/**
 * Joins each element with reference data looked up by `key(element)`:
 * - from a `Map` (synchronous);
 * - from a lookup function, sync or async: results and misses are cached (`cacheSize`, LRU;
 *   `cacheTtlMs`), at most `concurrency` lookups run at once (one per key: elements with a key
 *   already being looked up share the lookup), and the output keeps the input order; a thrown or
 *   rejected lookup never fails the pipeline, it is a miss with reason `'lookup-error'`;
 * - from an Observable of snapshots: elements arriving before the first snapshot wait (at most
 *   `maxWaiting`), each later snapshot replaces the previous one at once; if it errors the output
 *   errors, if it completes the last snapshot stays (none at all: every key is missing).
 *
 * Elements without reference data are dropped, defaulted or kept per `onMissing`, counted in
 * `stats` and given to `onMiss` with the reason. Completion waits for pending lookups;
 * unsubscription drops the reference subscription and ignores lookups still pending.
 * A throwing `key`, `join`, `keep` or `onMiss` errors the output.
 *
 * @example
 * const withRoom = enrich({ key: (r: Reading) => r.device, reference: registry, join: (r, c) => ({ ...r, room: c.room }) });
 * readings$.pipe(withRoom); // withRoom.stats.missing counts unknown devices
 */
export function enrich<T, K, R, U>(options: EnrichKeepOptions<T, K, R, U>): EnrichOperator<T, U | T>;
export function enrich<T, K, R, U>(options: EnrichOptions<T, K, R, U>): EnrichOperator<T, U>;
export function enrich<T, K, R, U>(options: EnrichOptions<T, K, R, U> | EnrichKeepOptions<T, K, R, U>): EnrichOperator<T, U | T> {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'an object', options);
  const keyOf = functionOption<(element: T) => K>('key', options.key, true) as (element: T) => K;
  const join = functionOption<(element: T, reference: R) => U>('join', options.join, true) as (element: T, reference: R) => U;
  const onMiss = functionOption<(element: T, reason: EnrichDropReason) => void>('onMiss', options.onMiss, false);
  const concurrency = numberOption('concurrency', options.concurrency, 16, { min: 1, max: 10_000 });
  const cacheSize = numberOption('cacheSize', options.cacheSize, 100_000, { min: 0, max: 10_000_000 });
  const cacheTtlMs = options.cacheTtlMs === undefined ? Infinity : numberOption('cacheTtlMs', options.cacheTtlMs, undefined, { min: 1 });
  const maxWaiting = numberOption('maxWaiting', options.maxWaiting, 100_000, { min: 1, max: 100_000_000 });
  const scheduler = schedulerOption(options.scheduler, asyncScheduler);
  const logger = loggerOption(options.logger, undefined);
  const onMissing: EnrichMissingPolicy<T, R, U> | 'keep' = options.onMissing ?? 'drop';
  const validPolicy =
    onMissing === 'drop' ||
    onMissing === 'keep' ||
    (typeof onMissing === 'object' && onMissing !== null && ('default' in onMissing || typeof (onMissing as { keep?: unknown }).keep === 'function'));
  if (!validPolicy) throw new ConfigError('onMissing', "'drop', 'keep', { default: value } or { keep: (element) => output }", onMissing);
  const reference = options.reference;
  if (!(isObservable(reference) || typeof reference === 'function' || isMapLike(reference))) {
    throw new ConfigError('reference', 'a Map, a lookup function or an Observable of Maps', reference);
  }
  const slot = stateOption<SavedEnrich>(options.state);
  const stats: EnrichStats = { joined: 0, missing: 0, lookupErrors: 0, overflow: 0, dropped: 0, lookups: 0, cacheHits: 0 };

  /** What to emit for an element, given whether its reference data was found. Counts the outcome. */
  const resolve = (element: T, found: boolean, value: R | undefined, reason: 'missing' | 'lookup-error'): EnrichOutcome => {
    if (found) {
      stats.joined++;
      return { emit: true, output: join(element, value as R) };
    }
    if (reason === 'lookup-error') stats.lookupErrors++;
    else stats.missing++;
    logger?.debug?.({ reason }, `enrich: no reference data (${reason})`);
    onMiss?.(element, reason);
    if (onMissing === 'drop') {
      stats.dropped++;
      return { emit: false, output: undefined };
    }
    if (onMissing === 'keep') return { emit: true, output: element };
    if ('default' in onMissing) return { emit: true, output: join(element, onMissing.default) };
    return { emit: true, output: onMissing.keep(element) };
  };

  const operator = operate<T, U | T>(({ destination, guard }) => {
    const restored = slot === undefined ? undefined : takeRestored(slot, ENRICH_STATE.operator, ENRICH_STATE.version, (saved) => loadEnrich<T>(saved));
    const output = new EnrichOutput<T, K, U | T>(destination);
    const overflow = (element: T): void => {
      stats.overflow++;
      stats.dropped++;
      logger?.debug?.({ reason: 'overflow', maxWaiting }, 'enrich: too many elements waiting, dropped one');
      onMiss?.(element, 'overflow');
    };
    const joined = (element: T, value: R): U => {
      stats.joined++;
      return join(element, value);
    };
    const context: EnrichStrategyContext<T, K, R, U | T> = { destination, output, resolve, joined, overflow, maxWaiting, guard };
    const strategy: EnrichStrategy<T, K> = isObservable(reference)
      ? enrichFromSnapshots(reference, context)
      : typeof reference === 'function'
        ? enrichFromLookup(reference as EnrichLookup<K, R>, context, {
            concurrency,
            cache: new LruTtlCache<K, R | undefined>(cacheSize, cacheTtlMs, () => scheduler.now()),
            counters: stats,
            logger,
          })
        : enrichFromMap(reference, context);
    let detach: (() => void) | undefined;
    try {
      detach = slot?.attach({ snapshot: (): SavedEnrich => ({ ...ENRICH_STATE, waiting: output.waitingElements() }) });
      // What was accepted but not emitted before the checkpoint goes first, looked up again.
      for (const element of restored ?? []) {
        if (destination.closed) break;
        strategy.accept(element, keyOf(element));
      }
    } catch (error) {
      // The skeleton runs no finalize for a setup that throws.
      strategy.dispose();
      detach?.();
      throw error;
    }
    return {
      next: (element) => strategy.accept(element, keyOf(element)),
      complete: () => output.sourceCompleted(),
      finalize() {
        detach?.();
        strategy.dispose();
        output.clear();
      },
    };
  });

  return Object.assign(operator, { stats });
}
