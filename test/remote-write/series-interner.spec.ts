import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { guardOrder, orderOf, SeriesInterner, type SeriesRecord } from '../../src/remote-write/series-interner.js';
import type { Labels } from '../../src/core/model.js';

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

describe('SeriesInterner with label objects that arrive fresh', () => {
  const name = fc.stringMatching(/^[a-z][a-z0-9_]{0,6}$/);
  const value = fc.oneof(fc.constantFrom('', 'a', 'b', 'ab', 'é', 'x'.repeat(20)), fc.string({ maxLength: 8 }));
  const labelSet = fc.dictionary(name, value, { maxKeys: 5 }).map((labels) => ({ __name__: 'm', ...labels }));

  /** The same entries, keys listed in another order, as a new object. */
  const shuffled = (labels: Record<string, string>, seed: number): Record<string, string> => {
    const entries = Object.entries(labels);
    for (let i = entries.length - 1; i > 0; i--) {
      const j = (seed * (i + 7)) % (i + 1);
      [entries[i], entries[j]] = [entries[j], entries[i]];
    }
    return Object.fromEntries(entries);
  };
  /** What identifies a label set: its non-empty labels, sorted. */
  const identity = (labels: Record<string, string>): string =>
    JSON.stringify(Object.entries(labels).filter(([, v]) => v !== '').sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

  for (const hashMask of [0xffffffff, 0x3, 0]) {
    it(`maps fresh objects of the same labels in any key order to one record, and different labels never (hash mask ${hashMask.toString(16)}; property)`, () => {
      fc.assert(
        fc.property(fc.array(fc.tuple(labelSet, fc.nat(1000)), { minLength: 1, maxLength: 40 }), (draws) => {
          const interner = new SeriesInterner({ validation: 'lenient', hashMask });
          const byIdentity = new Map<string, SeriesRecord>();
          // Twice over, each object fresh and shuffled: the second pass meets known series and shapes.
          for (const pass of [0, 1]) {
            for (const [labels, seed] of draws) {
              const record = interner.resolve(shuffled(labels, seed + pass)) as SeriesRecord;
              assert.equal(typeof record, 'object');
              const id = identity(labels);
              const known = byIdentity.get(id);
              if (known === undefined) {
                for (const other of byIdentity.values()) assert.notEqual(record, other, 'two label sets share a record');
                byIdentity.set(id, record);
              } else assert.equal(record, known, 'one label set got two records');
            }
          }
          assert.equal(interner.size, byIdentity.size);
        }),
        { numRuns: 150 },
      );
    });
  }

  it('keeps series apart when every hash collides, across forgetting and reviving', () => {
    const interner = new SeriesInterner({ validation: 'strict', hashMask: 0 });
    const a = interner.resolve({ __name__: 'm', k: 'a' }) as SeriesRecord;
    const b = interner.resolve({ __name__: 'm', k: 'b' }) as SeriesRecord;
    const c = interner.resolve({ k: 'c', __name__: 'm' }) as SeriesRecord;
    assert.equal(new Set([a, b, c]).size, 3);
    assert.equal(interner.resolve({ __name__: 'm', k: 'b' }), b);
    assert.equal(interner.resolve({ k: 'a', __name__: 'm' }), a);
    guardOrder(b, 100);
    // Forget b alone (a and c stay busy): the chain keeps a and c.
    interner.advance(1);
    interner.resolve({ __name__: 'm', k: 'a' });
    interner.resolve({ __name__: 'm', k: 'c' });
    assert.equal(interner.advance(1), 1);
    assert.equal(b.live, false);
    assert.equal(interner.size, 2);
    assert.equal(interner.resolve({ __name__: 'm', k: 'a' }), a);
    assert.equal(interner.resolve({ __name__: 'm', k: 'c' }), c);
    // b comes back by content: a new record that still guards order.
    const back = interner.resolve({ __name__: 'm', k: 'b' }) as SeriesRecord;
    assert.notEqual(back, a);
    assert.notEqual(back, c);
    assert.equal(orderOf(back, 100), 'duplicate');
    assert.equal(interner.size, 3);
  });

  it('validates a new series and a new key order, in every way the labels arrive', () => {
    const interner = new SeriesInterner({ validation: 'strict' });
    assert.equal(typeof interner.resolve({ __name__: 'm', a: '1' }), 'object');
    assert.equal(typeof interner.resolve({ __name__: 'm', a: '2' }), 'object', 'a new series of a known shape');
    // Known shape, invalid labels: refused, never mistaken for a known series.
    assert.equal(interner.resolve({ __name__: 'bad-name', a: '1' }), 'invalid metric name "bad-name"');
    assert.equal(interner.resolve({ __name__: 'm', a: 1 } as unknown as Labels), 'label "a" has a number value, not a string');
    assert.equal(interner.resolve({ __name__: 'm', a: 'é' }) instanceof Object, true, 'non-ASCII values are fine, through the full path');
    // New key orders: a reserved name, an invalid name, a missing __name__.
    assert.equal(interner.resolve({ __name__: 'm', __x: '1' }), 'reserved label name "__x"');
    assert.equal(interner.resolve({ __name__: 'm', __x: '1' }), 'reserved label name "__x"');
    assert.equal(interner.resolve({ 'a-b': '1', __name__: 'm' }), 'invalid label name "a-b"');
    assert.equal(interner.resolve({ 'a-b': '1', __name__: 'm' }), 'invalid label name "a-b"');
    assert.equal(interner.resolve({ a: '1' }), 'missing __name__');
    assert.equal(interner.resolve({ a: '1' }), 'missing __name__');
    assert.equal(interner.resolve({ __name__: '' }), 'missing __name__');
    assert.equal(interner.resolve([] as unknown as Labels), 'labels must be an object of label names to string values');
    assert.equal(interner.size, 3);
  });

  it('holds the order guard whichever way a series is found', () => {
    const interner = new SeriesInterner({ validation: 'strict' });
    const reused = { __name__: 'm', a: '1' };
    guardOrder(interner.resolve(reused) as SeriesRecord, 10);
    assert.equal(guardOrder(interner.resolve({ __name__: 'm', a: '1' }) as SeriesRecord, 10), 'duplicate');
    assert.equal(guardOrder(interner.resolve({ a: '1', __name__: 'm' }) as SeriesRecord, 9), 'out-of-order');
    assert.equal(guardOrder(interner.resolve({ a: '1', __name__: 'm', b: '' }) as SeriesRecord, 11), 'ok');
    assert.equal(guardOrder(interner.resolve(reused) as SeriesRecord, 11), 'duplicate');
  });

  it('comes to know a label object by identity after a while, so a reused object stays cheap', () => {
    const interner = new SeriesInterner({ validation: 'strict' });
    const record = interner.resolve({ __name__: 'm' }) as SeriesRecord;
    const later = { __name__: 'm' };
    for (let i = 0; i < 64; i++) assert.equal(interner.resolve(later), record);
    const contentResolves = record.contentResolves;
    interner.resolve(later);
    assert.equal(record.contentResolves, contentResolves, 'found by identity now');
  });
});

describe('SeriesRecord.lastTimestamp', () => {
  it('starts with none (-Infinity) and keeps every int64 millisecond exactly, in both halves', () => {
    const series = new SeriesInterner({ validation: 'strict' }).resolve({ __name__: 'm' }) as SeriesRecord;
    assert.equal(series.lastTimestamp, -Infinity);
    const samples = [0, 1, -1, -5, 2 ** 31, 2 ** 32 - 1, 2 ** 32, -(2 ** 32), 1_764_000_000_123, -1_764_000_000_123, 2 ** 53 + 2, -(2 ** 53) - 2, -(2 ** 63), 2 ** 63 - 1024];
    for (const millis of samples) {
      series.lastTimestamp = millis;
      assert.equal(series.lastTimestamp, millis, `set ${millis}`);
      series.acceptNewest(millis);
      assert.equal(series.lastTimestamp, millis, `accepted ${millis}`);
    }
    series.lastTimestamp = -Infinity;
    assert.equal(series.lastTimestamp, -Infinity);
  });

  it('keeps a value that is not an int64 integer as it is', () => {
    const series = new SeriesInterner({ validation: 'strict' }).resolve({ __name__: 'm' }) as SeriesRecord;
    for (const odd of [1.5, -0.25, Infinity, 2 ** 64, -(2 ** 64)]) {
      series.lastTimestamp = odd;
      assert.equal(series.lastTimestamp, odd);
    }
    series.lastTimestamp = NaN;
    assert.ok(Number.isNaN(series.lastTimestamp));
  });

  it('orders int64 milliseconds as numbers do (property)', () => {
    const series = new SeriesInterner({ validation: 'strict' }).resolve({ __name__: 'm' }) as SeriesRecord;
    const millis = fc.oneof(fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }), fc.constantFrom(-(2 ** 63), 2 ** 63 - 1024, 0, -1, 2 ** 32));
    fc.assert(
      fc.property(millis, millis, (a, b) => {
        series.acceptNewest(a);
        assert.equal(series.lastTimestamp, a);
        assert.equal(orderOf(series, b), b > a ? 'ok' : b === a ? 'duplicate' : 'out-of-order');
      }),
      { numRuns: 500 },
    );
  });
});
