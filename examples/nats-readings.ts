/**
 * The gateway's input from JetStream (`npm start -- --nats nats://HOST:PORT`): the fleet's readings
 * as `npm run fleet -- --nats URL` publishes them (examples/publishers/nats.ts), read through one durable consumer over every
 * partition of the READINGS stream.
 *
 * Acknowledgement: the gateway acknowledges what it has read once it has drained (every window
 * closed, every aggregate written). A gateway killed before that reads the unacknowledged readings
 * again when it starts (the consumer resumes at its acknowledgement floor): at least once.
 */
import { map, tap, type Observable } from 'rxjs';
import type { Logger } from '../src/index.js';
import { JetStreamSource, type JetStreamStats } from '../src/sources/jetstream/index.js';
import type { DeviceReading } from './fleet.js';
import { READINGS_PREFIX, READINGS_STREAM } from './publishers/nats.js';
import { natsReadingPayload } from './publishers/nats-payload.js';

export interface NatsReadings {
  readonly readings$: Observable<DeviceReading>;
  readonly source: JetStreamSource<DeviceReading>;
  /** Acknowledges everything read (call once it is written) and closes the connection. */
  finish(): Promise<void>;
  stats(): JetStreamStats;
}

export function natsReadings(options: { servers: string; durable?: string; logger?: Logger }): NatsReadings {
  const source = new JetStreamSource<DeviceReading>({
    servers: options.servers,
    stream: READINGS_STREAM,
    durable: options.durable ?? 'gateway',
    filterSubject: `${READINGS_PREFIX}.>`,
    name: 'rxprom-gateway',
    parse: natsReadingPayload,
    logger: options.logger,
  });
  let last: number | undefined;
  return {
    source,
    readings$: source.resumeFrom().pipe(
      tap((element) => (last = element.position)),
      map((element) => element.value),
    ),
    async finish() {
      if (last !== undefined) await source.commit(last);
      await source.close();
    },
    stats: () => source.stats(),
  };
}
