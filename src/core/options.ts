/**
 * Option parsing shared by every operator and component: each checker returns the value (or its
 * default) or throws a `ConfigError` naming the option and the accepted range.
 */
import { ConfigError } from './errors.js';
import type { SchedulerLike } from 'rxjs';
import type { Logger } from './logger.js';

/** Checks a number option; returns it, or the default when undefined (required when no default). */
export function numberOption(
  option: string,
  value: unknown,
  fallback: number | undefined,
  { min, max = Number.MAX_SAFE_INTEGER, integer = true }: { min: number; max?: number; integer?: boolean },
): number {
  if (value === undefined && fallback !== undefined) return fallback;
  const ok = typeof value === 'number' && !Number.isNaN(value) && value >= min && value <= max && (!integer || Number.isInteger(value));
  if (!ok) {
    const kind = integer ? 'an integer' : 'a number';
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new ConfigError(option, `${kind} ${range}`, value);
  }
  return value;
}

/** Checks a string-enum option; returns it, or the default when undefined. */
export function enumOption<T extends string>(option: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(option, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  }
  return value as T;
}

/** Checks a function option. */
export function functionOption<F>(option: string, value: unknown, required: boolean): F | undefined {
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'function') throw new ConfigError(option, 'a function', value);
  return value as F;
}

/**
 * Checks a `logger` option: an object with info, warn and error functions (debug a function or
 * absent), as console and pino are. Returns it, or the fallback when undefined.
 */
export function loggerOption<L extends Logger | undefined>(value: unknown, fallback: L): Logger | L {
  if (value === undefined) return fallback;
  const expected = 'a logger: an object with info, warn and error functions (debug a function or absent)';
  if (typeof value !== 'object' || value === null) throw new ConfigError('logger', expected, value);
  const logger = value as Logger;
  for (const level of ['info', 'warn', 'error'] as const) {
    if (typeof logger[level] !== 'function') throw new ConfigError(`logger.${level}`, 'a function', logger[level]);
  }
  if (logger.debug !== undefined && typeof logger.debug !== 'function') throw new ConfigError('logger.debug', 'a function or absent', logger.debug);
  return logger;
}

/** Checks a `scheduler` option: an RxJS SchedulerLike (now() and schedule()); the fallback when undefined. */
export function schedulerOption<S extends SchedulerLike | undefined>(value: unknown, fallback: S): SchedulerLike | S {
  if (value === undefined) return fallback;
  const scheduler = value as Partial<SchedulerLike> | null;
  if (typeof scheduler !== 'object' || scheduler === null || typeof scheduler.now !== 'function' || typeof scheduler.schedule !== 'function') {
    throw new ConfigError('scheduler', 'an RxJS SchedulerLike (with now() and schedule())', value);
  }
  return value as SchedulerLike;
}
