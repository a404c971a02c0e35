import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { guardOrder, orderOf, SeriesInterner, type SeriesRecord } from '../../src/remote-write/series-interner.js';

describe('SeriesInterner', () => {
  it('gives one record per series whatever the label order or object identity', () => {
    const interner = new SeriesInterner({ validation: 'strict' });
    const a = interner.resolve({ __name__: 'm', a: '1', b: '2' }) as SeriesRecord;
    const b = interner.resolve({ b: '2', a: '1', __name__: 'm' }) as SeriesRecord;
    const c = interner.resolve({ __name__: 'm', a: '1', b: '3' }) as SeriesRecord;
    assert.equal(a, b);
    assert.notEqual(a, c);
    assert.equal(interner.size, 2);
  });

  it('returns the reason for a refused label set', () => {
    const interner = new SeriesInterner({ validation: 'strict' });
    assert.equal(interner.resolve({ job: 'x' }), 'missing __name__');
    assert.equal(interner.size, 0);
  });

  it('forgets idle series and keeps one record per series when they come back', () => {
    const interner = new SeriesInterner({ validation: 'strict' });
    const reused = { __name__: 'm', k: 'reused' };
    const first = interner.resolve(reused) as SeriesRecord;
    guardOrder(first, 100);
    interner.resolve({ __name__: 'm', k: 'busy' });
    interner.advance(2);
    interner.resolve({ __name__: 'm', k: 'busy' });
    interner.advance(2);
    interner.resolve({ __name__: 'm', k: 'busy' });
    assert.equal(interner.advance(2), 1, 'the idle series is forgotten');
    assert.equal(interner.size, 1);
    assert.equal(first.live, false);
    // Back through the same label object: the old record revives, still guarding order.
    const again = interner.resolve(reused) as SeriesRecord;
    assert.equal(again, first);
    assert.equal(guardOrder(again, 50), 'out-of-order');
    assert.equal(interner.size, 2);
  });

  it('after forgetting, a new object of the series and the old object share one record', () => {
    const interner = new SeriesInterner({ validation: 'strict' });
    const old = { __name__: 'm' };
    const first = interner.resolve(old) as SeriesRecord;
    interner.advance(0);
    interner.advance(0);
    assert.equal(interner.size, 0);
    const fresh = interner.resolve({ __name__: 'm' }) as SeriesRecord;
    assert.notEqual(fresh, first);
    assert.equal(interner.resolve(old), fresh);
  });
});

describe('guardOrder', () => {
  it('accepts only newer timestamps and tells duplicates from older ones', () => {
    const interner = new SeriesInterner({ validation: 'strict' });
    const record = interner.resolve({ __name__: 'm' }) as SeriesRecord;
    assert.deepEqual([10, 10, 9, 11, 11, 5, 12].map((t) => guardOrder(record, t)), ['ok', 'duplicate', 'out-of-order', 'ok', 'duplicate', 'out-of-order', 'ok']);
    assert.equal(record.lastTimestamp, 12);
  });
});

describe('orderOf', () => {
  it('says what guardOrder would, without remembering the timestamp', () => {
    const interner = new SeriesInterner({ validation: 'strict' });
    const record = interner.resolve({ __name__: 'm' }) as SeriesRecord;
    guardOrder(record, 10);
    assert.deepEqual([11, 11, 10, 9].map((t) => orderOf(record, t)), ['ok', 'ok', 'duplicate', 'out-of-order']);
    assert.equal(record.lastTimestamp, 10, 'unchanged');
  });
});
