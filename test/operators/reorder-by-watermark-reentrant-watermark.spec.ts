/**
 * reorderByWatermark's output watermark when a subscriber feeds elements back into the source
 * while a key is releasing. Promise (`watermark`): no element emitted from now on has an event
 * time below it, so a window downstream may close on it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { reorderByWatermark } from '../../operators/reorder-by-watermark.js';
import { seededRandom } from '../../src/testing/random.js';

interface Reading {
  readonly key: string;
  readonly t: number;
}

describe('reorderByWatermark: the watermark while an element fed back from downstream is taken in', () => {
  it('a release interrupted by a fed-back element of another key: the watermark stays below what the release still holds', () => {
    const ordered = reorderByWatermark<Reading>({ eventTime: (r) => r.t, key: (r) => r.key, maxOutOfOrderMs: 5 });
    void ordered.watermark; // a window downstream reads it: the bookkeeping starts
    const source = new Subject<Reading>();
    const seen: Array<[string, number]> = [];
    let fed = false;
    source.pipe(ordered).subscribe((r) => {
      seen.push([`${r.key}${r.t}`, ordered.watermark]);
      if (r.key === 'a' && !fed) {
        fed = true;
        source.next({ key: 'b', t: 40 });
      }
    });
    for (const r of [{ key: 'a', t: 1 }, { key: 'b', t: 30 }, { key: 'a', t: 2 }, { key: 'a', t: 3 }, { key: 'a', t: 20 }]) source.next(r);
    // a20 raises a's watermark to 15 and releases a1, a2, a3; b40 arrives while a1 goes out.
    assert.deepEqual(seen.map(([element]) => element), ['a1', 'b30', 'a2', 'a3']);
    for (const [element, watermark] of seen) assert.ok(watermark <= Number(element.slice(1)), `${element} went out under the watermark ${watermark}`);
    assert.equal(ordered.watermark, 15, 'published once the release is done');
  });

  it('property: with random keys, forced and idle releases and random feedback, nothing comes out below a watermark read before it', () => {
    for (let run = 0; run < 200; run++) {
      const seed = 2611 + run;
      const random = seededRandom(seed);
      const scheduler = new TestScheduler(() => {});
      const at = (frame: number): void => {
        scheduler.maxFrames = frame;
        scheduler.flush();
        scheduler.frame = frame;
      };
      const ordered = reorderByWatermark<Reading>({
        eventTime: (r) => r.t,
        key: (r) => r.key,
        maxOutOfOrderMs: Math.floor(random() * 20),
        maxBuffered: 1 + Math.floor(random() * 12),
        idleTimeoutMs: 5 + Math.floor(random() * 30),
        scheduler,
      });
      const source = new Subject<Reading>();
      let highest = -Infinity;
      let inputs = 0;
      let feedback = 40;
      let ending = false;
      const log: string[] = [];
      const violations: string[] = [];
      // Event times drift upwards, up to 20 ms out of order.
      let clock = 0;
      const make = (): Reading => {
        clock += Math.floor(random() * 6);
        return { key: 'k' + Math.floor(random() * 3), t: clock - Math.floor(random() * 20) };
      };
      const give = (r: Reading): void => {
        inputs++;
        source.next(r);
      };
      source.pipe(ordered).subscribe((r) => {
        log.push(`${r.key}@${r.t}`);
        // Recorded, asserted after the run: a throw in an observer would be reported asynchronously.
        if (r.t < highest) violations.push(`${r.key}@${r.t} came out after the watermark read ${highest}`);
        highest = Math.max(highest, ordered.watermark);
        if (!ending && feedback > 0 && random() < 0.3) {
          feedback--;
          give(make());
        }
      });
      highest = ordered.watermark;
      for (let frame = 1; frame <= 80; frame++) {
        give(make());
        highest = Math.max(highest, ordered.watermark);
        if (random() < 0.3) at(scheduler.frame + Math.floor(random() * 40));
      }
      ending = true;
      source.complete();
      assert.deepEqual(violations, [], `seed ${seed}: ${log.join(' ')}`);
      const { released, late, invalid, buffered } = ordered.stats;
      assert.equal(released + late + invalid, inputs, `seed ${seed}`);
      assert.equal(buffered, 0, `seed ${seed}`);
    }
  });
});
