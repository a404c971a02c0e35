import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { redactUrl, redactUrlsIn, urlPassword } from '../../src/core/redact.js';

describe('redactUrl', () => {
  it('replaces the userinfo password and keeps everything else as written', () => {
    const cases: Array<[string, string]> = [
      ['http://user:s3cret@host:9090/api/v1/write', 'http://user:***@host:9090/api/v1/write'],
      ['https://u:p%40ss@example.com/write?x=1#f', 'https://u:***@example.com/write?x=1#f'],
      ['http://user:@host/', 'http://user:***@host/'],
      ['http://:pw@host', 'http://:***@host'],
      // Unescaped '@' in the password: WHATWG takes the last '@' of the authority.
      ['http://u:p@ss@host/x', 'http://u:***@host/x'],
      ['HTTP://User:Pw@Host/Path', 'HTTP://User:***@Host/Path'],
      // A password with an unescaped '@' and '/': everything up to the last '@' is hidden.
      ['http://u:x@y/z@host/x', 'http://u:***@host/x'],
      ['  http://u:pw@host/  ', '  http://u:***@host/  '],
    ];
    for (const [input, expected] of cases) assert.equal(redactUrl(input), expected, input);
  });

  it('leaves URLs without a password unchanged', () => {
    for (const url of ['http://host:9090/api/v1/write', 'http://user@host/', 'http://host/a:b@c', 'http://host/?q=a:b@c', 'http://host#x:y@z', 'not a url', '']) {
      assert.equal(redactUrl(url), url);
    }
  });

  it('never throws, and redacts ambiguous or unparsable URLs conservatively', () => {
    const cases: Array<[string, string]> = [
      // '/' in the password makes the URL unparsable: everything up to the last '@' is userinfo.
      ['http://u:p/ss@host/x', 'http://u:***@host/x'],
      // This one parses (host u, port 1) but is more likely a password holding '/'.
      ['http://u:1/ss@host/x', 'http://u:***@host/x'],
      ['http://u:1?ss@host/x', 'http://u:***@host/x'],
      // The price of hiding the most: an '@' after a port reads as the end of a password.
      ['http://host:9090/?to=a@b', 'http://host:***@b'],
      ['http://u:p ss@ho st', 'http://u:***@ho st'],
      ['user:pw@host:9090', 'user:***@host:9090'],
      // A scheme mistyped or left out: no authority can be told apart, so everything from the first
      // ':' to the last '@' is hidden (these were printed whole).
      ['http//u:pw@host/x', 'http//u:***@host/x'],
      ['https//u:pw@host:9090/api/v1/write', 'https//u:***@host:9090/api/v1/write'],
      ['//u:pw@host/x', '//u:***@host/x'],
      ['http:/u:pw@host/x', 'http:***@host/x'],
      ['http://u:pw@[::1', 'http://u:***@[::1'],
    ];
    for (const [input, expected] of cases) assert.equal(redactUrl(input), expected, input);
    assert.equal(redactUrl(42 as unknown as string), 42 as unknown as string);
  });

  it('never lets the password through, for any password (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 20 }), fc.constantFrom('http', 'https'), (password, scheme) => {
        const url = `${scheme}://alice:${password}@receiver.example:9090/api/v1/write`;
        const redacted = redactUrl(url);
        assert.equal(redacted, `${scheme}://alice:***@receiver.example:9090/api/v1/write`);
      }),
      { numRuns: 300 },
    );
  });
});

describe('redactUrlsIn', () => {
  it('redacts every URL of a message, quoted or not, and nothing else', () => {
    assert.equal(
      redactUrlsIn('rxprom: option "url" must be an http(s) URL string (got "ftp://a:b@host/x"); also http://c:d@e/ and https://f@g/'),
      'rxprom: option "url" must be an http(s) URL string (got "ftp://a:***@host/x"); also http://c:***@e/ and https://f@g/',
    );
    assert.equal(redactUrlsIn('no url: user:pw here'), 'no url: user:pw here');
  });
});

describe('urlPassword', () => {
  it('is the password as written, or undefined', () => {
    assert.equal(urlPassword('http://u:p%40ss@h/'), 'p%40ss');
    assert.equal(urlPassword('http://u:p/ss@h/'), 'p/ss');
    assert.equal(urlPassword('http://u:p@ss@h/'), 'p@ss');
    assert.equal(urlPassword('http://u@h/'), undefined);
    assert.equal(urlPassword('http://h/'), undefined);
  });
});

describe('redactUrl on the sink\'s inputs', () => {
  it('never lets a password through, parsable URL or not', () => {
    for (const input of ['http://user:s3cret@host:9090/api/v1/write?x=1', 'http://user:s3cret@ho st/api', 'http://user:s3/cr@et@host:99999/', 'user:s3cret@host']) {
      const output = redactUrl(input);
      assert.doesNotMatch(output, /s3cret|s3\/cr/, input);
      assert.match(output, /\*\*\*@/, input);
    }
    assert.equal(redactUrl('http://127.0.0.1:9090/api/v1/write'), 'http://127.0.0.1:9090/api/v1/write');
    assert.equal(redactUrl('http://user@host/'), 'http://user@host/');
  });
});
