import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TestScheduler } from 'rxjs/testing';
import { from, lastValueFrom, Subject, toArray } from 'rxjs';
import fc from 'fast-check';
import { enrich, type EnrichDropReason } from '../../operators/enrich.js';
import { ConfigError } from '../../src/errors.js';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => assert.deepStrictEqual(actual, expected));
type Reading = { device: string; v: number };
const r = (device: string, v: number): Reading => ({ device, v });
const rooms = new Map([['d1', 'kitchen'], ['d2', 'hall']]);
const joinRoom = (x: Reading, room: string): string => `${x.device}@${room}=${x.v}`;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('enrich', () => {
  it('joins from a static Map; missing keys are dropped, defaulted or kept, and counted', async () => {
    const input = [r('d1', 1), r('zz', 2), r('d2', 3)];
    const misses: Array<[string, EnrichDropReason]> = [];
    const dropping = enrich({ key: (x: Reading) => x.device, reference: rooms, join: joinRoom, onMiss: (x, reason) => misses.push([x.device, reason]) });
    assert.deepEqual(await lastValueFrom(from(input).pipe(dropping, toArray())), ['d1@kitchen=1', 'd2@hall=3']);
    assert.deepEqual(misses, [['zz', 'missing']]);
    assert.deepEqual([dropping.stats.joined, dropping.stats.missing, dropping.stats.dropped], [2, 1, 1]);
    const defaulting = enrich({ key: (x: Reading) => x.device, reference: rooms, join: joinRoom, onMissing: { default: 'unknown' } });
    assert.deepEqual(await lastValueFrom(from(input).pipe(defaulting, toArray())), ['d1@kitchen=1', 'zz@unknown=2', 'd2@hall=3']);
    const keeping = enrich({ key: (x: Reading) => x.device, reference: rooms, join: joinRoom, onMissing: { keep: (x) => `${x.device}=${x.v}` } });
    assert.deepEqual(await lastValueFrom(from(input).pipe(keeping, toArray())), ['d1@kitchen=1', 'zz=2', 'd2@hall=3']);
    assert.equal(keeping.stats.missing, 1);
  });

  it('waits for the first snapshot of an Observable reference, then follows each new snapshot', () => {
    scheduler().run(({ cold, hot, expectObservable }) => {
      const reference = hot('--a---b--', { a: new Map([['d1', 'kitchen']]), b: new Map([['d1', 'attic']]) });
      const source = cold('x y - - z - - w |', { x: r('d1', 1), y: r('d2', 2), z: r('d1', 3), w: r('d1', 4) });
      const op = enrich({ key: (x: Reading) => x.device, reference, join: joinRoom });
      // x and y wait for snapshot a (frame 2); y has no entry there and is dropped; w (frame 7) sees snapshot b.
      expectObservable(source.pipe(op)).toBe('--x-z--w|', { x: 'd1@kitchen=1', z: 'd1@kitchen=3', w: 'd1@attic=4' });
    });
  });

  it('errors when the reference errors, and stops listening to it on unsubscription', () => {
    scheduler().run(({ cold, hot, expectObservable }) => {
      const reference = hot('a--#', { a: rooms });
      expectObservable(cold('x----|', { x: r('d1', 1) }).pipe(enrich({ key: (x: Reading) => x.device, reference, join: joinRoom }))).toBe('x--#', { x: 'd1@kitchen=1' });
    });
    const snapshots = new Subject<Map<string, string>>();
    const source = new Subject<Reading>();
    const subscription = source.pipe(enrich({ key: (x: Reading) => x.device, reference: snapshots, join: joinRoom })).subscribe();
    assert.equal(snapshots.observed, true);
    subscription.unsubscribe();
    assert.equal(snapshots.observed, false);
  });

  it('runs async lookups concurrently, caches them, and emits in input order even when they resolve out of order', async () => {
    let running = 0;
    let peak = 0;
    const calls: string[] = [];
    const lookup = async (device: string): Promise<string | undefined> => {
      calls.push(device);
      running++;
      peak = Math.max(peak, running);
      await sleep(device === 'slow' ? 30 : 5);
      running--;
      return device === 'ghost' ? undefined : `room-of-${device}`;
    };
    const input = [r('slow', 1), r('a', 2), r('ghost', 3), r('b', 4), r('a', 5), r('c', 6)];
    const op = enrich({ key: (x: Reading) => x.device, reference: lookup, join: joinRoom, concurrency: 3 });
    const out = await lastValueFrom(from(input).pipe(op, toArray()));
    assert.deepEqual(out, ['slow@room-of-slow=1', 'a@room-of-a=2', 'b@room-of-b=4', 'a@room-of-a=5', 'c@room-of-c=6']);
    assert.equal(peak, 3, 'at most `concurrency` lookups at once');
    assert.deepEqual(calls, ['slow', 'a', 'ghost', 'b', 'c'], 'one lookup per key while in flight');
    assert.equal(op.stats.missing, 1);
    assert.equal(op.stats.lookups, 5);
  });

  it('counts a failing lookup as a miss with reason lookup-error and goes on', async () => {
    const misses: EnrichDropReason[] = [];
    const op = enrich({
      key: (x: Reading) => x.device,
      reference: async (device: string) => {
        if (device === 'bad') throw new Error('db down');
        return 'ok';
      },
      join: joinRoom,
      onMiss: (_x, reason) => misses.push(reason),
    });
    assert.deepEqual(await lastValueFrom(from([r('bad', 1), r('good', 2)]).pipe(op, toArray())), ['good@ok=2']);
    assert.deepEqual(misses, ['lookup-error']);
    assert.equal(op.stats.lookupErrors, 1);
  });

  it('bounds what waits: beyond maxWaiting an element is dropped as overflow', async () => {
    const op = enrich({ key: (x: Reading) => x.device, reference: async (d: string) => { await sleep(5); return d; }, join: joinRoom, maxWaiting: 2, concurrency: 1 });
    const out = await lastValueFrom(from([r('a', 1), r('b', 2), r('c', 3)]).pipe(op, toArray()));
    assert.deepEqual(out, ['a@a=1', 'b@b=2']);
    assert.equal(op.stats.overflow, 1);
  });

  it('validates its options at creation', () => {
    assert.throws(() => enrich({ key: (x: Reading) => x.device, reference: 42 as unknown as Map<string, string>, join: joinRoom }), (e: unknown) => e instanceof ConfigError && /"reference" must be a Map, a lookup function or an Observable/.test(e.message));
    assert.throws(() => enrich({ key: (x: Reading) => x.device, reference: rooms, join: joinRoom, concurrency: 0 }), /"concurrency" must be an integer in \[1, 10000\]/);
    assert.throws(() => enrich({ key: (x: Reading) => x.device, reference: rooms, join: joinRoom, onMissing: 'skip' as 'drop' }), /"onMissing"/);
  });

  it('output + dropped = input, in input order, for random async lookups (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ device: fc.constantFrom('a', 'b', 'c', 'd', 'x'), v: fc.integer() }), { maxLength: 40 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 5, maxLength: 5 }),
        async (records, concurrency, delays) => {
          const input = records.map(({ device, v }) => ({ device, v }));
          const lookup = async (device: string): Promise<string | undefined> => {
            await sleep(delays['abcdx'.indexOf(device)]);
            return device === 'x' ? undefined : device.toUpperCase();
          };
          const dropped: Reading[] = [];
          const op = enrich({ key: (x: Reading) => x.device, reference: lookup, join: (x, room) => ({ ...x, room }), concurrency, onMiss: (x) => dropped.push(x) });
          const out = await lastValueFrom(from(input).pipe(op, toArray()), { defaultValue: [] });
          assert.deepEqual(out.map(({ device, v }) => ({ device, v })), input.filter((x) => x.device !== 'x'));
          assert.deepEqual(dropped, input.filter((x) => x.device === 'x'));
          for (const x of out) assert.equal(x.room, x.device.toUpperCase());
        },
      ),
      { numRuns: 60 },
    );
  });
});
