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
import { sharedTopicLabels } from './shared-labels.js';
import type { MqttMessage } from './source.js';

function checkMetric(metric: unknown): string {
  if (typeof metric !== 'string' || !METRIC_NAME.test(metric)) throw new ConfigError('metric', 'a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)', metric);
  return metric;
}

/** Metrics remembered per topic labels object beyond the first: a bound for callers that vary the metric. */
export const MAX_OTHER_METRICS = 16;

/**
 * `{ __name__: metric, ...labels }`. For labels the source remembered for a topic, the same frozen
 * object for the same labels object and metric, so the sink finds its series by identity; for
 * any other labels object, a new object each time, as it could have changed since.
 */
function sampleLabels(labels: Readonly<Record<string, string>>, metric: string): Labels {
  // `get` of a value that is not an object is undefined: labels that are not an object give only the name.
  const slot = sharedTopicLabels.get(labels);
  if (slot === undefined) return { __name__: metric, ...labels };
  if (slot.metric === metric) return slot.labels as Labels;
  const other = slot.others?.get(metric);
  if (other !== undefined) return other;
  const built = Object.freeze({ __name__: metric, ...labels });
  if (slot.metric === undefined) {
    slot.metric = metric;
    slot.labels = built;
  } else {
    slot.others ??= new Map();
    if (slot.others.size < MAX_OTHER_METRICS) slot.others.set(metric, built);
  }
  return built;
}

/**
 * `{ __name__: metric, ...topic labels }` with the reading's value and timestamp. For a message
 * whose topic the source remembers, the labels are frozen and shared: the same object for every
 * reading on the same topic and metric.
 */
export function readingToSample(message: MqttMessage<Reading>, metric: string): Sample {
  return { labels: sampleLabels(message.labels, metric), value: message.value.value, timestamp: message.value.timestamp };
}

/** Maps each positioned reading to a positioned sample named `metric`. */
export function mqttSamples(metric: string): OperatorFunction<Positioned<MqttMessage<Reading>, number>, Positioned<Sample, number>> {
  const name = checkMetric(metric);
  return map(({ value, position }) => ({ value: readingToSample(value, name), position }));
}
