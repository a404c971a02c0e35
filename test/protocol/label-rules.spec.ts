import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkLabels } from '../../src/protocol/label-rules.js';
import { decodeLabelsKey, encodeLabelsKey } from '../../src/core/series-key.js';

describe('checkLabels', () => {
  it('sorts names byte-wise and removes empty values', () => {
    assert.deepEqual(checkLabels({ b: '2', __name__: 'm', a: '', Z: 'z' }, 'strict'), { names: ['Z', '__name__', 'b'], values: ['z', 'm', '2'] });
  });

  it('refuses in strict mode what the spec forbids, naming the problem', () => {
    assert.equal(checkLabels({ __name__: 'm', 'a.b': '1' }, 'strict'), 'invalid label name "a.b"');
    assert.equal(checkLabels({ __name__: 'm', __meta: '1' }, 'strict'), 'reserved label name "__meta"');
    assert.equal(checkLabels({ job: 'x' }, 'strict'), 'missing __name__');
    assert.equal(checkLabels({ __name__: 'bad name' }, 'strict'), 'invalid metric name "bad name"');
    assert.equal(checkLabels({ __name__: 'm', n: 3 }, 'strict'), 'label "n" has a number value, not a string');
    assert.equal(checkLabels(null, 'strict'), 'labels must be an object of label names to string values');
    assert.equal(checkLabels(['a'], 'strict'), 'labels must be an object of label names to string values');
  });

  it('lenient mode accepts any names and turns numbers into strings, off accepts everything', () => {
    assert.deepEqual(checkLabels({ 'a.b': '1', n: 3 }, 'lenient'), { names: ['a.b', 'n'], values: ['1', '3'] });
    assert.equal(typeof checkLabels({ n: { x: 1 } }, 'lenient'), 'string');
    assert.deepEqual(checkLabels({ n: null }, 'off'), { names: ['n'], values: ['null'] });
  });

  it('lenient mode refuses a name with a lone surrogate: it has no UTF-8 form, and two such names would go out as one name twice', () => {
    const labels = JSON.parse('{"__name__":"m","a\\ud800":"x","a\\udc00":"y"}') as Record<string, string>;
    assert.equal(Object.keys(labels).length, 3);
    assert.match(String(checkLabels(labels, 'lenient')), /^label name "a\uD800" is not well-formed Unicode \(a lone surrogate\)/);
    // Surrogate pairs are characters like any other.
    assert.deepEqual(checkLabels({ __name__: 'm', 'a\u{1F600}': 'x' }, 'lenient'), { names: ['__name__', 'a\u{1F600}'], values: ['m', 'x'] });
  });

  it('neither crashes nor pollutes on __proto__ and constructor keys from JSON', () => {
    const labels: unknown = JSON.parse('{"__name__":"m","__proto__":{"polluted":"yes"},"constructor":"c"}');
    assert.equal(checkLabels(labels, 'strict'), 'label "__proto__" has a object value, not a string');
    const fromJson: unknown = JSON.parse('{"__name__":"m","__proto__":"p","constructor":"c"}');
    assert.equal(checkLabels(fromJson, 'strict'), 'reserved label name "__proto__"');
    const lenient = checkLabels(fromJson, 'lenient');
    assert.ok(typeof lenient !== 'string');
    const decoded = decodeLabelsKey(encodeLabelsKey(lenient));
    assert.deepEqual(Object.entries(decoded), [['__name__', 'm'], ['__proto__', 'p'], ['constructor', 'c']]);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });
  it('never throws on hostile objects: a throwing getter, a throwing Proxy trap, a value whose toString throws', () => {
    const getter = { __name__: 'm', get host(): string { throw new Error('boom'); } };
    const trap = new Proxy({}, { ownKeys: () => { throw new Error('no keys'); } });
    const value = { __name__: 'm', host: { toString: (): string => { throw new Error('no string'); } } };
    for (const mode of ['strict', 'lenient', 'off'] as const) {
      assert.match(String(checkLabels(getter, mode)), /^labels could not be read \(boom\)$/, mode);
      assert.match(String(checkLabels(trap, mode)), /^labels could not be read \(no keys\)$/, mode);
    }
    assert.match(String(checkLabels(value, 'off')), /^labels could not be read \(no string\)$/);
    assert.equal(checkLabels(value, 'strict'), 'label "host" has a object value, not a string');
  });
});
