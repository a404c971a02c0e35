/**
 * Publishes readings into JetStream, partitioned by room: `readings.<partition>.<site>.<room>.<device>`,
 * the partition a stable hash of site and room (`partitionOf`), so every reading of one room
 * aggregate's inputs lands in one partition and one worker writes that aggregate. Each publish
 * resolves on the stream's acknowledgement (stored); publishes from one connection are stored in
 * the order they were made. The stream `READINGS` (on `readings.>`) is created when missing.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { redactUrl } from '../../src/core/redact.js';
import { partitionOf, partitionSubject } from '../../src/sources/jetstream/partitions.js';
import type { DeviceContext, DeviceReading } from '../fleet.js';
import { readingPayload, type ReadingPublisher } from './publisher.js';

export const READINGS_STREAM = 'READINGS';
export const READINGS_PREFIX = 'readings';
export const DEFAULT_PARTITIONS = 6;

/** The partition a room's readings go to. */
export const roomPartition = (site: string, room: string, partitions: number): number => partitionOf(`${site}/${room}`, partitions);

/** The subject a reading goes to. */
export const readingSubject = (reading: DeviceReading, placement: DeviceContext, partitions: number): string =>
  partitionSubject(READINGS_PREFIX, roomPartition(placement.site, placement.room, partitions), [placement.site, placement.room, reading.device]);

/** Creates the stream `READINGS` on `readings.>` (file storage) unless it exists. */
export async function ensureReadingsStream(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.streams.info(READINGS_STREAM);
  } catch {
    await jsm.streams.add({ name: READINGS_STREAM, subjects: [`${READINGS_PREFIX}.>`] });
  }
}

export interface NatsPublisherOptions {
  /** Partitions of the stream; default 6. The workers must be given the same number. */
  readonly partitions?: number;
  /** Told about each reading as it is published (in stream order), with its partition. */
  readonly onPublish?: (reading: DeviceReading, partition: number) => void;
}

export async function natsPublisher(servers: string, options: NatsPublisherOptions = {}): Promise<ReadingPublisher> {
  const partitions = options.partitions ?? DEFAULT_PARTITIONS;
  const nc = await connect({ servers, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
  await ensureReadingsStream(nc);
  const js = jetstream(nc);
  return {
    target: `${redactUrl(servers)} stream ${READINGS_STREAM} (${partitions} partitions)`,
    async publish(reading, placement) {
      options.onPublish?.(reading, roomPartition(placement.site, placement.room, partitions));
      await js.publish(readingSubject(reading, placement, partitions), JSON.stringify(readingPayload(reading)));
    },
    async close() {
      await nc.drain();
    },
  };
}
