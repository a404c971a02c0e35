/** What `enrich`'s reference strategies (a map, a lookup function, snapshots) share. */
import type { Subscriber } from 'rxjs';
import type { EnrichOutcome, EnrichOutput } from './enrich-output.js';

export interface EnrichStrategyContext<T, K, R, U> {
  readonly destination: Subscriber<U>;
  readonly output: EnrichOutput<T, K, U>;
  /** What to emit for an element, given whether its reference data was found; counts the outcome. */
  readonly resolve: (element: T, found: boolean, value: R | undefined, reason: 'missing' | 'lookup-error') => EnrichOutcome;
  /** The output for an element found with its reference data (what `resolve` makes of it, without the outcome object); counts it. */
  readonly joined: (element: T, value: R) => U;
  /** Drops an element because `maxWaiting` elements wait already; counts it. */
  readonly overflow: (element: T) => void;
  readonly maxWaiting: number;
  /** Runs work the skeleton does not call itself (a promise callback, a reference subscription); a throw errors the output. */
  readonly guard: (work: () => void) => void;
}

/** One subscription's way of finding reference data. */
export interface EnrichStrategy<T, K> {
  accept(element: T, key: K): void;
  /** Unsubscribes from the reference and forgets what is pending. */
  dispose(): void;
}

/** The outcome for an element from a map of reference data. */
export function outcomeFromMap<T, K, R>(map: ReadonlyMap<K, R>, element: T, key: K, resolve: EnrichStrategyContext<T, K, R, unknown>['resolve']): EnrichOutcome {
  const value = map.get(key);
  return resolve(element, value !== undefined || map.has(key), value, 'missing');
}
