import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadEnrich } from '../../../operators/internal/enrich-state.js';
import { SavedValue } from '../../../operators/internal/state-codec.js';

describe('enrich state', () => {
  it('reads the waiting elements as they were saved, and refuses anything but an array', () => {
    assert.deepEqual(loadEnrich(new SavedValue({ waiting: [{ id: 1 }, 'two', null] }, '')), [{ id: 1 }, 'two', null]);
    assert.throws(() => loadEnrich(new SavedValue({ waiting: { id: 1 } }, '')), /waiting should be an array, is object/);
    assert.throws(() => loadEnrich(new SavedValue({}, '')), /waiting should be an array, is undefined/);
  });
});
