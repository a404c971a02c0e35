/**
 * `npm run fleet`: publishes the simulated fleet's readings (examples/fleet.ts) to a broker,
 * reproducibly for a seed, and prints how many it published.
 *
 *   npm run fleet -- --mqtt mqtt://127.0.0.1:1883 --devices 300 --rate 4 --duration 30s --seed 7
 *   npm run fleet -- --nats nats://127.0.0.1:4222 --partitions 6 --devices 300 --duration 30s --seed 7
 *
 * Readings are published as they arrive in the simulation (network jitter, late and repeated
 * readings included), paced on the wall clock; `--pace max` publishes the same readings as fast
 * as the broker accepts them. `--start` fixes the simulation's clock (ms epoch), so two runs with
 * the same flags publish exactly the same readings.
 */
import { parseArgs } from 'node:util';
import { mqttPublisher } from './publishers/mqtt.js';
import { DEFAULT_PARTITIONS, natsPublisher } from './publishers/nats.js';
import type { ReadingPublisher } from './publishers/publisher.js';
import { publishFleet } from './publishers/publish-fleet.js';
import { cliOptions } from './cli-options.js';

const USAGE = `usage: npm run fleet -- (--mqtt URL | --nats URL [--partitions P]) [--devices N] [--rate R] [--duration D] [--seed S] [--start MS] [--pace realtime|max] [--in-flight N] [--json]
  --mqtt       broker URL, e.g. mqtt://127.0.0.1:1883 (QoS 1 to sensors/{site}/{room}/{device})
  --nats       NATS URL, e.g. nats://127.0.0.1:4222 (JetStream stream READINGS, readings.{partition}.{site}.{room}.{device})
  --partitions JetStream partitions, by site and room, 1 to 10000 (default 6)
  --devices    simulated devices, 1 to 1000000 (default 300)
  --rate       readings per second per device (default 4)
  --duration   simulated time to publish, e.g. 30s, 2m (default 10s)
  --seed       the simulation's seed (default 1)
  --start      the simulation's start time, ms epoch (default now)
  --pace       realtime (default: readings go out when they arrive in the simulation) or max
  --in-flight  publishes awaiting the broker's acknowledgement at most (default 1000)
  --json       print the summary as one JSON line`;

const cli = cliOptions('fleet', USAGE);
const fail: (message: string) => never = cli.fail;
const { duration: parseDuration, number: parseNumber } = cli;

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs({
      options: {
        mqtt: { type: 'string' },
        nats: { type: 'string' },
        partitions: { type: 'string', default: String(DEFAULT_PARTITIONS) },
        devices: { type: 'string', default: '300' },
        rate: { type: 'string', default: '4' },
        duration: { type: 'string', default: '10s' },
        seed: { type: 'string', default: '1' },
        start: { type: 'string' },
        pace: { type: 'string', default: 'realtime' },
        'in-flight': { type: 'string', default: '1000' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  if (args.help) {
    console.log(USAGE);
    return;
  }
  const devices = parseNumber('devices', args.devices, 1, 1_000_000);
  const rate = parseNumber('rate', args.rate, 0.001, 1000, false);
  const durationMs = parseDuration('duration', args.duration);
  const seed = parseNumber('seed', args.seed, 0, 2 ** 31);
  const startTime = args.start === undefined ? Date.now() : parseNumber('start', args.start, 0, 8.64e15);
  if (args.pace !== 'realtime' && args.pace !== 'max') fail(`option --pace must be realtime or max (got "${args.pace}")`);
  const maxInFlight = parseNumber('in-flight', args['in-flight'], 1, 65535);

  let publisher: ReadingPublisher;
  if (args.mqtt !== undefined && args.nats !== undefined) fail('give one broker: --mqtt URL or --nats URL');
  const partitions = parseNumber('partitions', args.partitions, 1, 10_000);
  if (args.mqtt !== undefined) publisher = await mqttPublisher(args.mqtt);
  else if (args.nats !== undefined) publisher = await natsPublisher(args.nats, { partitions });
  else fail('give the broker: --mqtt URL or --nats URL');

  const began = Date.now();
  let published = 0;
  try {
    published = await publishFleet(publisher, { devices, rate, durationMs, seed, startTime, pace: args.pace, maxInFlight });
  } finally {
    await publisher.close();
  }
  const seconds = (Date.now() - began) / 1000;
  const summary = { target: publisher.target, published, devices, rate, durationMs, seed, startTime, seconds };
  if (args.json) console.log(JSON.stringify(summary));
  else console.log(`published ${published} readings from ${devices} devices (seed ${seed}, start ${startTime}) to ${publisher.target}${args.mqtt !== undefined ? ' with QoS 1' : ', stored'} in ${seconds.toFixed(1)} s (${Math.round(published / seconds)}/s)`);
}

main().catch((error: unknown) => {
  console.error(`fleet: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
