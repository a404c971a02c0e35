/**
 * From parsed MQTT readings to samples: the metric name plus the topic's labels, the reading's
 * value and timestamp, the position kept.
 */
import { map, type OperatorFunction } from 'rxjs';
import { ConfigError } from '../../core/errors.js';
import type { Sample } from '../../core/model.js';
import { METRIC_NAME } from '../../protocol/label-rules.js';
import type { Positioned } from '../acknowledged.js';
import type { Reading } from './payload.js';
import type { MqttMessage } from './source.js';

function checkMetric(metric: unknown): string {
  if (typeof metric !== 'string' || !METRIC_NAME.test(metric)) throw new ConfigError('metric', 'a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)', metric);
  return metric;
}

/** `{ __name__: metric, ...topic labels }` with the reading's value and timestamp. */
export function readingToSample(message: MqttMessage<Reading>, metric: string): Sample {
  return { labels: { __name__: metric, ...message.labels }, value: message.value.value, timestamp: message.value.timestamp };
}

/** Maps each positioned reading to a positioned sample named `metric`. */
export function mqttSamples(metric: string): OperatorFunction<Positioned<MqttMessage<Reading>, number>, Positioned<Sample, number>> {
  const name = checkMetric(metric);
  return map(({ value, position }) => ({ value: readingToSample(value, name), position }));
}
