import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KeyState } from '../../../operators/internal/reorder-key-state.js';
import { loadReorder, saveReorderKey } from '../../../operators/internal/reorder-state.js';
import { SavedValue } from '../../../operators/internal/state-codec.js';

const COUNTERS = { released: 1, late: 2, invalid: 3, forcedReleases: 4, idleReleases: 5 };
const state = (keyed: boolean, keys: unknown[]): SavedValue => new SavedValue(JSON.parse(JSON.stringify({ keyed, seq: 10, idleTimerMs: null, published: '-Infinity', tracking: true, keys, counters: COUNTERS })), '');

describe('reorder state', () => {
  it('a key saved and loaded holds the same elements, released in the same (time, arrival) order', () => {
    const key = new KeyState<string>();
    [[5, 0, 'a'], [3, 1, 'b'], [5, 2, 'c'], [3, 3, 'd'], [9, 4, 'e']].forEach(([t, s, v]) => key.push(t as number, s as number, v as string));
    key.maxTime = 9;
    key.watermark = -Infinity;
    const loaded = loadReorder<string>(state(true, [saveReorderKey('dev', key, 7)]), null);
    const restored = loaded.keys[0];
    assert.equal(restored.key, 'dev');
    assert.equal(restored.quietMs, 7);
    assert.equal(restored.state.watermark, -Infinity);
    assert.equal(restored.state.maxTime, 9);
    const order = (k: KeyState<string>): string[] => {
      const out: string[] = [];
      while (k.times.length > 0) out.push(k.pop());
      return out;
    };
    assert.deepEqual(order(restored.state), order(key));
    assert.deepEqual(loaded.counters, COUNTERS);
    assert.equal(loaded.published, -Infinity);
  });

  it('fills the one key of an operator without key, and refuses what does not fit', () => {
    const single = new KeyState<string>();
    const saved = saveReorderKey(null, Object.assign(new KeyState<string>(), { maxTime: 1, watermark: 0 }), 0);
    loadReorder(state(false, [saved]), single);
    assert.equal(single.maxTime, 1);
    assert.throws(() => loadReorder(state(false, [saved, saved]), new KeyState()), /holds more/);
    assert.throws(() => loadReorder(state(false, []), new KeyState()), /holds none/);
    assert.throws(() => loadReorder(state(true, [{ ...saved, key: 'a' }, { ...saved, key: 'a' }]), null), /repeats the key "a"/);
    assert.throws(() => loadReorder(state(true, [{ ...saved, key: 'a', times: [1], seqs: [99], values: ['x'] }]), null), /sequence 99/);
  });
});
