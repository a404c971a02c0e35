/**
 * Redaction of secrets in what rxprom prints: a URL's userinfo password (`http://user:pass@host`)
 * never appears in an error message, a log line or an example's output.
 */

/** `url` with the password of its userinfo replaced by `***`. Never throws, whatever the input. */
export function redactUrl(url: string): string {
  if (typeof url !== 'string') return String(url);
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed !== undefined && parsed.host !== '') {
    if (parsed.password === '') return url;
    parsed.password = '***';
    return parsed.href;
  }
  // Unparsable, or no host (`user:pass@host` parses with `user:` as its scheme): where a userinfo
  // would end cannot be told reliably (a password may hold '/' or '@'), so everything from the
  // scheme's '//' (or the start) to the last '@' goes.
  const schemeEnd = url.indexOf('//');
  const authorityStart = schemeEnd >= 0 ? schemeEnd + 2 : 0;
  const at = url.lastIndexOf('@');
  if (at < authorityStart) return url;
  return `${url.slice(0, authorityStart)}***${url.slice(at)}`;
}
