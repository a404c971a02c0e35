import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { AxiosWriteClient, MAX_BODY_BYTES, MAX_REDIRECTS, proxyInEnvironment, type AxiosWriteClientOptions, type RetryEvent } from '../../../src/remote-write/http/axios-client.js';
import { RetryPolicy } from '../../../src/remote-write/http/retry-policy.js';
import type { RequestSigner } from '../../../src/remote-write/http/signers.js';
import { ScriptServer } from './script-server.js';
import { from, lastValueFrom, toArray } from 'rxjs';
import { remoteWrite } from '../../../operators/remote-write.js';
import { bearerTokenSigner } from '../../../src/remote-write/http/signers.js';
import { silentLogger } from '../../../src/core/logger.js';
import { ConfigError, RemoteWriteError } from '../../../src/core/errors.js';
import type { Sample, WriteOutcome } from '../../../src/core/model.js';

const body = Buffer.from('a remote-write body');
const never = new AbortController().signal;
const samples = (n: number): Sample[] => Array.from({ length: n }, (_, i) => ({ labels: { __name__: 'm' }, value: i, timestamp: 1_700_000_000_000 + i }));

function clientFor(url: string, options: Partial<AxiosWriteClientOptions> = {}): { client: AxiosWriteClient; retries: RetryEvent[] } {
  const retries: RetryEvent[] = [];
  const client = new AxiosWriteClient({
    url,
    timeoutMs: 2000,
    headers: { 'Content-Type': 'application/x-protobuf' },
    retry: new RetryPolicy({ initialDelayMs: 1, maxDelayMs: 5, jitter: 0, maxRetries: 5 }),
    maxSockets: 2,
    onRetry: (event) => retries.push(event),
    ...options,
  });
  return { client, retries };
}

describe('AxiosWriteClient', () => {
  const server = new ScriptServer();
  before(() => server.start());
  after(() => server.stop());
  beforeEach(() => server.reset());

  it('retries 503, 429, a reset and a 500 in place and counts every attempt itself', async () => {
    server.answers.push({ status: 503 }, { status: 429, headers: { 'Retry-After': '0.02' } }, { reset: true }, { status: 500, body: 'boom' });
    const { client, retries } = clientFor(server.url());
    try {
      const result = await client.send(body, never);
      assert.deepEqual(result, { kind: 'response', status: 204, body: '', attempts: 5 });
      assert.equal(server.seen.length, 5);
      assert.ok(server.seen.every((r) => r.body.equals(body) && r.method === 'POST'));
      assert.deepEqual(retries.map((r) => [r.retry, r.status ?? 'network']), [[1, 503], [2, 429], [3, 'network'], [4, 500]]);
      // Retry-After (0.02 s) replaced the computed backoff for the retry after the 429.
      assert.equal(retries[1].delayMs, 20);
      assert.match(String(retries[2].error), /ECONNRESET|socket hang up/);
    } finally {
      client.close();
    }
  });

  it('counts attempts per send, not per client: consecutive sends start again at 1', async () => {
    server.answers.push({ status: 503 }, { status: 204 }, { status: 204 });
    const { client } = clientFor(server.url());
    try {
      assert.equal((await client.send(body, never)).attempts, 2);
      assert.equal((await client.send(body, never)).attempts, 1);
    } finally {
      client.close();
    }
  });

  it('retries a timed-out attempt', async () => {
    server.answers.push({ hang: true });
    // Long enough that the second attempt's answer is not timed out too on a loaded machine (3 attempts).
    const { client, retries } = clientFor(server.url(), { timeoutMs: 1000 });
    try {
      const result = await client.send(body, never);
      assert.equal(result.kind, 'response');
      assert.equal(result.attempts, 2);
      assert.match(String(retries[0].error), /ECONNABORTED|timeout/i);
    } finally {
      client.close();
    }
  });

  it('answers a 400 at once with its body, and gives up after maxRetries on 503', async () => {
    server.answers.push({ status: 400, body: 'out of order sample' }, { status: 503, body: 'a' }, { status: 503, body: 'b' }, { status: 503, body: 'c' });
    const { client } = clientFor(server.url(), { retry: new RetryPolicy({ initialDelayMs: 1, maxDelayMs: 1, maxRetries: 2 }) });
    try {
      assert.deepEqual(await client.send(body, never), { kind: 'response', status: 400, body: 'out of order sample', attempts: 1 });
      assert.deepEqual(await client.send(body, never), { kind: 'response', status: 503, body: 'c', attempts: 3 });
    } finally {
      client.close();
    }
  });

  it('a refused connection ends as a network error after the retries', async () => {
    const gone = await new ScriptServer().start();
    const url = gone.url();
    await gone.stop();
    const { client, retries } = clientFor(url, { retry: new RetryPolicy({ initialDelayMs: 1, maxDelayMs: 1, maxRetries: 3 }) });
    try {
      const result = await client.send(body, never);
      assert.equal(result.kind, 'network-error');
      assert.equal(result.kind === 'network-error' && result.code, 'ECONNREFUSED');
      assert.equal(result.attempts, 4);
      assert.equal(retries.length, 3);
    } finally {
      client.close();
    }
  });

  it('rejects when aborted, and stops retrying', async () => {
    server.answers.push({ hang: true });
    const { client } = clientFor(server.url(), { timeoutMs: 60_000 });
    const abort = new AbortController();
    try {
      const sending = client.send(body, abort.signal);
      // Aborted once the attempt is at the server (a fixed wait was too short on a loaded machine).
      for (const deadline = Date.now() + 10_000; server.seen.length === 0 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal(server.seen.length, 1, 'the first attempt reached the server');
      abort.abort();
      await assert.rejects(sending);
      // No retry after the abort: nothing more arrives.
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(server.seen.length, 1);
    } finally {
      client.close();
    }
  });

  describe('signer', () => {
    it('signs every attempt with the URL and the body it sends', async () => {
      server.answers.push({ status: 503 });
      const signed: Array<{ url: string; bytes: number }> = [];
      const signer: RequestSigner = (request) => {
        signed.push({ url: request.url, bytes: request.body.length });
        request.headers['Authorization'] = `Sig ${signed.length}`;
      };
      const { client } = clientFor(server.url(), { signer });
      try {
        assert.equal((await client.send(body, never)).attempts, 2);
        assert.deepEqual(signed, [{ url: server.url(), bytes: body.length }, { url: server.url(), bytes: body.length }]);
        assert.deepEqual(server.seen.map((r) => r.headers['authorization']), ['Sig 1', 'Sig 2']);
      } finally {
        client.close();
      }
    });

    it('a signer that throws once is a failed attempt: retried with backoff, then sent', async () => {
      let calls = 0;
      const signer: RequestSigner = async (request) => {
        calls++;
        if (calls === 1) throw new Error('token provider unavailable');
        request.headers['Authorization'] = 'Bearer fresh';
      };
      const { client, retries } = clientFor(server.url(), { signer });
      try {
        const result = await client.send(body, never);
        assert.deepEqual(result, { kind: 'response', status: 204, body: '', attempts: 2 });
        assert.equal(server.seen.length, 1, 'the failed attempt sent nothing');
        assert.equal(server.seen[0].headers['authorization'], 'Bearer fresh');
        assert.equal(retries.length, 1);
        assert.match(String(retries[0].error), /^ESIGNER: request signer failed: token provider unavailable/);
      } finally {
        client.close();
      }
    });

    it('a signer that always throws ends as a network error with code ESIGNER after the retries', async () => {
      const signer: RequestSigner = () => {
        throw new Error('no credentials');
      };
      const { client } = clientFor(server.url(), { signer, retry: new RetryPolicy({ initialDelayMs: 1, maxDelayMs: 1, maxRetries: 2 }) });
      try {
        const result = await client.send(body, never);
        assert.equal(result.kind, 'network-error');
        assert.equal(result.kind === 'network-error' && result.code, 'ESIGNER');
        assert.match(result.kind === 'network-error' ? result.message : '', /no credentials/);
        assert.equal(result.attempts, 3);
        assert.equal(server.seen.length, 0);
      } finally {
        client.close();
      }
    });
  });

  describe('response bodies', () => {
    it('reads at most a bounded part of a huge body, closes that connection, and goes on', async () => {
      const huge = 200 * 1024 * 1024;
      server.answers.push({ stream: huge }, { status: 204 });
      const { client } = clientFor(server.url());
      try {
        const result = await client.send(body, never);
        assert.equal(result.kind, 'response');
        assert.equal(result.status, 200);
        assert.equal(result.kind === 'response' && result.body, `${'x'.repeat(1024)}...`);
        // Wait for the server to see the connection close.
        for (let i = 0; i < 100 && server.streamsCut === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
        assert.equal(server.streamsCut, 1, 'the connection was closed before the body was sent');
        // What the server wrote is the client's bound plus the sockets' buffers: far from 200 MB.
        assert.ok(server.streamedBytes < 16 * 1024 * 1024, `server wrote ${server.streamedBytes} bytes`);
        assert.deepEqual(await client.send(body, never), { kind: 'response', status: 204, body: '', attempts: 1 });
      } finally {
        client.close();
      }
    });

    it('drains a body within the bound and keeps the connection; keeps 1024 characters of it', async () => {
      const long = 'e'.repeat(MAX_BODY_BYTES - 10);
      server.answers.push({ status: 400, body: long }, { status: 400, body: 'short' });
      const { client } = clientFor(server.url(), { maxSockets: 1 });
      try {
        const first = await client.send(body, never);
        assert.equal(first.kind === 'response' && first.body, `${'e'.repeat(1024)}...`);
        const second = await client.send(body, never);
        assert.equal(second.kind === 'response' && second.body, 'short');
        assert.equal(server.connections, 1, 'one kept-alive connection for both');
        assert.equal(server.seen[0].remotePort, server.seen[1].remotePort);
      } finally {
        client.close();
      }
    });
  });

  describe('answers without a body, and proxies', () => {
    it('answers a 204 and an empty 200 with an empty body, on one kept-alive connection; a 200 with a body keeps it', async () => {
      server.answers.push({ status: 204 }, { status: 200 }, { status: 200, body: 'stored' });
      const { client } = clientFor(server.url(), { maxSockets: 1 });
      try {
        assert.deepEqual(await client.send(body, never), { kind: 'response', status: 204, body: '', attempts: 1 });
        assert.deepEqual(await client.send(body, never), { kind: 'response', status: 200, body: '', attempts: 1 });
        assert.deepEqual(await client.send(body, never), { kind: 'response', status: 200, body: 'stored', attempts: 1 });
        assert.equal(server.connections, 1, 'the empty answers gave their connection back to the pool');
      } finally {
        client.close();
      }
    });

    it('sees a proxy in the environment under http_proxy, https_proxy or all_proxy, in either case', () => {
      assert.equal(proxyInEnvironment({}), false);
      assert.equal(proxyInEnvironment({ no_proxy: '*', HTTP_PROXY: '' }), false);
      for (const name of ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY']) {
        assert.equal(proxyInEnvironment({ [name]: 'http://proxy.example:3128' }), true, name);
      }
    });

    it('sends through a proxy the environment names when the client is created', async () => {
      const saved = { http_proxy: process.env['http_proxy'], no_proxy: process.env['no_proxy'], NO_PROXY: process.env['NO_PROXY'] };
      // The script server plays the proxy: a request to it through a proxy names the whole target URL.
      process.env['http_proxy'] = server.url('');
      delete process.env['no_proxy'];
      delete process.env['NO_PROXY'];
      let client: AxiosWriteClient | undefined;
      try {
        client = clientFor('http://receiver.invalid:9090/api/v1/write').client;
        assert.deepEqual(await client.send(body, never), { kind: 'response', status: 204, body: '', attempts: 1 });
        assert.deepEqual(server.seen.map((r) => r.path), ['http://receiver.invalid:9090/api/v1/write']);
      } finally {
        client?.close();
        for (const [name, value] of Object.entries(saved)) {
          if (value === undefined) delete process.env[name];
          else process.env[name] = value;
        }
      }
    });
  });

  describe('redirects', () => {
    for (const status of [307, 308]) {
      it(`follows a ${status} on the same host with the same method and body, signed again for the new URL`, async () => {
        server.answers.push({ status, headers: { Location: '/moved/write' } });
        const signedUrls: string[] = [];
        const { client } = clientFor(server.url(), { signer: (request) => void signedUrls.push(request.url) });
        try {
          const result = await client.send(body, never);
          assert.deepEqual(result, { kind: 'response', status: 204, body: '', attempts: 2 });
          assert.deepEqual(server.seen.map((r) => [r.method, r.path, r.body.equals(body)]), [
            ['POST', '/api/v1/write', true],
            ['POST', '/moved/write', true],
          ]);
          assert.deepEqual(signedUrls, [server.url(), server.url('/moved/write')]);
        } finally {
          client.close();
        }
      });
    }

    it('retries at the new URL after a redirect', async () => {
      server.answers.push({ status: 308, headers: { Location: '/v2' } }, { status: 503 });
      const { client } = clientFor(server.url());
      try {
        assert.deepEqual(await client.send(body, never), { kind: 'response', status: 204, body: '', attempts: 3 });
        assert.deepEqual(server.seen.map((r) => r.path), ['/api/v1/write', '/v2', '/v2']);
      } finally {
        client.close();
      }
    });

    describe('to another origin (the same host on another port)', () => {
      const elsewhere = new ScriptServer();
      before(() => elsewhere.start());
      after(() => elsewhere.stop());
      beforeEach(() => elsewhere.reset());
      const userHeaders = { Authorization: 'Bearer user-secret', Cookie: 'session=user-secret', 'X-Scope-OrgID': 'tenant-1' };
      const signer: RequestSigner = (request) => {
        request.headers['X-Signature'] = `signed ${request.url}`;
      };

      it('is followed without the signer\'s headers and the user\'s credential headers; other headers are kept', async () => {
        server.answers.push({ status: 307, headers: { Location: elsewhere.url('/moved') } }, { status: 503 });
        const signedUrls: string[] = [];
        const { client } = clientFor(server.url(), { headers: { 'Content-Type': 'application/x-protobuf', ...userHeaders }, signer: (request) => { signedUrls.push(request.url); return signer(request); } });
        try {
          assert.deepEqual(await client.send(body, never), { kind: 'response', status: 204, body: '', attempts: 2 });
          // At the configured origin: everything.
          assert.equal(server.seen.length, 1);
          const [first] = server.seen;
          assert.deepEqual([first.headers['authorization'], first.headers['cookie'], first.headers['x-scope-orgid'], first.headers['x-signature']], ['Bearer user-secret', 'session=user-secret', 'tenant-1', `signed ${server.url()}`]);
          // At the other port: the same POST and body, the tenant, and no credential.
          assert.equal(elsewhere.seen.length, 1);
          const [moved] = elsewhere.seen;
          assert.deepEqual([moved.method, moved.path, moved.body.equals(body)], ['POST', '/moved', true]);
          assert.equal(moved.headers['x-scope-orgid'], 'tenant-1');
          assert.equal(moved.headers['content-type'], 'application/x-protobuf');
          for (const name of ['authorization', 'cookie', 'x-signature']) assert.equal(moved.headers[name], undefined, `${name} sent to another origin`);
          assert.deepEqual(signedUrls, [server.url()], 'the signer is not asked for the other origin');
        } finally {
          client.close();
        }
      });

      it('retries there unsigned too, and a redirect back to the configured origin stays unsigned for that request', async () => {
        server.answers.push({ status: 308, headers: { Location: elsewhere.url('/moved') } });
        elsewhere.answers.push({ status: 503 }, { status: 307, headers: { Location: server.url('/back') } });
        const { client } = clientFor(server.url(), { headers: { ...userHeaders }, signer });
        try {
          assert.deepEqual(await client.send(body, never), { kind: 'response', status: 204, body: '', attempts: 4 });
          assert.deepEqual(elsewhere.seen.map((r) => [r.path, r.headers['authorization'], r.headers['x-signature']]), [['/moved', undefined, undefined], ['/moved', undefined, undefined]]);
          assert.deepEqual(server.seen.map((r) => [r.path, r.headers['authorization'] !== undefined, r.headers['x-signature'] !== undefined]), [['/api/v1/write', true, true], ['/back', false, false]]);
          // The next request starts at the configured URL with its credentials again.
          assert.equal((await client.send(body, never)).kind, 'response');
          assert.equal(server.seen.at(-1)?.headers['x-signature'], `signed ${server.url()}`);
        } finally {
          client.close();
        }
      });

      it('a 401 there fails the sink with a message saying the credentials were not sent to that origin', async () => {
        server.answers.push({ status: 308, headers: { Location: elsewhere.url() } });
        elsewhere.answers.push({ status: 401, body: 'no credentials' });
        const sink = remoteWrite({ url: server.url(), maxDelayMs: 1, headers: { ...userHeaders }, signer, logger: silentLogger });
        const error = await new Promise<unknown>((resolve) => from(samples(2)).pipe(sink).subscribe({ error: resolve, complete: () => resolve('completed') }));
        assert.ok(error instanceof RemoteWriteError, String(error));
        assert.equal(error.status, 401);
        assert.match(error.message, new RegExp(`401 at http://127\\.0\\.0\\.1:${elsewhere.port}/api/v1/write, reached by a redirect to another origin`));
        assert.ok(!JSON.stringify(error).includes('user-secret') && !error.message.includes('user-secret'));
        assert.equal(elsewhere.seen[0].headers['authorization'], undefined);
      });
    });

    const refusals: Array<[string, () => void, RegExp, number]> = [
      ['a 301 (would turn the POST into a GET)', () => server.answers.push({ status: 301, headers: { Location: '/elsewhere' } }), /301\) to \/elsewhere; only 307 and 308/, 1],
      ['a 302 without Location', () => server.answers.push({ status: 302 }), /302 without a Location header/, 1],
      ['a redirect loop', () => server.answers.push({ status: 308, headers: { Location: '/a' } }, { status: 308, headers: { Location: '/api/v1/write' } }), /redirect loop/, 2],
      [
        `more than ${MAX_REDIRECTS} redirects`,
        () => {
          for (let i = 1; i <= MAX_REDIRECTS + 1; i++) server.answers.push({ status: 307, headers: { Location: `/hop${i}` } });
        },
        new RegExp(`more than ${MAX_REDIRECTS} redirects`),
        MAX_REDIRECTS + 1,
      ],
      ['a redirect to another host', () => server.answers.push({ status: 308, headers: { Location: `http://localhost:${server.port}/api/v1/write` } }), /another host/, 1],
    ];
    for (const [name, script, message, requests] of refusals) {
      it(`does not follow ${name}: answers the 3xx with its Location and why`, async () => {
        script();
        const { client } = clientFor(server.url());
        try {
          const result = await client.send(body, never);
          assert.equal(result.kind, 'response');
          if (result.kind !== 'response') return;
          assert.ok(result.status >= 300 && result.status < 400);
          assert.match(String(result.message), message);
          assert.equal(result.attempts, requests);
          assert.equal(server.seen.length, requests);
        } finally {
          client.close();
        }
      });
    }
  });

  describe('through remoteWrite: how its answers meet the sink policies', () => {
    const fast = { initialDelayMs: 1, maxDelayMs: 2, jitter: 0 };

    it('a bearer token function that throws once is retried, not fatal', async () => {
      let calls = 0;
      const signer = bearerTokenSigner(() => {
        if (++calls === 1) throw new Error('token endpoint timed out');
        return 'tok';
      });
      const sink = remoteWrite({ url: server.url(), shards: 1, maxDelayMs: 1, retry: fast, signer, logger: silentLogger });
      const outcomes = await lastValueFrom(from(samples(3)).pipe(sink, toArray()));
      assert.deepEqual(outcomes.map((o) => [o.type, o.samples, o.attempts]), [['written', 3, 2]]);
      assert.equal(sink.metrics.snapshot().requestRetries, 1);
      assert.equal(server.seen[0].headers['authorization'], 'Bearer tok');
    });

    it('a signer that keeps throwing ends per onMaxRetriesExceeded: discard, or fail with the signer error', async () => {
      const signer = bearerTokenSigner(async () => Promise.reject(new Error('no token')));
      const discarding = remoteWrite({ url: server.url(), shards: 1, maxDelayMs: 1, retry: { ...fast, maxRetries: 2 }, onMaxRetriesExceeded: 'discard', signer, logger: silentLogger });
      const outcomes = await lastValueFrom(from(samples(2)).pipe(discarding, toArray()));
      assert.deepEqual(outcomes.map((o) => [o.type, o.reason, o.samples, o.attempts]), [['dropped', 'max-retries', 2, 3]]);
      assert.match(String(outcomes[0].message), /ESIGNER: request signer failed: no token after 3 attempts/);

      const failing = remoteWrite({ url: server.url(), shards: 1, maxDelayMs: 1, retry: { ...fast, maxRetries: 1 }, signer, logger: silentLogger });
      await assert.rejects(lastValueFrom(from(samples(1)).pipe(failing)), (e: unknown) => e instanceof RemoteWriteError && /ESIGNER/.test(e.message) && e.attempts === 2);
      assert.equal(server.seen.length, 0, 'nothing unsigned was sent');
    });

    it('a 3xx it does not follow fails the pipeline as fatal, naming the Location', async () => {
      server.answers.push({ status: 301, headers: { Location: 'https://metrics.example/api/v1/write' } });
      const sink = remoteWrite({ url: server.url(), maxDelayMs: 1, logger: silentLogger });
      const seen: WriteOutcome[] = [];
      const error = await new Promise<unknown>((resolve) => from(samples(2)).pipe(sink).subscribe({ next: (o) => seen.push(o), error: resolve }));
      assert.ok(error instanceof RemoteWriteError);
      assert.equal(error.status, 301);
      assert.match(error.message, /redirected \(301\) to https:\/\/metrics\.example\/api\/v1\/write/);
      assert.deepEqual(seen.map((o) => [o.type, o.reason, o.samples, o.status]), [['dropped', 'fatal', 2, 301]]);
    });

    it('a 308 to the same host is followed and written', async () => {
      server.answers.push({ status: 308, headers: { Location: '/api/v1/write/' } });
      const sink = remoteWrite({ url: server.url(), maxDelayMs: 1, logger: silentLogger });
      const outcomes = await lastValueFrom(from(samples(2)).pipe(sink, toArray()));
      assert.deepEqual(outcomes.map((o) => [o.type, o.samples, o.attempts]), [['written', 2, 2]]);
      assert.deepEqual(server.seen.map((r) => r.path), ['/api/v1/write', '/api/v1/write/']);
    });
  });

  it('refuses bad options at creation with a ConfigError naming the option, never showing a password or a header value', () => {
    const base: AxiosWriteClientOptions = { url: 'http://127.0.0.1:1/api/v1/write', timeoutMs: 1000, headers: {}, retry: new RetryPolicy({}), maxSockets: 1 };
    const secret = 'hunter2';
    const bad: [string, Record<string, unknown>][] = [
      ['url', { url: undefined }],
      ['url', { url: 42 }],
      ['url', { url: 'not a url' }],
      ['url', { url: `ftp://user:${secret}@127.0.0.1/w` }],
      ['url', { url: `http://user:${secret}@ bad/w` }],
      ['timeoutMs', { timeoutMs: undefined }],
      ['timeoutMs', { timeoutMs: NaN }],
      ['timeoutMs', { timeoutMs: Infinity }],
      ['timeoutMs', { timeoutMs: -1 }],
      ['timeoutMs', { timeoutMs: 0 }],
      ['timeoutMs', { timeoutMs: '1000' }],
      ['headers', { headers: undefined }],
      ['headers', { headers: null }],
      ['headers', { headers: [] }],
      ['headers', { headers: { 'Bad Name': 'x' } }],
      ['headers.Authorization', { headers: { Authorization: `Bearer ${secret}\r\nX-Injected: 1` } }],
      ['headers.Authorization', { headers: { Authorization: 4711 } }],
      ['retry', { retry: undefined }],
      ['retry', { retry: { maxRetries: 3 } }],
      ['maxSockets', { maxSockets: 0 }],
      ['maxSockets', { maxSockets: 1.5 }],
      ['maxSockets', { maxSockets: NaN }],
      ['maxSockets', { maxSockets: Infinity }],
      ['signer', { signer: 'Bearer x' }],
      ['onRetry', { onRetry: {} }],
    ];
    for (const [option, change] of bad) {
      assert.throws(
        () => new AxiosWriteClient({ ...base, ...change } as unknown as AxiosWriteClientOptions),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError, `${option} ${JSON.stringify(change)}: ${String(e)}`);
          assert.equal(e.option, option, String(e));
          for (const text of [String(e), e.stack ?? '', JSON.stringify(e)]) assert.ok(!text.includes(secret) && !text.includes('4711'), `${option} shows a secret: ${text}`);
          return true;
        },
      );
    }
    // The sink's own headers (Content-Type, User-Agent, ...) are the client's to send.
    new AxiosWriteClient({ ...base, headers: { 'Content-Type': 'application/x-protobuf', 'User-Agent': 'rxprom/test' }, signer: () => undefined, onRetry: () => undefined }).close();
  });
});
