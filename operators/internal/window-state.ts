/**
 * `tumblingWindow`'s state in a checkpoint: every open window with its accumulators in output
 * order, the input labels of their series, what decides lateness (windows closed up to, largest
 * event time), the quiet time for `idleTimeoutMs`, and the counters.
 */
import type { Labels } from '../../src/core/model.js';
import { misfit, type SavedNumber, type SavedOperatorState, type SavedValue } from './state-codec.js';

// The saved shapes live here, apart from the accumulator and the sketch: the operator's public
// options name them, and must not pull the sketch library's typings into a user's project.

/** An accumulator in a checkpoint (its window and series are saved by the operator). */
export interface SavedAccumulator {
  readonly count: number;
  readonly sum: SavedNumber;
  readonly min: SavedNumber;
  readonly max: SavedNumber;
  readonly first: SavedNumber;
  readonly firstTime: SavedNumber;
  readonly last: SavedNumber;
  readonly lastTime: SavedNumber;
  /** The exact values while few, in arrival order. */
  readonly values?: SavedNumber[];
  readonly sketch?: SavedSketch;
}

export interface SavedStore {
  /** Length of the bins array, offset of its first bin, and the keys in use. */
  readonly length: number;
  readonly offset: number;
  readonly minKey: SavedNumber;
  readonly maxKey: SavedNumber;
  readonly count: number;
  readonly collapsed: boolean;
  /** `bins` starts at this index of the bins array; bins outside are 0. */
  readonly from: number;
  readonly bins: number[];
}

export interface SavedSketch {
  readonly relativeAccuracy: number;
  readonly binLimit: number;
  readonly zeroCount: number;
  readonly count: number;
  readonly min: SavedNumber;
  readonly max: SavedNumber;
  readonly sum: SavedNumber;
  readonly positive: SavedStore;
  readonly negative: SavedStore;
}

export const WINDOW_STATE = { operator: 'tumblingWindow', version: 1 } as const;

/** The counters that continue across a restore (`openWindows` is what was restored). */
export const WINDOW_COUNTERS = ['accepted', 'late', 'invalid', 'windowsClosed', 'samplesOut'] as const;
export type WindowCounters = Record<(typeof WINDOW_COUNTERS)[number], number>;

export interface SavedWindow {
  readonly start: number;
  /** Accumulators in output order: `series` indexes the state's `series`. */
  readonly accs: Array<{ readonly series: number; readonly acc: SavedAccumulator }>;
}

export interface SavedWindows extends SavedOperatorState {
  readonly sizeMs: number;
  readonly offsetMs: number;
  readonly closedUpTo: SavedNumber;
  readonly maxTime: SavedNumber;
  /** How long the input had been quiet (processing time, ms) when saved. */
  readonly quietMs: number;
  /** Input label sets (name, value pairs) of the series in open windows. */
  readonly series: Array<Array<[string, string]>>;
  readonly windows: SavedWindow[];
  readonly counters: WindowCounters;
}

export interface LoadedWindows {
  readonly closedUpTo: number;
  readonly maxTime: number;
  readonly quietMs: number;
  readonly series: Labels[];
  /** Each accumulator still to be read (by `WindowAccumulator.restore`) once its series is resolved. */
  readonly windows: Array<{ start: number; accs: Array<{ series: number; acc: SavedValue }> }>;
  readonly counters: WindowCounters;
}

/** Sets a label as an own property (a label named __proto__ stays a label). */
function setLabel(target: Record<string, string>, name: string, value: string): void {
  Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
}

/** Reads a saved state (the envelope already checked) for windows of `sizeMs` at `offsetMs`. */
export function loadWindows(saved: SavedValue, sizeMs: number, offsetMs: number): LoadedWindows {
  const savedSize = saved.get('sizeMs').finite();
  const savedOffset = saved.get('offsetMs').finite();
  if (savedSize !== sizeMs || savedOffset !== offsetMs) misfit(`its windows are ${savedSize} ms at offset ${savedOffset}, this operator's ${sizeMs} ms at offset ${offsetMs}`);
  const closedUpTo = saved.get('closedUpTo').number();
  const series = saved.get('series').items().map((entry): Labels => {
    const labels: Record<string, string> = {};
    for (const pair of entry.items()) {
      const [name, value] = pair.items();
      setLabel(labels, name.string(), value.string());
    }
    return labels;
  });
  let previous = -Infinity;
  const windows = saved.get('windows').items().map((window) => {
    const start = window.get('start').finite();
    if (start <= previous || (start - offsetMs) % sizeMs !== 0 || start + sizeMs <= closedUpTo) misfit(`${window.path}.start ${start} is not the start of an open window after ${previous}`);
    previous = start;
    const accs = window.get('accs').items().map((entry) => {
      const index = entry.get('series').count();
      if (index >= series.length) misfit(`${entry.path}.series ${index} names no saved series`);
      return { series: index, acc: entry.get('acc') };
    });
    return { start, accs };
  });
  const counters = {} as WindowCounters;
  const savedCounters = saved.get('counters');
  for (const name of WINDOW_COUNTERS) counters[name] = savedCounters.get(name).count();
  return { closedUpTo, maxTime: saved.get('maxTime').number(), quietMs: Math.max(0, saved.get('quietMs').finite()), series, windows, counters };
}
