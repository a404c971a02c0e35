/**
 * `dropOutliers`' state in a checkpoint: every remembered series, least recently seen first (the
 * eviction order), with its last accepted element (as JSON), value and time, its MAD window
 * (oldest value first), its run of consecutive MAD drops, and the counters.
 */
import { misfit, saveNumber, saveNumbers, type SavedNumber, type SavedOperatorState, type SavedValue } from './state-codec.js';
import type { OutlierReason } from '../drop-outliers.js';
import { KeyTable, type StateKey } from './key-table.js';

export const OUTLIER_STATE = { operator: 'dropOutliers', version: 1 } as const;

/** What the operator keeps per series. */
export interface OutlierSeries<T> {
  readonly key: StateKey;
  previous: T | undefined;
  previousValue: number;
  previousTime: number;
  /** Ring buffer of the last accepted values. */
  readonly window: Float64Array;
  /**
   * The same `filled` values in ascending order when `sortedValid`: kept as they come and go once
   * the MAD test has needed them, so the median is read, not searched for.
   */
  readonly sorted: Float64Array;
  sortedValid: boolean;
  /** The smallest and largest value in the window (the median lies between). */
  low: number;
  high: number;
  filled: number;
  next: number;
  rejected: number;
  /** When the series was last seen, in the operator's count of elements seen (for LRU eviction). */
  lastSeen: number;
}

/** A series with nothing accepted yet. One constructor for new and restored series: one object shape. */
export function newOutlierSeries<T>(key: StateKey, madWindow: number): OutlierSeries<T> {
  // Both windows in one buffer: side by side in memory, one allocation.
  const values = new Float64Array(2 * madWindow);
  return {
    key,
    previous: undefined,
    previousValue: 0,
    previousTime: 0,
    window: values.subarray(0, madWindow),
    sorted: values.subarray(madWindow),
    sortedValid: true,
    low: Infinity,
    high: -Infinity,
    filled: 0,
    next: 0,
    rejected: 0,
    lastSeen: 0,
  };
}

export interface SavedOutlierSeries {
  readonly key: StateKey;
  /** The last accepted element as it is (a user value, saved as JSON); absent before the first. */
  readonly previous?: unknown;
  readonly previousValue: SavedNumber;
  readonly previousTime: SavedNumber;
  /** The MAD window's values, oldest first. */
  readonly window: SavedNumber[];
  readonly rejected: number;
}

export interface OutlierCounters {
  readonly passed: number;
  readonly dropped: Record<OutlierReason, number>;
  readonly rebased: number;
}

export interface SavedOutliers extends SavedOperatorState {
  /** Least recently seen first. */
  readonly series: SavedOutlierSeries[];
  readonly counters: OutlierCounters;
}

export function saveOutlierSeries<T>(key: StateKey, state: OutlierSeries<T>): SavedOutlierSeries {
  const { window, filled } = state;
  // Oldest first: while the ring is not full it starts at 0, once full at `next`.
  const start = filled < window.length ? 0 : state.next;
  const values = new Array<number>(filled);
  for (let i = 0; i < filled; i++) values[i] = window[(start + i) % window.length];
  const saved = { key, previousValue: saveNumber(state.previousValue), previousTime: saveNumber(state.previousTime), window: saveNumbers(values), rejected: state.rejected };
  return state.previous === undefined ? saved : { ...saved, previous: state.previous };
}

/**
 * Reads a saved state (the envelope already checked) into series with MAD windows of `madWindow`
 * values (0: no MAD test); a window saved longer keeps its newest values.
 */
export function loadOutliers<T>(saved: SavedValue, madWindow: number, reasons: readonly OutlierReason[]): { series: KeyTable<OutlierSeries<T>>; bySaveOrder: OutlierSeries<T>[]; counters: OutlierCounters } {
  const series = new KeyTable<OutlierSeries<T>>();
  const bySaveOrder: OutlierSeries<T>[] = [];
  for (const entry of saved.get('series').items()) {
    const key = entry.get('key').key();
    if (series.get(key) !== undefined) misfit(`${entry.path} repeats the series ${JSON.stringify(key)}`);
    const previous = entry.get('previous');
    // Only finite values are accepted into a window: any other would skew every later decision.
    const values = entry.get('window').items().map((value) => value.finite());
    const kept = values.slice(Math.max(0, values.length - madWindow));
    const state = newOutlierSeries<T>(key, madWindow);
    state.window.set(kept);
    state.sorted.set(kept);
    state.sorted.subarray(0, kept.length).sort();
    for (const value of kept) {
      if (value < state.low) state.low = value;
      if (value > state.high) state.high = value;
    }
    state.previous = previous.value === undefined ? undefined : (previous.raw() as T);
    state.previousValue = entry.get('previousValue').finite();
    state.previousTime = entry.get('previousTime').finite();
    state.filled = kept.length;
    state.next = madWindow === 0 ? 0 : kept.length % madWindow;
    state.rejected = entry.get('rejected').count();
    series.set(key, state);
    bySaveOrder.push(state);
  }
  const counters = saved.get('counters');
  const dropped = {} as Record<OutlierReason, number>;
  for (const reason of reasons) dropped[reason] = counters.get('dropped').get(reason).count();
  return { series, bySaveOrder, counters: { passed: counters.get('passed').count(), dropped, rebased: counters.get('rebased').count() } };
}
