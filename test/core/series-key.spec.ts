import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { cachedLabelsKey, decodeLabelsKey, encodeLabelsKey, sampleSeriesKey } from '../../src/core/series-key.js';

/** The key as protobufjs-style code would write it: Buffer's UTF-8 for every string. */
function referenceKey(names: string[], values: string[]): string {
  const field = (tag: number, bytes: Buffer): Buffer => {
    const length: number[] = [];
    let n = bytes.length;
    while (n >= 0x80) {
      length.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    length.push(n);
    return Buffer.concat([Buffer.from([tag, ...length]), bytes]);
  };
  const parts = names.map((name, i) => field(0x0a, Buffer.concat([field(0x0a, Buffer.from(name, 'utf8')), field(0x12, Buffer.from(values[i], 'utf8'))])));
  return Buffer.concat(parts).toString('latin1');
}

describe('encodeLabelsKey', () => {
  it('writes the bytes Buffer would for any strings: ASCII, UTF-8, lone surrogates, long ones (property)', () => {
    const text = fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }), fc.string({ unit: 'grapheme', maxLength: 20 }), fc.string({ minLength: 60, maxLength: 300 }));
    fc.assert(
      fc.property(fc.array(fc.tuple(text, text), { minLength: 1, maxLength: 12 }), (pairs) => {
        const names = pairs.map(([name]) => name);
        const values = pairs.map(([, value]) => value);
        assert.equal(encodeLabelsKey({ names, values }), referenceKey(names, values));
      }),
      { numRuns: 500 },
    );
    assert.equal(encodeLabelsKey({ names: ['\ud800'], values: ['é'] }), referenceKey(['\ud800'], ['é']));
  });
});

describe('decodeLabelsKey', () => {
  it('gives back the labels encodeLabelsKey was given (property)', () => {
    const text = fc.string({ minLength: 1, maxLength: 40 });
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(text, text), { minLength: 1, maxLength: 10, selector: ([name]) => name }), (pairs) => {
        const decoded = decodeLabelsKey(encodeLabelsKey({ names: pairs.map(([n]) => n), values: pairs.map(([, v]) => v) }));
        // Lone surrogates become U+FFFD in UTF-8, as on the wire.
        const wire = (s: string): string => Buffer.from(s, 'utf8').toString('utf8');
        // Compared as sets: an object lists integer-like keys ('0') first, whatever the key order.
        const byName = (a: [string, string], b: [string, string]): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
        assert.deepEqual(Object.entries(decoded).sort(byName), pairs.map(([n, v]): [string, string] => [wire(n), wire(v)]).sort(byName));
      }),
      { numRuns: 300 },
    );
  });
});

describe('sampleSeriesKey and cachedLabelsKey', () => {
  it('are one identity: order of keys and empty values do not matter, values do', () => {
    const a = { __name__: 'm', room: 'kitchen', site: 's1' };
    const b = { site: 's1', room: 'kitchen', __name__: 'm', empty: '' };
    assert.equal(sampleSeriesKey({ labels: a, value: 1, timestamp: 0 }), sampleSeriesKey({ labels: b, value: 2, timestamp: 5 }));
    assert.equal(cachedLabelsKey(a), cachedLabelsKey(b));
    assert.equal(cachedLabelsKey(a), sampleSeriesKey({ labels: a, value: 1, timestamp: 0 }));
    assert.notEqual(cachedLabelsKey(a), cachedLabelsKey({ ...a, room: 'hall' }));
  });

  it('give an empty key to what is not a label set', () => {
    assert.equal(cachedLabelsKey(null), '');
    assert.equal(cachedLabelsKey('m'), '');
    assert.equal(cachedLabelsKey({}), '');
    assert.equal(sampleSeriesKey(undefined as never), '');
  });

  it('cachedLabelsKey computes a label object\'s key once (it is not to be mutated after use)', () => {
    const labels: Record<string, string> = { __name__: 'm', k: 'v1' };
    const first = cachedLabelsKey(labels);
    labels['k'] = 'v2';
    assert.equal(cachedLabelsKey(labels), first, 'cached by identity');
    assert.notEqual(cachedLabelsKey({ ...labels }), first, 'a fresh object is keyed afresh');
  });
});
