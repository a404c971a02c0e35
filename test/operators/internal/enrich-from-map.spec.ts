import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { enrichFromMap } from '../../../operators/internal/enrich-from-map.js';
import { harness } from './enrich-harness.js';

describe('enrichFromMap', () => {
  it('joins at once from the map; a key it lacks is missing; a key present with undefined counts as found', () => {
    const h = harness();
    const strategy = enrichFromMap(new Map<string, string>([['a', 'A'], ['u', undefined as unknown as string]]), h.context);
    for (const x of ['a', 'z', 'u']) strategy.accept(x, x);
    assert.deepEqual(h.values, ['a:A', 'u:undefined']);
    assert.deepEqual(h.misses, [['z', 'missing']]);
  });
});
