/**
 * Publishes readings to an MQTT broker with QoS 1, as JSON on `sensors/{site}/{room}/{device}`.
 * mqtt.js keeps an unacknowledged QoS 1 publish and sends it again after a reconnect, so a broker
 * restart while publishing loses nothing.
 */
import { connectAsync } from 'mqtt';
import { redactUrl } from '../../src/core/redact.js';
import { readingPayload, readingTopic, type ReadingPublisher } from './publisher.js';

export async function mqttPublisher(url: string, clientId = `rxprom-fleet-${process.pid}`): Promise<ReadingPublisher> {
  const client = await connectAsync(url, { clientId, clean: false, protocolVersion: 5, reconnectPeriod: 500, properties: { sessionExpiryInterval: 3600 } });
  return {
    target: redactUrl(url),
    async publish(reading, placement) {
      await client.publishAsync(readingTopic(reading, placement), JSON.stringify(readingPayload(reading)), { qos: 1 });
    },
    async close() {
      await client.endAsync();
    },
  };
}
