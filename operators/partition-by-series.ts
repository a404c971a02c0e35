import { groupBy, type GroupedObservable, type OperatorFunction } from 'rxjs';
import { ConfigError } from '../src/core/errors.js';
import { hashString } from '../src/core/hash.js';
import { sampleSeriesKey } from '../src/core/series-key.js';
import type { Sample } from '../src/core/model.js';
import { numberOption, functionOption } from '../src/core/options.js';

export interface PartitionBySeriesOptions<T> {
  /** Number of ordered lanes. 1 to 1024. */
  readonly shards: number;
  /**
   * The series identity of an element. A string is hashed; a number is taken as the series'
   * hash already (e.g. an interned series' cached hash). Default: the sorted label set of a
   * `Sample`.
   */
  readonly key?: (item: T) => string | number;
}

/**
 * Partitions a stream onto `shards` ordered lanes by a hash of each element's series identity,
 * so every element of a series always takes the same lane and keeps its order there. It groups
 * by lane, not by series: a million series still make only `shards` groups.
 *
 * Built on RxJS' own `groupBy` (not on `operate`): its key selector runs inside RxJS' operator
 * subscriber, so a throwing `key` already errors the output, and the lanes are `groupBy`'s.
 */
export function partitionBySeries<T = Sample>(options: PartitionBySeriesOptions<T>): OperatorFunction<T, GroupedObservable<number, T>> {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'an object', options);
  const shards = numberOption('shards', options.shards, undefined, { min: 1, max: 1024 });
  const key = functionOption<(item: T) => string | number>('key', options.key, false) ?? (sampleSeriesKey as (item: T) => string);
  return groupBy((item: T) => {
    const identity = key(item);
    const hash = typeof identity === 'number' ? identity >>> 0 : hashString(identity);
    return hash % shards;
  });
}
