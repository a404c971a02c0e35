import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ShardController, type IntervalLoad } from '../../src/remote-write/shard-controller.js';

const INTERVAL_MS = 10_000;

/**
 * One interval of steady load: `rate` samples/s arrive and are sent in requests of `batch`
 * samples, each taking `latencyMs`. Made-up time: the controller has no clock.
 */
interface Interval {
  readonly rate: number;
  readonly latencyMs: number;
  readonly batch?: number;
  /** Requests not answered this interval (none reported). */
  readonly unanswered?: boolean;
  readonly load?: Partial<IntervalLoad>;
}

function steady(rate: number, latencyMs: number, batch = 2000, load: Partial<IntervalLoad> = {}): Interval {
  return { rate, latencyMs, batch, load };
}

/** Reports an interval's batches to the controller and asks it to decide. */
function decide(controller: ShardController, current: number, interval: Interval): number {
  const samples = (interval.rate * INTERVAL_MS) / 1000;
  if (!interval.unanswered && samples > 0) {
    const requests = Math.max(1, Math.round(samples / (interval.batch ?? 2000)));
    for (let i = 0; i < requests; i++) controller.observe(samples / requests, interval.latencyMs);
  }
  return controller.decide(current, { intervalMs: INTERVAL_MS, samplesIn: samples, backlog: 0, inFlight: 0, failing: false, ...interval.load });
}

/** Runs intervals through a controller, carrying out each decision; returns the counts after each. */
function run(controller: ShardController, start: number, intervals: readonly Interval[]): number[] {
  let count = start;
  return intervals.map((interval) => (count = decide(controller, count, interval)));
}

const repeat = <T>(n: number, make: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => make(i));
const controllerOf = (min: number, max: number, smoothing?: number): ShardController =>
  new ShardController({ min, max, maxSamples: 2000, ...(smoothing === undefined ? {} : { smoothing }) });

describe('ShardController', () => {
  it('keeps one lane at a low rate: 100 samples/s in requests of 20 ms', () => {
    const counts = run(controllerOf(1, 8), 1, repeat(20, () => steady(100, 20, 500)));
    assert.deepEqual(new Set(counts), new Set([1]));
  });

  it('goes to a middle count at a middle rate and stays there: 30,000 samples/s, 2000 per request in 100 ms (1.5 lanes busy)', () => {
    const controller = controllerOf(1, 8);
    const counts = run(controller, 1, repeat(20, () => steady(30_000, 100)));
    assert.equal(counts[0], 3, 'first interval: straight to the count that keeps each lane half busy');
    assert.deepEqual(new Set(counts.slice(1)), new Set([3]), 'then holds');
    assert.ok(Math.abs(controller.need - 1.5) < 1e-9, `need ${controller.need}`);
  });

  it('goes to the most lanes at a high rate, and no further', () => {
    const counts = run(controllerOf(1, 8), 1, repeat(5, () => steady(400_000, 100)));
    assert.deepEqual(counts, [8, 8, 8, 8, 8]);
  });

  it('adds lanes step by step while the latency grows at a constant rate', () => {
    // 10,000 samples/s; each request takes 20 ms longer than the one before.
    const counts = run(controllerOf(1, 16), 1, repeat(30, (i) => steady(10_000, 20 + 20 * i)));
    for (let i = 1; i < counts.length; i++) assert.ok(counts[i] >= counts[i - 1], `never fewer while the latency grows: ${counts.join(',')}`);
    assert.equal(counts[0], 1, 'starts at one lane (0.1 lanes busy)');
    assert.ok(counts[counts.length - 1] >= 4, `ends with several lanes: ${counts.join(',')}`);
  });

  it('follows a rate stepping up and down, back to one lane when the load is gone', () => {
    const controller = controllerOf(1, 8);
    const up = run(controller, 1, repeat(10, () => steady(60_000, 100)));
    assert.equal(up[up.length - 1], 6, '3 lanes busy: 6 lanes');
    const down = run(controller, up[up.length - 1], repeat(30, () => steady(2000, 100)));
    assert.equal(down[down.length - 1], 1);
    for (let i = 1; i < down.length; i++) assert.ok(down[i] <= down[i - 1], `never more on the way down: ${down.join(',')}`);
  });

  it('does not flap: a load that wanders around the boundary changes the count at most once', () => {
    // Busy between 0.6 and 1.0 lanes, wandering interval by interval.
    const needs = repeat(200, (i) => 0.8 + 0.2 * Math.sin(i * 1.7));
    const counts = run(controllerOf(1, 8), 1, needs.map((need) => steady(10_000, (need / 10_000) * 2000 * 1000)));
    const changes = counts.filter((c, i) => c !== (i === 0 ? 1 : counts[i - 1])).length;
    assert.ok(changes <= 1, `changes: ${changes} (${counts.slice(0, 30).join(',')}...)`);
  });

  it('does not flap even unsmoothed: the count taken up at 0.8 lanes busy per lane comes down only at 0.5', () => {
    const controller = controllerOf(1, 8, 1);
    const loads = repeat(20, (i) => steady(10_000, (i % 2 === 0 ? 0.9 : 0.6) * 200));
    const counts = run(controller, 1, loads);
    assert.deepEqual(counts, repeat(20, () => 2), 'up once at 0.9, kept at 0.6');
    assert.equal(decide(controller, 2, steady(10_000, 0.45 * 200)), 1, 'down at 0.45');
  });

  it('takes no lane away within five intervals of a change, however the load falls', () => {
    const controller = controllerOf(1, 8, 1);
    const counts = run(controller, 1, [steady(60_000, 100), ...repeat(6, () => steady(1000, 100))]);
    assert.deepEqual(counts, [6, 6, 6, 6, 6, 1, 1]);
  });

  it('a lane busy all the time with partial batches keeps up: its requests cost the same whatever their size', () => {
    // 2000 samples/s; a receiver 40 ms away: every request takes 40 ms, so the lane is never idle,
    // and sends 60 to 100 samples a time. Full requests of 2000 would take 40 ms too.
    const controller = controllerOf(1, 8);
    let count = 1;
    for (let interval = 0; interval < 10; interval++) {
      for (let i = 0; i < 250; i++) controller.observe(i % 2 === 0 ? 60 : 100, 40);
      count = controller.decide(count, { intervalMs: INTERVAL_MS, samplesIn: 20_000, backlog: 0, inFlight: 1, failing: false });
    }
    assert.equal(count, 1);
    assert.ok(controller.need < 0.1, `need ${controller.need}`);
  });

  it('reads the cost of a full request off the line through the batches: send time in proportion to size', () => {
    // 20,000 samples/s in requests of 500 and 1000 samples taking 0.1 ms per sample: a full one
    // (2000) would take 200 ms, so 2 lanes are busy.
    const controller = controllerOf(1, 8);
    for (let i = 0; i < 133; i++) {
      controller.observe(500, 50);
      controller.observe(1000, 100);
    }
    assert.equal(controller.decide(1, { intervalMs: INTERVAL_MS, samplesIn: 200_000, backlog: 0, inFlight: 1, failing: false }), 4);
    assert.ok(Math.abs(controller.need - 2) < 1e-6, `need ${controller.need}`);
  });

  it('catches up on a backlog: the same rate with a backlog needs more lanes', () => {
    const calm = controllerOf(1, 8);
    const behind = controllerOf(1, 8);
    assert.equal(decide(calm, 1, steady(10_000, 150)), 1, '0.75 lanes busy: one is enough');
    assert.equal(decide(behind, 1, steady(10_000, 150, 2000, { backlog: 400_000 })), 5, 'plus 5% of the backlog per second: 2.25 lanes');
  });

  it('takes no lane away while far behind', () => {
    const controller = controllerOf(1, 8, 1);
    assert.equal(decide(controller, 6, steady(60_000, 100)), 6);
    // The rate fell, but 20 s of arrivals wait in the queues.
    assert.equal(decide(controller, 6, steady(1000, 100, 2000, { backlog: 20_000 * 1.05 })), 6);
    assert.ok(decide(controller, 6, steady(1000, 100)) < 6, 'once the backlog is gone it comes down');
  });

  it('holds the count while the endpoint is failing, and while requests hang unanswered', () => {
    const controller = controllerOf(1, 8);
    assert.equal(decide(controller, 1, steady(100_000, 100, 2000, { failing: true })), 1);
    assert.equal(decide(controller, 1, { ...steady(100_000, 100), unanswered: true, load: { inFlight: 1 } }), 1);
    assert.equal(decide(controller, 1, steady(100_000, 100)), 8, 'the same load while healthy');
  });

  it('keeps the count before anything was ever sent, and keeps within min and max', () => {
    const controller = controllerOf(2, 3);
    assert.equal(decide(controller, 2, { ...steady(100_000, 100), unanswered: true }), 2);
    assert.equal(decide(controller, 2, steady(400_000, 100)), 3);
    const idle = controllerOf(2, 3);
    assert.equal(decide(idle, 3, steady(1, 1)), 2, 'never below min');
    assert.equal(decide(idle, 3, steady(1, 1, 2000, { intervalMs: 0 })), 3, 'an empty interval decides nothing');
  });
});
