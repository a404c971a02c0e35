/**
 * Keeping secrets out of what rxprom prints: the password of a URL's userinfo becomes `***`
 * (`http://user:***@host/path`), in one URL or in every URL of a message. For error messages,
 * logs and command-line output; the user name, host, path and query are kept as written.
 */

const REDACTED = '***';
const SCHEME = /^\s*[a-zA-Z][a-zA-Z0-9+.-]*:(?:\/\/|\\\\)/;

/**
 * The URL with its userinfo password replaced by `***`; a URL without one comes back unchanged.
 * Never throws, parsable or not. The password is taken to run from the first ':' of the
 * authority to the last '@' of the whole text: the reading that hides the most, because a
 * password holding an unescaped '/', '?', '#' or '@' changes how a parser splits the URL
 * (`http://u:1/x@host` parses as host `u`, port 1). The price: a URL with no userinfo but a port
 * and an '@' later (`http://host:9090/?to=a@b`) is redacted too (`http://host:***@b`).
 */
export function redactUrl(url: string): string {
  if (typeof url !== 'string') return url;
  const scheme = SCHEME.exec(url);
  const start = scheme ? scheme[0].length : 0;
  // The authority ends at the first '/', '?', '#' or '\' (WHATWG treats '\' as '/' for http).
  // Without a scheme (left out or mistyped: 'http//u:pw@host') no authority can be told apart
  // from a path: the text up to its last '@' is taken as userinfo.
  let end = url.length;
  for (let i = start; scheme && i < url.length; i++) {
    const c = url[i];
    if (c === '/' || c === '?' || c === '#' || c === '\\') {
      end = i;
      break;
    }
  }
  const colon = url.indexOf(':', start);
  if (colon < 0 || colon >= end) return url;
  const at = url.lastIndexOf('@');
  if (at < colon) return url;
  return `${url.slice(0, colon + 1)}${REDACTED}${url.slice(at)}`;
}

// A scheme, '://', then anything up to whitespace or a quote: URLs as messages quote them.
const URL_IN_TEXT = /[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^\s"'`<>]*/g;

/** `text` with the userinfo password of every URL in it replaced by `***`. */
export function redactUrlsIn(text: string): string {
  if (typeof text !== 'string') return text;
  return text.replace(URL_IN_TEXT, (url) => redactUrl(url));
}

/** The password of a URL's userinfo as written (still percent-encoded), or undefined when it has none. */
export function urlPassword(url: string): string | undefined {
  const redacted = redactUrl(url);
  if (redacted === url) return undefined;
  // redactUrl kept everything but the password: what it replaced is the password.
  const start = redacted.indexOf(REDACTED);
  const tail = redacted.length - start - REDACTED.length;
  return url.slice(start, url.length - tail);
}
