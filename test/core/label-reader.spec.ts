import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { hashLabels, LabelReader, type MatchedSeries } from '../../src/core/label-reader.js';
import { checkLabels, type CanonicalLabels } from '../../src/protocol/label-rules.js';
import { encodeLabelsKey } from '../../src/core/series-key.js';

/** A series as the interner keeps it: its key and what `matches` remembers. */
function series(labels: object): MatchedSeries {
  const canonical = checkLabels(labels, 'off') as CanonicalLabels;
  return { key: encodeLabelsKey(canonical), matchedShape: null, matchedEmpties: 0 };
}

/** Reads an object, teaching the reader its shape first (a new shape is never read in place). */
function read(reader: LabelReader, labels: object): boolean {
  reader.read(labels);
  return reader.read(labels);
}

/** The same entries, keys listed in another order. */
function reordered(labels: Record<string, string>, order: number[]): Record<string, string> {
  const entries = Object.entries(labels);
  const out: Record<string, string> = {};
  for (const i of order) if (i < entries.length) out[entries[i][0]] = entries[i][1];
  for (const [name, value] of entries) if (!(name in out)) out[name] = value;
  return out;
}

const asciiName = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,12}$/).filter((name) => name !== '__proto__');
const asciiValue = fc.string({ maxLength: 20, unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) });
const labelSet = fc.dictionary(asciiName, asciiValue, { minKeys: 1, maxKeys: 8 }).filter((set) => Object.values(set).some((v) => v !== ''));

describe('hashLabels', () => {
  it('spreads series evenly over lanes', () => {
    const lanes = new Array<number>(8).fill(0);
    for (let i = 0; i < 80_000; i++) lanes[hashLabels(['__name__', 'device', 'room'], ['m', `d${i}`, `r${i % 7}`]) % 8]++;
    for (const count of lanes) assert.ok(count > 9_000 && count < 11_000, `${lanes.join(' ')}`);
  });
});

describe('LabelReader', () => {
  it('does not read a shape it has not seen, then reads it in place', () => {
    const reader = new LabelReader();
    assert.equal(reader.read({ __name__: 'm', a: '1' }), false, 'a new key order takes the full path');
    assert.equal(reader.read({ __name__: 'm', a: '2' }), true);
    assert.equal(reader.read({ a: '2', __name__: 'm' }), false, 'another key order is a new shape');
    assert.equal(reader.read({ a: '3', __name__: 'm' }), true);
  });

  it('hashes in place what hashLabels hashes from the canonical labels, whatever the key order (property)', () => {
    fc.assert(
      fc.property(labelSet, fc.array(fc.nat(9), { maxLength: 9 }), (labels, order) => {
        const reader = new LabelReader();
        const canonical = checkLabels(labels, 'off') as CanonicalLabels;
        const expected = hashLabels(canonical.names, canonical.values);
        assert.equal(read(reader, labels), true);
        assert.equal(reader.hash, expected);
        assert.equal(read(reader, reordered(labels, order)), true);
        assert.equal(reader.hash, expected);
      }),
      { numRuns: 300 },
    );
  });

  it('matches the key of the same labels in any key order, and no other key (property)', () => {
    fc.assert(
      fc.property(labelSet, labelSet, fc.array(fc.nat(9), { maxLength: 9 }), (a, b, order) => {
        const reader = new LabelReader();
        const same = series(a);
        const other = series(b);
        assert.equal(read(reader, reordered(a, order)), true);
        assert.equal(reader.matches(same), true);
        // Twice: the second comparison uses what the first remembered about the names.
        assert.equal(reader.matches(same), true);
        assert.equal(reader.matches(other), other.key === same.key);
        assert.equal(read(reader, b), true);
        assert.equal(reader.matches(other), true);
        assert.equal(reader.matches(same), other.key === same.key);
      }),
      { numRuns: 300 },
    );
  });

  it('tells label sets apart that differ only in a name, once the names of a shape were confirmed', () => {
    const reader = new LabelReader();
    const ab = series({ __name__: 'm', a: '1' });
    assert.equal(read(reader, { __name__: 'm', a: '1' }), true);
    assert.equal(reader.matches(ab), true);
    // Same values, another name: another shape, so the names are compared again.
    assert.equal(read(reader, { __name__: 'm', b: '1' }), true);
    assert.equal(reader.matches(ab), false);
    // Same shape, another pattern of empty values: the names are compared again.
    const twoLabels = series({ __name__: 'm', a: '1', b: '1' });
    assert.equal(read(reader, { __name__: 'm', a: '1', b: '1' }), true);
    assert.equal(reader.matches(twoLabels), true);
    assert.equal(reader.read({ __name__: 'm', a: '1', b: '' }), true);
    assert.equal(reader.matches(twoLabels), false);
    assert.equal(reader.matches(ab), true, 'an empty value is no label');
  });

  it('leaves what it cannot compare in place to the full path', () => {
    const reader = new LabelReader();
    const cases: object[] = [
      { __name__: 'm', a: 1 },
      { __name__: 'm', a: 'é' },
      { __name__: 'm', a: 'Ã©' }, // would equal the UTF-8 bytes of 'é' char for char: never compared in place
      { __name__: 'm', é: 'x' },
      { __name__: 'm', a: '' , b: undefined },
      { a: '' },
      {},
      Object.create({ inherited: 'x' }, { __name__: { value: 'm', enumerable: true } }),
      new Proxy({ __name__: 'm' }, { get: () => { throw new Error('trap'); } }),
      Object.defineProperty({ __name__: 'm' } as Record<string, string>, 'a', { enumerable: true, get: () => { throw new Error('getter'); } }),
    ];
    for (const labels of cases) assert.equal(read(reader, labels), false, JSON.stringify(Object.keys(labels)));
  });

  it('refuses a key with trailing labels, a cut-off key and a key with other structure', () => {
    const reader = new LabelReader();
    assert.equal(read(reader, { __name__: 'm', a: '1' }), true);
    const full = series({ __name__: 'm', a: '1', b: '2' });
    assert.equal(reader.matches(full), false, 'more labels in the key');
    const exact = series({ __name__: 'm', a: '1' });
    assert.equal(reader.matches({ ...exact, key: exact.key.slice(0, -1) }), false, 'a cut-off key');
    assert.equal(reader.matches({ ...exact, key: '' }), false);
    assert.equal(reader.matches(exact), true);
  });

  it('compares long names and values (two-byte lengths) exactly', () => {
    const reader = new LabelReader();
    const long = 'x'.repeat(300);
    const labels = { __name__: 'm', [long]: long + 'a' };
    assert.equal(read(reader, labels), true);
    assert.equal(reader.matches(series(labels)), true);
    assert.equal(reader.matches(series({ __name__: 'm', [long]: long + 'b' })), false);
  });
});
