/**
 * OAuth 2.0 client-credentials tokens (RFC 6749 §4.4) for `bearerTokenSigner(fn)`: the token is
 * cached and fetched again shortly before it expires; concurrent callers share one request; a
 * failed refresh while the old token is still valid keeps using it.
 */
import { ConfigError, Undisclosed } from '../core/errors.js';
import { functionOption } from '../core/options.js';
import { redactUrl } from '../core/redact.js';

export interface OAuth2ClientCredentialsOptions {
  /** The token endpoint, e.g. https://idp.example/oauth2/token. */
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Space-separated scopes, or a list. */
  readonly scope?: string | readonly string[];
  /** Extra form fields some providers need (e.g. `audience`, `resource`). */
  readonly params?: Readonly<Record<string, string>>;
  /** Send the client credentials as HTTP Basic (default, RFC 6749 §2.3.1) or in the form body. */
  readonly clientAuthentication?: 'basic' | 'body';
  /** Fetch a new token this long before the current one expires (default 60 s; at most half the token's lifetime). */
  readonly refreshBeforeExpiryMs?: number;
  /** Lifetime assumed when the server sends no `expires_in` (default 5 min). */
  readonly defaultLifetimeMs?: number;
  /** Longest wait for the token endpoint (default 10 s). */
  readonly timeoutMs?: number;
  /** The clock (default Date.now); for tests. */
  readonly now?: () => number;
}

/** Returns a valid access token; usable as `bearerTokenSigner(provider)`. */
export type AccessTokenProvider = (() => Promise<string>) & {
  /** Forget the cached token (e.g. after the receiver answered 401): the next call fetches one. */
  invalidate(): void;
};

/** The token endpoint refused or answered badly. Never carries the client secret. */
export class OAuth2TokenError extends Error {
  override readonly name = 'OAuth2TokenError';
  constructor(
    message: string,
    /** HTTP status, or undefined for a network error or timeout. */
    readonly status: number | undefined,
    /** The OAuth `error` code (e.g. "invalid_client"), when the server sent one. */
    readonly code: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The error codes of RFC 6749 §5.2 and the IANA OAuth Extensions Error registry that a token endpoint answers with. */
const OAUTH_ERROR_CODES = new Set(['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope', 'invalid_target', 'temporarily_unavailable', 'server_error', 'access_denied', 'invalid_dpop_proof', 'use_dpop_nonce']);

function positive(option: string, value: number | undefined, fallback: number): number {
  const n = value ?? fallback;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || n > 86_400_000) throw new ConfigError(option, 'a number of milliseconds in [0, 86400000]', n);
  return n;
}

const SCOPE = /^[^\u0000-\u001f\u007f]*$/;

function checkScope(scope: unknown): void {
  if (scope === undefined) return;
  const ok = typeof scope === 'string' ? SCOPE.test(scope) : Array.isArray(scope) && scope.every((s) => typeof s === 'string' && SCOPE.test(s));
  if (!ok) throw new ConfigError('scope', 'a string or a list of strings, without control characters', Array.isArray(scope) ? 'a list holding something else' : scope);
}

/** Extra form fields: spreading a string or a list into the form would send its characters as fields. */
function checkParams(params: unknown): void {
  if (params === undefined) return;
  if (typeof params !== 'object' || params === null || Array.isArray(params)) throw new ConfigError('params', 'an object of form field names to strings', Array.isArray(params) ? 'an array' : params);
  for (const [name, value] of Object.entries(params)) {
    // Not shown: a provider's extra field may be a credential.
    if (typeof value !== 'string') throw new ConfigError(`params.${name}`, 'a string', new Undisclosed(value === null ? 'null' : `a ${typeof value}`));
  }
}

export function oauth2ClientCredentials(options: OAuth2ClientCredentialsOptions): AccessTokenProvider {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'an object with tokenUrl, clientId and clientSecret', options);
  // Shown with its password as ***: a user may have put the client's credentials in it.
  const shownUrl = typeof options.tokenUrl === 'string' ? redactUrl(options.tokenUrl) : options.tokenUrl;
  let tokenUrl: URL;
  try {
    tokenUrl = new URL(options.tokenUrl);
  } catch {
    throw new ConfigError('tokenUrl', 'an absolute http(s) URL', shownUrl);
  }
  if (tokenUrl.protocol !== 'https:' && tokenUrl.protocol !== 'http:') throw new ConfigError('tokenUrl', 'an absolute http(s) URL', shownUrl);
  // fetch refuses a URL with userinfo (and its error prints the URL whole): the client
  // authenticates with clientId and clientSecret instead.
  if (tokenUrl.username !== '' || tokenUrl.password !== '') throw new ConfigError('tokenUrl', 'an absolute http(s) URL without a user or password (give clientId and clientSecret)', shownUrl);
  if (typeof options.clientId !== 'string' || options.clientId === '') throw new ConfigError('clientId', 'a non-empty string', options.clientId);
  if (typeof options.clientSecret !== 'string' || options.clientSecret === '') throw new ConfigError('clientSecret', 'a non-empty string', '<redacted>');
  const authentication = options.clientAuthentication ?? 'basic';
  if (authentication !== 'basic' && authentication !== 'body') throw new ConfigError('clientAuthentication', "'basic' or 'body'", authentication);
  const refreshBeforeMs = positive('refreshBeforeExpiryMs', options.refreshBeforeExpiryMs, 60_000);
  const defaultLifetimeMs = positive('defaultLifetimeMs', options.defaultLifetimeMs, 300_000);
  const timeoutMs = positive('timeoutMs', options.timeoutMs, 10_000);
  // 0 would abort every token request at once.
  if (timeoutMs === 0) throw new ConfigError('timeoutMs', 'a number of milliseconds in (0, 86400000]', timeoutMs);
  const now = functionOption<() => number>('now', options.now, false) ?? Date.now;
  checkScope(options.scope);
  checkParams(options.params);

  const form = new URLSearchParams({ grant_type: 'client_credentials', ...options.params });
  const scope = Array.isArray(options.scope) ? options.scope.join(' ') : options.scope;
  if (typeof scope === 'string' && scope !== '') form.set('scope', scope);
  const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' };
  if (authentication === 'basic') {
    // RFC 6749 §2.3.1: form-encode id and secret before joining them.
    const encode = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+');
    headers['Authorization'] = `Basic ${Buffer.from(`${encode(options.clientId)}:${encode(options.clientSecret)}`).toString('base64')}`;
  } else {
    form.set('client_id', options.clientId);
    form.set('client_secret', options.clientSecret);
  }
  const body = form.toString();
  // A server may echo what it was sent: the secret as written, percent-encoded or form-encoded.
  const secretForms = [...new Set([options.clientSecret, encodeURIComponent(options.clientSecret), encodeURIComponent(options.clientSecret).replace(/%20/g, '+'), new URLSearchParams({ s: options.clientSecret }).toString().slice(2)])];
  const withoutSecret = (text: string): string => secretForms.reduce((hidden, form) => hidden.split(form).join('***'), text);

  let cached: { token: string; expiresAt: number; refreshAt: number } | undefined;
  let inFlight: Promise<string> | undefined;

  async function fetchToken(): Promise<string> {
    const requestedAt = now();
    let response: Response;
    let text: string;
    try {
      response = await fetch(tokenUrl, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
      // Under the same timeout: an endpoint may send its headers and then stall in the body.
      text = await response.text();
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      throw new OAuth2TokenError(`token request to ${tokenUrl.origin}${tokenUrl.pathname} ${timedOut ? `timed out after ${timeoutMs} ms` : 'failed'}`, undefined, undefined, { cause: error });
    }
    let json: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'object' && parsed !== null) json = parsed as Record<string, unknown>;
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const error = json?.['error'];
      // A registered code is kept as it is (users match on it, and a short secret may be part of one, as 'client' of 'invalid_client').
      const code = typeof error === 'string' ? (OAUTH_ERROR_CODES.has(error) ? error : withoutSecret(error)) : undefined;
      const description = typeof json?.['error_description'] === 'string' ? `: ${withoutSecret(json['error_description']).slice(0, 200)}` : '';
      throw new OAuth2TokenError(`token endpoint answered ${response.status}${code ? ` ${code}` : ''}${description}`, response.status, code);
    }
    const token = json?.['access_token'];
    if (typeof token !== 'string' || token === '') {
      throw new OAuth2TokenError('token endpoint answered without an access_token', response.status, undefined);
    }
    const expiresIn = Number(json?.['expires_in']);
    // Lifetime counted from when the request was sent: the token may have been issued then.
    const lifetimeMs = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn * 1000 : defaultLifetimeMs;
    // A token that lives no longer than the refresh margin would be fetched again on every call:
    // refresh it at half its life at the latest.
    cached = { token, expiresAt: requestedAt + lifetimeMs, refreshAt: requestedAt + lifetimeMs - Math.min(refreshBeforeMs, lifetimeMs / 2) };
    return token;
  }

  const provider = async (): Promise<string> => {
    const at = now();
    const current = cached;
    if (current !== undefined && at < current.refreshAt) return current.token;
    inFlight ??= fetchToken().finally(() => {
      inFlight = undefined;
    });
    try {
      return await inFlight;
    } catch (error) {
      // Early refresh failed but the token still works: use it, try again on the next call.
      if (current !== undefined && cached === current && now() < current.expiresAt) return current.token;
      throw error;
    }
  };
  return Object.assign(provider, {
    invalidate() {
      cached = undefined;
    },
  });
}
