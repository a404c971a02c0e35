/**
 * A subscriber that feeds elements back into the source while tumblingWindow emits closed windows
 * (a Subject wired back into itself). Promise: windows are emitted whole and in window order, so
 * every output series is in timestamp order for the sink; every element is counted once.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Subject } from 'rxjs';
import { tumblingWindow } from '../../operators/tumbling-window.js';
import { seededRandom } from '../../src/testing/random.js';
import type { Labels, Sample } from '../../src/core/model.js';

const A: Labels = { __name__: 'a' };
const B: Labels = { __name__: 'b' };
const at = (labels: Labels, timestamp: number): Sample => ({ labels, value: 1, timestamp });
const show = (s: Sample): string => `${s.labels['__name__']}@${s.timestamp}`;

describe('tumblingWindow fed back into from downstream while windows go out', () => {
  it('a fed-back element that closes later windows: they come out after the windows going out, in order', () => {
    const op = tumblingWindow({ sizeMs: 10, aggregations: ['count'], allowedLatenessMs: 15 });
    const source = new Subject<Sample>();
    const out: Sample[] = [];
    let fed = false;
    source.pipe(op).subscribe((s) => {
      out.push(s);
      // While a@10 goes out (b@10 still to come), an element far ahead closes every open window.
      if (!fed) {
        fed = true;
        source.next(at(A, 100));
      }
    });
    for (const [labels, t] of [[A, 1], [B, 2], [A, 12], [B, 13], [A, 22], [B, 23], [A, 40]] as const) source.next(at(labels, t));
    source.complete();
    assert.deepEqual(out.map(show), ['a_count@10', 'b_count@10', 'a_count@20', 'b_count@20', 'a_count@30', 'b_count@30', 'a_count@50', 'a_count@110']);
    assert.equal(op.stats.accepted, 8);
    assert.equal(op.stats.openWindows, 0);
  });

  it('the source completing while windows go out: the output completes after all of them', () => {
    const op = tumblingWindow({ sizeMs: 10, aggregations: ['count'], allowedLatenessMs: 100 });
    const source = new Subject<Sample>();
    const out: string[] = [];
    let completed = false;
    source.pipe(op).subscribe({
      next: (s) => {
        out.push(show(s));
        if (out.length === 1) source.complete();
      },
      complete: () => (completed = true),
    });
    for (const t of [1, 11, 21, 31, 500]) source.next(at(A, t));
    assert.deepEqual(out, ['a_count@10', 'a_count@20', 'a_count@30', 'a_count@40', 'a_count@510']);
    assert.equal(completed, true);
    assert.equal(op.stats.openWindows, 0);
  });

  it('property: random input and random feedback keep every series in timestamp order and every element counted', () => {
    for (let run = 0; run < 200; run++) {
      const seed = 1126 + run;
      const random = seededRandom(seed);
      const series: Labels[] = [{ __name__: 's0' }, { __name__: 's1' }, { __name__: 's2' }];
      const sizeMs = 1 + Math.floor(random() * 20);
      const op = tumblingWindow({ sizeMs, aggregations: ['count', 'max'], allowedLatenessMs: Math.floor(random() * 60) });
      const source = new Subject<Sample>();
      const out: Sample[] = [];
      let inputs = 0;
      let feedback = 30;
      let clock = 0;
      const next = (): void => {
        clock += Math.floor(random() * 25) - 8;
        inputs++;
        source.next({ labels: series[Math.floor(random() * series.length)], value: clock, timestamp: clock });
      };
      let completed = false;
      let ending = false;
      source.pipe(op).subscribe({
        next: (s) => {
          out.push(s);
          // Not once the source has completed: a completed Subject takes nothing more.
          if (!ending && feedback > 0 && random() < 0.3) {
            feedback--;
            next();
          }
        },
        complete: () => (completed = true),
      });
      for (let i = 0; i < 60; i++) next();
      ending = true;
      source.complete();
      const context = `seed ${seed}: ${out.map(show).join(' ')}`;
      assert.equal(completed, true, context);
      const last = new Map<string, number>();
      for (const s of out) {
        const name = s.labels['__name__'];
        assert.ok((last.get(name) ?? -Infinity) < s.timestamp, `${name} out of timestamp order; ${context}`);
        last.set(name, s.timestamp);
      }
      const counted = out.filter((s) => s.labels['__name__'].endsWith('_count')).reduce((sum, s) => sum + s.value, 0);
      assert.equal(counted, op.stats.accepted, context);
      assert.equal(op.stats.accepted + op.stats.late + op.stats.invalid, inputs, context);
      assert.equal(op.stats.openWindows, 0, context);
    }
  });
});
