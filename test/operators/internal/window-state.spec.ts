import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SavedValue } from '../../../operators/internal/state-codec.js';
import { loadWindows } from '../../../operators/internal/window-state.js';

const COUNTERS = { accepted: 1, late: 0, invalid: 0, windowsClosed: 2, samplesOut: 3 };
const saved = (fields: Record<string, unknown>): SavedValue =>
  new SavedValue({ sizeMs: 10, offsetMs: 2, closedUpTo: 12, maxTime: 15, quietMs: 0, series: [[['__name__', 'x'], ['__proto__', 'p']]], windows: [{ start: 12, accs: [{ series: 0, acc: {} }] }], counters: COUNTERS, ...fields }, '');

describe('window state', () => {
  it('reads the windows, the series input labels (a __proto__ label stays a label) and the counters', () => {
    const loaded = loadWindows(saved({}), 10, 2);
    assert.equal(loaded.closedUpTo, 12);
    assert.deepEqual(Object.keys(loaded.series[0]), ['__name__', '__proto__']);
    assert.equal(Object.getPrototypeOf(loaded.series[0]), Object.prototype);
    assert.deepEqual(loaded.windows.map((w) => w.start), [12]);
    assert.deepEqual(loaded.counters, COUNTERS);
  });

  it('refuses windows of another size or offset, out of order, misaligned or closed already, and unknown series', () => {
    assert.throws(() => loadWindows(saved({}), 10, 0), /windows are 10 ms at offset 2, this operator's 10 ms at offset 0/);
    assert.throws(() => loadWindows(saved({ windows: [{ start: 22, accs: [] }, { start: 12, accs: [] }] }), 10, 2), /windows\[1\]\.start 12/);
    assert.throws(() => loadWindows(saved({ windows: [{ start: 13, accs: [] }] }), 10, 2), /windows\[0\]\.start 13/);
    assert.throws(() => loadWindows(saved({ windows: [{ start: 2, accs: [] }] }), 10, 2), /windows\[0\]\.start 2/);
    assert.throws(() => loadWindows(saved({ windows: [{ start: 12, accs: [{ series: 1, acc: {} }] }] }), 10, 2), /series 1 names no saved series/);
  });
});
