import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TestScheduler } from 'rxjs/testing';
import { Subject } from 'rxjs';
import { batchSamples } from '../../operators/batch-samples.js';
import { ConfigError } from '../../src/core/errors.js';
import { concat, NEVER, of, throwError } from 'rxjs';
import { enrich } from '../../operators/enrich.js';
import { Boom, run, trackingScheduler } from './support/callback-errors.js';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => assert.deepStrictEqual(actual, expected));

describe('batchSamples', () => {
  it('emits a full batch at once', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('abcde|');
      expectObservable(source.pipe(batchSamples({ maxSamples: 2, maxDelayMs: 100 }))).toBe('-x-y-(z|)', {
        x: ['a', 'b'], y: ['c', 'd'], z: ['e'],
      });
    });
  });

  it('emits when the oldest sample has waited maxDelayMs, timing from the first of a batch', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const source = cold('a 4ms b 10ms c 20ms |');
      // a at 0 opens a batch (due at 10); b at 5 joins it; c at 16 opens the next (due at 26).
      expectObservable(source.pipe(batchSamples({ maxSamples: 100, maxDelayMs: 10 }))).toBe('10ms x 15ms y 10ms |', {
        x: ['a', 'b'], y: ['c'],
      });
    });
  });

  it('never emits an empty batch and costs no timer while idle', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const source = cold('100ms |');
      expectObservable(source.pipe(batchSamples({ maxSamples: 3, maxDelayMs: 10, scheduler: testScheduler }))).toBe('100ms |');
    });
  });

  it('flushes what is left on completion and propagates errors without a batch', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('ab|').pipe(batchSamples({ maxSamples: 5, maxDelayMs: 50 }))).toBe('--(x|)', { x: ['a', 'b'] });
      expectObservable(cold('ab#').pipe(batchSamples({ maxSamples: 5, maxDelayMs: 50 }))).toBe('--#');
    });
  });

  it('clears its timer on unsubscription', () => {
    const testScheduler = scheduler();
    const source = new Subject<string>();
    const seen: string[][] = [];
    const subscription = source.pipe(batchSamples({ maxSamples: 5, maxDelayMs: 10, scheduler: testScheduler })).subscribe((b) => seen.push(b));
    source.next('a');
    assert.equal(testScheduler.actions.length, 1);
    subscription.unsubscribe();
    assert.equal(testScheduler.actions.length, 0);
    testScheduler.flush();
    assert.deepEqual(seen, []);
  });

  it('validates its options at creation', () => {
    assert.throws(() => batchSamples({ maxSamples: 0, maxDelayMs: 1 }), (e: unknown) => e instanceof ConfigError && /"maxSamples" must be an integer in \[1, 1000000\]/.test(e.message));
    assert.throws(() => batchSamples({ maxSamples: 1, maxDelayMs: -1 }), /"maxDelayMs"/);
  });
});

describe('batchSamples: errors around its timer', () => {
  it('a batch flushed by its timer that makes a callback downstream throw: the error arrives, nothing uncaught, no timer left', async () => {
    const boom = new Boom('key');
    const timers = trackingScheduler();
    const batches = batchSamples<number>({ maxSamples: 10, maxDelayMs: 5, scheduler: timers });
    const joined = enrich({ key: (): string => { throw boom; }, reference: new Map<string, string>(), join: (batch: number[]) => batch.length });
    const result = await run(concat(of(1, 2), NEVER).pipe(batches, joined));
    assert.equal(result.error, boom);
    assert.deepEqual(result.uncaught, []);
    assert.equal(timers.armed, 1);
    assert.equal(timers.live, 0);
  });

  it('a source error drops the open batch and clears the timer', async () => {
    const timers = trackingScheduler();
    const failure = new Error('source');
    const result = await run(concat(of(1, 2), throwError(() => failure)).pipe(batchSamples<number>({ maxSamples: 10, maxDelayMs: 1000, scheduler: timers })));
    assert.equal(result.error, failure);
    assert.deepEqual(result.values, []);
    assert.equal(timers.live, 0);
  });
});
