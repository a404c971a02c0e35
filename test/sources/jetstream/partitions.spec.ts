import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { partitionFilter, partitionOf, partitionSubject, partitionsOfWorker, subjectToken } from '../../../src/sources/jetstream/partitions.js';
import { ConfigError } from '../../../src/core/errors.js';

describe('partitions', () => {
  it('partitionOf is stable (a fixed value per key) and spreads keys over every partition', () => {
    // FNV-1a of the key: these values must never change between versions, or a redeploy would move rooms between workers.
    assert.equal(partitionOf('site-0/room-0', 6), 4); // FNV-1a 164816314
    assert.equal(partitionOf('site-1/room-1', 6), 0); // FNV-1a 1581820476, computed independently
    const counts = new Array<number>(6).fill(0);
    for (let room = 0; room < 600; room++) counts[partitionOf(`site-${room % 4}/room-${room}`, 6)]++;
    for (const count of counts) assert.ok(count > 60 && count < 140, `uneven: ${counts.join(', ')}`);
  });

  it('partitionsOfWorker gives every partition to exactly one worker', () => {
    assert.deepEqual(partitionsOfWorker(0, 3, 6), [0, 3]);
    assert.deepEqual(partitionsOfWorker(1, 3, 6), [1, 4]);
    assert.deepEqual(partitionsOfWorker(2, 3, 6), [2, 5]);
    for (const [workers, partitions] of [[4, 6], [1, 5], [7, 3]]) {
      const all = Array.from({ length: workers }, (_, w) => partitionsOfWorker(w, workers, partitions)).flat().sort((a, b) => a - b);
      assert.deepEqual(all, Array.from({ length: partitions }, (_, p) => p));
    }
    assert.throws(() => partitionsOfWorker(3, 3, 6), (e: unknown) => e instanceof ConfigError && /worker/.test(e.message));
    assert.throws(() => partitionsOfWorker(0, 0, 6), ConfigError);
    assert.throws(() => partitionOf('k', 0), ConfigError);
  });

  it('subjects: one token per label, with the characters NATS treats specially replaced', () => {
    assert.equal(partitionSubject('readings', 3, ['site-0', 'room.1', 'dev *>']), 'readings.3.site-0.room_1.dev___');
    assert.equal(subjectToken(''), '_');
    assert.equal(partitionFilter('readings', 3), 'readings.3.>');
  });
});
