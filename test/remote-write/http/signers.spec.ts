import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { basicAuthSigner, bearerTokenSigner, composeSigners, type RequestSigner, type SignableRequest } from '../../../src/remote-write/http/signers.js';
import { ConfigError } from '../../../src/core/errors.js';
import { AxiosWriteClient } from '../../../src/remote-write/http/axios-client.js';
import { RetryPolicy } from '../../../src/remote-write/http/retry-policy.js';
import { remoteWrite } from '../../../operators/remote-write.js';

function request(headers: Record<string, string> = {}): SignableRequest {
  return { url: 'http://127.0.0.1:9090/api/v1/write', method: 'POST', headers, body: Uint8Array.from([1, 2, 3]) };
}

describe('signers', () => {
  it('a token given where a signer goes (signer: process.env.TOKEN) is refused without showing it, by the sink and by its client', () => {
    const token = 'Bearer hunter2-token';
    const makers: [string, () => unknown][] = [
      ['remoteWrite', () => remoteWrite({ url: 'http://127.0.0.1:1/api/v1/write', signer: token as unknown as RequestSigner })],
      ['AxiosWriteClient', () => new AxiosWriteClient({ url: 'http://127.0.0.1:1/api/v1/write', timeoutMs: 1000, headers: {}, retry: new RetryPolicy({}), maxSockets: 1, signer: token as unknown as RequestSigner })],
    ];
    for (const [name, make] of makers) {
      assert.throws(make, (e: unknown) => {
        assert.ok(e instanceof ConfigError, `${name}: ${String(e)}`);
        assert.equal(e.option, 'signer');
        for (const text of [String(e), e.stack ?? '', JSON.stringify(e)]) assert.ok(!text.includes('hunter2'), `${name} shows the token: ${text}`);
        return true;
      });
    }
  });

  it('basicAuthSigner sets Basic base64(user:password), UTF-8 included', async () => {
    const signed = request({ 'X-Other': 'kept' });
    await basicAuthSigner('jürgen', 'p:ss wörd')(signed);
    assert.deepEqual(signed.headers, { 'X-Other': 'kept', Authorization: `Basic ${Buffer.from('jürgen:p:ss wörd', 'utf8').toString('base64')}` });
    assert.equal(Buffer.from(signed.headers['Authorization'].slice(6), 'base64').toString('utf8'), 'jürgen:p:ss wörd');
  });

  it('bearerTokenSigner with a fixed token', async () => {
    const signed = request();
    await bearerTokenSigner('abc.def')(signed);
    assert.equal(signed.headers['Authorization'], 'Bearer abc.def');
  });

  it('bearerTokenSigner with a function asks for the token on every attempt', async () => {
    let n = 0;
    const signer = bearerTokenSigner(() => `token-${++n}`);
    const first = request();
    const second = request();
    await signer(first);
    await signer(second);
    assert.deepEqual([first.headers['Authorization'], second.headers['Authorization']], ['Bearer token-1', 'Bearer token-2']);
  });

  it('bearerTokenSigner with an async function awaits the token, and passes its failure on', async () => {
    const signed = request();
    await bearerTokenSigner(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return 'late-token';
    })(signed);
    assert.equal(signed.headers['Authorization'], 'Bearer late-token');
    await assert.rejects(async () => bearerTokenSigner(async () => Promise.reject(new Error('provider down')))(request()), /provider down/);
  });

  it('composeSigners runs the signers in order, each seeing what the previous ones set', async () => {
    const order: string[] = [];
    const signer = composeSigners(
      (r) => {
        order.push('tenant');
        r.headers['X-Scope-OrgID'] = 'tenant-1';
      },
      async (r) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        order.push('token');
        r.headers['Authorization'] = 'Bearer t';
      },
      (r) => {
        order.push('signature');
        r.headers['X-Signature'] = `${r.headers['X-Scope-OrgID']}|${r.headers['Authorization']}|${r.body.length}`;
      },
    );
    const signed = request();
    await signer(signed);
    assert.deepEqual(order, ['tenant', 'token', 'signature']);
    assert.equal(signed.headers['X-Signature'], 'tenant-1|Bearer t|3');
  });

  it('composeSigners stops at the first signer that throws', async () => {
    const ran: string[] = [];
    const signer = composeSigners(
      () => void ran.push('a'),
      () => {
        throw new Error('b failed');
      },
      () => void ran.push('c'),
    );
    await assert.rejects(async () => signer(request()), /b failed/);
    assert.deepEqual(ran, ['a']);
  });

  it('refuses credentials that would send a wrong header (e.g. an unset environment variable) at creation, never showing them', () => {
    const secret = 'hunter2';
    const env: Record<string, string | undefined> = {};
    const bad: [string, () => RequestSigner][] = [
      ['token', () => bearerTokenSigner(env['TOKEN'] as string)],
      ['token', () => bearerTokenSigner('')],
      ['token', () => bearerTokenSigner(`${secret}\n`)],
      ['token', () => bearerTokenSigner(4711 as unknown as string)],
      ['username', () => basicAuthSigner(env['USER'] as string, secret)],
      ['username', () => basicAuthSigner(`user:${secret}`, 'x')],
      ['username', () => basicAuthSigner(`user\r\n${secret}`, 'x')],
      ['password', () => basicAuthSigner('user', env['PASSWORD'] as string)],
      ['password', () => basicAuthSigner('user', `${secret}\r\nX-Injected: 1`)],
      ['password', () => basicAuthSigner('user', 4711 as unknown as string)],
      ['signers[1]', () => composeSigners(() => undefined, undefined as unknown as RequestSigner)],
      ['signers[0]', () => composeSigners('Bearer x' as unknown as RequestSigner)],
    ];
    for (const [option, make] of bad) {
      assert.throws(make, (e: unknown) => {
        assert.ok(e instanceof ConfigError, `${option}: ${String(e)}`);
        assert.equal(e.option, option);
        for (const text of [String(e), e.stack ?? '', JSON.stringify(e)]) assert.ok(!text.includes(secret) && !text.includes('4711'), `${option} shows the credential: ${text}`);
        return true;
      });
    }
    // What is allowed stays allowed: an empty password, a password with ':' and spaces, an empty
    // user-id (RFC 7617 allows it; services that take a token as the password use one).
    assert.equal(typeof basicAuthSigner('', secret), 'function');
    assert.equal(typeof basicAuthSigner('user', ''), 'function');
    assert.equal(typeof basicAuthSigner('user', 'p:ss w'), 'function');
  });

  it('bearerTokenSigner fails the attempt when its token function gives no token, instead of sending "Bearer undefined"', async () => {
    const signed = request();
    await assert.rejects(async () => bearerTokenSigner(() => undefined as unknown as string)(signed), /no token/);
    await assert.rejects(async () => bearerTokenSigner(async () => '')(signed), /no token/);
    assert.equal(signed.headers['Authorization'], undefined);
  });
});
