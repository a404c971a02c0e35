/** `enrich` from a fixed map: every element is joined (or missed) at once, in order. */
import { outcomeFromMap, type EnrichStrategy, type EnrichStrategyContext } from './enrich-strategy.js';

export function enrichFromMap<T, K, R, U>(map: ReadonlyMap<K, R>, context: EnrichStrategyContext<T, K, R, U>): EnrichStrategy<T, K> {
  const { destination, output, resolve, joined } = context;
  return {
    accept(element, key) {
      // Nearly every element is found: emitted straight away, with no outcome object in between.
      const value = map.get(key);
      if (value !== undefined) destination.next(joined(element, value));
      else output.emit(outcomeFromMap(map, element, key, resolve));
    },
    dispose: () => undefined,
  };
}
