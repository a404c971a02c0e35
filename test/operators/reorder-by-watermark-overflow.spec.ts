/**
 * Keys that hold many elements at once (more than 8), interleaved with forced releases
 * (`maxBuffered`) and idle releases: what comes out, in what order, and the counters, against a
 * plain model of the operator's rules written here with sorted lists.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import fc from 'fast-check';
import { reorderByWatermark } from '../../operators/reorder-by-watermark.js';

/** Elements one key holds that count as many (a storage that keeps a few per key inline must spill beyond them). */
const INLINE_CAPACITY = 8;

interface Reading {
  readonly id: number;
  readonly key: number;
  readonly t: number;
}

interface Step {
  /** Processing time since the previous reading (frames). */
  readonly gap: number;
  readonly key: number;
  readonly t: number;
}

interface Settings {
  readonly maxOutOfOrderMs: number;
  readonly maxBuffered: number;
  readonly idleTimeoutMs: number;
}

interface Outcome {
  readonly out: number[];
  readonly late: number;
  readonly forced: number;
  readonly idle: number;
  /** Most elements one key held at once. */
  readonly mostHeld: number;
}

type Held = { t: number; seq: number; id: number };
interface ModelKey {
  held: Held[];
  watermark: number;
  maxTime: number;
  lastArrival: number;
  stamp: number;
}

/** The rules, plainly: per key a sorted list, the quietest key by its stamp, idle keys released when due. */
function model(steps: readonly Step[], { maxOutOfOrderMs, maxBuffered, idleTimeoutMs }: Settings): Outcome {
  const keys = new Map<number, ModelKey>();
  const out: number[] = [];
  let seq = 0;
  let recency = 0;
  let buffered = 0;
  let late = 0;
  let forced = 0;
  let idle = 0;
  let mostHeld = 0;
  const holdingByRecency = (): ModelKey[] => [...keys.values()].filter((k) => k.held.length > 0).sort((a, b) => a.stamp - b.stamp);
  const releaseIdle = (now: number): void => {
    for (const k of holdingByRecency()) {
      if (k.lastArrival + idleTimeoutMs > now) continue;
      k.watermark = Math.max(k.watermark, k.maxTime);
      for (const h of k.held) out.push(h.id);
      idle += k.held.length;
      buffered -= k.held.length;
      k.held = [];
    }
  };
  let now = 0;
  steps.forEach(({ gap, key, t }, id) => {
    now += gap;
    releaseIdle(now);
    let k = keys.get(key);
    if (k === undefined) keys.set(key, (k = { held: [], watermark: -Infinity, maxTime: -Infinity, lastArrival: 0, stamp: 0 }));
    if (t < k.watermark) {
      late++;
      return;
    }
    k.held.push({ t, seq: seq++, id });
    k.held.sort((a, b) => a.t - b.t || a.seq - b.seq);
    mostHeld = Math.max(mostHeld, k.held.length);
    buffered++;
    k.lastArrival = now;
    k.stamp = ++recency;
    if (t > k.maxTime) {
      k.maxTime = t;
      if (t - maxOutOfOrderMs > k.watermark) {
        k.watermark = t - maxOutOfOrderMs;
        while (k.held.length > 0 && k.held[0].t < k.watermark) {
          out.push((k.held.shift() as Held).id);
          buffered--;
        }
      }
    }
    while (buffered > maxBuffered) {
      const quiet = holdingByRecency()[0];
      const h = quiet.held.shift() as Held;
      quiet.watermark = Math.max(quiet.watermark, h.t);
      out.push(h.id);
      forced++;
      buffered--;
    }
  });
  releaseIdle(now + 1);
  // Completion: everything left, by time across keys, arrival order on ties.
  const left = [...keys.values()].flatMap((k) => k.held).sort((a, b) => a.t - b.t || a.seq - b.seq);
  for (const h of left) out.push(h.id);
  return { out, late, forced, idle, mostHeld };
}

/** The operator on a virtual clock, fed the same steps; keyed by number or by a string. */
function run(steps: readonly Step[], settings: Settings, keyKind: 'number' | 'string'): Omit<Outcome, 'mostHeld'> {
  const scheduler = new TestScheduler(() => {});
  const op = reorderByWatermark<Reading>({ ...settings, eventTime: (r) => r.t, key: keyKind === 'number' ? (r) => r.key : (r) => `device-${r.key}`, scheduler });
  const source = new Subject<Reading>();
  const out: number[] = [];
  source.pipe(op).subscribe((r) => out.push(r.id));
  const at = (frame: number): void => {
    scheduler.maxFrames = frame;
    scheduler.flush();
    scheduler.frame = frame;
  };
  let now = 0;
  steps.forEach(({ gap, key, t }, id) => {
    now += gap;
    at(now);
    source.next({ id, key, t });
  });
  at(now + 1);
  source.complete();
  return { out, late: op.stats.late, forced: op.stats.forcedReleases, idle: op.stats.idleReleases };
}

describe('reorderByWatermark: keys holding more than their record, with forced and idle releases', () => {
  it('releases what a plain model of its rules releases, in the same order, with the same counters (property)', () => {
    let spilledWithBoth = 0;
    const steps = fc.array(
      fc.record({
        // Mostly bursts at one instant (keys fill up), sometimes a pause long enough to go idle.
        gap: fc.oneof({ arbitrary: fc.constant(0), weight: 6 }, { arbitrary: fc.nat(2), weight: 3 }, { arbitrary: fc.integer({ min: 3, max: 12 }), weight: 1 }),
        // Key 0 busier than the others: it fills up while the others go quiet.
        key: fc.oneof({ arbitrary: fc.constant(0), weight: 2 }, { arbitrary: fc.nat(2), weight: 2 }),
        t: fc.integer({ min: 0, max: 60 }),
      }),
      { minLength: 20, maxLength: 120, size: 'max' },
    );
    const settings = fc.record({
      maxOutOfOrderMs: fc.integer({ min: 0, max: 60 }),
      maxBuffered: fc.integer({ min: 4, max: 4 * INLINE_CAPACITY }),
      idleTimeoutMs: fc.integer({ min: 2, max: 10 }),
    });
    fc.assert(
      fc.property(steps, settings, fc.constantFrom<'number' | 'string'>('number', 'string'), (plan, options, keyKind) => {
        const expected = model(plan, options);
        const actual = run(plan, options, keyKind);
        assert.deepEqual(actual.out, expected.out);
        assert.deepEqual([actual.late, actual.forced, actual.idle], [expected.late, expected.forced, expected.idle]);
        if (expected.mostHeld > INLINE_CAPACITY && expected.forced > 0 && expected.idle > 0) spilledWithBoth++;
      }),
      { numRuns: 500 },
    );
    // The runs did reach the path: a key beyond its record, forced and idle releases in one run.
    assert.ok(spilledWithBoth >= 10, `only ${spilledWithBoth} runs spilled a key with forced and idle releases`);
  });
});
