import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { ConfigError, RemoteWriteError, Undisclosed } from '../../src/core/errors.js';

describe('ConfigError', () => {
  it('names the option, the accepted range and what was given', () => {
    const error = new ConfigError('shards', 'an integer in [1, 256]', 0);
    assert.equal(error.message, 'rxprom: option "shards" must be an integer in [1, 256] (got 0)');
    assert.equal(error.name, 'ConfigError');
    assert.deepEqual([error.option, error.expected, error.actual], ['shards', 'an integer in [1, 256]', 0]);
    assert.ok(error instanceof Error);
  });

  it('quotes strings, and describes objects and functions by their type only', () => {
    assert.match(new ConfigError('mode', "one of 'a'", 'b"c').message, /\(got "b\\"c"\)$/);
    assert.match(new ConfigError('headers', 'an object', { secret: 'x' }).message, /\(got object\)$/);
    assert.match(new ConfigError('clock', 'a function', null).message, /\(got null\)$/);
  });

  it('prints an Undisclosed value by its description, never the value it stands for', () => {
    const error = new ConfigError('headers.Authorization', 'a value without CR or LF', new Undisclosed('a string with a line break'));
    assert.match(error.message, /\(got a string with a line break\)$/);
    assert.doesNotMatch(inspect(error), /Bearer/);
  });
});

describe('RemoteWriteError', () => {
  it('carries the status, the response body, the samples and the attempts', () => {
    const cause = new Error('socket hang up');
    const error = new RemoteWriteError('rxprom: still 503 after 3 attempts', 503, 'busy', 2000, 3, { cause });
    assert.equal(error.name, 'RemoteWriteError');
    assert.deepEqual([error.status, error.responseBody, error.samples, error.attempts], [503, 'busy', 2000, 3]);
    assert.equal(error.cause, cause);
  });
});
