/**
 * Where `npm run fleet` sends the simulated fleet's readings: one implementation per broker
 * (`mqtt.ts`; others add theirs next to it and a flag in examples/fleet-publish.ts).
 */
import type { DeviceContext, DeviceReading } from '../fleet.js';

export interface ReadingPublisher {
  /** What it publishes to, for the summary (no password). */
  readonly target: string;
  /** Resolves once the broker has accepted the reading (for MQTT QoS 1: its PUBACK). */
  publish(reading: DeviceReading, placement: DeviceContext): Promise<void>;
  close(): Promise<void>;
}

/** The payload every publisher sends: what a device would (no simulator ground truth). */
export interface ReadingPayload {
  readonly device: string;
  /** Event time, ms epoch. */
  readonly ts: number;
  readonly temperature: number;
  readonly humidity: number;
}

export function readingPayload(reading: DeviceReading): ReadingPayload {
  return { device: reading.device, ts: reading.timestamp, temperature: reading.temperature, humidity: reading.humidity };
}

/** The topic (or subject, with `.`) a reading goes to: sensors/{site}/{room}/{device}. */
export function readingTopic(reading: DeviceReading, placement: DeviceContext, separator = '/'): string {
  return ['sensors', placement.site, placement.room, reading.device].join(separator);
}
