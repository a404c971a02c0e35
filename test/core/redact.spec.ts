import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { redactUrl } from '../../src/core/redact.js';

describe('redactUrl', () => {
  it('replaces the password of a URL with ***, keeping the rest', () => {
    assert.equal(redactUrl('http://user:s3cret@host:9090/api/v1/write?x=1'), 'http://user:***@host:9090/api/v1/write?x=1');
    assert.equal(redactUrl('https://u:p%40ss@example.com/'), 'https://u:***@example.com/');
  });

  it('leaves a URL without a password as it is', () => {
    assert.equal(redactUrl('http://127.0.0.1:9090/api/v1/write'), 'http://127.0.0.1:9090/api/v1/write');
    assert.equal(redactUrl('http://user@host/'), 'http://user@host/');
  });

  it('redacts an unparsable URL up to its last @, never throwing', () => {
    for (const [input, expected] of [
      ['http://user:s3cret@ho st/api', 'http://***@ho st/api'],
      ['http://user:s3/cr@et@host:99999/', 'http://***@host:99999/'],
      ['user:s3cret@host', '***@host'],
      ['not a url', 'not a url'],
      ['', ''],
    ]) {
      const output = redactUrl(input);
      assert.equal(output, expected, input);
      assert.doesNotMatch(output, /s3cret|s3\/cr/);
    }
  });
});
