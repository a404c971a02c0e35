/**
 * The seam between the topic mapping and `mqttSamples`: the labels objects the source remembers
 * per topic, each with a slot for the sample labels built from it. Only these objects (frozen,
 * plain data properties built by a topic pattern) have their sample labels reused; any other
 * labels object could change or compute its values, so its sample labels are built anew.
 */
import type { Labels } from '../../core/model.js';

/** Sample labels built from one remembered topic labels object: the first metric's inline, any others in a small map. */
export interface SampleLabelsSlot {
  metric: string | undefined;
  labels: Labels | undefined;
  others: Map<string, Labels> | undefined;
}

/** Remembered topic labels → their slot. Weak: an entry goes with the last message holding its labels. */
export const sharedTopicLabels = new WeakMap<object, SampleLabelsSlot>();

/** Marks a frozen topic labels object as the source's own, so its sample labels are built once per metric. */
export function shareTopicLabels(labels: Readonly<Record<string, string>>): void {
  sharedTopicLabels.set(labels, { metric: undefined, labels: undefined, others: undefined });
}
