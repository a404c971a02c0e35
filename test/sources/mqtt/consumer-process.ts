/**
 * A consumer in its own process, for the tests that kill one: subscribes with the client id given
 * on the command line, prints each message as a JSON line `{ position, value, redelivered }`,
 * and on the stdin line `commit N` commits N and prints `{ committed: N }`.
 *
 *   node consumer-process.js mqtt://127.0.0.1:PORT CLIENT_ID [PROTOCOL_VERSION]
 */
import { createInterface } from 'node:readline';
import { mqttSource, numberPayload } from '../../../src/sources/mqtt/index.js';

const [url, clientId, protocol = '5'] = process.argv.slice(2);
const source = mqttSource({ url, clientId, topics: 'sensors/{site}/{room}/{device}', payload: numberPayload(), protocolVersion: protocol === '4' ? 4 : 5 });
source.resumeFrom().subscribe(({ value, position }) => {
  process.stdout.write(`${JSON.stringify({ position, value: value.value.value, redelivered: value.redelivered })}\n`);
});
createInterface({ input: process.stdin }).on('line', (line) => {
  const match = /^commit (\d+)$/.exec(line.trim());
  if (!match) return;
  const position = Number(match[1]);
  void source.commit(position).then(() => process.stdout.write(`${JSON.stringify({ committed: position })}\n`));
});
