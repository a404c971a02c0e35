/**
 * Creates a client's persistent MQTT session with its subscriptions before the client under test
 * connects, so that the broker keeps for it every message published from then on, however long the
 * client takes to connect and subscribe. (Waiting a fixed time for the client's own SUBACK is a race
 * on a slow machine: what is published before the subscription exists is not kept for anyone.)
 *
 * Only for a client id the broker does not know: connecting to an existing session with messages
 * queued for it would take them.
 */
import assert from 'node:assert/strict';
import { connectAsync } from 'mqtt';
import { topicPattern } from '../../src/sources/mqtt/index.js';

/** Subscribes `clientId` with QoS 1 to the filters of `patterns` (the source's topic patterns) in a session that outlives the connection. */
export async function createMqttSession(url: string, clientId: string, patterns: string | readonly string[], protocolVersion: 4 | 5 = 5): Promise<void> {
  const filters = (typeof patterns === 'string' ? [patterns] : patterns).map((pattern) => topicPattern(pattern).filter);
  const client = await connectAsync(url, { clientId, clean: false, protocolVersion, reconnectPeriod: 0, ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: 3600 } } : {}) });
  try {
    const granted = await client.subscribeAsync(filters, { qos: 1 });
    assert.ok(granted.every((g) => g.qos < 0x80), `the broker refused a subscription of "${clientId}": ${JSON.stringify(granted)}`);
  } finally {
    await client.endAsync();
  }
}
