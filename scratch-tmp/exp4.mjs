import { startMosquitto } from '/work/wt-mqtt/dist/test/harness/servers.js';
import { connectAsync } from 'mqtt';
const v = Number(process.argv[2] ?? 4);
const broker = await startMosquitto(process.argv[3] ? { maxInflightMessages: Number(process.argv[3]) } : {});
const sub = await connectAsync(broker.url, { clientId: 'sub', clean: false, protocolVersion: v, properties: v === 5 ? { sessionExpiryInterval: 100, receiveMaximum: 50 } : undefined });
let got = 0; const ids = [];
sub.handleMessage = (packet, cb) => { got++; ids.push(packet.messageId); cb(new Error('later')); };
await sub.subscribeAsync('sensors/#', { qos: 1 });
const pub = await connectAsync(broker.url, { clientId: 'pub' });
const sleep = (ms) => new Promise(r => setTimeout(r, ms));
for (let round = 0; round < 4; round++) {
  for (let i = 0; i < 500; i++) await pub.publishAsync('sensors/a', String(i), { qos: 1 });
  await sleep(300);
  console.log('round', round, 'got', got);
  // ack N oldest
  const n = Number(process.argv[4] ?? 5);
  for (const id of ids.splice(0, n)) sub._sendPacket({ cmd: 'puback', messageId: id }, () => {});
  await sleep(300);
  console.log(' after acking', n, 'got', got);
}
await broker.stop(); process.exit(0);
