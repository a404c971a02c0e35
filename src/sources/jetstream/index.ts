/**
 * `rxprom/jetstream`: the NATS JetStream source and the partitioning helpers for scale-out. Needs
 * the optional peer dependencies `@nats-io/jetstream` and `@nats-io/transport-node`; the main
 * `rxprom` entry never imports them.
 */
export { JetStreamSource, type JetStreamSourceOptions, type JetStreamStats, type BadPayload } from './source.js';
export type { NatsCredentials } from './credentials.js';
export { jsonPayload, jsonFieldsPayload, numberPayload, type PayloadParser } from './payload.js';
export { partitionOf, partitionsOfWorker, partitionSubject, partitionFilter, subjectToken } from './partitions.js';
export type { Positioned, AcknowledgedSource, Pausable } from '../acknowledged.js';
