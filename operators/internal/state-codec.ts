/**
 * What the checkpointed operators share to save and restore their state: the `state` option's
 * check, numbers that survive JSON (JSON has no -0, NaN or infinities), and a reader that checks
 * a restored state's shape field by field, so a state of another operator or version errors the
 * stream with a message naming the slot instead of restoring something wrong.
 */
import { ConfigError } from '../../src/core/errors.js';
import type { StateSlot } from '../../src/durable/pipeline-state.js';
import { isStateKey, type StateKey } from './key-table.js';

/** The envelope of every operator's saved state: which operator saved it, in which format. */
export interface SavedOperatorState {
  readonly operator: string;
  readonly version: number;
}

/** A number as JSON keeps it: finite numbers as they are (but -0), the others by name. */
export type SavedNumber = number | '-0' | 'NaN' | 'Infinity' | '-Infinity';

export function saveNumber(n: number): SavedNumber {
  if (Number.isFinite(n)) return n === 0 && 1 / n < 0 ? '-0' : n;
  return Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity';
}

export function saveNumbers(numbers: readonly number[]): SavedNumber[] {
  const out = new Array<SavedNumber>(numbers.length);
  for (let i = 0; i < numbers.length; i++) out[i] = saveNumber(numbers[i]);
  return out;
}

const NAMED: Record<string, number> = { '-0': -0, NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };

/** A restored state that does not have the shape this operator saves. */
export class StateShapeError extends Error {}

/** A value of a restored state and where it is (`keys[3].times`), for the error message. */
export class SavedValue {
  constructor(
    readonly value: unknown,
    readonly path: string,
  ) {}

  private fail(expected: string): never {
    const actual = this.value === null ? 'null' : Array.isArray(this.value) ? 'an array' : typeof this.value;
    throw new StateShapeError(`${this.path || 'the state'} should be ${expected}, is ${actual}`);
  }

  /** The field `name` of this object. */
  get(name: string): SavedValue {
    const value = this.value;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail('an object');
    return new SavedValue(Object.prototype.hasOwnProperty.call(value, name) ? (value as Record<string, unknown>)[name] : undefined, this.path === '' ? name : `${this.path}.${name}`);
  }

  items(): SavedValue[] {
    if (!Array.isArray(this.value)) this.fail('an array');
    return (this.value as unknown[]).map((item, i) => new SavedValue(item, `${this.path}[${i}]`));
  }

  /** A number saved with `saveNumber`. */
  number(): number {
    const value = this.value;
    if (typeof value === 'number') return value;
    if (typeof value === 'string' && Object.prototype.hasOwnProperty.call(NAMED, value)) return NAMED[value];
    return this.fail('a number');
  }

  /** Numbers saved with `saveNumbers`. */
  numbers(): number[] {
    if (!Array.isArray(this.value)) this.fail('an array of numbers');
    const values = this.value as unknown[];
    const out = new Array<number>(values.length);
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (typeof value === 'number') out[i] = value;
      else out[i] = new SavedValue(value, `${this.path}[${i}]`).number();
    }
    return out;
  }

  finite(): number {
    const n = this.number();
    return Number.isFinite(n) ? n : this.fail('a finite number');
  }

  count(): number {
    const n = this.number();
    return Number.isInteger(n) && n >= 0 ? n : this.fail('a whole number ≥ 0');
  }

  string(): string {
    return typeof this.value === 'string' ? this.value : this.fail('a string');
  }

  /** An operator's key: a string or a finite number. */
  key(): StateKey {
    const value = this.value;
    return isStateKey(value) ? value : this.fail('a string or a finite number');
  }

  boolean(): boolean {
    return typeof this.value === 'boolean' ? this.value : this.fail('a boolean');
  }

  /** Any JSON value, as it is (a user's element). */
  raw(): unknown {
    if (this.value === undefined) this.fail('present');
    return this.value;
  }
}

/** Checks the `state` option: a slot from `PipelineState.slot(name)`. */
export function stateOption<S>(value: unknown): StateSlot<S> | undefined {
  if (value === undefined) return undefined;
  if (
    typeof value !== 'object' || value === null ||
    typeof (value as StateSlot<S>).take !== 'function' || typeof (value as StateSlot<S>).attach !== 'function' || typeof (value as StateSlot<S>).name !== 'string'
  ) {
    throw new ConfigError('state', 'a state slot (PipelineState.slot(name))', value);
  }
  return value as StateSlot<S>;
}

/**
 * Takes the slot's restored state and reads it with `read`, or returns undefined on a fresh start.
 * A state saved by another operator, another format version, or of another shape throws an error
 * naming the slot (thrown at subscribe time, it errors the stream).
 */
export function takeRestored<R>(slot: StateSlot<unknown>, operator: string, version: number, read: (state: SavedValue) => R): R | undefined {
  const restored = slot.take();
  if (restored === undefined) return undefined;
  const state = new SavedValue(restored, '');
  try {
    const savedBy = state.get('operator').string();
    const savedVersion = state.get('version').number();
    if (savedBy !== operator) throw new StateShapeError(`it was saved by ${savedBy}`);
    if (savedVersion !== version) throw new StateShapeError(`it is in format version ${savedVersion}, this version reads ${version}`);
    return read(state);
  } catch (error) {
    if (!(error instanceof StateShapeError)) throw error;
    throw new Error(`rxprom: ${operator} cannot restore the state of slot "${slot.name}": ${error.message}. Give the operator another slot name to start it empty, or restore a checkpoint this operator saved`);
  }
}

/** Throws the shape error for a restored state that is well-formed but does not fit this operator's options. */
export function misfit(detail: string): never {
  throw new StateShapeError(detail);
}
