import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WatermarkHeap } from '../../../operators/internal/watermark-heap.js';

describe('WatermarkHeap', () => {
  it('keeps the smallest watermark of its keys as they rise, are removed and come back (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(9), fc.constantFrom('raise', 'remove', 'insert'), fc.nat(50)), { maxLength: 200 }), (ops) => {
        const keys = Array.from({ length: 10 }, () => ({ watermark: 0, heapEntry: -1 }));
        const heap = new WatermarkHeap<(typeof keys)[number]>();
        for (const key of keys) heap.insert(key);
        for (const [i, op, by] of ops) {
          const key = keys[i];
          if (op === 'raise') {
            key.watermark += by;
            heap.raised(key);
          } else if (op === 'remove') heap.remove(key);
          else if (key.heapEntry < 0) heap.insert(key);
          const inHeap = keys.filter((k) => k.heapEntry >= 0);
          assert.equal(heap.size, inHeap.length);
          assert.equal(heap.min(), Math.min(...inHeap.map((k) => k.watermark)));
        }
        heap.clear();
        assert.equal(heap.min(), Infinity);
        assert.ok(keys.every((k) => k.heapEntry === -1));
      }),
    );
  });
  it('rebuilds from its live keys when removed ones pile up under a top that never leaves, and stays right (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(50), fc.boolean()), { minLength: 200, maxLength: 200 }), fc.integer({ min: 5, max: 15 }), (plan, rounds) => {
        type Key = { watermark: number; heapEntry: number };
        // The lowest watermark, never removed and never raised: entries under it leave only by a rebuild.
        const floor: Key = { watermark: -1, heapEntry: -1 };
        const keys: Key[] = plan.map((_, i) => ({ watermark: i, heapEntry: -1 }));
        const heap = new WatermarkHeap<Key>();
        heap.insert(floor);
        // Each round every key comes back (higher) and most leave again: 150-200 stale entries a round.
        for (let round = 0; round < rounds; round++) {
          // Every other round from the last key to the first, so that entries do not come in sorted.
          const order = plan.map((_, i) => (round % 2 === 0 ? i : plan.length - 1 - i));
          order.forEach((i) => {
            const [rise, stays] = plan[i];
            keys[i].watermark += rise;
            const comesIn = keys[i].heapEntry < 0;
            heap.insert(keys[i]);
            // Stale entries are dropped when a key comes in (a rebuild), not when one leaves.
            const entries = (heap as unknown as { items: unknown[] }).items.length;
            if (comesIn) assert.ok(entries <= 2 * heap.size + 64, `${entries} entries for ${heap.size} keys: stale entries were not dropped`);
            if (!stays || round % 2 === 0) heap.remove(keys[i]);
          });
          assert.equal(heap.size, 1 + keys.filter((k) => k.heapEntry >= 0).length);
          assert.equal(heap.min(), -1);
        }
        // Then the floor goes: the smallest of what is left comes to the top, stale entries skipped.
        // Then the floor goes, and the rest one by one from the top: each time the smallest of what is left.
        heap.remove(floor);
        const left = keys.filter((k) => k.heapEntry >= 0);
        while (left.length > 0) {
          const smallest = Math.min(...left.map((k) => k.watermark));
          assert.equal(heap.min(), smallest);
          const at = left.findIndex((k) => k.watermark === smallest);
          heap.remove(left[at]);
          left.splice(at, 1);
        }
        assert.equal(heap.min(), Infinity);
      }),
      { numRuns: 50 },
    );
  });
});
