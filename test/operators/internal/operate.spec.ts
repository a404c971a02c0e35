import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { concat, from, NEVER, of, Subject } from 'rxjs';
import { operate } from '../../../operators/internal/operate.js';
import { Boom, run, trackingScheduler } from '../support/callback-errors.js';

describe('operate (the operators\' skeleton)', () => {
  it('runs init per subscription: state is not shared between subscribers', async () => {
    const counting = operate<number, number>(({ destination }) => {
      let count = 0;
      return { next: () => destination.next(++count) };
    });
    const source = from([7, 8]);
    assert.deepEqual((await run(source.pipe(counting))).values, [1, 2]);
    assert.deepEqual((await run(source.pipe(counting))).values, [1, 2]);
  });

  it('a throw in next, complete, a timer or guarded work errors the output; later source events are ignored', async () => {
    const boom = new Boom('hook');
    const seen: number[] = [];
    const throwingNext = operate<number, number>(() => ({ next: (n) => { seen.push(n); if (n === 2) throw boom; } }));
    const r1 = await run(from([1, 2, 3]).pipe(throwingNext));
    assert.equal(r1.error, boom);
    assert.deepEqual(seen, [1, 2], '3 never reached the hook');
    const throwingComplete = operate<number, number>(() => ({ next: () => undefined, complete: () => { throw boom; } }));
    assert.equal((await run(of(1).pipe(throwingComplete))).error, boom);
    const timers = trackingScheduler();
    const throwingTimer = operate<number, number>(({ schedule }) => ({ next: () => void schedule(timers, () => { throw boom; }, 1) }));
    const r3 = await run(concat(of(1), NEVER).pipe(throwingTimer));
    assert.equal(r3.error, boom);
    assert.deepEqual(r3.uncaught, []);
    const throwingGuard = operate<number, number>(({ guard }) => ({ next: () => void Promise.resolve().then(() => guard(() => { throw boom; })) }));
    assert.equal((await run(concat(of(1), NEVER).pipe(throwingGuard))).error, boom);
  });

  it('finalize runs once, however the output closes, and cancels the timers still armed', async () => {
    for (const ending of ['complete', 'error', 'unsubscribe'] as const) {
      const timers = trackingScheduler();
      let finalized = 0;
      const op = operate<number, number>(({ destination, schedule }) => ({
        next: (n) => {
          schedule(timers, () => destination.next(n), 10_000);
        },
        finalize: () => void finalized++,
      }));
      const source = new Subject<number>();
      const subscription = source.pipe(op).subscribe({ error: () => undefined });
      source.next(1);
      assert.equal(timers.live, 1);
      if (ending === 'complete') source.complete();
      else if (ending === 'error') source.error(new Error('source'));
      else subscription.unsubscribe();
      subscription.unsubscribe();
      assert.equal(finalized, 1, ending);
      assert.equal(timers.live, 0, ending);
    }
  });

  it('forwards a source error after the error hook, and a throwing init errors the output', async () => {
    const failure = new Error('source');
    let hook: unknown;
    const op = operate<number, number>(() => ({ next: () => undefined, error: (e) => void (hook = e) }));
    const result = await run(concat(of(1), Promise.reject(failure)).pipe(op));
    assert.equal(result.error, failure);
    assert.equal(hook, failure);
    const boom = new Boom('init');
    const broken = operate<number, number>(() => { throw boom; });
    assert.equal((await run(of(1).pipe(broken))).error, boom);
  });
});
