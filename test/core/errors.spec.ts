import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { ConfigError, RemoteWriteError, Undisclosed } from '../../src/core/errors.js';
import { AxiosWriteClient, RetryPolicy, oauth2ClientCredentials, remoteWrite } from '../../src/index.js';
import { mqttSource, numberPayload } from '../../src/sources/mqtt/index.js';
import { JetStreamSource } from '../../src/sources/jetstream/index.js';

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

describe('ConfigError for a URL object (new URL(...)) with a password', () => {
  // The value given is kept as the error's own `actual` field, which JSON.stringify, util.inspect
  // and loggers that serialize errors print; a URL object serializes to its href, password included.
  const secret = 'hunter2';
  const url = (text: string): string => new URL(text) as unknown as string;
  const cases: [string, () => unknown][] = [
    ['remoteWrite url', () => remoteWrite({ url: url(`http://user:${secret}@127.0.0.1/api/v1/write`) })],
    ['AxiosWriteClient url', () => new AxiosWriteClient({ url: url(`http://user:${secret}@127.0.0.1/w`), timeoutMs: 1000, headers: {}, retry: new RetryPolicy({}), maxSockets: 1 })],
    ['oauth2ClientCredentials tokenUrl', () => oauth2ClientCredentials({ tokenUrl: url(`https://user:${secret}@auth.example/token`), clientId: 'id', clientSecret: 'secret' })],
    ['mqttSource url', () => mqttSource({ url: url(`mqtt://user:${secret}@127.0.0.1:1883`), clientId: 'c', topics: 'a/{x}', payload: numberPayload() })],
    ['JetStreamSource servers', () => new JetStreamSource({ servers: url(`nats://user:${secret}@127.0.0.1:4222`), stream: 's', durable: 'd' })],
    ['JetStreamSource servers list', () => new JetStreamSource({ servers: [url(`nats://user:${secret}@127.0.0.1:4222`)], stream: 's', durable: 'd' })],
  ];
  for (const [name, create] of cases) {
    it(`${name}: refused, and no form of the error shows the password`, () => {
      assert.throws(create, (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        for (const text of [String(e), e.stack ?? '', JSON.stringify(e), inspect(e, { depth: 5 })]) assert.ok(!text.includes(secret), `shows the password: ${text}`);
        assert.match(JSON.stringify(e), /user:\*\*\*@/);
        return true;
      });
    });
  }
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
