/**
 * Which redirects the client follows: 307 and 308 only (they keep the POST and its body), to
 * http(s) on the same host, never from https down to http (the signer's credentials would travel
 * unencrypted), without loops, at most `MAX_REDIRECTS`. Anything else is returned with a message
 * naming the Location, for the sink to fail on.
 *
 * Credentials stay on their origin (scheme, host and port, as browsers and curl keep them): a
 * redirect to the same host on another port or scheme is followed without the signer's headers
 * and without the user's credential headers (`CREDENTIAL_HEADERS`). On one host, another port is
 * often another service.
 */
import { redactUrl } from '../../core/redact.js';

export const MAX_REDIRECTS = 5;

/** The user headers (lower case) that carry credentials: sent only to the configured URL's origin, like the signer's. */
export const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie']);

/** Whether two absolute http(s) URLs share an origin: scheme, host and port (a default port written out or not). */
export function sameOrigin(a: string, b: string): boolean {
  return new URL(a).origin === new URL(b).origin;
}

/** `headers` without those in `CREDENTIAL_HEADERS` (names compared case-insensitively). */
export function withoutCredentials(headers: Readonly<Record<string, string>>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!CREDENTIAL_HEADERS.has(name.toLowerCase())) kept[name] = value;
  }
  return kept;
}

/**
 * Where a 3xx answer leads: the next URL for a 307 or 308 this client follows, or the fields
 * that explain to the sink why it does not (which then fails on the 3xx, naming the Location).
 */
export function redirectTarget(
  from: string,
  status: number,
  location: string | undefined,
  redirects: number,
  visited: Set<string>,
): string | { location?: string; message: string } {
  if (location === undefined) return { message: `receiver answered ${status} without a Location header` };
  // What is printed and kept for the outcome: the Location with its password (if any) as ***.
  const shown = redactUrl(location);
  const named = { location: shown };
  let target: URL;
  try {
    target = new URL(location, from);
  } catch {
    return { ...named, message: `receiver redirected (${status}) to an invalid Location ${shown}` };
  }
  const hint = `set url to the endpoint it names (${shown})`;
  if (status !== 307 && status !== 308) {
    return { ...named, message: `receiver redirected (${status}) to ${shown}; only 307 and 308 keep the POST and its body, so rxprom does not follow it: ${hint}` };
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    return { ...named, message: `receiver redirected (${status}) to ${shown}, which is not http(s)` };
  }
  const origin = new URL(from);
  if (origin.protocol === 'https:' && target.protocol !== 'https:') {
    return { ...named, message: `receiver redirected (${status}) from https to ${shown}; not followed, so that the request and its credentials are not sent unencrypted: ${hint}` };
  }
  if (target.hostname !== origin.hostname) {
    return { ...named, message: `receiver redirected (${status}) to another host (${shown}); not followed, so that credentials are not sent there: ${hint}` };
  }
  if (visited.has(target.href)) return { ...named, message: `receiver redirected (${status}) to ${shown}: a redirect loop` };
  if (redirects >= MAX_REDIRECTS) {
    return { ...named, message: `receiver redirected (${status}) to ${shown}: more than ${MAX_REDIRECTS} redirects` };
  }
  return target.href;
}
