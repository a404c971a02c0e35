import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../../src/core/errors.js';
import { PipelineState } from '../../../src/durable/pipeline-state.js';
import { misfit, SavedValue, saveNumber, saveNumbers, stateOption, StateShapeError, takeRestored } from '../../../operators/internal/state-codec.js';

describe('state codec', () => {
  it('saves numbers JSON keeps as they are and names the others, and reads both back', () => {
    const numbers = [1.5, 0, -0, NaN, Infinity, -Infinity, Number.MAX_VALUE, -Number.MIN_VALUE];
    const saved = JSON.parse(JSON.stringify(saveNumbers(numbers))) as unknown[];
    assert.deepEqual(saved, [1.5, 0, '-0', 'NaN', 'Infinity', '-Infinity', Number.MAX_VALUE, -Number.MIN_VALUE]);
    const read = new SavedValue(saved, 'xs').numbers();
    read.forEach((n, i) => assert.ok(Object.is(n, numbers[i]), `${i}`));
    assert.equal(saveNumber(-0), '-0');
    assert.throws(() => new SavedValue('minus zero', 'x').number(), /x should be a number, is string/);
  });

  it('reads fields by path and says where a shape differs', () => {
    const state = new SavedValue({ a: { b: [1, 'x', -1] }, ok: true }, '');
    assert.equal(state.get('ok').boolean(), true);
    assert.equal(state.get('a').get('b').items()[0].count(), 1);
    assert.throws(() => state.get('a').get('b').items()[1].count(), /a\.b\[1\] should be a number, is string/);
    assert.throws(() => state.get('a').get('b').items()[2].count(), /a\.b\[2\] should be a whole number ≥ 0/);
    assert.throws(() => state.get('missing').raw(), /missing should be present/);
    assert.throws(() => state.get('a').get('b').get('c'), /a\.b should be an object, is an array/);
    assert.equal(new SavedValue({}, '').get('toString').value, undefined, 'inherited properties are not fields');
    assert.throws(() => misfit('odd'), StateShapeError);
  });

  it('takes a restored state once, checks who saved it and in which version, and names the slot in errors', () => {
    const pipeline = new PipelineState({ s: { operator: 'op', version: 1, n: 3 }, t: { operator: 'other', version: 1 }, u: { operator: 'op', version: 2 }, v: { operator: 'op', version: 1, n: 'x' } });
    const read = (saved: SavedValue): number => saved.get('n').count();
    const slot = pipeline.slot('s');
    assert.equal(takeRestored(slot, 'op', 1, read), 3);
    assert.equal(takeRestored(slot, 'op', 1, read), undefined, 'once');
    assert.throws(() => takeRestored(pipeline.slot('t'), 'op', 1, read), /rxprom: op cannot restore the state of slot "t": it was saved by other/);
    assert.throws(() => takeRestored(pipeline.slot('u'), 'op', 1, read), /slot "u": it is in format version 2, this version reads 1/);
    assert.throws(() => takeRestored(pipeline.slot('v'), 'op', 1, read), /slot "v": n should be a number/);
    assert.equal(takeRestored(pipeline.slot('fresh'), 'op', 1, read), undefined);
    // Another error (a bug, a user callback) passes through unchanged.
    const boom = new RangeError('boom');
    assert.throws(() => takeRestored(new PipelineState({ w: { operator: 'op', version: 1 } }).slot('w'), 'op', 1, () => { throw boom; }), (error) => error === boom);
  });

  it('accepts a slot or nothing as the state option', () => {
    assert.equal(stateOption(undefined), undefined);
    const slot = new PipelineState().slot('x');
    assert.equal(stateOption(slot), slot);
    for (const bad of [null, 'x', {}, { take() {}, attach() {} }]) assert.throws(() => stateOption(bad), ConfigError);
  });
});
