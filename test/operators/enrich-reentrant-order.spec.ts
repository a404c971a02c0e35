/**
 * enrich with a subscriber that feeds elements back into the source while elements go out (a
 * Subject wired back into itself). Promise: output in input order, whatever the reference.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Subject } from 'rxjs';
import { enrich, type EnrichReference } from '../../operators/enrich.js';
import { seededRandom } from '../../src/testing/random.js';

interface Reading {
  readonly id: number;
  readonly device: number;
}

const registry = new Map(Array.from({ length: 6 }, (_, device) => [device, `room${device}`] as const));

describe('enrich fed back into from downstream: output in input order', () => {
  it('snapshots: an element fed back while the elements that waited for the first snapshot go out comes after them', () => {
    const snapshots = new Subject<ReadonlyMap<string, number>>();
    const source = new Subject<string>();
    const op = enrich({ key: (e: string) => e, reference: snapshots, join: (e, r) => `${e}:${r}` });
    const out: string[] = [];
    let fed = false;
    source.pipe(op).subscribe((x) => {
      out.push(x);
      if (!fed) {
        fed = true;
        source.next('d');
      }
    });
    source.next('a');
    source.next('b');
    source.next('c');
    snapshots.next(new Map([['a', 1], ['b', 2], ['c', 3], ['d', 4]]));
    assert.deepEqual(out, ['a:1', 'b:2', 'c:3', 'd:4']);
    assert.equal(op.stats.joined, 4);
  });

  it('snapshots: a second snapshot pushed while the waiting elements go out decides none of them again (each counted once)', () => {
    const snapshots = new Subject<ReadonlyMap<string, number>>();
    const source = new Subject<string>();
    const misses: string[] = [];
    const op = enrich({ key: (e: string) => e, reference: snapshots, join: (e, r) => `${e}:${r}`, onMiss: (e) => misses.push(e) });
    const out: string[] = [];
    let pushed = false;
    source.pipe(op).subscribe((x) => {
      out.push(x);
      if (!pushed) {
        pushed = true;
        snapshots.next(new Map([['a', 10], ['b', 20], ['c', 30], ['d', 40]]));
      }
    });
    for (const e of ['a', 'b', 'c', 'd']) source.next(e);
    snapshots.next(new Map([['a', 1], ['b', 2], ['c', 3]]));
    source.next('d');
    // b, c and the first d were decided with the first snapshot; the second d meets the second.
    assert.deepEqual(out, ['a:1', 'b:2', 'c:3', 'd:40']);
    assert.deepEqual(misses, ['d']);
    assert.equal(op.stats.joined, 4);
    assert.equal(op.stats.missing, 1);
    assert.equal(op.stats.dropped, 1);
  });

  const kinds = ['map', 'lookup', 'snapshots'] as const;
  for (const kind of kinds) {
    it(`property (${kind}): random feedback, every element out once, in the order it came in`, async () => {
      for (let run = 0; run < 60; run++) {
        const seed = 4100 + run;
        const random = seededRandom(seed);
        const snapshots = new Subject<ReadonlyMap<number, string>>();
        const hops = async (): Promise<void> => {
          for (let i = Math.floor(random() * 4); i > 0; i--) await Promise.resolve();
        };
        const reference: EnrichReference<number, string> =
          kind === 'map' ? registry : kind === 'snapshots' ? snapshots : async (device: number) => (await hops(), registry.get(device));
        const op = enrich({
          key: (r: Reading) => r.device,
          reference,
          join: (r) => r.id,
          concurrency: 1 + Math.floor(random() * 3),
          cacheSize: Math.floor(random() * 3),
        });
        const source = new Subject<Reading>();
        const accepted: number[] = [];
        const out: number[] = [];
        let nextId = 0;
        let feedback = 40;
        let ending = false;
        const give = (): void => {
          const reading = { id: nextId++, device: Math.floor(random() * registry.size) };
          accepted.push(reading.id);
          source.next(reading);
        };
        const done = new Promise<void>((resolve, reject) =>
          source.pipe(op).subscribe({
            next: (id) => {
              out.push(id);
              if (!ending && feedback > 0 && random() < 0.4) {
                feedback--;
                give();
              }
            },
            error: reject,
            complete: resolve,
          }),
        );
        for (let i = 0; i < 30; i++) {
          give();
          if (kind === 'snapshots' && i === 10) snapshots.next(registry);
          if (random() < 0.2) await hops();
        }
        ending = true;
        source.complete();
        await done;
        assert.deepEqual(out, accepted, `seed ${seed}`);
        assert.equal(op.stats.joined, accepted.length, `seed ${seed}`);
      }
    });
  }
});
