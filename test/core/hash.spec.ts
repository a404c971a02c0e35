import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hashString } from '../../src/core/hash.js';

describe('hashString', () => {
  it('is 32-bit FNV-1a: the published test vectors for ASCII', () => {
    assert.equal(hashString(''), 0x811c9dc5);
    assert.equal(hashString('a'), 0xe40c292c);
    assert.equal(hashString('foobar'), 0xbf9cf968);
  });

  it('spreads series keys evenly over lanes', () => {
    const lanes = new Array<number>(8).fill(0);
    for (let i = 0; i < 80_000; i++) lanes[hashString(`__name__=m,device=d${i}`) % 8]++;
    for (const count of lanes) assert.ok(count > 9_000 && count < 11_000, `${lanes.join(' ')}`);
  });
});
