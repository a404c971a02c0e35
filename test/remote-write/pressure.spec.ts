import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Pressure } from '../../src/remote-write/pressure.js';

describe('Pressure', () => {
  it('turns on at the high water mark, off at the low one, and not in between (hysteresis)', () => {
    const pressure = new Pressure(10, 4);
    const seen: boolean[] = [];
    pressure.changes.subscribe((value) => seen.push(value));
    for (const level of [0, 5, 9, 10, 11, 7, 5, 9, 4, 3, 9, 10]) pressure.level(level);
    assert.deepEqual(seen, [false, true, false, true]);
  });

  it('replays the current value to a late subscriber', () => {
    const pressure = new Pressure(2, 1);
    pressure.level(3);
    const seen: boolean[] = [];
    pressure.changes.subscribe((value) => seen.push(value)).unsubscribe();
    assert.deepEqual(seen, [true]);
    assert.equal(pressure.value, true);
  });
});
