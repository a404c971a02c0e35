/**
 * The benchmark workload, identical to the reference sender's (`reference-sender.ts`): series i has the labels
 * `__name__="raw_sender_metric"`, `l1="s<i>"` and `l<k>="v<i % (10k)>"` for k = 2..labels-1.
 *
 * Two ways to hand the labels to the sink:
 * - reused (`buildLabelSets`): one label object per series, reused for every sample of it, as a
 *   pipeline that keys devices (or holds `sink.series(...)` handles) does;
 * - fresh (`freshLabels`): a new label object for every sample, as labels parsed from JSON or built
 *   per message arrive at a gateway. The values are the series' own strings; the object is new.
 */
import type { Labels } from '../src/core/model.js';

export const WORKLOAD_METRIC = 'raw_sender_metric';

/** How the benchmark clients hand label sets to the sink. */
export type LabelObjects = 'reused' | 'fresh';

export function buildLabelSets(series: number, labels = 4, metric = WORKLOAD_METRIC): Labels[] {
  const sets: Labels[] = new Array<Labels>(series);
  for (let i = 0; i < series; i++) {
    const set: Record<string, string> = { __name__: metric, l1: `s${i}` };
    for (let k = 2; k < labels; k++) set[`l${k}`] = `v${i % (10 * k)}`;
    sets[i] = set;
  }
  return sets;
}

/**
 * A builder of a new label object per call for series i: the same labels as `buildLabelSets`
 * (same names, values and key order), a different object every time.
 */
export function freshLabels(series: number, labels = 4, metric = WORKLOAD_METRIC): (i: number) => Labels {
  const sets = buildLabelSets(series, labels, metric);
  if (labels === 4) {
    // What a message decoder builds: a literal of the message's fields.
    return (i) => {
      const set = sets[i];
      return { __name__: set['__name__'], l1: set['l1'], l2: set['l2'], l3: set['l3'] };
    };
  }
  return (i) => ({ ...sets[i] });
}
