import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { basicAuthSigner, bearerTokenSigner, composeSigners, type SignableRequest } from '../../../src/remote-write/http/signers.js';

function request(headers: Record<string, string> = {}): SignableRequest {
  return { url: 'http://127.0.0.1:9090/api/v1/write', method: 'POST', headers, body: Uint8Array.from([1, 2, 3]) };
}

describe('signers', () => {
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
});
