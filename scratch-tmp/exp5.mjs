import { startMosquitto } from '/work/wt-mqtt/dist/test/harness/servers.js';
import { connectAsync } from 'mqtt';
const broker = await startMosquitto();
for (const v of [4, 5]) {
  const c = await connectAsync(broker.url, { clientId: 'p' + v, clean: false, protocolVersion: v, reconnectPeriod: 0, properties: v === 5 ? { sessionExpiryInterval: 604800 } : undefined });
  await c.subscribeAsync('x/#', { qos: 1 });
  await c.endAsync();
}
await broker.restart();
for (const v of [4, 5]) {
  const c = await connectAsync(broker.url, { clientId: 'p' + v, clean: false, protocolVersion: v, reconnectPeriod: 0, properties: v === 5 ? { sessionExpiryInterval: 604800 } : undefined });
  c.on('connect', () => {});
  console.log('v', v, 'sessionPresent after restart (disconnected before):', c.connected, await new Promise(r => { r(c['_lastConnack'] ?? 'n/a'); }));
  await c.endAsync();
}
// connected during restart
const c = await connectAsync(broker.url, { clientId: 'q5', clean: false, protocolVersion: 5, reconnectPeriod: 200, properties: { sessionExpiryInterval: 604800 } });
await c.subscribeAsync('x/#', { qos: 1 });
const seen = [];
c.on('connect', (ack) => seen.push(ack.sessionPresent));
await broker.restart();
await new Promise(r => setTimeout(r, 1500));
console.log('v5 connected during restart: sessionPresent on reconnect', seen);
const d = await connectAsync(broker.url, { clientId: 'q4', clean: false, protocolVersion: 4, reconnectPeriod: 200 });
await d.subscribeAsync('x/#', { qos: 1 });
const seen4 = [];
d.on('connect', (ack) => seen4.push(ack.sessionPresent));
await broker.restart();
await new Promise(r => setTimeout(r, 1500));
console.log('v4 connected during restart: sessionPresent on reconnect', seen4);
await broker.stop(); process.exit(0);
