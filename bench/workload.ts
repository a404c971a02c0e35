/**
 * The benchmark workload, identical to the reference sender's (`reference-sender.ts`): series i has the labels
 * `__name__="raw_sender_metric"`, `l1="s<i>"` and `l<k>="v<i % (10k)>"` for k = 2..labels-1.
 * One label object is built per series and reused for every sample of it, as a pipeline that
 * keys devices would do.
 */
import type { Labels } from '../src/core/model.js';

export const WORKLOAD_METRIC = 'raw_sender_metric';

export function buildLabelSets(series: number, labels = 4, metric = WORKLOAD_METRIC): Labels[] {
  const sets: Labels[] = new Array<Labels>(series);
  for (let i = 0; i < series; i++) {
    const set: Record<string, string> = { __name__: metric, l1: `s${i}` };
    for (let k = 2; k < labels; k++) set[`l${k}`] = `v${i % (10 * k)}`;
    sets[i] = set;
  }
  return sets;
}
