/**
 * The fleet process of the gateway benchmark: `examples/fleet.ts` on the wall clock, its arrivals
 * written to stdout in batches (`gateway-wire.ts`) every `--tick` ms for `--seconds`, then stdout
 * ends. Deterministic for a seed, apart from where the wall clock cuts the batches.
 *
 *   node dist/bench/gateway-fleet.js --devices 25000 --seconds 10 [--seed 1] [--tick 20]
 */
import { parseArgs } from 'node:util';
import { simulateFleet } from '../examples/fleet.js';
import { encodeBatch, encodeHeader } from './gateway-wire.js';

const { values: o } = parseArgs({
  options: {
    devices: { type: 'string', default: '3000' },
    seconds: { type: 'string', default: '10' },
    seed: { type: 'string', default: '1' },
    tick: { type: 'string', default: '20' },
  },
});
const seconds = Number(o.seconds);
const tickMs = Number(o.tick);
const fleet = simulateFleet({ devices: Number(o.devices), seed: Number(o.seed), startTime: Date.now() });

const ids = [...fleet.placement.keys()];
const indexOf = new Map(ids.map((id, i) => [id, i]));
process.stdout.write(
  encodeHeader({
    ids,
    registered: ids.map((id) => {
      const context = fleet.registry.get(id);
      return context === undefined ? null : [context.site, context.room];
    }),
  }),
);

const endAt = Date.now() + seconds * 1000;
let sent = 0;
// The pipeline falls behind: the pipe fills and the batches queue up here, and its lag (now minus
// `sentAt`) grows. That is what the benchmark measures, so the fleet never waits for the pipe.
const timer = setInterval(() => {
  const now = Date.now();
  const readings = fleet.advance(now);
  sent += readings.length;
  if (readings.length > 0) process.stdout.write(encodeBatch(readings, indexOf, now));
  if (now >= endAt) {
    clearInterval(timer);
    process.stderr.write(`fleet: ${sent} readings sent\n`);
    process.stdout.end();
  }
}, tickMs);
