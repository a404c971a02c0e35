import { startMosquitto } from '/work/wt-mqtt/dist/test/harness/servers.js';
import { mqttSource, numberPayload } from '/work/wt-mqtt/dist/src/sources/mqtt/index.js';
import { connectAsync } from 'mqtt';
const N = Number(process.argv[2] ?? 20000);
const broker = await startMosquitto();
async function run(label, opts, commitMs) {
  const clientId = 'c-' + label;
  const source = mqttSource({ url: broker.url, clientId, topics: 'sensors/{site}/{room}/{device}', payload: numberPayload(), ...opts });
  // create session first
  let got = 0, last = 0;
  const sub = source.resumeFrom().subscribe(({ position }) => { got++; last = position; });
  await new Promise(r => setTimeout(r, 300));
  const pub = await connectAsync(broker.url, { clientId: 'pub-' + label });
  const t0 = Date.now();
  const timer = setInterval(() => source.commit(last), commitMs);
  let sent = 0;
  const publishing = (async () => { const ps = []; for (let i = 0; i < N; i++) { ps.push(pub.publishAsync(`sensors/s/r/d${i % 100}`, String(i), { qos: 1 })); if (ps.length >= 500) { await Promise.all(ps.splice(0)); } } await Promise.all(ps); sent = Date.now(); })();
  while (got < N && Date.now() - t0 < 30000) await new Promise(r => setTimeout(r, 20));
  const t = Date.now() - t0;
  await publishing.catch(()=>{});
  clearInterval(timer);
  console.log(label, `commit every ${commitMs} ms: ${got}/${N} in ${t} ms = ${Math.round(got / t * 1000)}/s`, JSON.stringify(source.stats()));
  sub.unsubscribe(); await pub.endAsync();
}
await run('v5-65535', {}, 1000);
await run('v5-1000', { receiveMaximum: 1000 }, 1000);
await run('v4', { protocolVersion: 4 }, 1000);
await broker.stop();
