import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KeyState } from '../../../operators/internal/reorder-key-state.js';
import { releaseInOrder } from '../../../operators/internal/release-in-order.js';

describe('releaseInOrder', () => {
  it('releases what the keys hold by event time across keys, arrival order on ties, and empties them (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(5), fc.integer({ min: -20, max: 20 })), { maxLength: 300 }), (arrivals) => {
        const keys = Array.from({ length: 6 }, () => new KeyState<number>());
        arrivals.forEach(([key, time], seq) => keys[key].push(time, seq, seq));
        const released: number[] = [];
        releaseInOrder([...keys], (state) => {
          released.push(state.pop());
          return true;
        });
        const expected = arrivals
          .map(([, time], seq) => ({ time, seq }))
          .sort((a, b) => a.time - b.time || a.seq - b.seq)
          .map((entry) => entry.seq);
        assert.deepEqual(released, expected);
        assert.ok(keys.every((key) => key.times.length === 0));
      }),
    );
  });

  it('stops as soon as release answers false, leaving the rest held', () => {
    const a = new KeyState<string>();
    const b = new KeyState<string>();
    a.push(3, 0, 'a3');
    b.push(1, 1, 'b1');
    a.push(2, 2, 'a2');
    b.push(2, 3, 'b2');
    const released: string[] = [];
    releaseInOrder([a, b, new KeyState<string>()], (state) => {
      released.push(state.pop());
      return released.length < 3;
    });
    assert.deepEqual(released, ['b1', 'a2', 'b2']);
    assert.deepEqual(a.values, ['a3']);
    assert.equal(b.times.length, 0);
  });
});
