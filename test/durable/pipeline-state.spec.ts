import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/core/errors.js';
import { PipelineState } from '../../src/durable/pipeline-state.js';

describe('PipelineState', () => {
  it('gives a restored state to the first subscription only, and snapshots attached stages in one pass', async () => {
    const state = new PipelineState({ window: { open: 3 }, gone: { x: 1 } });
    const window = state.slot<{ open: number }>('window');
    const reorder = state.slot<number[]>('reorder');
    assert.deepEqual(window.take(), { open: 3 });
    assert.equal(window.take(), undefined);
    assert.equal(reorder.take(), undefined);
    assert.deepEqual(state.untaken(), ['gone']);

    let open = 3;
    const flushed: string[] = [];
    const told: unknown[] = [];
    const detach = window.attach({
      snapshot: () => ({ open }),
      flush: async () => {
        flushed.push('window');
      },
      checkpointed: (snapshot) => told.push(snapshot),
    });
    open = 5;
    const snapshots = state.snapshot();
    open = 6;
    assert.deepEqual(snapshots, { window: { open: 5 } });
    await state.flush();
    assert.deepEqual(flushed, ['window']);
    state.checkpointed(snapshots);
    assert.deepEqual(told, [{ open: 5 }]);

    detach();
    assert.deepEqual(state.snapshot(), {});
  });

  it('keeps a restored state nobody has taken yet in the next snapshot', () => {
    const state = new PipelineState({ sink: { guard: [1, 2] } });
    state.slot('sink');
    assert.deepEqual(state.snapshot(), { sink: { guard: [1, 2] } });
  });

  it('refuses a duplicate or empty slot name, and a second concurrent subscription', () => {
    const state = new PipelineState();
    const slot = state.slot<number>('a');
    assert.throws(() => state.slot('a'), ConfigError);
    assert.throws(() => state.slot(''), ConfigError);
    const detach = slot.attach({ snapshot: () => 1 });
    assert.throws(() => slot.attach({ snapshot: () => 2 }), /already subscribed/);
    detach();
    slot.attach({ snapshot: () => 2 });
    assert.deepEqual(state.snapshot(), { a: 2 });
  });

  it('names the slots whose stage listens for checkpointed()', () => {
    const state = new PipelineState();
    state.slot<number>('window').attach({ snapshot: () => 1 });
    const detach = state.slot<number>('sink').attach({ snapshot: () => 2, checkpointed: () => {} });
    state.slot<number>('idle');
    assert.deepEqual(state.checkpointListeners(), ['sink']);
    detach();
    assert.deepEqual(state.checkpointListeners(), []);
  });
});
