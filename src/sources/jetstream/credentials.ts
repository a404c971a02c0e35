/**
 * The JetStream source's `credentials` option: how it proves who it is to the NATS server (user
 * and password, a token, an NKey seed, or a `.creds` file holding a user JWT and its seed).
 * Checked when the source is created; a bad value is a `ConfigError` that names the field and never
 * shows what was given (any of it may be the secret).
 */
import { readFileSync } from 'node:fs';
import { credsAuthenticator, nkeyAuthenticator, nkeys, tokenAuthenticator, usernamePasswordAuthenticator, type Authenticator } from '@nats-io/transport-node';
import { ConfigError, Undisclosed } from '../../core/errors.js';

/** One way to authenticate to the NATS server. */
export type NatsCredentials =
  | { readonly user: string; readonly password: string }
  | { readonly token: string }
  /** A user NKey seed, the `SU…` line of an nkey file. */
  | { readonly nkeySeed: string }
  /** A `.creds` file (user JWT and NKey seed), as `nsc` writes it; read again on every (re)connect, so a rotated file takes effect on the next reconnect. */
  | { readonly credsFile: string };

/** The client's authenticator and what kind of credentials it sends (for messages: never the secret). */
export interface NatsAuth {
  readonly authenticator: Authenticator;
  readonly kind: 'user and password' | 'token' | 'NKey seed' | 'creds file';
}

const EXPECTED = 'one of { user, password }, { token }, { nkeySeed } or { credsFile }';
const KINDS: ReadonlyArray<readonly string[]> = [['user', 'password'], ['token'], ['nkeySeed'], ['credsFile']];
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** The authenticator for `credentials`, or undefined when none are given. Throws a `ConfigError` for a bad value. */
export function natsAuth(credentials: unknown): NatsAuth | undefined {
  if (credentials === undefined) return undefined;
  if (credentials === null || typeof credentials !== 'object' || Array.isArray(credentials)) {
    throw new ConfigError('credentials', EXPECTED, new Undisclosed(credentials === null ? 'null' : Array.isArray(credentials) ? 'an array' : `a value of type ${typeof credentials}`));
  }
  const given = credentials as Record<string, unknown>;
  const names = Object.keys(given).filter((name) => given[name] !== undefined);
  const kind = KINDS.find((fields) => fields.includes(names[0] ?? ''));
  if (kind === undefined || names.some((name) => !kind.includes(name))) {
    // Field names are not secret; their values are never shown.
    throw new ConfigError('credentials', EXPECTED, new Undisclosed(names.length === 0 ? 'an empty object' : `an object with ${names.map((n) => JSON.stringify(n)).join(', ')}`));
  }
  switch (kind[0]) {
    case 'user': {
      const user = text('user', given['user'], 'a non-empty string without control characters', (value) => value.length > 0 && !CONTROL.test(value));
      const password = text('password', given['password'], 'a non-empty string without control characters', (value) => value.length > 0 && !CONTROL.test(value));
      return { authenticator: usernamePasswordAuthenticator(user, password), kind: 'user and password' };
    }
    case 'token': {
      const token = text('token', given['token'], 'a non-empty string without spaces or control characters', (value) => value.length > 0 && !/\s/.test(value) && !CONTROL.test(value));
      return { authenticator: tokenAuthenticator(token), kind: 'token' };
    }
    case 'nkeySeed': {
      const seed = text('nkeySeed', given['nkeySeed'], 'a user NKey seed (the "SU…" line of an nkey file)', (value) => isUserSeed(value.trim()));
      return { authenticator: nkeyAuthenticator(new TextEncoder().encode(seed.trim())), kind: 'NKey seed' };
    }
    default: {
      const path = text('credsFile', given['credsFile'], 'the path of a NATS .creds file', (value) => value.length > 0 && !CONTROL.test(value));
      const problem = credsFileProblem(path);
      if (problem !== undefined) throw new ConfigError('credentials.credsFile', 'a readable NATS .creds file holding a user JWT and its NKey seed', new Undisclosed(`${JSON.stringify(path)} (${problem})`));
      return { authenticator: credsAuthenticator(() => readFileSync(path)), kind: 'creds file' };
    }
  }
}

function text(field: string, value: unknown, expected: string, valid: (value: string) => boolean): string {
  if (typeof value !== 'string') throw new ConfigError(`credentials.${field}`, expected, new Undisclosed(value === undefined ? 'nothing' : value === null ? 'null' : `a value of type ${typeof value}`));
  if (!valid(value)) throw new ConfigError(`credentials.${field}`, expected, new Undisclosed(value.length === 0 ? 'an empty string' : 'a string that is not one'));
  return value;
}

function isUserSeed(seed: string): boolean {
  if (!seed.startsWith('SU')) return false;
  try {
    nkeys.fromSeed(new TextEncoder().encode(seed));
    return true;
  } catch {
    return false;
  }
}

/** Why the file is no usable .creds file, in words that never quote its content; undefined when it is one. */
function credsFileProblem(path: string): string | undefined {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `cannot be read: ${code}` : 'cannot be read';
  }
  // A .creds file: a block with the JWT, then a block with the seed, each between dashed lines.
  const blocks = [...content.matchAll(/-{3,}[^\n]*-{3,}\r?\n\s*(\S+)\s*\r?\n\s*-{3,}[^\n]*-{3,}/g)].map((match) => match[1]);
  if (blocks.length < 2) return 'no JWT and seed blocks in it';
  if (blocks[0].split('.').length !== 3) return 'its first block is not a JWT';
  if (!isUserSeed(blocks[1])) return 'its second block is not a user NKey seed';
  return undefined;
}
