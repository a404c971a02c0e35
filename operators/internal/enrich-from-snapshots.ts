/**
 * `enrich` from an Observable of map snapshots: elements that arrive before the first snapshot
 * wait in line (at most `maxWaiting`), each later snapshot replaces the previous one at once. If
 * the reference errors, the output errors; if it completes, the last snapshot stays (none at all:
 * every key is missing).
 */
import type { Observable } from 'rxjs';
import { outcomeFromMap, type EnrichStrategy, type EnrichStrategyContext } from './enrich-strategy.js';

export function enrichFromSnapshots<T, K, R, U>(snapshots: Observable<ReadonlyMap<K, R>>, context: EnrichStrategyContext<T, K, R, U>): EnrichStrategy<T, K> {
  const { destination, output, resolve, overflow, maxWaiting, guard } = context;
  let current: ReadonlyMap<K, R> | undefined;
  const subscription = snapshots.subscribe({
    next: (snapshot) =>
      guard(() => {
        current = snapshot;
        // Elements that waited for the first snapshot go out now, in order.
        output.fillWaiting((slot) => outcomeFromMap(snapshot, slot.element, slot.key, resolve));
        output.flush();
      }),
    error: (error: unknown) => destination.error(error),
    complete: () =>
      guard(() => {
        if (current !== undefined) return;
        // No snapshot will ever come: whatever waits has no reference data.
        current = new Map<K, R>();
        output.fillWaiting((slot) => resolve(slot.element, false, undefined, 'missing'));
        output.flush();
      }),
  });
  return {
    accept(element, key) {
      if (current !== undefined && output.waiting === 0) output.emit(outcomeFromMap(current, element, key, resolve));
      else if (output.waiting >= maxWaiting) overflow(element);
      else if (current === undefined) output.enqueue(element, key);
      else {
        // Fed back from downstream while the elements that waited for the first snapshot go out: in line behind them.
        output.fill(output.enqueue(element, key), outcomeFromMap(current, element, key, resolve));
        output.flush();
      }
    },
    dispose: () => subscription.unsubscribe(),
  };
}
