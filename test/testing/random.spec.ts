import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../src/testing/random.js';

describe('seededRandom', () => {
  it('is reproducible, in [0, 1), and seed-dependent', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const xs = Array.from({ length: 1000 }, () => a());
    assert.deepEqual(xs, Array.from({ length: 1000 }, () => b()));
    assert.notDeepEqual(xs, Array.from({ length: 1000 }, () => c()));
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
    // seed 0 must not get stuck at zero
    const z = seededRandom(0);
    assert.ok(new Set(Array.from({ length: 10 }, () => z())).size === 10);
  });
});
