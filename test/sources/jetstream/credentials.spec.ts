/**
 * The JetStream source's `credentials` option, checked at creation: each kind accepted, every bad
 * value a ConfigError naming the field that never shows the value (in any form an error is
 * printed). The server side (right ones consume, wrong ones end the stream) is in source.spec.ts.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { nkeys } from '@nats-io/transport-node';
import { natsAuth } from '../../../src/sources/jetstream/credentials.js';
import { JetStreamSource } from '../../../src/sources/jetstream/index.js';
import { ConfigError } from '../../../src/core/errors.js';

const SECRET = 'hunter2-secret';
const userSeed = (): string => new TextDecoder().decode(nkeys.createUser().getSeed());
const creds = (jwt: string, seed: string): string =>
  `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n\n************************* IMPORTANT *************************\nNKEY Seed printed below can be used to sign and prove identity.\n\n-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n`;

/** Every form in which an error gets printed. */
const printed = (error: unknown): string[] => [String(error), (error as Error).stack ?? '', JSON.stringify(error), inspect(error, { depth: 5 })];

describe('JetStream credentials option', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rxprom-creds-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('accepts each kind and says which it is', async () => {
    const file = join(dir, 'good.creds');
    await writeFile(file, creds('eyJhbGciOiJlZDI1NTE5In0.eyJzdWIiOiJVIn0.c2ln', userSeed()));
    assert.equal(natsAuth(undefined), undefined);
    assert.equal(natsAuth({ user: 'gateway', password: SECRET })?.kind, 'user and password');
    assert.equal(natsAuth({ token: SECRET })?.kind, 'token');
    assert.equal(natsAuth({ nkeySeed: userSeed() })?.kind, 'NKey seed');
    assert.equal(natsAuth({ nkeySeed: `  ${userSeed()}\n` })?.kind, 'NKey seed', 'as read from a file, surrounding blanks included');
    assert.equal(natsAuth({ credsFile: file })?.kind, 'creds file');
    assert.equal(typeof natsAuth({ token: SECRET })?.authenticator, 'function');
  });

  it('refuses a bad value with a ConfigError naming the field, never showing what was given', async () => {
    const garbage = join(dir, 'garbage.creds');
    await writeFile(garbage, `this is ${SECRET} and not a creds file`);
    const accountSeedFile = join(dir, 'account.creds');
    const accountSeed = new TextDecoder().decode(nkeys.createAccount().getSeed());
    await writeFile(accountSeedFile, creds('a.b.c', accountSeed));
    const cases: Array<[string, unknown]> = [
      ['credentials', SECRET],
      ['credentials', null],
      ['credentials', [SECRET]],
      ['credentials', {}],
      ['credentials.user', { password: SECRET }],
      ['credentials', { user: 'gateway', password: SECRET, token: SECRET }],
      ['credentials', { token: SECRET, nkeySeed: SECRET }],
      ['credentials', { pass: SECRET }],
      ['credentials.password', { user: 'gateway', password: '' }],
      ['credentials.password', { user: 'gateway', password: 4711 }],
      ['credentials.password', { user: 'gateway', password: `${SECRET}\r\n` }],
      ['credentials.user', { user: '', password: SECRET }],
      ['credentials.token', { token: '' }],
      ['credentials.token', { token: `Bearer ${SECRET}` }],
      ['credentials.nkeySeed', { nkeySeed: SECRET }],
      ['credentials.nkeySeed', { nkeySeed: `SU${SECRET}` }],
      ['credentials.nkeySeed', { nkeySeed: accountSeed }],
      ['credentials.credsFile', { credsFile: '' }],
      ['credentials.credsFile', { credsFile: join(dir, 'missing.creds') }],
      ['credentials.credsFile', { credsFile: garbage }],
      ['credentials.credsFile', { credsFile: accountSeedFile }],
    ];
    for (const [option, credentials] of cases) {
      assert.throws(
        () => new JetStreamSource({ servers: 'nats://127.0.0.1:4222', stream: 's', durable: 'd', credentials: credentials as never }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError, `${option}: ${String(error)}`);
          assert.equal(error.option, option, String(error));
          for (const text of printed(error)) {
            assert.ok(!text.includes(SECRET) && !text.includes(accountSeed), `${option} shows the secret: ${text}`);
          }
          return true;
        },
        `${option} accepted: ${inspect(credentials)}`,
      );
    }
  });

  it('names what is wrong with a creds file without quoting it', async () => {
    const garbage = join(dir, 'garbage2.creds');
    await writeFile(garbage, `-----BEGIN NATS USER JWT-----\n${SECRET}\n------END NATS USER JWT------\n`);
    assert.throws(() => natsAuth({ credsFile: join(dir, 'none.creds') }), /option "credentials\.credsFile" must be a readable NATS \.creds file .*none\.creds" \(cannot be read: ENOENT\)/);
    assert.throws(() => natsAuth({ credsFile: garbage }), (error: unknown) => error instanceof ConfigError && /no JWT and seed blocks/.test(error.message) && !error.message.includes(SECRET));
  });

  it('refuses a servers URL with a user or password in it (the client would ignore them), showing them as ***', () => {
    assert.throws(
      () => new JetStreamSource({ servers: ['nats://127.0.0.1:4222', `nats://gateway:${SECRET}@127.0.0.1:4223`], stream: 's', durable: 'd' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError && error.option === 'servers', String(error));
        assert.match(error.message, /give them in the credentials option/);
        for (const text of printed(error)) assert.ok(!text.includes(SECRET), `shows the password: ${text}`);
        assert.match(JSON.stringify(error), /"nats:\/\/\*\*\*@127\.0\.0\.1:4223"/);
        return true;
      },
    );
    for (const servers of [`gateway:${SECRET}@127.0.0.1:4222`, `tls://${SECRET}@127.0.0.1:4222`, `nats://gateway:pa/ss-${SECRET}@127.0.0.1:4222`, `nats://gateway:p?#@s-${SECRET}@127.0.0.1:4222`]) {
      assert.throws(
        () => new JetStreamSource({ servers, stream: 's', durable: 'd' }),
        (error: unknown) => error instanceof ConfigError && error.option === 'servers' && printed(error).every((text) => !text.includes(SECRET)),
        servers,
      );
    }
  });
});
