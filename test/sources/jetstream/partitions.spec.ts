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

  it('refuses a partition, prefix or key that would name another subject (or none) with a ConfigError', () => {
    // Each of these made a subject silently: 'readings.1.5.>' is partition 1's sub-tree, '.0.>' and
    // 'a b.0.>' are no valid subjects, 'readings.NaN.>' matches nothing the producer writes.
    const bad: [string, () => unknown][] = [
      ['partition', () => partitionFilter('readings', 1.5)],
      ['partition', () => partitionFilter('readings', NaN)],
      ['partition', () => partitionFilter('readings', -1)],
      ['partition', () => partitionSubject('readings', 2.5, ['a'])],
      ['partition', () => partitionSubject('readings', '3' as unknown as number, ['a'])],
      ['prefix', () => partitionFilter('', 0)],
      ['prefix', () => partitionFilter('a b', 0)],
      ['prefix', () => partitionFilter('readings.>', 0)],
      ['prefix', () => partitionFilter('readings.', 0)],
      ['prefix', () => partitionSubject('*', 0, ['a'])],
      ['prefix', () => partitionSubject(5 as unknown as string, 0, ['a'])],
      ['tokens', () => partitionSubject('readings', 0, 'abc' as unknown as string[])],
      ['tokens', () => partitionSubject('readings', 0, [5 as unknown as string])],
      ['key', () => partitionOf(null as unknown as string, 6)],
      ['key', () => partitionOf(5 as unknown as string, 6)],
    ];
    for (const [option, call] of bad) assert.throws(call, (e: unknown) => e instanceof ConfigError && e.option === option, `${option}: ${call.toString()}`);
    assert.equal(partitionFilter('fleet.readings', 0), 'fleet.readings.0.>');
    assert.equal(partitionSubject('fleet.readings', 5, []), 'fleet.readings.5');
  });
});
