/**
 * Benchmark: events/s through MQTT into the sink. A backlog of QoS 1 readings waits in a real
 * mosquitto for a persistent session; a consumer process (`mqtt-client.ts`) drains it through
 * `mqttSource` → `remoteWrite` into the embedded receiver. The variants differ only in when the
 * consumer acknowledges, so their ratios show what delayed acknowledgement costs under the
 * broker's in-flight window:
 * - acknowledged on arrival (commit after every message): the comparison;
 * - acknowledged on commit every second, MQTT 5 with Receive Maximum 65,535 (the source's default);
 * - the same with Receive Maximum 20, and with MQTT 3.1.1 under mosquitto's default
 *   `max_inflight_messages` 20: a window of 20 per commit interval would be 20 events/s.
 * CPU of the broker, the consumer and the receiver (this process) is sampled for the same run:
 * the one near a full core is what bounds it.
 */
import { connectAsync } from 'mqtt';
import { startReceiver } from '../src/testing/index.js';
import { startMosquitto, unavailable, type MosquittoServer } from '../test/harness/servers.js';
import { benchScript, cpuSeconds, figure, fmt, runNodeJson, type BenchContext, type Figure } from './common.js';
import type { MqttClientResult } from './mqtt-client.js';
import { processCpuSeconds } from './procstat.js';

interface Variant {
  readonly name: string;
  readonly commitMs: number;
  readonly protocol: 4 | 5;
  readonly receiveMaximum: number;
}

const DEVICES = 100;

/** Creates the persistent session (so the broker queues for it), then publishes the backlog. */
async function backlog(broker: MosquittoServer, clientId: string, variant: Variant, messages: number): Promise<void> {
  const session = await connectAsync(broker.url, { clientId, clean: false, protocolVersion: variant.protocol, properties: variant.protocol === 5 ? { sessionExpiryInterval: 3600, receiveMaximum: variant.receiveMaximum } : undefined });
  await session.subscribeAsync('sensors/+/+/+', { qos: 1 });
  await session.endAsync();
  const publisher = await connectAsync(broker.url, { clientId: `${clientId}-publisher` });
  const start = Date.now() - messages;
  const inFlight = new Set<Promise<unknown>>();
  for (let i = 0; i < messages; i++) {
    const d = i % DEVICES;
    const sent = publisher.publishAsync(`sensors/site-${d % 4}/room-${d % 20}/dev-${d}`, JSON.stringify({ temperature: 20 + (i % 100) / 10, ts: start + i }), { qos: 1 });
    inFlight.add(sent);
    void sent.then(() => inFlight.delete(sent));
    if (inFlight.size >= 1000) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  await publisher.endAsync();
}

export async function mqttBenchmark(context: BenchContext): Promise<Figure[]> {
  const skip = unavailable('mosquitto');
  if (skip) throw new Error(skip);
  const messages = context.quick ? 20_000 : 200_000;
  const variants: Variant[] = [
    { name: 'acknowledged on arrival', commitMs: 0, protocol: 5, receiveMaximum: 65535 },
    { name: 'commit every 1 s, MQTT 5, Receive Maximum 65535', commitMs: 1000, protocol: 5, receiveMaximum: 65535 },
    { name: 'commit every 1 s, MQTT 5, Receive Maximum 20', commitMs: 1000, protocol: 5, receiveMaximum: 20 },
    { name: 'commit every 1 s, MQTT 3.1.1, max_inflight_messages 20', commitMs: 1000, protocol: 4, receiveMaximum: 65535 },
  ];
  const figures: Figure[] = [];
  let baseline: number | undefined;
  const broker = await startMosquitto();
  const receiver = await startReceiver({ mode: 'lenient' });
  try {
    for (const [index, variant] of variants.entries()) {
      const clientId = `bench-${index}`;
      context.log(`mqtt: ${variant.name}: publishing a backlog of ${messages}`);
      await backlog(broker, clientId, variant, messages);
      const brokerCpu0 = processCpuSeconds(broker.pid);
      const ownCpu0 = process.cpuUsage();
      const run = await runNodeJson<MqttClientResult>(
        [benchScript('mqtt-client'), '--mqtt', broker.url, '--client-id', clientId, '--url', receiver.url, '--messages', String(messages), '--commit-ms', String(variant.commitMs), '--protocol', String(variant.protocol), '--receive-maximum', String(variant.receiveMaximum)],
        context.quick ? 120_000 : 600_000,
      );
      const brokerCpu = processCpuSeconds(broker.pid) - brokerCpu0;
      const receiverCpu = cpuSeconds(ownCpu0);
      const r = run.result;
      baseline ??= r.eventsPerSec;
      const share = (cpu: number): string => `${Math.round((cpu / r.seconds) * 100)}%`;
      figures.push(
        figure('mqtt', `events/s MQTT → remoteWrite, ${variant.name}`, r.eventsPerSec, 'events/s', {
          ...(index > 0 ? { comparison: { name: variants[0].name, value: baseline } } : {}),
          note: `${fmt(r.messages)} QoS 1 messages in ${r.seconds.toFixed(2)} s, ${r.commits} commits, ${r.acknowledged} PUBACKs; CPU of a core over the run: consumer ${share(r.cpuSeconds)}, broker ${share(brokerCpu)}, receiver ${share(receiverCpu)}`,
        }),
      );
      figures.push(figure('mqtt', `consumer CPU per million events, ${variant.name}`, (r.cpuSeconds / r.messages) * 1e6, 'CPU s', { note: 'from the first message to the last sample written, process startup excluded' }));
      figures.push(figure('mqtt', `broker CPU per million events, ${variant.name}`, (brokerCpu / r.messages) * 1e6, 'CPU s'));
    }
  } finally {
    await receiver.close();
    await broker.stop();
  }
  return figures;
}
