import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { seriesHandle } from '../../src/remote-write/series-handle.js';
import { SeriesInterner, type SeriesRecord } from '../../src/remote-write/series-interner.js';
import type { Labels } from '../../src/core/model.js';

describe('seriesHandle', () => {
  it('returns the canonical labels, frozen, without a prototype', () => {
    const handle = seriesHandle({ b: '2', __name__: 'm', a: '1', c: '' }, 'strict');
    assert.deepEqual(Object.entries(handle), [['__name__', 'm'], ['a', '1'], ['b', '2']]);
    assert.ok(Object.isFrozen(handle));
    assert.equal(Object.getPrototypeOf(handle), null);
  });

  it('checks as the sink is configured to', () => {
    assert.throws(() => seriesHandle({ __name__: 'm', a: 1 } as unknown as Labels, 'strict'), /rxprom: sink.series\(\): label "a" has a number value, not a string/);
    assert.deepEqual({ ...seriesHandle({ __name__: 'm', a: 1 } as unknown as Labels, 'lenient') }, { __name__: 'm', a: '1' });
    assert.throws(() => seriesHandle({} as Labels, 'off'), /empty label set/);
  });

  it('keeps a label named __proto__ (lenient) an ordinary label', () => {
    const labels = JSON.parse('{"__name__":"m","__proto__":"x"}') as Labels;
    const handle = seriesHandle(labels, 'lenient');
    assert.equal(Object.getOwnPropertyDescriptor(handle, '__proto__')?.value, 'x');
    assert.equal(Object.getPrototypeOf(handle), null);
  });

  it('is the same series as the labels it came from, and is then known by identity', () => {
    const interner = new SeriesInterner({ validation: 'strict' });
    const record = interner.resolve({ room: 'hall', __name__: 'm' }) as SeriesRecord;
    const handle = seriesHandle({ __name__: 'm', room: 'hall' }, 'strict');
    assert.equal(interner.resolve(handle), record);
    const resolvedByContent = record.contentResolves;
    for (let i = 0; i < 10; i++) assert.equal(interner.resolve(handle), record);
    assert.ok(record.contentResolves <= resolvedByContent + 1, 'the handle is found by identity');
  });
});
