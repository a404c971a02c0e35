/**
 * The MQTT consumer of the `mqtt` benchmark, in its own process so its CPU is its own: an MQTT
 * session's backlog through `mqttSource` → `mqttSamples` → `remoteWrite` into a receiver,
 * committing (acknowledging) every `--commit-ms` what the sink has written, or every message with
 * `--commit-ms 0`. Prints one JSON line (`MqttClientResult`) once `--messages` samples are written.
 *
 *   node dist/bench/mqtt-client.js --mqtt URL --client-id ID --url WRITE_URL --messages N
 *     [--commit-ms 1000] [--protocol 5|4] [--receive-maximum 65535]
 */
import { parseArgs } from 'node:util';
import { map, tap } from 'rxjs';
import { remoteWrite } from '../operators/remote-write.js';
import { silentLogger } from '../src/core/logger.js';
import { jsonPayload, mqttSamples, mqttSource } from '../src/sources/mqtt/index.js';

export interface MqttClientResult {
  readonly messages: number;
  readonly seconds: number;
  readonly eventsPerSec: number;
  readonly written: number;
  readonly acknowledged: number;
  readonly commits: number;
  /** CPU seconds of this process from the first message to the last written (startup excluded). */
  readonly cpuSeconds: number;
}

const { values: o } = parseArgs({
  options: {
    mqtt: { type: 'string' },
    'client-id': { type: 'string' },
    url: { type: 'string' },
    messages: { type: 'string' },
    'commit-ms': { type: 'string', default: '1000' },
    protocol: { type: 'string', default: '5' },
    'receive-maximum': { type: 'string', default: '65535' },
  },
});
const messages = Number(o.messages);
const commitMs = Number(o['commit-ms']);
const source = mqttSource({
  url: o.mqtt ?? '',
  clientId: o['client-id'] ?? '',
  topics: 'sensors/{site}/{room}/{device}',
  payload: jsonPayload({ value: 'temperature', timestamp: 'ts' }),
  protocolVersion: o.protocol === '4' ? 4 : 5,
  receiveMaximum: Number(o['receive-maximum']),
});
const sink = remoteWrite({ url: o.url ?? '', maxDelayMs: 50, logger: silentLogger });
let fed = 0;
let safe = 0;
let commits = 0;
let started = 0;
let cpuAtStart: NodeJS.CpuUsage | undefined;
const commit = (): void => {
  if (safe > (source.committed ?? 0)) {
    commits++;
    void source.commit(safe);
  }
};
const timer = commitMs > 0 ? setInterval(commit, commitMs) : undefined;
const subscription = source
  .resumeFrom()
  .pipe(
    tap(({ position }) => {
      if (started === 0) {
        started = performance.now();
        cpuAtStart = process.cpuUsage();
      }
      fed = position;
      if (commitMs === 0) {
        // Acknowledged as soon as it is handed over: the ceiling delayed acknowledgement is compared with.
        safe = position;
        commit();
      }
    }),
    mqttSamples('bench_temperature_celsius'),
    map(({ value }) => value),
    sink,
  )
  .subscribe(() => {
    if (commitMs > 0 && sink.metrics.samplesPending === 0) safe = fed;
    if (sink.metrics.samplesWritten >= messages) {
      const seconds = (performance.now() - started) / 1000;
      const cpu = process.cpuUsage(cpuAtStart);
      clearInterval(timer);
      const result: MqttClientResult = { messages, seconds, eventsPerSec: messages / seconds, written: sink.metrics.samplesWritten, acknowledged: source.stats().acknowledged, commits, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
      console.log(JSON.stringify(result));
      subscription.unsubscribe();
      setTimeout(() => process.exit(0), 100);
    }
  });
