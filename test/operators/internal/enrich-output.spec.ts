import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { harness } from './enrich-harness.js';

describe('EnrichOutput', () => {
  it('emits filled slots in queue order, holding later ones behind an unfilled one, and completes only once nothing waits', () => {
    const { context, values, state } = harness();
    const { output } = context;
    const first = output.enqueue('a', 'a');
    const second = output.enqueue('b', 'b');
    output.fill(second, { emit: true, output: 'B' });
    output.flush();
    assert.deepEqual(values, [], 'b waits behind a');
    assert.equal(output.waiting, 2);
    output.sourceCompleted();
    assert.equal(state.completed, false, 'a still waits');
    output.fill(first, { emit: false, output: undefined });
    output.flush();
    assert.deepEqual(values, ['B'], 'a was dropped, b went out');
    assert.equal(output.waiting, 0);
    assert.equal(state.completed, true);
  });

  it('fillWaiting decides every waiting slot at once', () => {
    const { context, values } = harness();
    const { output } = context;
    for (const x of ['a', 'b', 'c']) output.enqueue(x, x);
    output.fillWaiting((slot) => ({ emit: slot.key !== 'b', output: slot.element.toUpperCase() }));
    output.flush();
    assert.deepEqual(values, ['A', 'C']);
  });

  it('waitingElements lists the elements not yet emitted, filled or not, in input order', () => {
    const { context, values } = harness();
    const { output } = context;
    const slots = ['a', 'b', 'c', 'd'].map((x) => output.enqueue(x, x));
    output.fill(slots[0], { emit: true, output: 'A' });
    output.fill(slots[2], { emit: true, output: 'C' });
    output.flush();
    assert.deepEqual(values, ['A']);
    assert.deepEqual(output.waitingElements(), ['b', 'c', 'd']);
    output.fill(slots[1], { emit: false, output: undefined });
    output.fill(slots[3], { emit: true, output: 'D' });
    output.flush();
    assert.deepEqual(output.waitingElements(), []);
  });
});
