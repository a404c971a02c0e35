import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BadPayloadError, jsonPayload, numberPayload } from '../../../src/sources/mqtt/payload.js';
import { ConfigError } from '../../../src/core/errors.js';

const context = { topic: 't/1', receivedAt: 1_700_000_000_123 };
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const reason = (parse: () => unknown): string => {
  try {
    parse();
  } catch (error) {
    assert.ok(error instanceof BadPayloadError, `a BadPayloadError, got ${String(error)}`);
    return error.message;
  }
  assert.fail('expected the payload to be refused');
};

describe('numberPayload', () => {
  const parse = numberPayload();
  it('reads a plain number, stamped with the arrival time', () => {
    assert.deepEqual(parse(bytes(' 21.5\n'), context), { value: 21.5, timestamp: context.receivedAt });
    assert.deepEqual(parse(bytes('-3e2'), context), { value: -300, timestamp: context.receivedAt });
  });
  it('refuses what is not a decimal number, with the reason', () => {
    assert.match(reason(() => parse(bytes(''), context)), /empty/);
    assert.match(reason(() => parse(bytes('abc'), context)), /not a number: "abc"/);
    assert.match(reason(() => parse(bytes('0x10'), context)), /not a number/);
    assert.match(reason(() => parse(bytes('Infinity'), context)), /not a number/);
    assert.match(reason(() => parse(new Uint8Array([0xff, 0xfe]), context)), /not UTF-8/);
  });
});

describe('jsonPayload', () => {
  it('reads the value and timestamp at their field paths, nested too', () => {
    const parse = jsonPayload({ value: 'reading.temp', timestamp: 'ts' });
    assert.deepEqual(parse(bytes('{"reading":{"temp":19.25},"ts":1700000000000}'), context), { value: 19.25, timestamp: 1_700_000_000_000 });
  });
  it('takes the arrival time without a timestamp path, seconds and ISO strings with one', () => {
    assert.deepEqual(jsonPayload({ value: 'v' })(bytes('{"v":1}'), context), { value: 1, timestamp: context.receivedAt });
    assert.deepEqual(jsonPayload({ value: 'v', timestamp: 't', timestampUnit: 's' })(bytes('{"v":1,"t":1700000000.5}'), context), { value: 1, timestamp: 1_700_000_000_500 });
    assert.deepEqual(jsonPayload({ value: 'v', timestamp: 't' })(bytes('{"v":1,"t":"2023-11-14T22:13:20Z"}'), context), { value: 1, timestamp: 1_700_000_000_000 });
  });
  it('names the field that is missing or wrong', () => {
    const parse = jsonPayload({ value: 'a.b', timestamp: 'ts' });
    assert.match(reason(() => parse(bytes('{not json'), context)), /not JSON/);
    assert.match(reason(() => parse(bytes('{"a":{}}'), context)), /field "a.b" is missing/);
    assert.match(reason(() => parse(bytes('{"a":{"b":"warm"},"ts":1}'), context)), /field "a.b" is not a finite number \(got "warm"\)/);
    assert.match(reason(() => parse(bytes('{"a":{"b":1}}'), context)), /field "ts" is missing/);
    assert.match(reason(() => parse(bytes('{"a":{"b":1},"ts":"yesterday"}'), context)), /field "ts" is not a time/);
    assert.match(reason(() => parse(bytes('[1]'), context)), /field "a.b" is missing/);
  });
  it('does not read inherited properties as fields', () => {
    assert.match(reason(() => jsonPayload({ value: 'constructor.length' })(bytes('{}'), context)), /missing/);
  });
  it('refuses a bad path at creation', () => {
    assert.throws(() => jsonPayload({ value: 'a..b' }), (e: unknown) => e instanceof ConfigError && e.option === 'value');
    assert.throws(() => jsonPayload({ value: 'v', timestamp: '' }), (e: unknown) => e instanceof ConfigError && e.option === 'timestamp');
    assert.throws(() => jsonPayload({ value: 'v', timestampUnit: 'us' as 'ms' }), (e: unknown) => e instanceof ConfigError && e.option === 'timestampUnit');
  });
});
