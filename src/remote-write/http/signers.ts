/**
 * Request signers: the extension point for authentication. A signer sees the request's URL,
 * headers and encoded body before every attempt (so time-limited signatures stay fresh across
 * retries) and may add or change headers.
 */
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
  const value = `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
  return (request) => {
    request.headers['Authorization'] = value;
  };
}

/** A bearer token, fixed or fetched per attempt (e.g. a short-lived token from a provider). */
export function bearerTokenSigner(token: string | (() => string | Promise<string>)): RequestSigner {
  if (typeof token === 'string') {
    const value = `Bearer ${token}`;
    return (request) => {
      request.headers['Authorization'] = value;
    };
  }
  return async (request) => {
    request.headers['Authorization'] = `Bearer ${await token()}`;
  };
}

/** Runs several signers in order (e.g. a tenant header, then a signature over everything). */
export function composeSigners(...signers: RequestSigner[]): RequestSigner {
  return async (request) => {
    for (const signer of signers) await signer(request);
  };
}
