import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/core/errors.js';
import { fieldPath, lookUpField } from '../../src/sources/payload-fields.js';

describe('payload fields', () => {
  it('splits a dotted path and refuses an empty one or an empty step, naming the option', () => {
    assert.deepEqual(fieldPath('value', 'data.temp'), ['data', 'temp']);
    assert.deepEqual(fieldPath('value', 'values.0'), ['values', '0']);
    for (const bad of ['', 'a..b', '.a', 'a.', 3, undefined]) {
      assert.throws(() => fieldPath('paths.t', bad), (error: unknown) => error instanceof ConfigError && error.option === 'paths.t');
    }
  });

  it('finds own properties along the path, array items by index, and nothing else', () => {
    const document = JSON.parse('{"data":{"temp":21.5,"zero":0,"none":null},"values":[4,5]}') as unknown;
    assert.equal(lookUpField(document, ['data', 'temp']), 21.5);
    assert.equal(lookUpField(document, ['data', 'zero']), 0);
    assert.equal(lookUpField(document, ['data', 'none']), null);
    assert.equal(lookUpField(document, ['values', '1']), 5);
    assert.equal(lookUpField(document, ['data', 'missing']), undefined);
    assert.equal(lookUpField(document, ['data', 'temp', 'deeper']), undefined);
    assert.equal(lookUpField(document, ['data', 'toString']), undefined, 'inherited properties are not fields');
    assert.equal(lookUpField(null, ['a']), undefined);
  });
});
