import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { remoteWrite } from '../../operators/remote-write.js';
import { ConfigError } from '../../src/core/errors.js';
import { resolveRemoteWriteOptions, type RemoteWriteOptions } from '../../src/remote-write/options.js';

const url = 'http://127.0.0.1:9090/api/v1/write';

/** Creating the sink with `options` throws a ConfigError naming `option`; returns it. */
function refused(options: Record<string, unknown>, option: string | RegExp): ConfigError {
  let caught: unknown;
  try {
    remoteWrite({ url, ...options } as unknown as RemoteWriteOptions);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  if (typeof option === 'string') assert.equal(caught.option, option);
  else assert.match(caught.option, option);
  assert.match(caught.message, /must be/);
  return caught;
}

describe('remoteWrite options: refused at creation', () => {
  it('a header name that is no HTTP token (a space, a colon, empty)', () => {
    for (const name of ['X Tenant', 'X-Tenant:', '', 'Ten\u00e4nt', 'X\r\nInjected']) {
      const error = refused({ headers: { [name]: 'v' } }, 'headers');
      assert.match(error.message, /HTTP tokens/);
    }
  });

  it('headers given as a string or an array (a string used to become 16 headers "0", "1", ...)', () => {
    assert.match(refused({ headers: 'Authorization: x' }, 'headers').message, /an object of header names to string values \(got a string\)/);
    assert.match(refused({ headers: [['X-A', '1']] }, 'headers').message, /\(got an array\)/);
    assert.match(refused({ headers: null }, 'headers').message, /\(got null\)/);
  });

  it('CR or LF in a header value or in userAgent (they used to be stripped silently)', () => {
    const header = refused({ headers: { 'X-Tenant': 'a\r\nX-Admin: yes' } }, 'headers.X-Tenant');
    assert.match(header.message, /without CR, LF or other control characters/);
    assert.doesNotMatch(header.message, /X-Admin/);
    refused({ headers: { 'X-Tenant': 'a\nb' } }, 'headers.X-Tenant');
    refused({ headers: { 'X-Tenant': 'a\u0000b' } }, 'headers.X-Tenant');
    refused({ headers: { 'X-Tenant': 'emoji \u{1F600}' } }, 'headers.X-Tenant');
    refused({ headers: { 'X-Tenant': 5 } }, 'headers.X-Tenant');
    assert.match(refused({ userAgent: 'app/1.0\r\nX-Evil: 1' }, 'userAgent').message, /without CR, LF/);
  });

  it('a header the sink sets itself, saying which option to use instead', () => {
    assert.match(refused({ headers: { 'User-Agent': 'mine/1' } }, 'headers.User-Agent').message, /use the `userAgent` option/);
    assert.match(refused({ userAgent: 'mine/1', headers: { 'user-agent': 'other/2' } }, 'headers.user-agent').message, /userAgent/);
    assert.match(refused({ headers: { 'content-type': 'text/plain' } }, 'headers.content-type').message, /the protocol's/);
    assert.match(refused({ headers: { 'Content-Encoding': 'gzip' } }, 'headers.Content-Encoding').message, /compression/);
    for (const name of ['Content-Length', 'X-Prometheus-Remote-Write-Version', 'Connection', 'Transfer-Encoding']) refused({ headers: { [name]: 'x' } }, `headers.${name}`);
    assert.match(refused({ headers: { 'X-Tenant': 'a', 'x-tenant': 'b' } }, 'headers').message, /each header once/);
  });

  it('logger methods that are not functions, an optional debug included', () => {
    const ok = () => {};
    refused({ logger: { info: ok, warn: 'no', error: ok } }, 'logger.warn');
    refused({ logger: { info: ok, warn: ok } }, 'logger.error');
    assert.match(refused({ logger: { info: ok, warn: ok, error: ok, debug: true } }, 'logger.debug').message, /a function or absent/);
    refused({ logger: 'console' }, 'logger');
    refused({ logger: null }, 'logger');
    // An absent debug is fine, and so is a logger whose methods live on its prototype (pino).
    class ProtoLogger {
      info(): void {}
      warn(): void {}
      error(): void {}
    }
    assert.doesNotThrow(() => remoteWrite({ url, logger: { info: ok, warn: ok, error: ok } }));
    assert.doesNotThrow(() => remoteWrite({ url, logger: new ProtoLogger() }));
  });

  it('timestamp bounds outside their range', () => {
    assert.match(refused({ maxFutureMs: -1 }, 'maxFutureMs').message, /an integer in \[0, 31536000000\] \(ms\) or Infinity/);
    refused({ maxFutureMs: 1.5 }, 'maxFutureMs');
    refused({ maxFutureMs: NaN }, 'maxFutureMs');
    refused({ maxAgeMs: 10 }, 'maxAgeMs');
    refused({ maxAgeMs: '1h' }, 'maxAgeMs');
    refused({ clock: 5 }, 'clock');
    assert.match(refused({ clock: () => NaN }, 'clock').message, /returned NaN/);
    assert.match(refused({ clock: () => new Date() }, 'clock').message, /returned /);
    assert.match(refused({ clock: () => { throw new Error('no time'); } }, 'clock').message, /a function that threw/);
    const resolved = resolveRemoteWriteOptions({ url });
    assert.equal(resolved.maxFutureMs, 600_000);
    assert.equal(resolved.maxAgeMs, Infinity);
    assert.equal(resolveRemoteWriteOptions({ url, maxFutureMs: Infinity, maxAgeMs: 2_700_000 }).maxAgeMs, 2_700_000);
  });

  it('accepts valid headers and keeps them with the protocol headers', () => {
    const { headers } = resolveRemoteWriteOptions({ url, userAgent: 'gw/2 (tab\tok)', headers: { 'X-Scope-OrgID': 'tenant-1', "x!#$%&'*+-.^_`|~": 'caf\u00e9' } });
    assert.equal(headers['X-Scope-OrgID'], 'tenant-1');
    assert.equal(headers['User-Agent'], 'gw/2 (tab\tok)');
    assert.equal(headers['Content-Type'], 'application/x-protobuf');
  });
});

describe('remoteWrite options: secrets are never printed', () => {
  const secretUrl = 'http://user:s3cret@host:9090/api/v1/write';

  it('no ConfigError message or property holds the URL password, whichever option is bad', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ url: 'ftp://user:s3cret@host/api/v1/write' }, 'url'],
      [{ url: 'http://user:s3cret@ho st/api/v1/write' }, 'url'],
      [{ url: secretUrl, shards: 0 }, 'shards'],
      [{ url: secretUrl, headers: { 'X Bad': 'v' } }, 'headers'],
      [{ url: secretUrl, logger: { info: 1 } }, 'logger.info'],
      [{ url: secretUrl, maxFutureMs: -5 }, 'maxFutureMs'],
    ];
    for (const [options, option] of cases) {
      const error = refused(options, option);
      assert.doesNotMatch(error.message, /s3cret/, error.message);
      assert.doesNotMatch(inspect(error), /s3cret/, `inspect of the error for ${option}`);
    }
    assert.match(refused({ url: 'ftp://user:s3cret@host/api/v1/write' }, 'url').message, /user:\*\*\*@host/);
  });

  it('no header value appears in an error: any of them may be a credential', () => {
    const error = refused({ headers: { Authorization: 'Bearer t0ken\n', 'X-Api-Key': 'k' } }, 'headers.Authorization');
    assert.doesNotMatch(inspect(error), /t0ken/);
    assert.doesNotMatch(inspect(refused({ headers: { 'User-Agent': 'Bearer t0ken' } }, 'headers.User-Agent')), /t0ken/);
  });

  it('a token given where the signer goes (signer: process.env.TOKEN) is not printed', () => {
    for (const token of ['Bearer t0ken.abc', 't0ken']) {
      const error = refused({ signer: token }, 'signer');
      assert.match(error.message, /"signer" must be a function .*\(got a string\)/);
      assert.doesNotMatch(inspect(error), /t0ken/);
    }
    assert.match(refused({ signer: 42 }, 'signer').message, /\(got a number\)/);
  });

  it('gives the sink a redacted form of the URL for its logs', () => {
    assert.equal(resolveRemoteWriteOptions({ url: secretUrl }).displayUrl, 'http://user:***@host:9090/api/v1/write');
  });
});
