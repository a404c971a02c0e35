import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { from } from 'rxjs';
import { checkpointThenCommit, isPausable, type AcknowledgedSource, type Positioned } from '../../src/sources/acknowledged.js';

/** The smallest source that keeps the contract: an array, positions are indexes + 1. */
class ArraySource implements AcknowledgedSource<string, number> {
  committed: number | undefined;
  constructor(private readonly items: string[]) {}
  resumeFrom(position = this.committed ?? 0) {
    return from(this.items.slice(position).map((value, i): Positioned<string, number> => ({ value, position: position + i + 1 })));
  }
  async commit(position: number): Promise<void> {
    if (this.committed === undefined || position > this.committed) this.committed = position;
  }
  comparePositions(a: number, b: number): number {
    return a - b;
  }
}

describe('checkpointThenCommit', () => {
  it('commits only after the checkpoint is saved, and not at all when the save fails', async () => {
    const source = new ArraySource(['a', 'b', 'c']);
    const order: string[] = [];
    await assert.rejects(checkpointThenCommit(source, 2, async () => { throw new Error('disk full'); }), /disk full/);
    assert.equal(source.committed, undefined);
    await checkpointThenCommit(source, 2, async () => {
      order.push(`saved while committed=${String(source.committed)}`);
    });
    assert.deepEqual(order, ['saved while committed=undefined']);
    assert.equal(source.committed, 2);
    const rest: string[] = [];
    source.resumeFrom().subscribe((e) => rest.push(e.value));
    assert.deepEqual(rest, ['c'], 'a resume after the commit emits what follows it');
  });
});

describe('isPausable', () => {
  it('recognises a source with pause and resume, and only that', () => {
    assert.equal(isPausable({ pause() {}, resume() {}, paused: false }), true);
    assert.equal(isPausable({ pause() {} }), false);
    assert.equal(isPausable({}), false);
  });
});
