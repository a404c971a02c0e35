/**
 * A checkpointed MQTT consumer in its own process, for the kill -9 test: the MQTT source under
 * the checkpoint coordinator (`DurablePipeline`), readings → 1 s tumbling windows per device
 * (count, sum, max) → `remoteWrite`, checkpoints every `CHECKPOINT_MS` in the state directory.
 * Prints a JSON line per checkpoint (`{ checkpoint, position }`) and every 200 ms its source's
 * counters (`{ received, emitted }`).
 *
 *   node durable-consumer.js MQTT_URL CLIENT_ID WRITE_URL STATE_DIR METRIC
 */
import { map } from 'rxjs';
import { remoteWrite } from '../../../operators/remote-write.js';
import { tumblingWindow } from '../../../operators/tumbling-window.js';
import { silentLogger } from '../../../src/core/logger.js';
import type { Sample } from '../../../src/core/model.js';
import { DurablePipeline } from '../../../src/durable/durable-pipeline.js';
import { jsonPayload, mqttSource } from '../../../src/sources/mqtt/index.js';

const [url, clientId, writeUrl, directory, metric] = process.argv.slice(2);
const source = mqttSource({ url, clientId, topics: 'sensors/{site}/{room}/{device}', payload: jsonPayload({ value: 'temperature', timestamp: 'ts' }), reconnectDelayMs: 100 });
const pipeline = await DurablePipeline.start({
  directory,
  pipeline: `mqtt-durable-${metric}`,
  source,
  checkpointIntervalMs: 150,
  build: (state) =>
    (input) =>
      input.pipe(
        map((message): Sample => ({ labels: { __name__: metric, device: message.labels['device'] ?? '' }, value: message.value.value, timestamp: message.value.timestamp })),
        tumblingWindow<Sample>({ sizeMs: 1000, eventTime: (s) => s.timestamp, labels: (s) => s.labels, value: (s) => s.value, aggregations: ['count', 'sum', 'max'], state: state.slot('window') }),
        remoteWrite({ url: writeUrl, maxDelayMs: 50, logger: silentLogger, state: state.slot('sink') }),
      ),
  onCheckpoint: (checkpoint) => process.stdout.write(`${JSON.stringify({ checkpoint: checkpoint.sequence, position: checkpoint.position ?? null })}\n`),
});
setInterval(() => {
  const stats = source.stats();
  process.stdout.write(`${JSON.stringify({ received: stats.received, emitted: stats.emitted, restored: pipeline.restored?.position ?? null })}\n`);
}, 200);
void pipeline.done.then((summary) => {
  process.stderr.write(`pipeline ended: ${summary.ending} ${summary.error?.message ?? ''}\n`);
  process.exit(1);
});
