import { groupBy, type GroupedObservable, type OperatorFunction } from 'rxjs';
import { numberOption, functionOption } from '../src/errors.js';
import { hashString } from '../src/hash.js';
import { checkLabels, encodeLabelsKey } from '../src/labels.js';
import type { Sample } from '../src/model.js';

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
 */
export function partitionBySeries<T = Sample>(options: PartitionBySeriesOptions<T>): OperatorFunction<T, GroupedObservable<number, T>> {
  const shards = numberOption('shards', options.shards, undefined, { min: 1, max: 1024 });
  const key = functionOption<(item: T) => string | number>('key', options.key, false) ?? (sampleSeriesKey as (item: T) => string);
  return groupBy((item: T) => {
    const identity = key(item);
    const hash = typeof identity === 'number' ? identity >>> 0 : hashString(identity);
    return hash % shards;
  });
}

/** The canonical identity of a sample's series: its sorted, non-empty labels. */
export function sampleSeriesKey(sample: Sample): string {
  const labels = checkLabels(sample?.labels, 'off');
  return typeof labels === 'string' ? '' : encodeLabelsKey(labels);
}
