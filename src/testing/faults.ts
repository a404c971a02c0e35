/**
 * The fault vocabulary shared by the embedded receiver and the fault proxy of the test harness:
 * what a fault is, its validation, the plan that hands one out per request (a queue, then an
 * optional seeded random draw), and how a fault is served on a node:http request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConfigError } from '../core/errors.js';
import { numberOption } from '../core/options.js';
import { seededRandom } from './random.js';

/**
 * Answer this status (200 to 599) with this body and these headers instead of the normal answer:
 * 429 or 503 with `Retry-After`, 3xx with `Location`, 413, 500...
 */
export interface StatusFault {
  readonly status: number;
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
}
/** Wait this many ms (0 to 2^31-1), then handle the request normally. */
export interface DelayFault {
  readonly delayMs: number;
}
/** Destroy the connection without answering (the client sees a reset / socket hang-up). */
export interface ResetFault {
  readonly reset: true;
}
/** Read the body and never answer; the connection ends when the client gives up or the server closes. */
export interface HangFault {
  readonly hang: true;
}

/**
 * A fault for one write request, taking the place of the normal answer. Faulted requests are not
 * handled (nothing is stored or forwarded), except `delayMs`, which only delays the handling.
 */
export type Fault = StatusFault | DelayFault | ResetFault | HangFault;

/** Faults drawn at random for requests the queue does not cover. */
export interface RandomFaults {
  /** Probability that a request gets a fault, 0 to 1. */
  readonly rate: number;
  /** Faults to pick from, uniformly. */
  readonly faults: readonly Fault[];
  /** Seed of the PRNG, for reproducible runs (default 1). */
  readonly seed?: number;
}

const KINDS = ['status', 'delayMs', 'reset', 'hang'] as const;
const SHAPES = '{ status, body?, headers? }, { delayMs }, { reset: true } or { hang: true }';
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Checks one fault from untrusted input; throws a `ConfigError` naming `option` (e.g. `faults[2].status`). */
export function checkFault(fault: unknown, option: string): Fault {
  if (typeof fault !== 'object' || fault === null || Array.isArray(fault)) throw new ConfigError(option, SHAPES, fault);
  const f = fault as Record<string, unknown>;
  const kinds = KINDS.filter((kind) => kind in f);
  if (kinds.length !== 1) throw new ConfigError(option, `exactly one of ${SHAPES}`, fault);
  switch (kinds[0]) {
    case 'status': {
      numberOption(`${option}.status`, f.status, undefined, { min: 200, max: 599 });
      if (f.body !== undefined && typeof f.body !== 'string') throw new ConfigError(`${option}.body`, 'a string', f.body);
      if (f.headers !== undefined) {
        if (typeof f.headers !== 'object' || f.headers === null || Array.isArray(f.headers)) {
          throw new ConfigError(`${option}.headers`, 'an object of header names to string values', f.headers);
        }
        for (const [name, value] of Object.entries(f.headers)) {
          if (!HEADER_NAME.test(name) || typeof value !== 'string' || /[\r\n\0]/.test(value)) {
            throw new ConfigError(`${option}.headers`, 'valid header names with string values without CR, LF or NUL', name);
          }
        }
      }
      break;
    }
    case 'delayMs':
      numberOption(`${option}.delayMs`, f.delayMs, undefined, { min: 0, max: 2 ** 31 - 1 });
      break;
    case 'reset':
    case 'hang':
      if (f[kinds[0]] !== true) throw new ConfigError(`${option}.${kinds[0]}`, 'true', f[kinds[0]]);
      break;
  }
  return fault as Fault;
}

/** Checks a list of faults; the option names are `${option}[i]...`. */
export function checkFaults(faults: unknown, option = 'faults'): Fault[] {
  if (!Array.isArray(faults)) throw new ConfigError(option, 'an array of faults', faults);
  return faults.map((fault, i) => checkFault(fault, `${option}[${i}]`));
}

/**
 * Which fault the next request gets: queued faults first, in order, one per request; then, when
 * random faults are on, one drawn from the seeded PRNG for a share of the requests; otherwise none.
 */
export class FaultPlan {
  private readonly queue: Fault[] = [];
  private random: { rate: number; faults: readonly Fault[]; next: () => number } | undefined;
  private served = 0;

  /** Queues faults (checked first: a bad one throws `ConfigError` and none is queued). */
  add(faults: readonly Fault[]): void {
    this.queue.push(...checkFaults(faults));
  }

  /** Turns random faults on with these options, or off with `undefined`. */
  setRandom(options: RandomFaults | undefined): void {
    if (options === undefined) {
      this.random = undefined;
      return;
    }
    if (typeof options !== 'object' || options === null) throw new ConfigError('randomFaults', 'an object { rate, faults, seed? } or undefined', options);
    const rate = numberOption('rate', options.rate, undefined, { min: 0, max: 1, integer: false });
    if (!Array.isArray(options.faults) || options.faults.length === 0) throw new ConfigError('faults', 'a non-empty array of faults', options.faults);
    const faults = checkFaults(options.faults);
    const seed = numberOption('seed', options.seed, 1, { min: 0, max: 2 ** 32 - 1 });
    this.random = { rate, faults, next: seededRandom(seed) };
  }

  /** The fault for the next request, or undefined for a normal answer. */
  next(): Fault | undefined {
    let fault = this.queue.shift();
    if (fault === undefined && this.random !== undefined && this.random.next() < this.random.rate) {
      fault = this.random.faults[Math.floor(this.random.next() * this.random.faults.length)];
    }
    if (fault !== undefined) this.served++;
    return fault;
  }

  /** Faults still queued. */
  get pending(): number {
    return this.queue.length;
  }

  /** Faults handed out by `next()` since creation or `clear()`. */
  get injected(): number {
    return this.served;
  }

  /** Empties the queue, turns random faults off and zeroes `injected`. */
  clear(): void {
    this.queue.length = 0;
    this.random = undefined;
    this.served = 0;
  }
}

/**
 * Serves a fault on a request whose normal handling is `proceed`. `timers` (optional) collects
 * the timers of delays, so that a server closing can clear them.
 */
export function serveFault(fault: Fault, req: IncomingMessage, res: ServerResponse, proceed: () => void, timers?: Set<NodeJS.Timeout>): void {
  // A client that goes away mid-body must not become an unhandled 'error'.
  req.on('error', () => res.destroy());
  if ('status' in fault) {
    // Answer once the body is read, as a server that looked at it would; the connection stays usable.
    const answer = (): void => {
      if (res.headersSent || res.destroyed) return;
      res.writeHead(fault.status, { 'Content-Type': 'text/plain; charset=utf-8', ...fault.headers });
      res.end(fault.body ?? '');
    };
    if (req.readableEnded) answer();
    else {
      req.once('end', answer);
      req.resume();
    }
  } else if ('delayMs' in fault) {
    const timer = setTimeout(() => {
      timers?.delete(timer);
      proceed();
    }, fault.delayMs);
    timers?.add(timer);
  } else if ('reset' in fault) {
    req.socket.destroy();
  } else {
    req.resume();
  }
}
