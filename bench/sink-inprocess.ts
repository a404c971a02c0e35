/**
 * The sink's own CPU per sample, without the network: `remoteWrite` with a `WriteClient` that
 * answers 204 at once, fed the sink-cpu workload (10k series × 4 labels, batch 2000, 4 lanes) in
 * one process. What is left is rxprom's per-sample work (validation, interning, the order guard,
 * lanes, encoding, snappy), far less exposed to the machine's load than a run into a real
 * receiver. Prints one JSON line; the figure is the best of `--rounds` rounds (noise only ever
 * adds CPU).
 *
 *   node dist/bench/sink-inprocess.js [--samples 2000000] [--series 10000] [--labels 4]
 *     [--label-objects fresh|reused] [--compression snappy|literal] [--rounds 3]
 *
 * To compare two trees, build both and run this file of each, alternating.
 */
import { parseArgs } from 'node:util';
import type { Labels, Sample } from '../src/core/model.js';
import { remoteWrite } from '../operators/remote-write.js';
import { pacedSinkRound } from './paced-sink-round.js';
import { buildLabelSets, freshLabels } from './workload.js';

const { values: o } = parseArgs({
  options: {
    samples: { type: 'string', default: '2000000' },
    series: { type: 'string', default: '10000' },
    labels: { type: 'string', default: '4' },
    batch: { type: 'string', default: '2000' },
    lanes: { type: 'string', default: '4' },
    chunk: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '3' },
    compression: { type: 'string', default: 'snappy' },
    'label-objects': { type: 'string', default: 'fresh' },
  },
});
const SAMPLES = Number(o.samples);
const SERIES = Number(o.series);
const LABELS = Number(o.labels);
const BATCH = Number(o.batch);
const LANES = Number(o.lanes);
const CHUNK = Number(o.chunk);
const ROUNDS = Number(o.rounds);
const labelObjects = o['label-objects'];
if (labelObjects !== 'fresh' && labelObjects !== 'reused') throw new Error('--label-objects is fresh or reused');

const sets = buildLabelSets(SERIES, LABELS);
const labelsOf: (i: number) => Labels = labelObjects === 'fresh' ? freshLabels(SERIES, LABELS) : (i) => sets[i];

interface Round {
  readonly samples: number;
  readonly written: number;
  readonly cpuMicrosPerSample: number;
}

/** One sink, one pass of the series to intern them (not measured), then `SAMPLES` samples (see `pacedSinkRound`). */
async function round(startTime: number): Promise<Round> {
  const { written, cpuMicros } = await pacedSinkRound<Sample>({
    remoteWrite,
    lanes: LANES,
    batch: BATCH,
    chunk: CHUNK,
    compression: o.compression === 'literal' ? 'literal' : 'snappy',
    warmup: SERIES,
    measured: SAMPLES,
    cycle: SERIES,
    startTime,
    element: (cursor, timestamp) => ({ labels: labelsOf(cursor), value: cursor, timestamp }),
  });
  return { samples: SAMPLES, written, cpuMicrosPerSample: cpuMicros };
}

const rounds: Round[] = [];
// Each round a later hour, so that a fresh sink's order guard never meets an earlier round's timestamps.
for (let r = 0; r < ROUNDS; r++) rounds.push(await round(Date.now() - 3_600_000 + r * 1000));
const best = Math.min(...rounds.map((r) => r.cpuMicrosPerSample));
console.log(
  JSON.stringify({
    labelObjects,
    compression: o.compression,
    series: SERIES,
    samples: SAMPLES,
    written: rounds.map((r) => r.written),
    cpuMicrosPerSample: rounds.map((r) => Number(r.cpuMicrosPerSample.toFixed(3))),
    best: Number(best.toFixed(3)),
  }),
);
