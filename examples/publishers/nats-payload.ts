/**
 * The fleet's JetStream payload (`{ device, ts, temperature, humidity }`, see publisher.ts) back
 * into a `DeviceReading`: a parser for the JetStream source. The subject's last token must name
 * the payload's device; anything else is a bad payload with its reason.
 */
import type { PayloadParser } from '../../src/sources/jetstream/index.js';
import type { DeviceReading } from '../fleet.js';

const decoder = new TextDecoder();

function finite(document: Record<string, unknown>, field: string): number {
  const value = document[field];
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`field "${field}" is not a finite number`);
  return value;
}

export const natsReadingPayload: PayloadParser<DeviceReading> = (payload, subject) => {
  let document: unknown;
  try {
    document = JSON.parse(decoder.decode(payload));
  } catch {
    throw new Error('payload is not JSON');
  }
  if (document === null || typeof document !== 'object' || Array.isArray(document)) throw new Error('payload is not a JSON object');
  const fields = document as Record<string, unknown>;
  const device = fields['device'];
  if (typeof device !== 'string' || subject.slice(subject.lastIndexOf('.') + 1) !== device) throw new Error(`field "device" does not name the subject's device`);
  const timestamp = finite(fields, 'ts');
  if (!Number.isSafeInteger(timestamp)) throw new Error('field "ts" is not a time in ms');
  return { device, timestamp, temperature: finite(fields, 'temperature'), humidity: finite(fields, 'humidity'), kind: 'genuine' };
};
