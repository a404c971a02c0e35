/**
 * The gateway's readings from an MQTT broker instead of the in-process simulation
 * (`npm start -- --mqtt URL`): what `npm run fleet -- --mqtt URL` publishes, parsed back into
 * `DeviceReading`s. The topic's device level must agree with the payload's device.
 *
 * Acknowledgement: without a checkpoint of the pipeline's state (its open windows), nothing
 * downstream is durable before a window closes, so the gateway commits each message once the
 * pipeline has taken it (every `commitIntervalMs`): a crash loses the open windows' readings,
 * a broker restart or reconnect loses nothing (unacknowledged messages come again).
 */
import { Observable, map } from 'rxjs';
import type { AcknowledgedSource, Pausable, Positioned } from '../src/sources/acknowledged.js';
import { BadPayloadError, mqttSource, type BadMessage, type MqttSource, type PayloadParser } from '../src/sources/mqtt/index.js';
import type { Logger } from '../src/core/logger.js';
import type { DeviceReading } from './fleet.js';

export const FLEET_TOPICS = 'sensors/{site}/{room}/{device}';

const finite = (document: Record<string, unknown>, field: string): number => {
  const value = document[field];
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new BadPayloadError(`field "${field}" is not a finite number`);
  return value;
};

/** A fleet reading's JSON payload (`{ device, ts, temperature, humidity }`). */
export const deviceReadingPayload: PayloadParser<DeviceReading> = (payload, { topic }) => {
  let document: unknown;
  try {
    document = JSON.parse(new TextDecoder().decode(payload));
  } catch (error) {
    throw new BadPayloadError(`payload is not JSON: ${(error as Error).message}`);
  }
  if (document === null || typeof document !== 'object' || Array.isArray(document)) throw new BadPayloadError('payload is not a JSON object');
  const fields = document as Record<string, unknown>;
  const device = fields['device'];
  if (typeof device !== 'string' || topic.split('/').at(-1) !== device) throw new BadPayloadError(`field "device" does not name the topic's device`);
  const timestamp = finite(fields, 'ts');
  if (!Number.isSafeInteger(timestamp)) throw new BadPayloadError('field "ts" is not a time in ms');
  return { device, timestamp, temperature: finite(fields, 'temperature'), humidity: finite(fields, 'humidity'), kind: 'genuine' };
};

export interface MqttReadingsOptions {
  readonly url: string;
  readonly clientId: string;
  readonly commitIntervalMs?: number;
  readonly logger?: Logger;
  readonly onBadMessage?: (bad: BadMessage) => void;
}

export function mqttReadings(options: MqttReadingsOptions): { readings$: Observable<DeviceReading>; source: MqttSource<DeviceReading> } {
  const source = mqttSource<DeviceReading>({ url: options.url, clientId: options.clientId, topics: FLEET_TOPICS, payload: deviceReadingPayload, logger: options.logger, onBadMessage: options.onBadMessage });
  const readings$ = new Observable<DeviceReading>((subscriber) => {
    let last: number | undefined;
    const committer = setInterval(() => {
      if (last !== undefined && (source.committed === undefined || last > source.committed)) void source.commit(last);
    }, options.commitIntervalMs ?? 1000);
    const subscription = source
      .resumeFrom()
      .pipe(
        map(({ value, position }) => {
          last = position;
          return value.value;
        }),
      )
      .subscribe(subscriber);
    return () => {
      clearInterval(committer);
      subscription.unsubscribe();
    };
  });
  return { readings$, source };
}

/**
 * The MQTT source as an acknowledged source of `DeviceReading`s (positions, commit and pause
 * passed through), for a pipeline that commits on its own checkpoints.
 */
export class MqttReadingSource implements AcknowledgedSource<DeviceReading, number>, Pausable {
  readonly mqtt: MqttSource<DeviceReading>;

  constructor(options: Omit<MqttReadingsOptions, 'commitIntervalMs'>) {
    this.mqtt = mqttSource<DeviceReading>({ url: options.url, clientId: options.clientId, topics: FLEET_TOPICS, payload: deviceReadingPayload, logger: options.logger, onBadMessage: options.onBadMessage });
  }

  resumeFrom(position?: number): Observable<Positioned<DeviceReading, number>> {
    return this.mqtt.resumeFrom(position).pipe(map(({ value, position: at }) => ({ value: value.value, position: at })));
  }

  commit(position: number): Promise<void> {
    return this.mqtt.commit(position);
  }

  get committed(): number | undefined {
    return this.mqtt.committed;
  }

  comparePositions(a: number, b: number): number {
    return this.mqtt.comparePositions(a, b);
  }

  pause(): void {
    this.mqtt.pause();
  }

  resume(): void {
    this.mqtt.resume();
  }

  get paused(): boolean {
    return this.mqtt.paused;
  }
}
