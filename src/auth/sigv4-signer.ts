/**
 * AWS Signature Version 4 for Amazon Managed Service for Prometheus (service "aps"), as a
 * `RequestSigner`: every attempt (retries included) is signed afresh, with the time of sending.
 * The signing itself is AWS' own `@smithy/signature-v4`; credentials are given, or come from the
 * standard Node provider chain (environment, shared config/SSO, web identity, ECS/EC2 metadata)
 * through `@aws-sdk/credential-provider-node`, loaded only when needed.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import type { SignatureV4 } from '@smithy/signature-v4';
import { ConfigError } from '../core/errors.js';
import { functionOption } from '../core/options.js';
import type { RequestSigner } from '../remote-write/http/signers.js';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  /** When temporary credentials expire (a provider refreshes before then). */
  readonly expiration?: Date;
}

export type AwsCredentialsProvider = () => Promise<AwsCredentials>;

export interface SigV4SignerOptions {
  /** The workspace's region, e.g. "eu-west-1" (default: $AWS_REGION, then $AWS_DEFAULT_REGION). */
  readonly region?: string;
  /** Fixed credentials or a provider (default: the standard Node provider chain). */
  readonly credentials?: AwsCredentials | AwsCredentialsProvider;
  /** The signing service name (default "aps"). */
  readonly service?: string;
  /** Add `x-amz-content-sha256` (default false: not required by aps). */
  readonly contentSha256Header?: boolean;
  /** The clock used as the signing time (default Date.now); for tests with fixed dates. */
  readonly now?: () => number;
}

/** SHA-256 and HMAC-SHA256 from node:crypto in the shape the signer expects. */
class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
}

function toBytes(data: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/** The standard Node credential chain, imported on first use so that it stays optional. */
function defaultCredentials(): AwsCredentialsProvider {
  let provider: AwsCredentialsProvider | undefined;
  return async () => {
    if (provider === undefined) {
      let module: typeof import('@aws-sdk/credential-provider-node');
      try {
        module = await import('@aws-sdk/credential-provider-node');
      } catch (error) {
        throw new Error('rxprom sigv4Signer: no credentials given and @aws-sdk/credential-provider-node is not installed (npm install @aws-sdk/credential-provider-node)', { cause: error });
      }
      // Memoized by the SDK: refreshed shortly before temporary credentials expire.
      provider = module.defaultProvider();
    }
    return provider();
  };
}

/**
 * Signs remote-write requests for Amazon Managed Service for Prometheus:
 *
 *   remoteWrite({ url: 'https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-…/api/v1/remote_write',
 *                 signer: sigv4Signer({ region: 'eu-west-1' }) })
 */
export function sigv4Signer(options: SigV4SignerOptions = {}): RequestSigner {
  const region = options.region ?? process.env['AWS_REGION'] ?? process.env['AWS_DEFAULT_REGION'];
  if (typeof region !== 'string' || !/^[a-z0-9-]+$/.test(region)) {
    throw new ConfigError('region', 'an AWS region such as "us-east-1" (or set AWS_REGION)', region);
  }
  const service = options.service ?? 'aps';
  if (typeof service !== 'string' || !/^[a-z0-9-]+$/.test(service)) throw new ConfigError('service', 'an AWS signing name such as "aps"', service);
  const given = options.credentials;
  if (given !== undefined && typeof given !== 'function') {
    if (typeof given !== 'object' || given === null || typeof given.accessKeyId !== 'string' || given.accessKeyId === '' || typeof given.secretAccessKey !== 'string' || given.secretAccessKey === '') {
      throw new ConfigError('credentials', 'an object with non-empty accessKeyId and secretAccessKey, or a provider function', '<redacted>');
    }
    if (given.sessionToken !== undefined && (typeof given.sessionToken !== 'string' || given.sessionToken === '')) {
      throw new ConfigError('credentials.sessionToken', 'a non-empty string or absent', '<redacted>');
    }
  }
  if (options.contentSha256Header !== undefined && typeof options.contentSha256Header !== 'boolean') throw new ConfigError('contentSha256Header', 'a boolean', options.contentSha256Header);
  functionOption('now', options.now, false);
  const credentials: AwsCredentialsProvider = given === undefined ? defaultCredentials() : typeof given === 'function' ? given : () => Promise.resolve(given);
  const now = options.now ?? Date.now;
  // Imported on first use: an application that never signs does not load it.
  let signer: Promise<SignatureV4> | undefined;
  const signerInstance = (): Promise<SignatureV4> =>
    (signer ??= import('@smithy/signature-v4').then(
      (module) => new module.SignatureV4({ service, region, credentials, sha256: NodeSha256, applyChecksum: options.contentSha256Header ?? false }),
    ));

  return async (request) => {
    const url = new URL(request.url);
    const query: Record<string, string | string[]> = {};
    for (const [name, value] of url.searchParams) {
      const previous = query[name];
      query[name] = previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [previous, value];
    }
    // Node sends Host itself; it is signed, so it goes into the headers that are signed.
    const headers: Record<string, string> = { host: url.host };
    for (const [name, value] of Object.entries(request.headers)) {
      if (name.toLowerCase() !== 'host') headers[name] = value;
    }
    const signed = await (await signerInstance()).sign(
      {
        method: request.method,
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port === '' ? undefined : Number(url.port),
        path: url.pathname,
        query,
        headers,
        body: request.body,
      },
      { signingDate: new Date(now()) },
    );
    for (const [name, value] of Object.entries(signed.headers)) {
      if (name.toLowerCase() === 'host') continue;
      if (headers[name] === value && request.headers[name] === value) continue;
      request.headers[name] = value;
    }
  };
}
