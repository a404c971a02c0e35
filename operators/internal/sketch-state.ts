/**
 * A quantile sketch of `tumblingWindow` in a checkpoint: the DDSketch's settings, summary and
 * both stores' bins (only the span holding counts), set back field by field so that the restored
 * sketch gives the same estimates and goes on collapsing bins exactly as the saved one would.
 */
import { LogCollapsingLowestDenseDDSketch } from '@datadog/sketches-js';
import { misfit, saveNumber, type SavedValue } from './state-codec.js';
import type { SavedSketch, SavedStore } from './window-state.js';
import type { SketchSettings } from './window-accumulator.js';

type Store = LogCollapsingLowestDenseDDSketch['store'] & { isCollapsed?: boolean };

function saveStore(store: Store): SavedStore {
  const bins = store.bins;
  let from = 0;
  let to = bins.length;
  while (from < to && bins[from] === 0) from++;
  while (to > from && bins[to - 1] === 0) to--;
  return {
    length: bins.length,
    offset: store.offset,
    minKey: saveNumber(store.minKey),
    maxKey: saveNumber(store.maxKey),
    count: store.count,
    collapsed: store.isCollapsed === true,
    from,
    bins: bins.slice(from, to),
  };
}

export function saveSketch(sketch: LogCollapsingLowestDenseDDSketch, settings: SketchSettings): SavedSketch {
  return {
    relativeAccuracy: settings.relativeAccuracy,
    binLimit: settings.binLimit,
    zeroCount: sketch.zeroCount,
    count: sketch.count,
    min: saveNumber(sketch.min),
    max: saveNumber(sketch.max),
    sum: saveNumber(sketch.sum),
    positive: saveStore(sketch.store),
    negative: saveStore(sketch.negativeStore),
  };
}

function loadStore(store: Store, saved: SavedValue, binLimit: number): void {
  const length = saved.get('length').count();
  const from = saved.get('from').count();
  const counts = saved.get('bins').numbers();
  if (length > binLimit || from + counts.length > length) misfit(`${saved.path} holds ${from + counts.length} bins of ${length}, at most ${binLimit}`);
  const bins = new Array<number>(length).fill(0);
  for (let i = 0; i < counts.length; i++) {
    if (!(counts[i] >= 0)) misfit(`${saved.path}.bins[${i}] is ${counts[i]}`);
    bins[from + i] = counts[i];
  }
  store.bins = bins;
  store.offset = saved.get('offset').finite();
  store.minKey = saved.get('minKey').number();
  store.maxKey = saved.get('maxKey').number();
  store.count = saved.get('count').count();
  store.isCollapsed = saved.get('collapsed').boolean();
}

/** The sketch saved by `saveSketch`, with the settings it was made with (and the settings to go on with). */
export function loadSketch(saved: SavedValue): { sketch: LogCollapsingLowestDenseDDSketch; settings: SketchSettings } {
  const relativeAccuracy = saved.get('relativeAccuracy').finite();
  const binLimit = saved.get('binLimit').count();
  if (!(relativeAccuracy > 0 && relativeAccuracy < 1) || binLimit < 1) misfit(`${saved.path} has relativeAccuracy ${relativeAccuracy}, binLimit ${binLimit}`);
  const settings = { relativeAccuracy, binLimit };
  const sketch = new LogCollapsingLowestDenseDDSketch(settings);
  sketch.zeroCount = saved.get('zeroCount').count();
  sketch.count = saved.get('count').count();
  sketch.min = saved.get('min').number();
  sketch.max = saved.get('max').number();
  sketch.sum = saved.get('sum').number();
  loadStore(sketch.store, saved.get('positive'), binLimit);
  loadStore(sketch.negativeStore, saved.get('negative'), binLimit);
  return { sketch, settings };
}
