import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { jsonFieldsPayload, jsonPayload, numberPayload } from '../../../src/sources/jetstream/payload.js';
import { ConfigError } from '../../../src/core/errors.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('payload parsers', () => {
  it('jsonPayload parses any JSON value and names a payload that is not JSON', () => {
    assert.deepEqual(jsonPayload()(bytes('{"a":[1,2]}'), 's'), { a: [1, 2] });
    assert.equal(jsonPayload()(bytes('3'), 's'), 3);
    assert.throws(() => jsonPayload()(bytes('{oops'), 's'), /payload is not JSON: "\{oops"/);
    assert.throws(() => jsonPayload()(new Uint8Array([0xc3, 0x28]), 's'), /not valid UTF-8/);
  });

  it('numberPayload takes one finite number, whitespace allowed', () => {
    assert.equal(numberPayload()(bytes(' 21.5\n'), 's'), 21.5);
    assert.equal(numberPayload()(bytes('-3e2'), 's'), -300);
    for (const bad of ['', 'abc', 'NaN', 'Infinity', '1 2']) assert.throws(() => numberPayload()(bytes(bad), 's'), /payload is not a number/, bad);
  });

  it('jsonFieldsPayload picks numbers by dotted path and names the path that is missing or not a number', () => {
    const parse = jsonFieldsPayload({ temperature: 'data.temp', at: 'ts' });
    assert.deepEqual(parse(bytes('{"data":{"temp":21.5,"x":1},"ts":1700}'), 's'), { temperature: 21.5, at: 1700 });
    assert.throws(() => parse(bytes('{"data":{},"ts":1}'), 's'), /no field "data.temp"/);
    assert.throws(() => parse(bytes('{"data":{"temp":"hot"},"ts":1}'), 's'), /field "data.temp" is not a finite number \(got "hot"\)/);
    assert.throws(() => parse(bytes('{"data":{"temp":1},"ts":null}'), 's'), /field "ts" is not a finite number/);
    assert.throws(() => parse(bytes('{"data":{"temp":1},"ts":[1]}'), 's'), /not a finite number/);
    // Inherited properties are not fields.
    assert.throws(() => jsonFieldsPayload({ v: 'constructor' })(bytes('{}'), 's'), /no field "constructor"/);
  });

  it('jsonFieldsPayload refuses paths that cannot match, at creation', () => {
    assert.throws(() => jsonFieldsPayload({}), ConfigError);
    assert.throws(() => jsonFieldsPayload({ v: 'a..b' }), (e: unknown) => e instanceof ConfigError && /paths\.v/.test(e.message));
    assert.throws(() => jsonFieldsPayload({ v: '' }), ConfigError);
  });
});
