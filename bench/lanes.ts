/**
 * Benchmark: the sink's lanes at a low, a middle and a high rate, adaptive (the default range)
 * against four fixed lanes (the former default), side by side in one run, each run in its own
 * process against a fresh Prometheus: requests per second and samples per request at each rate,
 * and samples per second at the high rate (the sink as fast as the receiver takes it). The high
 * rate is the noisy one (client and Prometheus share two cores): it runs three rounds, fixed and
 * adaptive alternating, and reports their means.
 */
import { startPrometheus } from '../test/harness/servers.js';
import { benchScript, figure, fmt, runNodeJson, sleep, type BenchContext, type Figure } from './common.js';
import type { LanesResult } from './lanes-client.js';

const RATES: ReadonlyArray<{ readonly name: string; readonly rate: string }> = [
  { name: 'low (500 samples/s)', rate: '500' },
  { name: 'middle (5,000 samples/s)', rate: '5000' },
  { name: 'high (as fast as Prometheus takes it)', rate: 'max' },
];

async function measure(shards: string, rate: string, seconds: number): Promise<LanesResult> {
  const server = await startPrometheus();
  try {
    await sleep(300);
    const run = await runNodeJson<LanesResult>(
      [benchScript('lanes-client'), '--url', server.writeUrl, '--shards', shards, '--rate', rate, '--seconds', String(seconds), '--series', '1000', '--batch', '2000', '--delay', '1000'],
      (seconds + 120) * 1000,
    );
    return run.result;
  } finally {
    await server.stop();
  }
}

export async function lanesBenchmark(context: BenchContext): Promise<Figure[]> {
  const seconds = context.quick ? 4 : 10;
  const figures: Figure[] = [];
  for (const { name, rate } of RATES) {
    // Fixed first, then adaptive, each against a fresh Prometheus; rounds alternate.
    const rounds = rate === 'max' && !context.quick ? 3 : 1;
    const fixedRuns: LanesResult[] = [];
    const adaptiveRuns: LanesResult[] = [];
    for (let round = 0; round < rounds; round++) {
      fixedRuns.push(await measure('4', rate, seconds));
      adaptiveRuns.push(await measure('adaptive', rate, seconds));
    }
    const fixed = meanOf(fixedRuns);
    const adaptive = meanOf(adaptiveRuns);
    context.log(
      `lanes ${name}: adaptive ${fmt(adaptive.requestsPerSec)} req/s x ${fmt(adaptive.samplesPerRequest)} samples (${adaptive.samplesPerSec}/s, lanes ${adaptive.mostLanes} most, ${adaptive.reshards} changes); ` +
        `fixed 4 ${fmt(fixed.requestsPerSec)} req/s x ${fmt(fixed.samplesPerRequest)} samples (${fixed.samplesPerSec}/s)`,
    );
    const perRound = rounds > 1 ? `; samples/s by round: adaptive ${adaptiveRuns.map((r) => r.samplesPerSec).join(', ')}, fixed ${fixedRuns.map((r) => r.samplesPerSec).join(', ')}; lanes at most by round ${adaptiveRuns.map((r) => r.mostLanes).join(', ')}, changes ${adaptiveRuns.map((r) => r.reshards).join(', ')}` : '';
    const lanesNote = `adaptive: at most ${adaptive.mostLanes} lanes, ${adaptive.lanes} at the end, ${adaptive.reshards} changes; dropped ${adaptive.dropped} vs ${fixed.dropped}${perRound}`;
    figures.push(
      figure('lanes', `requests/s at a ${name} rate, adaptive lanes`, adaptive.requestsPerSec, 'requests/s', {
        comparison: { name: '4 fixed lanes', value: fixed.requestsPerSec },
        note: lanesNote,
      }),
      figure('lanes', `samples per request at a ${name} rate, adaptive lanes`, adaptive.samplesPerRequest, 'samples', {
        comparison: { name: '4 fixed lanes', value: fixed.samplesPerRequest },
      }),
    );
    if (rate === 'max') {
      const ratio = adaptive.samplesPerSec / Math.max(1, fixed.samplesPerSec);
      figures.push(
        figure('lanes', `throughput at the ${name} rate, adaptive lanes`, adaptive.samplesPerSec, 'samples/s', {
          comparison: { name: '4 fixed lanes', value: fixed.samplesPerSec },
          floor: { text: '>= 0.85 x 4 fixed lanes (not worse beyond noise)', met: ratio >= 0.85 && adaptive.dropped === 0 },
          note: 'the whole run, from one lane at the start (the count grows within seconds)',
        }),
        figure('lanes', `throughput at the ${name} rate after the first 3 s, adaptive lanes`, adaptive.steadySamplesPerSec, 'samples/s', {
          comparison: { name: '4 fixed lanes', value: fixed.steadySamplesPerSec },
        }),
      );
    }
  }
  return figures;
}

/** The mean of several runs' figures (lanes: the most seen; drops: the sum). */
function meanOf(runs: readonly LanesResult[]): LanesResult {
  const mean = (pick: (r: LanesResult) => number): number => runs.reduce((n, r) => n + pick(r), 0) / runs.length;
  return {
    ...runs[0],
    seconds: mean((r) => r.seconds),
    samples: mean((r) => r.samples),
    samplesPerSec: Math.round(mean((r) => r.samplesPerSec)),
    steadySamplesPerSec: Math.round(mean((r) => r.steadySamplesPerSec)),
    requests: mean((r) => r.requests),
    requestsPerSec: mean((r) => r.requestsPerSec),
    samplesPerRequest: mean((r) => r.samples) / Math.max(1, mean((r) => r.requests)),
    lanes: Math.max(...runs.map((r) => r.lanes)),
    reshards: Math.max(...runs.map((r) => r.reshards)),
    mostLanes: Math.max(...runs.map((r) => r.mostLanes)),
    dropped: runs.reduce((n, r) => n + r.dropped, 0),
  };
}
