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
});
