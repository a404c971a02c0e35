import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CREDENTIAL_HEADERS, MAX_REDIRECTS, redirectTarget, sameOrigin, withoutCredentials } from '../../../src/remote-write/http/redirect-rule.js';

const from = 'https://prom.example:9090/api/v1/write';
const refusal = (result: ReturnType<typeof redirectTarget>): string => {
  assert.equal(typeof result, 'object', `refused: ${String(result)}`);
  return (result as { message: string }).message;
};

describe('redirectTarget', () => {
  // Another port or an upgrade to https is another origin: followed, but the client sends no
  // credentials there (sameOrigin below; the client's spec checks the headers it sends).
  it('follows a 307 or 308 to the same host, relative Locations resolved, another port and an upgrade to https included', () => {
    assert.equal(redirectTarget(from, 308, '/api/v1/push', 0, new Set()), 'https://prom.example:9090/api/v1/push');
    assert.equal(redirectTarget(from, 307, 'https://prom.example:443/api/v1/write', 0, new Set()), 'https://prom.example/api/v1/write');
    assert.equal(redirectTarget('http://prom.example/api/v1/write', 308, 'https://prom.example/api/v1/write', 0, new Set()), 'https://prom.example/api/v1/write');
  });

  it('never follows https down to http: the request and its credentials would travel unencrypted', () => {
    const message = refusal(redirectTarget(from, 308, 'http://prom.example:9090/api/v1/write', 0, new Set()));
    assert.match(message, /from https to http:\/\/prom\.example:9090\/api\/v1\/write; not followed/);
  });

  it('refuses other 3xx, another host, other schemes, a missing or invalid Location, loops and too many hops, naming the Location', () => {
    assert.match(refusal(redirectTarget(from, 302, '/elsewhere', 0, new Set())), /\(302\) to \/elsewhere; only 307 and 308/);
    assert.match(refusal(redirectTarget(from, 308, 'https://other.example/api/v1/write', 0, new Set())), /another host/);
    assert.match(refusal(redirectTarget(from, 308, 'ftp://prom.example/x', 0, new Set())), /not http\(s\)/);
    assert.match(refusal(redirectTarget(from, 308, undefined, 0, new Set())), /without a Location header/);
    assert.match(refusal(redirectTarget(from, 308, 'http://[bad', 0, new Set())), /invalid Location/);
    assert.match(refusal(redirectTarget(from, 308, '/api/v1/write', 0, new Set([from]))), /a redirect loop/);
    assert.match(refusal(redirectTarget(from, 308, '/next', MAX_REDIRECTS, new Set())), new RegExp(`more than ${MAX_REDIRECTS} redirects`));
  });

  it('keeps the Location in what it returns, for the sink\'s outcome', () => {
    assert.deepEqual(redirectTarget(from, 301, '/moved', 0, new Set()), {
      location: '/moved',
      message: 'receiver redirected (301) to /moved; only 307 and 308 keep the POST and its body, so rxprom does not follow it: set url to the endpoint it names (/moved)',
    });
  });

  it('names a Location that holds a password with the password as ***, in the message and the location it returns', () => {
    const secret = 'hunter2';
    for (const [status, location] of [
      [308, `https://user:${secret}@other.example/api/v1/write`],
      [307, `ftp://user:${secret}@prom.example/`],
      [301, `https://user:${secret}@prom.example:9090/moved`],
      [308, `//user:${secret}@other.example/w`],
      [308, `http://user:${secret}@prom.example:9090/api/v1/write`],
      [308, `https://user:${secret}@[bad/w`],
    ] as const) {
      const result = redirectTarget(from, status, location, 0, new Set());
      assert.equal(typeof result, 'object', location);
      const text = JSON.stringify(result);
      assert.ok(!text.includes(secret), `shows the password: ${text}`);
      assert.match(text, /user:\*\*\*@/);
    }
    // A redirect that is followed goes to the URL as the receiver named it.
    assert.equal(redirectTarget(from, 308, `https://user:${secret}@prom.example:9090/v2`, 0, new Set()), `https://user:${secret}@prom.example:9090/v2`);
  });

  it('an origin is scheme, host and port: another port or scheme is another origin; a default port written out is not', () => {
    assert.ok(sameOrigin(from, 'https://prom.example:9090/api/v1/push'));
    assert.ok(sameOrigin('https://prom.example/w', 'https://prom.example:443/x'));
    assert.ok(sameOrigin('http://prom.example/w', 'http://user:pw@prom.example:80/x'));
    assert.ok(!sameOrigin(from, 'https://prom.example:443/api/v1/write'), 'another port');
    assert.ok(!sameOrigin('http://prom.example/w', 'https://prom.example/w'), 'an upgrade to https');
    assert.ok(!sameOrigin(from, 'https://other.example:9090/api/v1/write'), 'another host');
  });

  it('withoutCredentials drops Authorization, Proxy-Authorization and Cookie in any case, and keeps the rest', () => {
    assert.deepEqual([...CREDENTIAL_HEADERS].sort(), ['authorization', 'cookie', 'proxy-authorization']);
    const headers = { authorization: 'a', 'Proxy-Authorization': 'b', COOKIE: 'c', 'X-Scope-OrgID': 'tenant', 'Content-Type': 'application/x-protobuf' };
    assert.deepEqual(withoutCredentials(headers), { 'X-Scope-OrgID': 'tenant', 'Content-Type': 'application/x-protobuf' });
    assert.equal(Object.keys(headers).length, 5, 'the given object is left as it was');
  });
});
