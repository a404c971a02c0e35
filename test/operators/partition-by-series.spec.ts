import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TestScheduler } from 'rxjs/testing';
import { from, mergeMap, map, toArray, lastValueFrom, concatMap, timer } from 'rxjs';
import { partitionBySeries } from '../../operators/partition-by-series.js';
import type { Sample } from '../../src/core/model.js';
import { interval, take } from 'rxjs';
import { Boom, run, throwingWhen } from './support/callback-errors.js';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => assert.deepStrictEqual(actual, expected));

describe('partitionBySeries', () => {
  it('puts every element of a key on the same lane, in order', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('abcd|', { a: 'x1', b: 'y1', c: 'x2', d: 'y2' });
      const laned = source.pipe(
        partitionBySeries<string>({ shards: 2, key: (v) => (v[0] === 'x' ? 0 : 1) }),
        mergeMap((lane) => lane.pipe(map((v) => `${lane.key}:${v}`))),
      );
      expectObservable(laned).toBe('abcd|', { a: '0:x1', b: '1:y1', c: '0:x2', d: '1:y2' });
    });
  });

  it('makes at most `shards` groups for many series, and a series keeps one lane and its order', async () => {
    const samples: Sample[] = [];
    for (let t = 0; t < 20; t++) for (let s = 0; s < 500; s++) samples.push({ labels: { s: String(s), __name__: 'm' }, value: t, timestamp: t });
    const lanes = await lastValueFrom(
      from(samples).pipe(
        partitionBySeries({ shards: 4 }),
        // Lanes drain at different speeds: order within a lane must hold regardless.
        mergeMap((lane) => lane.pipe(concatMap((s) => (s.value % 7 === 0 ? timer(0).pipe(map(() => s)) : [s])), map((s) => [lane.key, s] as const))),
        toArray(),
      ),
    );
    const laneOf = new Map<string, number>();
    const lastOf = new Map<string, number>();
    for (const [lane, s] of lanes) {
      const id = s.labels['s'];
      assert.equal(laneOf.get(id) ?? lane, lane, `series ${id} changed lane`);
      laneOf.set(id, lane);
      assert.ok((lastOf.get(id) ?? -1) < s.timestamp, `series ${id} reordered`);
      lastOf.set(id, s.timestamp);
    }
    assert.equal(lanes.length, samples.length);
    assert.deepEqual([...new Set(laneOf.values())].sort(), [0, 1, 2, 3]);
  });

  it('the default key ignores label order', async () => {
    const lanesOf = await lastValueFrom(
      from<Sample[]>([
        { labels: { __name__: 'm', a: '1', b: '2' }, value: 1, timestamp: 1 },
        { labels: { b: '2', a: '1', __name__: 'm' }, value: 2, timestamp: 2 },
      ]).pipe(partitionBySeries({ shards: 64 }), mergeMap((lane) => lane.pipe(map(() => lane.key))), toArray()),
    );
    assert.equal(lanesOf[0], lanesOf[1]);
  });

  it('validates shards', () => {
    assert.throws(() => partitionBySeries({ shards: 0 }), /"shards" must be an integer in \[1, 1024\]/);
  });
});

describe('partitionBySeries: a key that throws errors the output, never escapes', () => {
  it('on the synchronous path and from a timer-driven source', async () => {
    for (const source of [from([1, 2, 3]), interval(2).pipe(take(3), map((i) => i + 1))]) {
      const boom = new Boom('key');
      const result = await run(source.pipe(partitionBySeries<number>({ shards: 2, key: throwingWhen(boom, (n: number) => n === 3, String) }), mergeMap((lane) => lane)));
      assert.equal(result.error, boom);
      assert.deepEqual(result.values, [1, 2]);
      assert.deepEqual(result.uncaught, []);
    }
  });
});
