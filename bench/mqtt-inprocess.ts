/**
 * The MQTT path's own CPU per message, without a broker: what `mqttSource` does with a message
 * after mqtt.js parsed it (the topic string decoded from the packet's bytes, the topic mapped to
 * labels, the message built), then `mqttSamples` → `remoteWrite` with a `WriteClient` that answers
 * 204 at once. `--messages` messages go round `--topics` topics (`sensors/site-S/room-R/dev-D`),
 * in chunks, one chunk per macrotask, paused while the sink holds more than 3 batches per lane.
 * Two figures, CPU µs per message, the best of `--rounds` rounds (noise only ever adds CPU):
 * - `mapMicros`: decoding the topic and mapping it to labels, alone (`decodeMicros`: the decoding);
 * - `pipelineMicros`: the whole path into the sink.
 *
 * `--tree DIR` loads the source's modules and the sink from another build's `dist` (e.g.
 * /tmp/before/dist) so two trees compare in one sitting, this file being the same. A tree without
 * `topicLabels` is mapped as its source did: each pattern's `match` in turn, per message.
 *
 * `--memory`: instead, the heap one remembered topic takes (after a full GC): `--topics` topics
 * mapped by `topicLabels`, then one metric's sample labels for each (this tree only).
 *
 *   node dist/bench/mqtt-inprocess.js [--tree DIR] [--messages 2000000] [--topics 10000]
 *     [--remember 65536] [--rounds 3] [--memory]
 */
import { Buffer } from 'node:buffer';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { map, type OperatorFunction } from 'rxjs';
import type { Sample } from '../src/core/model.js';
import type { remoteWrite as RemoteWrite } from '../operators/remote-write.js';
import type { Positioned } from '../src/sources/acknowledged.js';
import type { MqttMessage, Reading, TopicMatch, TopicMismatch, TopicPattern } from '../src/sources/mqtt/index.js';
import { pacedSinkRound } from './paced-sink-round.js';

const { values: o } = parseArgs({
  options: {
    tree: { type: 'string' },
    messages: { type: 'string', default: '2000000' },
    topics: { type: 'string', default: '10000' },
    remember: { type: 'string' },
    batch: { type: 'string', default: '2000' },
    lanes: { type: 'string', default: '4' },
    chunk: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '3' },
    memory: { type: 'boolean', default: false },
  },
});
const MESSAGES = Number(o.messages);
const TOPICS = Number(o.topics);
const BATCH = Number(o.batch);
const LANES = Number(o.lanes);
const CHUNK = Number(o.chunk);
const ROUNDS = Number(o.rounds);
const PATTERN = 'sensors/{site}/{room}/{device}';
const METRIC = 'bench_temperature_celsius';

/** The parts of `rxprom/mqtt` this bench uses; `topicLabels` only in trees that have it. */
interface MqttModule {
  readonly topicPattern: (pattern: string) => TopicPattern;
  readonly mqttSamples: (metric: string) => OperatorFunction<Positioned<MqttMessage<Reading>, number>, Positioned<Sample, number>>;
  readonly topicLabels?: (topics: string, rememberTopics?: number) => { match(topic: string): TopicMatch | TopicMismatch; readonly forgotten?: number; readonly pauses?: number };
  readonly readingToSample: (message: MqttMessage<Reading>, metric: string) => Sample;
}

const dist = o.tree === undefined ? new URL('..', import.meta.url) : pathToFileURL(`${resolve(o.tree)}/`);
const mqtt = (await import(new URL('src/sources/mqtt/index.js', dist).href)) as MqttModule;
const { remoteWrite } = (await import(new URL('operators/remote-write.js', dist).href)) as { remoteWrite: typeof RemoteWrite };

/** The topic → labels mapping as the tree's source does it. */
function topicMapper(): { readonly kind: string; match(topic: string): TopicMatch | TopicMismatch; forgotten(): number | undefined } {
  if (mqtt.topicLabels) {
    const mapper = mqtt.topicLabels(PATTERN, o.remember === undefined ? undefined : Number(o.remember));
    return { kind: 'topicLabels (remembered per topic)', match: (topic) => mapper.match(topic), forgotten: () => mapper.forgotten };
  }
  const patterns = [mqtt.topicPattern(PATTERN)];
  return {
    kind: 'pattern.match per message',
    forgotten: () => undefined,
    match(topic) {
      let mismatch: TopicMismatch | undefined;
      for (const pattern of patterns) {
        const result = pattern.match(topic);
        if (result.matched) return result;
        mismatch ??= result;
      }
      return mismatch as TopicMismatch;
    },
  };
}

/** Every topic's bytes in one buffer, as a packet carries them: each message decodes a new string, as mqtt.js does. */
const topicStrings = Array.from({ length: TOPICS }, (_, i) => `sensors/site-${i % 7}/room-${i % 101}/dev-${i}`);
const topicBytes = Buffer.from(topicStrings.join(''));
const topicStart = new Int32Array(TOPICS + 1);
for (let i = 0, at = 0; i < TOPICS; i++) {
  topicStart[i] = at;
  at += Buffer.byteLength(topicStrings[i]);
  topicStart[i + 1] = at;
}
const decodeTopic = (i: number): string => topicBytes.toString('utf8', topicStart[i], topicStart[i + 1]);

/** CPU µs per message of decoding the topic alone: what `mapMicros` includes besides the mapping. */
function decodeRound(): number {
  let length = 0;
  const start = process.cpuUsage();
  for (let n = 0, i = 0; n < MESSAGES; n++) {
    length += decodeTopic(i).length;
    if (++i === TOPICS) i = 0;
  }
  const cpu = process.cpuUsage(start);
  if (length === 0) throw new Error('no topics');
  return (cpu.user + cpu.system) / MESSAGES;
}

/** Topics forgotten in each `mapRound` (0 for a tree that remembers none). */
const forgotten: number[] = [];

/** CPU µs per message of decoding and mapping alone (after one pass over the topics, not measured). */
function mapRound(): number {
  const mapper = topicMapper();
  let matched = 0;
  for (let i = 0; i < TOPICS; i++) if (mapper.match(decodeTopic(i)).matched) matched++;
  const start = process.cpuUsage();
  for (let n = 0, i = 0; n < MESSAGES; n++) {
    if (mapper.match(decodeTopic(i)).matched) matched++;
    if (++i === TOPICS) i = 0;
  }
  const cpu = process.cpuUsage(start);
  forgotten.push(mapper.forgotten() ?? 0);
  if (matched !== MESSAGES + TOPICS) throw new Error(`${MESSAGES + TOPICS - matched} topics did not match`);
  return (cpu.user + cpu.system) / MESSAGES;
}

/** CPU µs per message through the whole path (after one pass over the topics, not measured; see `pacedSinkRound`). */
async function pipelineRound(startTime: number): Promise<{ micros: number; written: number }> {
  const mapper = topicMapper();
  const { written, cpuMicros } = await pacedSinkRound<Positioned<MqttMessage<Reading>, number>>({
    remoteWrite,
    lanes: LANES,
    batch: BATCH,
    chunk: CHUNK,
    warmup: TOPICS,
    measured: MESSAGES,
    cycle: TOPICS,
    startTime,
    element: (cursor, t, count) => {
      const topic = decodeTopic(cursor);
      const match = mapper.match(topic);
      if (!match.matched) throw new Error(match.reason);
      return { value: { topic, labels: match.labels, value: { value: cursor, timestamp: t }, receivedAt: t, redelivered: false }, position: count };
    },
    toSamples: (messages) => messages.pipe(mqtt.mqttSamples(METRIC), map(({ value }) => value)),
  });
  return { micros: cpuMicros, written };
}

/** Heap bytes per remembered topic: the mapping alone, then with one metric's sample labels. */
function memoryPerTopic(): void {
  if (!mqtt.topicLabels) throw new Error('--memory needs a tree with topicLabels');
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const heap = (): number => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  const mapper = mqtt.topicLabels(PATTERN, o.remember === undefined ? undefined : Number(o.remember));
  const start = heap();
  // Each topic a fresh string decoded from bytes, as mqtt.js gives it; only the mapper keeps it.
  let matched = 0;
  for (let i = 0; i < TOPICS; i++) if (mapper.match(decodeTopic(i)).matched) matched++;
  const mapped = heap();
  for (let i = 0; i < TOPICS; i++) {
    const topic = decodeTopic(i);
    const match = mapper.match(topic);
    if (!match.matched) throw new Error(match.reason);
    mqtt.readingToSample({ topic, labels: match.labels, value: { value: 1, timestamp: 1 }, receivedAt: 1, redelivered: false }, METRIC);
  }
  const withSamples = heap();
  if (matched !== TOPICS) throw new Error(`${TOPICS - matched} topics did not match`);
  console.log(
    JSON.stringify({
      topics: TOPICS,
      topicChars: topicStrings.reduce((sum, t) => sum + t.length, 0) / TOPICS,
      held: (mapper as { readonly size?: number }).size,
      metric: METRIC,
      mappingBytesPerTopic: Math.round((mapped - start) / TOPICS),
      withSampleLabelsBytesPerTopic: Math.round((withSamples - start) / TOPICS),
      totalMB: Number(((withSamples - start) / 1e6).toFixed(1)),
    }),
  );
}

if (o.memory) {
  memoryPerTopic();
  process.exit(0);
}

const decodeMicros: number[] = [];
const mapMicros: number[] = [];
const pipelineMicros: number[] = [];
const written: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  decodeMicros.push(decodeRound());
  mapMicros.push(mapRound());
  // Timestamps from one hour ago (plus r seconds), 1 s apart per pass over the topics; each round has a fresh sink, so no order guard sees two rounds.
  const round = await pipelineRound(Date.now() - 3_600_000 + r * 1000);
  pipelineMicros.push(round.micros);
  written.push(round.written);
}
const round3 = (xs: number[]): number[] => xs.map((x) => Number(x.toFixed(3)));
console.log(
  JSON.stringify({
    tree: o.tree ?? 'this',
    mapping: topicMapper().kind,
    remember: o.remember === undefined ? 'default' : Number(o.remember),
    topics: TOPICS,
    messages: MESSAGES,
    written,
    forgotten,
    decodeMicros: round3(decodeMicros),
    mapMicros: round3(mapMicros),
    pipelineMicros: round3(pipelineMicros),
    bestDecode: Number(Math.min(...decodeMicros).toFixed(3)),
    bestMap: Number(Math.min(...mapMicros).toFixed(3)),
    bestPipeline: Number(Math.min(...pipelineMicros).toFixed(3)),
  }),
);
