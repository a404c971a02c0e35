import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connectAsync } from 'mqtt';
import { BadPayloadError } from '../../src/sources/mqtt/index.js';
import { deviceReadingPayload, FLEET_TOPICS, MqttReadingSource } from '../../examples/mqtt-readings.js';
import { createMqttSession } from '../harness/mqtt-session.js';
import { startMosquitto, unavailable } from '../harness/servers.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const context = { topic: 'sensors/site-0/room-0/dev-3', receivedAt: 1 };
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('deviceReadingPayload', () => {
  it('reads what the fleet publisher sends', () => {
    assert.deepEqual(deviceReadingPayload(bytes('{"device":"dev-3","ts":1000,"temperature":21.5,"humidity":40}'), context), { device: 'dev-3', timestamp: 1000, temperature: 21.5, humidity: 40, kind: 'genuine' });
  });
  for (const [payload, reason] of [
    ['nope', /not JSON/],
    ['[1]', /not a JSON object/],
    ['{"device":"dev-4","ts":1,"temperature":1,"humidity":1}', /does not name the topic's device/],
    ['{"device":"dev-3","ts":1.5,"temperature":1,"humidity":1}', /"ts" is not a time/],
    ['{"device":"dev-3","ts":1,"temperature":null,"humidity":1}', /"temperature" is not a finite number/],
  ] as const) {
    it(`refuses ${payload}`, () => {
      assert.throws(() => deviceReadingPayload(bytes(payload), context), (error: unknown) => error instanceof BadPayloadError && reason.test(error.message));
    });
  }
});

describe('MqttReadingSource', { skip: unavailable('mosquitto') }, () => {
  it('emits DeviceReadings with the MQTT positions and passes commit and pause through', async () => {
    const broker = await startMosquitto();
    // The session exists before anything is published, however long the source takes to subscribe.
    await createMqttSession(broker.url, 'readings', FLEET_TOPICS);
    const source = new MqttReadingSource({ url: broker.url, clientId: 'readings' });
    const positions: number[] = [];
    const devices: string[] = [];
    const subscription = source.resumeFrom(41).subscribe(({ value, position }) => {
      positions.push(position);
      devices.push(value.device);
    });
    try {
      const publisher = await connectAsync(broker.url, { clientId: 'readings-publisher' });
      for (let i = 0; i < 3; i++) await publisher.publishAsync(`sensors/s/r/dev-${i}`, JSON.stringify({ device: `dev-${i}`, ts: 1000 + i, temperature: 20, humidity: 40 }), { qos: 1 });
      await publisher.endAsync();
      for (let wait = 0; positions.length < 3 && wait < 400; wait++) await sleep(50);
      assert.deepEqual(positions, [42, 43, 44], 'numbering continues after the resumed position');
      assert.deepEqual(devices, ['dev-0', 'dev-1', 'dev-2']);
      await source.commit(43);
      assert.equal(source.committed, 43);
      assert.equal(source.mqtt.stats().acknowledged, 2);
      source.pause();
      assert.equal(source.mqtt.paused, true);
      source.resume();
      assert.equal(source.paused, false);
    } finally {
      subscription.unsubscribe();
      await broker.stop();
    }
  });
});
