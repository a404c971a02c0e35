/**
 * From parsed MQTT readings to samples: the metric name plus the topic's labels, the reading's
 * value and timestamp, the position kept.
 */
import { map, type OperatorFunction } from 'rxjs';
import { ConfigError } from '../../core/errors.js';
import type { Labels, Sample } from '../../core/model.js';
import { METRIC_NAME } from '../../protocol/label-rules.js';
import type { Positioned } from '../acknowledged.js';
import type { Reading } from './payload.js';
import type { MqttMessage } from './source.js';

function checkMetric(metric: unknown): string {
  if (typeof metric !== 'string' || !METRIC_NAME.test(metric)) throw new ConfigError('metric', 'a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)', metric);
  return metric;
}

/** A frozen topic labels object's sample labels: the first metric's inline, any others in a small map. */
interface SampleLabels {
  readonly metric: string;
  readonly labels: Labels;
  others: Map<string, Labels> | undefined;
}

/**
 * Sample labels by the topic labels object they were built from. Weak: an entry goes when the
 * source forgets its topic. Only frozen objects are kept, as only they cannot change afterwards.
 */
const sampleLabelsOf = new WeakMap<object, SampleLabels>();
/** Metrics remembered per topic labels object beyond the first: a bound for callers that vary the metric. */
const MAX_OTHER_METRICS = 16;

/**
 * `{ __name__: metric, ...labels }`. For a frozen `labels` (the source's), the same frozen object
 * for the same `labels` object and metric, so the sink finds its series by identity; for any
 * other, a new object each time, as it could have changed since.
 */
function sampleLabels(labels: Readonly<Record<string, string>>, metric: string): Labels {
  const known = sampleLabelsOf.get(labels);
  if (known !== undefined) {
    if (known.metric === metric) return known.labels;
    const other = known.others?.get(metric);
    if (other !== undefined) return other;
    const built = Object.freeze({ __name__: metric, ...labels });
    known.others ??= new Map();
    if (known.others.size < MAX_OTHER_METRICS) known.others.set(metric, built);
    return built;
  }
  // Only an object can be a WeakMap key (and every primitive counts as frozen).
  if (typeof labels !== 'object' || labels === null || !Object.isFrozen(labels)) return { __name__: metric, ...labels };
  const built = Object.freeze({ __name__: metric, ...labels });
  sampleLabelsOf.set(labels, { metric, labels: built, others: undefined });
  return built;
}

/**
 * `{ __name__: metric, ...topic labels }` with the reading's value and timestamp. The labels of a
 * message from the source are frozen and shared: the same object for every reading on the same
 * topic and metric.
 */
export function readingToSample(message: MqttMessage<Reading>, metric: string): Sample {
  return { labels: sampleLabels(message.labels, metric), value: message.value.value, timestamp: message.value.timestamp };
}

/** Maps each positioned reading to a positioned sample named `metric`. */
export function mqttSamples(metric: string): OperatorFunction<Positioned<MqttMessage<Reading>, number>, Positioned<Sample, number>> {
  const name = checkMetric(metric);
  return map(({ value, position }) => ({ value: readingToSample(value, name), position }));
}
