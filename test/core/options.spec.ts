import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/core/errors.js';
import { enumOption, functionOption, numberOption } from '../../src/core/options.js';

const refused = (fn: () => unknown, message: RegExp): void => {
  assert.throws(fn, (error: unknown) => error instanceof ConfigError && message.test(error.message));
};

describe('numberOption', () => {
  it('returns the value, or the default when undefined', () => {
    assert.equal(numberOption('n', 7, 4, { min: 1, max: 10 }), 7);
    assert.equal(numberOption('n', undefined, 4, { min: 1, max: 10 }), 4);
    assert.equal(numberOption('x', 0.5, undefined, { min: 0, max: 1, integer: false }), 0.5);
  });

  it('refuses what is out of range, not an integer, NaN, not a number, or missing when required, naming the range', () => {
    refused(() => numberOption('shards', 0, 4, { min: 1, max: 256 }), /"shards" must be an integer in \[1, 256\] \(got 0\)/);
    refused(() => numberOption('shards', 1.5, 4, { min: 1, max: 256 }), /an integer in \[1, 256\]/);
    refused(() => numberOption('shards', Number.NaN, 4, { min: 1 }), /an integer >= 1 \(got NaN\)/);
    refused(() => numberOption('shards', '4', 4, { min: 1 }), /\(got "4"\)/);
    refused(() => numberOption('shards', undefined, undefined, { min: 1 }), /\(got undefined\)/);
    refused(() => numberOption('jitter', 2, 0.2, { min: 0, max: 1, integer: false }), /a number in \[0, 1\]/);
  });
});

describe('enumOption', () => {
  it('returns one of the allowed values, or the default', () => {
    assert.equal(enumOption('mode', 'b', ['a', 'b'] as const, 'a'), 'b');
    assert.equal(enumOption('mode', undefined, ['a', 'b'] as const, 'a'), 'a');
  });

  it('refuses anything else, listing what is accepted', () => {
    refused(() => enumOption('mode', 'c', ['a', 'b'] as const, 'a'), /"mode" must be one of 'a', 'b' \(got "c"\)/);
    refused(() => enumOption('mode', 1, ['a', 'b'] as const, 'a'), /\(got 1\)/);
  });
});

describe('functionOption', () => {
  it('returns a function, undefined when optional and absent', () => {
    const fn = (): number => 1;
    assert.equal(functionOption('key', fn, true), fn);
    assert.equal(functionOption('key', undefined, false), undefined);
  });

  it('refuses what is not a function, and a missing required one', () => {
    refused(() => functionOption('key', 'x', false), /"key" must be a function/);
    refused(() => functionOption('key', undefined, true), /"key" must be a function \(got undefined\)/);
  });
});
