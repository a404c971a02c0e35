import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BehaviorSubject, Subject, type OperatorFunction } from 'rxjs';
import fc from 'fast-check';
import { enrich } from '../../operators/enrich.js';
import { PipelineState, type StateSlot } from '../../src/durable/pipeline-state.js';
import { feed, SLOT, throughJson } from './support/checkpoint-cut.js';

interface Reading {
  readonly id: number;
  readonly device: string;
}

interface Joined {
  readonly id: number;
  readonly room: string;
}

const ROOMS = new Map([['d0', 'kitchen'], ['d1', 'hall'], ['d2', 'attic']]);
const DEVICES = ['d0', 'd1', 'd2', 'unknown', 'broken'];

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** An async lookup answering after a number of event-loop turns taken in turn from `delays`; 'broken' rejects. */
function slowLookup(delays: readonly number[]): (device: string) => Promise<string | undefined> {
  let calls = 0;
  return async (device) => {
    const turns = delays[calls++ % delays.length];
    for (let i = 0; i < turns; i++) await nextTurn();
    if (device === 'broken') throw new Error('registry down');
    return ROOMS.get(device);
  };
}

interface AsyncRun {
  readonly output: Joined[];
  readonly errors: unknown[];
  readonly subscription: { unsubscribe(): void };
  readonly done: Promise<void>;
}

/** Feeds `input`, letting the event loop turn after the elements marked in `pauses`; completes if asked. */
async function feedAsync(operator: OperatorFunction<Reading, Joined>, input: readonly Reading[], pauses: readonly boolean[], complete: boolean): Promise<AsyncRun> {
  const source = new Subject<Reading>();
  const output: Joined[] = [];
  const errors: unknown[] = [];
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  const subscription = source.pipe(operator).subscribe({ next: (value) => output.push(value), error: (error: unknown) => (errors.push(error), finished()), complete: () => finished() });
  for (let i = 0; i < input.length; i++) {
    source.next(input[i]);
    if (pauses[input[i].id % pauses.length]) await nextTurn();
  }
  if (complete) source.complete();
  return { output, errors, subscription, done };
}

type Policy = 'drop' | { readonly default: string };

const makeEnrich = (delays: readonly number[], concurrency: number, cacheSize: number, onMissing: Policy, state?: StateSlot<never>): OperatorFunction<Reading, Joined> =>
  enrich({ key: (r: Reading) => r.device, reference: slowLookup(delays), join: (r, room: string): Joined => ({ id: r.id, room }), onMissing, concurrency, cacheSize, state });

describe('enrich with state', () => {
  it('a cut while lookups are in flight, checkpointed through JSON and restored into a new operator: every element comes out once, in order, as in one run', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...DEVICES), { maxLength: 40 }),
        fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 4 }),
        fc.constantFrom(0, 100),
        fc.constantFrom<Policy>('drop', { default: 'nowhere' }),
        fc.nat(),
        async (devices, pauses, delays, concurrency, cacheSize, onMissing, cut) => {
          const input = devices.map((device, id) => ({ id, device }));
          const k = cut % (input.length + 1);
          const whole = await feedAsync(makeEnrich(delays, concurrency, cacheSize, onMissing), input, pauses, true);
          await whole.done;

          const first = new PipelineState();
          const before = await feedAsync(makeEnrich(delays, concurrency, cacheSize, onMissing, first.slot(SLOT)), input.slice(0, k), pauses, false);
          const saved = throughJson(first.snapshot());
          before.subscription.unsubscribe();
          const emitted = before.output.length;
          // Lookups still in flight when unsubscribed are ignored.
          for (let i = 0; i < 5; i++) await nextTurn();
          assert.equal(before.output.length, emitted);

          const after = await feedAsync(makeEnrich(delays, concurrency, cacheSize, onMissing, new PipelineState(saved).slot(SLOT)), input.slice(k), pauses, true);
          await after.done;
          assert.deepEqual(after.errors, []);
          assert.deepStrictEqual([...before.output, ...after.output], whole.output);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('saves the elements waiting behind a lookup in flight, also those already answered from the cache, in input order', async () => {
    const pipeline = new PipelineState();
    let answer!: (room: string) => void;
    const lookup = (device: string): string | Promise<string> => (device === 'd0' ? new Promise<string>((resolve) => (answer = resolve)) : (ROOMS.get(device) as string));
    const op = enrich({ key: (r: Reading) => r.device, reference: lookup, join: (r, room: string): Joined => ({ id: r.id, room }), state: pipeline.slot(SLOT) });
    const run = feed(op, [{ id: 0, device: 'd1' }, { id: 1, device: 'd0' }, { id: 2, device: 'd1' }, { id: 3, device: 'd2' }], false);
    assert.deepEqual(run.output, [{ id: 0, room: 'hall' }]);
    const saved = throughJson(pipeline.snapshot());
    assert.deepEqual((saved[SLOT] as { waiting: unknown[] }).waiting, [{ id: 1, device: 'd0' }, { id: 2, device: 'd1' }, { id: 3, device: 'd2' }]);
    run.unsubscribe();
    answer('kitchen');
    await nextTurn();
    assert.equal(run.output.length, 1, 'an answer after unsubscription is ignored');

    const restored = feed(enrich({ key: (r: Reading) => r.device, reference: ROOMS, join: (r, room: string): Joined => ({ id: r.id, room }), state: new PipelineState(saved).slot(SLOT) }), [{ id: 4, device: 'd0' }]);
    assert.deepEqual(restored.output.map((j) => j.id), [1, 2, 3, 4]);
  });

  it('elements waiting for the first snapshot of the reference are saved and joined once a snapshot comes in the next run', () => {
    const pipeline = new PipelineState();
    const join = (r: Reading, room: string): Joined => ({ id: r.id, room });
    const run = feed(enrich({ key: (r: Reading) => r.device, reference: new Subject<ReadonlyMap<string, string>>(), join, state: pipeline.slot(SLOT) }), [{ id: 0, device: 'd0' }, { id: 1, device: 'd2' }], false);
    const saved = throughJson(pipeline.snapshot());
    run.unsubscribe();
    assert.deepEqual(run.output, []);
    const next = feed(enrich({ key: (r: Reading) => r.device, reference: new BehaviorSubject<ReadonlyMap<string, string>>(ROOMS), join, state: new PipelineState(saved).slot(SLOT) }), [{ id: 2, device: 'd1' }]);
    assert.deepEqual(next.output, [{ id: 0, room: 'kitchen' }, { id: 1, room: 'attic' }, { id: 2, room: 'hall' }]);
  });

  it('a state of another shape errors the stream with a message naming the slot, and leaves the slot free', () => {
    for (const [state, message] of [
      [{ operator: 'dropOutliers', version: 1 }, /slot "stage".*saved by dropOutliers/],
      [{ operator: 'enrich', version: 1, waiting: 'x' }, /slot "stage".*waiting should be an array, is string/],
    ] as Array<[unknown, RegExp]>) {
      const slot = new PipelineState({ [SLOT]: state }).slot<never>(SLOT);
      const result = feed(makeEnrich([0], 1, 0, 'drop', slot), [{ id: 0, device: 'd0' }]);
      assert.match((result.errors[0] as Error).message, message);
      assert.doesNotThrow(() => slot.attach({ snapshot: () => undefined as never })());
    }
  });
});
