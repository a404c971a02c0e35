/**
 * Series handles: a label object built once per series by a producer that can hold it (as
 * prom-client's `labels()` children are), so every sample of the series reaches the sink's
 * identity fast path instead of being read by content.
 */
import type { Labels } from '../core/model.js';
import { checkLabels, type ValidationMode } from '../protocol/label-rules.js';

/**
 * Checks `labels` as the sink would and returns them as a frozen label object in canonical form
 * (names sorted, empty values left out, values as strings, no prototype). Throws a `TypeError`
 * naming what is wrong with a label set the sink would refuse.
 */
export function seriesHandle(labels: Labels, validation: ValidationMode): Labels {
  const checked = checkLabels(labels, validation);
  if (typeof checked === 'string') throw new TypeError(`rxprom: sink.series(): ${checked}`);
  // No prototype: a label named like an Object.prototype member is an ordinary own property.
  const handle = Object.create(null) as Record<string, string>;
  for (let i = 0; i < checked.names.length; i++) handle[checked.names[i]] = checked.values[i];
  return Object.freeze(handle);
}
