/**
 * SigV4 for Amazon Managed Service for Prometheus: checked against AWS' published Signature V4
 * test-suite values (credentials AKIDEXAMPLE, 2015-08-30T12:36:00Z, us-east-1, service
 * "service"), and end to end: the sink's real requests verified by a loopback server that
 * re-derives the signature from what it received.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { createHash, createHmac } from 'node:crypto';
import { once } from 'node:events';
import { from, lastValueFrom, toArray } from 'rxjs';
import { sigv4Signer, remoteWrite, sample, ConfigError, type SignableRequest } from '../../src/index.js';

const SUITE_CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const SUITE_TIME = Date.UTC(2015, 7, 30, 12, 36, 0);

function request(url: string, body: Uint8Array = new Uint8Array(), headers: Record<string, string> = {}): SignableRequest {
  return { url, method: 'POST', headers, body };
}

async function withEnv<T>(vars: Record<string, string | undefined>, run: () => Promise<T> | T): Promise<T> {
  const saved: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(vars)) {
    saved[name] = process.env[name];
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  try {
    return await run();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

describe('sigv4Signer', () => {
  it('signs post-vanilla as AWS published', async () => {
    const sign = sigv4Signer({ region: 'us-east-1', service: 'service', credentials: SUITE_CREDENTIALS, now: () => SUITE_TIME });
    const req = request('https://example.amazonaws.com/');
    await sign(req);
    assert.equal(req.headers['x-amz-date'], '20150830T123600Z');
    assert.equal(
      req.headers['authorization'],
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, ' +
        'Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b',
    );
    assert.equal(req.headers['host'], undefined, 'Host is left to Node');
  });

  it('signs post-vanilla-query (a query parameter) as AWS published', async () => {
    const sign = sigv4Signer({ region: 'us-east-1', service: 'service', credentials: SUITE_CREDENTIALS, now: () => SUITE_TIME });
    const req = request('https://example.amazonaws.com/?Param1=value1');
    await sign(req);
    assert.match(req.headers['authorization'] ?? '', /Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11$/);
  });

  it('signs for aps by default and adds the session token of temporary credentials', async () => {
    const sign = sigv4Signer({ region: 'eu-west-1', credentials: async () => ({ ...SUITE_CREDENTIALS, sessionToken: 'session-token' }), now: () => SUITE_TIME });
    const req = request('https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write', new Uint8Array([1, 2, 3]), { 'Content-Type': 'application/x-protobuf' });
    await sign(req);
    assert.equal(req.headers['x-amz-security-token'], 'session-token');
    assert.match(req.headers['authorization'] ?? '', /Credential=AKIDEXAMPLE\/20150830\/eu-west-1\/aps\/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, /);
  });

  it('takes credentials and region from the standard provider chain (environment)', async () => {
    await withEnv(
      { AWS_ACCESS_KEY_ID: 'AKIDFROMENV', AWS_SECRET_ACCESS_KEY: 'secret-from-env', AWS_SESSION_TOKEN: undefined, AWS_REGION: 'ap-southeast-2', AWS_PROFILE: undefined },
      async () => {
        const sign = sigv4Signer();
        const req = request('https://aps-workspaces.ap-southeast-2.amazonaws.com/workspaces/ws-1/api/v1/remote_write');
        await sign(req);
        assert.match(req.headers['authorization'] ?? '', /Credential=AKIDFROMENV\/\d{8}\/ap-southeast-2\/aps\/aws4_request/);
      },
    );
  });

  it('refuses a missing region or empty credentials with a ConfigError that shows no secret', async () => {
    await withEnv({ AWS_REGION: undefined, AWS_DEFAULT_REGION: undefined }, () => {
      assert.throws(() => sigv4Signer({ credentials: SUITE_CREDENTIALS }), (e: unknown) => e instanceof ConfigError && e.option === 'region');
    });
    assert.throws(
      () => sigv4Signer({ region: 'us-east-1', credentials: { accessKeyId: 'AKID', secretAccessKey: '' } }),
      (e: unknown) => e instanceof ConfigError && e.option === 'credentials' && !e.message.includes('AKID'),
    );
  });

  it("signs the sink's real requests: a loopback server re-derives every signature from what it received", async () => {
    const credentials = { accessKeyId: 'AKIDLOOPBACK', secretAccessKey: 'loopback-secret' };
    let verified = 0;
    const failures: string[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const problem = verify(req.method ?? '', req.url ?? '/', req.headers, Buffer.concat(chunks), credentials.secretAccessKey, 'us-west-2', 'aps');
        if (problem === undefined) {
          verified++;
          res.writeHead(204).end();
        } else {
          failures.push(problem);
          res.writeHead(403).end(problem);
        }
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    try {
      const sink = remoteWrite({
        url: `http://127.0.0.1:${address.port}/workspaces/ws-1/api/v1/remote_write`,
        signer: sigv4Signer({ region: 'us-west-2', credentials }),
        maxDelayMs: 5,
        maxSamplesPerRequest: 10,
      });
      const samples = Array.from({ length: 35 }, (_, i) => sample({ __name__: 'signed', i: String(i) }, i, 1_700_000_000_000 + i));
      await lastValueFrom(from(samples).pipe(sink, toArray()));
      assert.deepEqual(failures, []);
      assert.equal(sink.metrics.snapshot().samplesWritten, 35);
      assert.ok(verified >= 4, `verified ${verified} requests`);
    } finally {
      server.close();
    }
  });
});

/** SigV4 worked out independently from the received request (the algorithm as AWS documents it). */
function verify(method: string, target: string, headers: IncomingHttpHeaders, body: Buffer, secret: string, region: string, service: string): string | undefined {
  const authorization = headers['authorization'] ?? '';
  const parts = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(authorization);
  if (!parts) return `malformed Authorization: ${authorization}`;
  const [, , day, signedRegion, signedService, signedHeaders, signature] = parts;
  if (signedRegion !== region || signedService !== service) return `scope ${signedRegion}/${signedService}`;
  const amzDate = String(headers['x-amz-date']);
  const url = new URL(target, 'http://placeholder');
  const canonicalHeaders = signedHeaders.split(';').map((name) => `${name}:${String(headers[name]).trim().replace(/\s+/g, ' ')}\n`).join('');
  const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
  const canonicalRequest = [method, url.pathname, url.searchParams.toString(), canonicalHeaders, signedHeaders, sha256(body)].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), service), 'aws4_request');
  const expected = createHmac('sha256', key).update(stringToSign).digest('hex');
  return expected === signature ? undefined : `signature mismatch for headers ${signedHeaders}`;
}
