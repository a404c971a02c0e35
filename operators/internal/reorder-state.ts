/**
 * `reorderByWatermark`'s state in a checkpoint: every key's watermark, largest event time, idle
 * flag and held elements (event time, arrival sequence, the element as JSON), the keys holding
 * elements in least-recently-active order first (that order decides forced and idle releases),
 * the arrival counter, the output watermark and the counters.
 */
import type { StateKey } from './key-table.js';
import { KeyState } from './reorder-key-state.js';
import { misfit, saveNumber, saveNumbers, type SavedNumber, type SavedOperatorState, type SavedValue } from './state-codec.js';

export const REORDER_STATE = { operator: 'reorderByWatermark', version: 1 } as const;

/** The counters that continue across a restore (`buffered` is what the restored keys hold). */
export const REORDER_COUNTERS = ['released', 'late', 'invalid', 'forcedReleases', 'idleReleases'] as const;
export type ReorderCounters = Record<(typeof REORDER_COUNTERS)[number], number>;

export interface SavedReorderKey {
  /** null for the one key of an operator without `key`. */
  readonly key: StateKey | null;
  readonly maxTime: SavedNumber;
  readonly watermark: SavedNumber;
  readonly idle: boolean;
  /** How long the key had been quiet (processing time, ms) when saved: the time down does not count. */
  readonly quietMs: number;
  readonly times: SavedNumber[];
  readonly seqs: number[];
  /** The held elements as they are: user values, saved as JSON. */
  readonly values: unknown[];
}

export interface SavedReorder extends SavedOperatorState {
  readonly keyed: boolean;
  readonly seq: number;
  /** In how long (processing time, ms) the idle timer was due when saved; null when not armed. */
  readonly idleTimerMs: number | null;
  readonly published: SavedNumber;
  readonly tracking: boolean;
  readonly keys: SavedReorderKey[];
  readonly counters: ReorderCounters;
}

export function saveReorderKey<T>(key: StateKey | null, state: KeyState<T>, quietMs: number): SavedReorderKey {
  return {
    key,
    maxTime: saveNumber(state.maxTime),
    watermark: saveNumber(state.watermark),
    idle: state.idle,
    quietMs,
    times: saveNumbers(state.times),
    seqs: state.seqs.slice(),
    values: state.values.slice(),
  };
}

/** An event time or watermark as saved: finite, or -Infinity before any (NaN or +Infinity would hold or release everything). */
function timeOrNone(value: SavedValue): number {
  const n = value.number();
  return Number.isFinite(n) || n === -Infinity ? n : misfit(`${value.path} should be a finite number or -Infinity, is ${n}`);
}

export interface RestoredReorderKey<T> {
  readonly key: StateKey | null;
  readonly state: KeyState<T>;
  readonly quietMs: number;
}

export interface RestoredReorder<T> {
  readonly seq: number;
  readonly idleTimerMs: number | null;
  readonly published: number;
  readonly tracking: boolean;
  /** Keys holding elements first, least recently active first. */
  readonly keys: Array<RestoredReorderKey<T>>;
  readonly counters: ReorderCounters;
}

/**
 * Reads a saved state (the envelope already checked). `single` is the one key of an operator
 * without `key` (filled here), null for an operator with `key` (each key gets a new state).
 */
export function loadReorder<T>(saved: SavedValue, single: KeyState<T> | null): RestoredReorder<T> {
  const keyed = single === null;
  const savedKeyed = saved.get('keyed').boolean();
  if (savedKeyed !== keyed) misfit(keyed ? 'it was saved without the key option, this operator has one' : 'it was saved with the key option, this operator has none');
  const seq = saved.get('seq').count();
  const counters = {} as ReorderCounters;
  const savedCounters = saved.get('counters');
  for (const name of REORDER_COUNTERS) counters[name] = savedCounters.get(name).count();
  const keys: Array<RestoredReorderKey<T>> = [];
  const names = new Set<StateKey>();
  for (const entry of saved.get('keys').items()) {
    const keyField = entry.get('key');
    const key = keyed ? keyField.key() : keyField.value === null ? null : misfit(`${keyField.path} should be null without the key option`);
    if (key !== null) {
      if (names.has(key)) misfit(`${keyField.path} repeats the key ${JSON.stringify(key)}`);
      names.add(key);
    }
    if (!keyed && keys.length > 0) misfit(`keys should hold the one key of an operator without the key option, holds more`);
    const state = single ?? new KeyState<T>();
    state.maxTime = timeOrNone(entry.get('maxTime'));
    state.watermark = timeOrNone(entry.get('watermark'));
    state.idle = entry.get('idle').boolean();
    const times = entry.get('times').numbers();
    const seqs = entry.get('seqs').numbers();
    const values = entry.get('values').items();
    if (seqs.length !== times.length || values.length !== times.length) misfit(`${entry.path} holds ${times.length} times, ${seqs.length} sequence numbers and ${values.length} elements`);
    for (let i = 0; i < times.length; i++) {
      if (!Number.isFinite(times[i]) || !Number.isInteger(seqs[i]) || seqs[i] < 0 || seqs[i] >= seq) misfit(`${entry.path} holds an element with time ${times[i]}, sequence ${seqs[i]}`);
      state.push(times[i], seqs[i], values[i].raw() as T);
    }
    keys.push({ key, state, quietMs: Math.max(0, entry.get('quietMs').finite()) });
  }
  if (!keyed && keys.length !== 1) misfit('keys should hold the one key of an operator without the key option, holds none');
  const idleTimer = saved.get('idleTimerMs');
  const idleTimerMs = idleTimer.value === null ? null : Math.max(0, idleTimer.finite());
  return { seq, idleTimerMs, published: timeOrNone(saved.get('published')), tracking: saved.get('tracking').boolean(), keys, counters };
}
