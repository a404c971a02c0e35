/**
 * `rxprom/mqtt`: the MQTT source. A separate entry point because it needs the optional peer
 * dependency `mqtt` (mqtt.js 5); `rxprom` itself never loads it.
 */
export { MqttSource, mqttSource, BAD_MESSAGE_KINDS, type MqttSourceOptions, type MqttSourceStats, type MqttMessage, type BadMessage, type BadMessageKind } from './source.js';
export { topicPattern, type TopicPattern, type TopicMatch, type TopicMismatch } from './topic-pattern.js';
export { jsonPayload, numberPayload, BadPayloadError, type JsonPayloadOptions, type PayloadParser, type PayloadContext, type Reading } from './payload.js';
export { readingToSample, mqttSamples } from './samples.js';
export { topicLabels, TopicLabels, DEFAULT_REMEMBER_TOPICS, MAX_REMEMBER_TOPICS } from './topic-labels.js';
