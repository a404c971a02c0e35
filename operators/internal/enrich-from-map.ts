/** `enrich` from a fixed map: every element is joined (or missed) at once, in order. */
import { outcomeFromMap, type EnrichStrategy, type EnrichStrategyContext } from './enrich-strategy.js';

export function enrichFromMap<T, K, R, U>(map: ReadonlyMap<K, R>, context: EnrichStrategyContext<T, K, R, U>): EnrichStrategy<T, K> {
  const { output, resolve } = context;
  return {
    accept: (element, key) => output.emit(outcomeFromMap(map, element, key, resolve)),
    dispose: () => undefined,
  };
}
