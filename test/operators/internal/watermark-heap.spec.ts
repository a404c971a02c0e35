import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WatermarkHeap } from '../../../operators/internal/watermark-heap.js';

describe('WatermarkHeap', () => {
  it('keeps the smallest watermark of its keys as they rise, are removed and come back, past its first 16 slots (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(39), fc.constantFrom('raise', 'remove', 'insert'), fc.nat(50)), { maxLength: 200 }), (ops) => {
        const keys = Array.from({ length: 40 }, () => ({ watermark: 0, heapId: -1 }));
        const heap = new WatermarkHeap<(typeof keys)[number]>();
        for (const key of keys) heap.insert(key);
        for (const [i, op, by] of ops) {
          const key = keys[i];
          if (op === 'raise') {
            key.watermark += by;
            heap.raised(key);
          } else if (op === 'remove') heap.remove(key);
          else if (!heap.has(key)) heap.insert(key);
          const inHeap = keys.filter((k) => heap.has(k));
          assert.equal(heap.size, inHeap.length);
          assert.equal(heap.min(), Math.min(...inHeap.map((k) => k.watermark)));
        }
        heap.clear();
        assert.equal(heap.min(), Infinity);
        assert.ok(keys.every((k) => !heap.has(k) && k.heapId === -1));
      }),
    );
  });
});
