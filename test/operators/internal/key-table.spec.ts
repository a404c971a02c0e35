import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { INDEXED_KEYS, isStateKey, KeyTable, type StateKey } from '../../../operators/internal/key-table.js';

describe('KeyTable', () => {
  it('behaves as a Map of its keys: numbers in slots or not, strings apart from equal-looking numbers (property)', () => {
    const key = fc.oneof(fc.nat(20), fc.constantFrom(INDEXED_KEYS - 1, INDEXED_KEYS, -1, 2.5, -0), fc.constantFrom('0', '1', 'a', ''));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('set', 'delete'), key, fc.nat()), { maxLength: 60 }), (ops) => {
        const table = new KeyTable<number>();
        const model = new Map<StateKey, number>();
        for (const [op, k, value] of ops) {
          if (op === 'set') {
            table.set(k, value);
            model.set(k, value);
          } else {
            table.delete(k);
            model.delete(k);
          }
          assert.equal(table.size, model.size);
          for (const probe of [k, 0, '0', INDEXED_KEYS]) assert.equal(table.get(probe), model.get(probe));
        }
        const visited = new Map<StateKey, number>();
        table.forEach((value, k) => void visited.set(k, value));
        assert.deepEqual(new Map([...visited].sort()), new Map([...model].sort()));
        assert.deepEqual(table.values().sort(), [...model.values()].sort());
        table.clear();
        assert.equal(table.size, 0);
        assert.equal(table.get(0), undefined);
      }),
    );
  });

  it('visits indexed keys in ascending order, then the others in insertion order, after deletions anywhere (property)', () => {
    const key = fc.oneof(fc.nat(50), fc.constantFrom(INDEXED_KEYS - 1, 4_000_000), fc.constantFrom('b', 'a', 'c'));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), key), { maxLength: 80 }), (ops) => {
        const table = new KeyTable<string>();
        const model = new Map<StateKey, string>();
        for (const [add, k] of ops) {
          if (add) {
            table.set(k, String(k));
            model.set(k, String(k));
          } else {
            table.delete(k);
            model.delete(k);
          }
        }
        const order: StateKey[] = [];
        table.forEach((value, k) => {
          assert.equal(value, String(k));
          order.push(k);
        });
        const numbers = [...model.keys()].filter((k): k is number => typeof k === 'number').sort((a, b) => a - b);
        const strings = [...model.keys()].filter((k) => typeof k === 'string');
        assert.deepEqual(order, [...numbers, ...strings]);
      }),
    );
  });

  it('names as a state key only strings and finite numbers', () => {
    assert.deepEqual([1, 'x', 0, Number.NaN, Infinity, undefined, {}].map(isStateKey), [true, true, true, false, false, false, false]);
  });
});
