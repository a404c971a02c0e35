/**
 * OAuth2 client credentials against a small loopback token server: caching until shortly before
 * expiry, refresh, one shared fetch for concurrent callers, errors that name the OAuth code and
 * never the secret, a failed early refresh falling back to the still-valid token, timeouts.
 */
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { from, lastValueFrom, toArray } from 'rxjs';
import { oauth2ClientCredentials, OAuth2TokenError, bearerTokenSigner, remoteWrite, sample, ConfigError } from '../../src/index.js';
import { startReceiver } from '../../src/testing/index.js';

interface TokenRequest { authorization: string | undefined; form: URLSearchParams }
type Answer = { status: number; body: unknown; delayMs?: number } | 'hang' | 'hang-in-body';

class TokenServer {
  readonly requests: TokenRequest[] = [];
  answers: Answer[] = [];
  private issued = 0;
  private constructor(private readonly server: Server, readonly url: string) {}

  static async start(): Promise<TokenServer> {
    let self: TokenServer | undefined;
    const server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => self?.answer(req.headers.authorization, body, res));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    self = new TokenServer(server, `http://127.0.0.1:${address.port}/oauth2/token`);
    return self;
  }

  private answer(authorization: string | undefined, body: string, res: import('node:http').ServerResponse): void {
    this.requests.push({ authorization, form: new URLSearchParams(body) });
    const answer = this.answers.shift() ?? { status: 200, body: { access_token: `token-${++this.issued}`, token_type: 'Bearer', expires_in: 3600 } };
    if (answer === 'hang') return;
    if (answer === 'hang-in-body') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '100' });
      res.write('{"access_token":');
      return;
    }
    const send = (): void => {
      res.writeHead(answer.status, { 'Content-Type': 'application/json' });
      res.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
    };
    if (answer.delayMs) setTimeout(send, answer.delayMs);
    else send();
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let servers: TokenServer[] = [];
afterEach(async () => {
  for (const s of servers) await s.close();
  servers = [];
});
async function tokenServer(): Promise<TokenServer> {
  const s = await TokenServer.start();
  servers.push(s);
  return s;
}

describe('oauth2ClientCredentials', () => {
  it('fetches with client credentials (Basic), caches, and refreshes before expiry', async () => {
    const server = await tokenServer();
    let clock = 1_000_000;
    const token = oauth2ClientCredentials({ tokenUrl: server.url, clientId: 'rx prom', clientSecret: 's3cret:x', scope: ['write', 'read'], now: () => clock, refreshBeforeExpiryMs: 60_000 });
    assert.equal(await token(), 'token-1');
    const first = server.requests[0];
    assert.equal(first.form.get('grant_type'), 'client_credentials');
    assert.equal(first.form.get('scope'), 'write read');
    assert.equal(first.form.get('client_secret'), null, 'the secret is not in the body with Basic');
    // RFC 6749 §2.3.1: id and secret form-encoded, then Basic.
    assert.equal(first.authorization, `Basic ${Buffer.from('rx+prom:s3cret%3Ax').toString('base64')}`);

    clock += 3_500_000; // 100 s before expiry: still cached
    assert.equal(await token(), 'token-1');
    assert.equal(server.requests.length, 1);
    clock += 50_000; // 50 s before expiry: inside the refresh margin
    assert.equal(await token(), 'token-2');
    assert.equal(server.requests.length, 2);
    clock += 3_600_000 + 1; // token-2 expired
    assert.equal(await token(), 'token-3');
    token.invalidate();
    assert.equal(await token(), 'token-4');
    assert.equal(server.requests.length, 4);
  });

  it('a token that lives no longer than the refresh margin is refreshed at half its life, not on every call', async () => {
    const server = await tokenServer();
    let clock = 0;
    server.answers.push({ status: 200, body: { access_token: 'short-1', expires_in: 30 } }, { status: 200, body: { access_token: 'short-2', expires_in: 30 } });
    // The default margin (60 s) is longer than the token's life (30 s).
    const token = oauth2ClientCredentials({ tokenUrl: server.url, clientId: 'id', clientSecret: 'secret', now: () => clock });
    assert.equal(await token(), 'short-1');
    for (clock = 1000; clock < 15_000; clock += 1000) assert.equal(await token(), 'short-1');
    assert.equal(server.requests.length, 1, 'one fetch for the first half of its life');
    clock = 15_000;
    assert.equal(await token(), 'short-2');
    assert.equal(server.requests.length, 2);
  });

  it('keeps a registered OAuth error code as it is, even when the secret is a part of it', async () => {
    const server = await tokenServer();
    server.answers.push({ status: 401, body: { error: 'invalid_client', error_description: 'client unknown' } });
    const token = oauth2ClientCredentials({ tokenUrl: server.url, clientId: 'id', clientSecret: 'client' });
    await assert.rejects(token(), (e: unknown) => e instanceof OAuth2TokenError && e.code === 'invalid_client' && /401 invalid_client/.test(e.message));
  });

  it('concurrent callers share one fetch', async () => {
    const server = await tokenServer();
    server.answers.push({ status: 200, body: { access_token: 'shared', expires_in: 600 }, delayMs: 50 });
    const token = oauth2ClientCredentials({ tokenUrl: server.url, clientId: 'id', clientSecret: 'secret', clientAuthentication: 'body' });
    const tokens = await Promise.all(Array.from({ length: 20 }, () => token()));
    assert.deepEqual(new Set(tokens), new Set(['shared']));
    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0].form.get('client_id'), 'id');
    assert.equal(server.requests[0].form.get('client_secret'), 'secret');
    assert.equal(server.requests[0].authorization, undefined);
  });

  it('reports a refusal with the status and OAuth error code, never the secret, and tries again on the next call', async () => {
    const server = await tokenServer();
    server.answers.push({ status: 401, body: { error: 'invalid_client', error_description: 'unknown client' } });
    const token = oauth2ClientCredentials({ tokenUrl: server.url, clientId: 'id', clientSecret: 'very-secret-value' });
    await assert.rejects(token(), (e: unknown) => {
      assert.ok(e instanceof OAuth2TokenError);
      assert.equal(e.status, 401);
      assert.equal(e.code, 'invalid_client');
      assert.match(e.message, /401 invalid_client: unknown client/);
      assert.ok(!e.message.includes('very-secret-value'));
      return true;
    });
    assert.equal(await token(), 'token-1', 'a failure is not cached');
    assert.equal(server.requests.length, 2);
  });

  it('never shows the secret in an error even when the token endpoint echoes it in error_description', async () => {
    const server = await tokenServer();
    const secret = 'hunter2 s3cret/+';
    for (const echoed of [secret, encodeURIComponent(secret), encodeURIComponent(secret).replace(/%20/g, '+'), new URLSearchParams({ s: secret }).toString().slice(2)]) {
      server.answers.push({ status: 401, body: { error: 'invalid_client', error_description: `client_secret '${echoed}' is not valid` } });
    }
    for (const clientAuthentication of ['body', 'body', 'basic', 'basic'] as const) {
      const token = oauth2ClientCredentials({ tokenUrl: server.url, clientId: 'id', clientSecret: secret, clientAuthentication });
      await assert.rejects(token(), (e: unknown) => {
        assert.ok(e instanceof OAuth2TokenError);
        for (const text of [String(e), e.stack ?? '', JSON.stringify(e)]) {
          assert.ok(!text.includes('s3cret'), `shows the secret: ${text}`);
        }
        assert.match(e.message, /401 invalid_client: client_secret '\*\*\*' is not valid/);
        return true;
      });
    }
  });

  it('rejects an answer without an access_token, or not JSON', async () => {
    const server = await tokenServer();
    server.answers.push({ status: 200, body: { token_type: 'Bearer' } }, { status: 200, body: '<html>' });
    const token = oauth2ClientCredentials({ tokenUrl: server.url, clientId: 'id', clientSecret: 'secret' });
    await assert.rejects(token(), /without an access_token/);
    await assert.rejects(token(), /without an access_token/);
  });

  it('keeps the still-valid token when an early refresh fails', async () => {
    const server = await tokenServer();
    let clock = 0;
    const token = oauth2ClientCredentials({ tokenUrl: server.url, clientId: 'id', clientSecret: 'secret', now: () => clock });
    assert.equal(await token(), 'token-1');
    clock = 3_590_000; // in the refresh margin, not expired
    server.answers.push({ status: 503, body: { error: 'temporarily_unavailable' } });
    assert.equal(await token(), 'token-1');
    clock = 3_600_001; // expired, and the server fails again: now it is an error
    server.answers.push({ status: 503, body: { error: 'temporarily_unavailable' } });
    await assert.rejects(token(), (e: unknown) => e instanceof OAuth2TokenError && e.status === 503);
    assert.equal(await token(), 'token-2');
  });

  it('gives up on a hanging token endpoint after timeoutMs', async () => {
    const server = await tokenServer();
    server.answers.push('hang');
    const token = oauth2ClientCredentials({ tokenUrl: server.url, clientId: 'id', clientSecret: 'secret', timeoutMs: 100 });
    await assert.rejects(token(), (e: unknown) => e instanceof OAuth2TokenError && e.status === undefined && /timed out after 100 ms/.test(e.message));
  });

  it('gives up on a token endpoint that stalls in the body after timeoutMs, with the same error', async () => {
    const server = await tokenServer();
    server.answers.push('hang-in-body');
    const token = oauth2ClientCredentials({ tokenUrl: server.url, clientId: 'id', clientSecret: 'secret', timeoutMs: 100 });
    await assert.rejects(token(), (e: unknown) => e instanceof OAuth2TokenError && e.status === undefined && /timed out after 100 ms/.test(e.message));
    assert.equal(await token(), 'token-1', 'the next call fetches again');
  });

  it('authorizes the sink through bearerTokenSigner', async () => {
    const server = await tokenServer();
    const receiver = await startReceiver({ mode: 'strict' });
    try {
      const seen: (string | undefined)[] = [];
      const token = oauth2ClientCredentials({ tokenUrl: server.url, clientId: 'id', clientSecret: 'secret' });
      const signer = bearerTokenSigner(token);
      const sink = remoteWrite({
        url: receiver.url,
        maxDelayMs: 5,
        maxSamplesPerRequest: 5,
        signer: async (request) => {
          await signer(request);
          seen.push(request.headers['Authorization']);
        },
      });
      const samples = Array.from({ length: 20 }, (_, i) => sample({ __name__: 'authorized', i: String(i) }, i, 1_700_000_000_000));
      await lastValueFrom(from(samples).pipe(sink, toArray()));
      assert.equal(sink.metrics.snapshot().samplesWritten, 20);
      assert.ok(seen.length >= 4);
      assert.deepEqual(new Set(seen), new Set(['Bearer token-1']));
      assert.equal(server.requests.length, 1, 'one token for every request');
    } finally {
      await receiver.close();
    }
  });

  it('refuses bad options with a ConfigError that shows no secret', () => {
    assert.throws(() => oauth2ClientCredentials({ tokenUrl: 'not a url', clientId: 'id', clientSecret: 'secret' }), (e: unknown) => e instanceof ConfigError && e.option === 'tokenUrl');
    assert.throws(() => oauth2ClientCredentials({ tokenUrl: 'http://127.0.0.1/t', clientId: '', clientSecret: 'secret' }), (e: unknown) => e instanceof ConfigError && e.option === 'clientId');
    assert.throws(() => oauth2ClientCredentials({ tokenUrl: 'http://127.0.0.1/t', clientId: 'id', clientSecret: '' }), (e: unknown) => e instanceof ConfigError && e.option === 'clientSecret');
    assert.throws(() => oauth2ClientCredentials({ tokenUrl: 'http://127.0.0.1/t', clientId: 'id', clientSecret: 's', timeoutMs: -1 }), (e: unknown) => e instanceof ConfigError && e.option === 'timeoutMs');
  });

  it('refuses a tokenUrl with a user or password at creation, showing the URL with its password as ***', async () => {
    // fetch cannot send to such a URL at all, and its error printed the URL whole, password included.
    for (const tokenUrl of ['http://user:hunter2@127.0.0.1:1/t', 'https://:hunter2@auth.example/t', 'http://user@127.0.0.1:1/t', 'ftp://user:hunter2@auth.example/t', 'http://user:hunter2@ bad/t']) {
      assert.throws(
        () => oauth2ClientCredentials({ tokenUrl, clientId: 'id', clientSecret: 'secret' }),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError, `${tokenUrl}: ${String(e)}`);
          assert.equal(e.option, 'tokenUrl');
          for (const text of [String(e), e.stack ?? '', JSON.stringify(e)]) assert.ok(!text.includes('hunter2'), `${tokenUrl} shows its password: ${text}`);
          return true;
        },
      );
    }
  });
});
