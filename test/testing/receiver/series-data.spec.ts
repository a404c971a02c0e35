import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SeriesData } from '../../../src/testing/receiver/series-data.js';
import { STALE_NAN } from '../../../src/core/model.js';

const contents = (data: SeriesData): Array<[number, number]> =>
  Array.from({ length: data.length }, (_, i): [number, number] => [data.timestamps[i], data.values[i]]);

describe('SeriesData', () => {
  it('push appends and grows past its capacity', () => {
    const data = new SeriesData('k', { __name__: 'm' }, 1);
    for (let t = 0; t < 10; t++) data.push(t, t * 2);
    assert.equal(data.length, 10);
    assert.deepEqual([data.lastTimestamp, data.lastValue], [9, 18]);
    assert.deepEqual(contents(data), Array.from({ length: 10 }, (_, t) => [t, t * 2]));
  });

  it('insert keeps time order and replaces the value at a stored timestamp', () => {
    const data = new SeriesData('k', { __name__: 'm' });
    assert.equal(data.insert(20, 3), true);
    assert.equal(data.insert(0, 1), true);
    assert.equal(data.insert(10, 2), true);
    assert.equal(data.insert(10, 9), false, 'same timestamp: replaced, not added');
    assert.equal(data.insert(30, 4), true);
    assert.deepEqual(contents(data), [[0, 1], [10, 9], [20, 3], [30, 4]]);
  });

  it('keeps NaN payloads bit for bit (the stale marker)', () => {
    const data = new SeriesData('k', {});
    data.push(1, STALE_NAN);
    const bits = new BigUint64Array(data.values.slice(0, 1).buffer)[0];
    assert.equal(bits, 0x7ff0000000000002n);
  });

  it('any insertion order ends sorted with the last value per timestamp (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer()), { maxLength: 80 }), (pairs) => {
        const data = new SeriesData('k', {});
        const expected = new Map<number, number>();
        for (const [t, v] of pairs) {
          data.insert(t, v);
          expected.set(t, v);
        }
        assert.deepEqual(contents(data), [...expected.entries()].sort((a, b) => a[0] - b[0]));
      }),
      { numRuns: 200 },
    );
  });
});
