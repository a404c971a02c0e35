/**
 * The README's `rxprom/mqtt` example, runnable: temperatures from an MQTT broker into a
 * remote-write endpoint, each message acknowledged once the sink has written what came before.
 *
 *   node dist/examples/mqtt-source.js mqtt://127.0.0.1:1883 http://127.0.0.1:9090/api/v1/write
 */
import { remoteWrite } from '../src/index.js';
import { jsonPayload, mqttSamples, mqttSource } from '../src/sources/mqtt/index.js';
import { map, tap } from 'rxjs';

const [brokerUrl = 'mqtt://127.0.0.1:1883', writeUrl = 'http://127.0.0.1:9090/api/v1/write'] = process.argv.slice(2);

const source = mqttSource({
  url: brokerUrl,
  clientId: 'gateway-1',                                         // the persistent session's identity
  topics: 'sensors/{site}/{room}/{device}',                      // subscribes sensors/+/+/+
  payload: jsonPayload({ value: 'temperature', timestamp: 'ts' }), // {"temperature":21.5,"ts":1700000000000}
  onBadMessage: (bad) => console.warn(bad.kind, bad.topic, bad.reason),
});
const sink = remoteWrite({ url: writeUrl });
let fed = 0;
source.resumeFrom().pipe(
  mqttSamples('room_temperature_celsius'),    // { __name__, site, room, device }, value, timestamp
  tap(({ position }) => (fed = position)),
  map(({ value }) => value),
  sink,
).subscribe(() => {
  if (sink.metrics.samplesPending === 0) void source.commit(fed);   // everything fed is written: acknowledge it
});
