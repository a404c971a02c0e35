/**
 * The sink logs through pino as it is: pino's `(fields, message)` calls are what rxprom's
 * `logger` option expects. One JSON line per event on stdout.
 *
 *   npm run build && node dist/examples/logging-pino.js
 *
 * Here the receiver answers the first request with 503 (a retry, logged at debug) and one sample
 * has a label name Prometheus refuses (a counted drop, logged at warn).
 */
import { pino } from 'pino';
import { from, lastValueFrom, toArray } from 'rxjs';
import { remoteWrite, sample } from '../src/index.js';
import { startReceiver } from '../src/testing/index.js';

const logger = pino({ level: 'debug', base: { service: 'gateway' } });

const receiver = await startReceiver();
receiver.injectFaults([{ status: 503 }]);
const sink = remoteWrite({ url: receiver.url, logger, maxDelayMs: 10 });

const now = Date.now();
const readings = [
  sample({ __name__: 'room_temperature_celsius', room: 'kitchen' }, 21.5, now),
  sample({ __name__: 'room_temperature_celsius', 'bad-label': 'x' }, 19, now),
  sample({ __name__: 'room_temperature_celsius', room: 'hall' }, 18.25, now),
];
await lastValueFrom(from(readings).pipe(sink, toArray()));
const m = sink.metrics.snapshot();
logger.info({ written: m.samplesWritten, dropped: m.samplesDroppedTotal, retries: m.requestRetries }, 'done');
await receiver.close();
