/**
 * The README's rxprom/jetstream example, compiled with the rest (it connects to a NATS server on
 * 127.0.0.1:4222 when run).
 */
import { map } from 'rxjs';
import { remoteWrite, sample } from '../src/index.js';
import { JetStreamSource, jsonFieldsPayload } from '../src/sources/jetstream/index.js';

const fields = jsonFieldsPayload({ temperature: 'data.temp', at: 'ts' });  // {"data":{"temp":21.5},"ts":1700000000000}
const source = new JetStreamSource({
  servers: 'nats://127.0.0.1:4222', stream: 'READINGS', durable: 'gateway', filterSubject: 'readings.>',
  parse: (payload, subject) => ({ device: subject.split('.').pop() ?? '', ...fields(payload, subject) }),
  onBadPayload: (bad) => console.warn(`bad payload on ${bad.subject}: ${bad.reason}`),
});
let last = 0;
source.resumeFrom()                                             // after the consumer's acknowledged position
  .pipe(
    map(({ value, position }) => ((last = position), sample({ __name__: 'temperature_celsius', device: value.device }, value.temperature, value.at))),
    remoteWrite({ url: 'http://127.0.0.1:9090/api/v1/write' }),
  )
  .subscribe();
setInterval(() => void source.commit(last), 5000);              // with a pipeline that holds state: only after a checkpoint covering `last`
