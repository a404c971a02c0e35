/**
 * Request signers: the extension point for authentication. A signer sees the request's URL,
 * headers and encoded body before every attempt (so time-limited signatures stay fresh across
 * retries) and may add or change headers.
 */
import { ConfigError, Undisclosed } from '../../core/errors.js';

export interface SignableRequest {
  readonly url: string;
  readonly method: 'POST';
  /** Mutable: a signer adds its headers here. */
  readonly headers: Record<string, string>;
  /** The snappy-compressed body exactly as it is sent. */
  readonly body: Uint8Array;
}

export type RequestSigner = (request: SignableRequest) => void | Promise<void>;

/** HTTP Basic authentication. */
export function basicAuthSigner(username: string, password: string): RequestSigner {
  // RFC 7617: the user-id holds no ':' and neither part holds control characters. An empty
  // user-id is allowed (services that take a token as the password use one).
  credential('username', username, 'a string without \':\' or control characters', (value) => !value.includes(':') && !CONTROL.test(value));
  credential('password', password, 'a string without control characters', (value) => !CONTROL.test(value));
  const value = `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
  return (request) => {
    request.headers['Authorization'] = value;
  };
}

/** A bearer token, fixed or fetched per attempt (e.g. a short-lived token from a provider). */
export function bearerTokenSigner(token: string | (() => string | Promise<string>)): RequestSigner {
  if (typeof token === 'string') {
    credential('token', token, 'a non-empty string without control characters, or a function', (value) => value !== '' && !CONTROL.test(value));
    const value = `Bearer ${token}`;
    return (request) => {
      request.headers['Authorization'] = value;
    };
  }
  if (typeof token !== 'function') credential('token', token, 'a non-empty string without control characters, or a function', () => false);
  return async (request) => {
    const given: unknown = await token();
    // A failed attempt (retried), not a request sent as "Bearer undefined". The value is not shown.
    if (typeof given !== 'string' || given === '') throw new Error(`rxprom: bearerTokenSigner: the token function gave no token (got ${typeof given === 'string' ? 'an empty string' : typeof given})`);
    request.headers['Authorization'] = `Bearer ${given}`;
  };
}

/** Runs several signers in order (e.g. a tenant header, then a signature over everything). */
export function composeSigners(...signers: RequestSigner[]): RequestSigner {
  signers.forEach((signer, i) => {
    if (typeof signer !== 'function') throw new ConfigError(`signers[${i}]`, 'a signer function', new Undisclosed(signer === null ? 'null' : `a ${typeof signer}`));
  });
  return async (request) => {
    for (const signer of signers) await signer(request);
  };
}

const CONTROL = /[\u0000-\u001f\u007f]/;

/** Throws a ConfigError for a credential that is not a string passing `ok`, without showing it. */
function credential(option: string, value: unknown, expected: string, ok: (value: string) => boolean): void {
  if (typeof value === 'string' && ok(value)) return;
  const what = typeof value !== 'string' ? (value === null ? 'null' : `a ${typeof value}`) : value === '' ? 'an empty string' : 'a string that is not (not shown)';
  throw new ConfigError(option, expected, new Undisclosed(what));
}
