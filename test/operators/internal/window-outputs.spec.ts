import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildOutputs, keyWithoutQuantile, outputClasses, outputKey, type OutputCheck } from '../../../operators/internal/window-outputs.js';
import type { Aggregation } from '../../../operators/internal/aggregation.js';
import { cachedLabelsKey } from '../../../src/core/series-key.js';
import type { Labels } from '../../../src/core/model.js';

const SUFFIX: Record<string, string> = { count: '_count', sum: '_sum', min: '_min', max: '_max', avg: '_avg', first: '_first', last: '_last' };
const defaultName = (a: Aggregation, m: string): string => (typeof a === 'object' ? m : m + SUFFIX[a]);

/** The classes of one input series, as the operator asks for them. */
function classesOf(check: OutputCheck, input: Labels, aggregations: Aggregation[], name = defaultName) {
  const outputs = buildOutputs(input, input['__name__'], aggregations, name);
  const quantileLabels = new Set(aggregations.flatMap((a) => (typeof a === 'object' ? [String(a.quantile)] : [])));
  return { outputs, ...outputClasses(check, input, cachedLabelsKey(input), outputs, aggregations.map((a) => typeof a === 'object'), quantileLabels) };
}

describe('window outputs', () => {
  it('builds one frozen label set per aggregation; a quantile replaces the input quantile label, scalars keep it; __proto__ stays a label', () => {
    const input = JSON.parse('{"__name__":"rpc","quantile":"0.5","__proto__":"p"}') as Labels;
    const outputs = buildOutputs(input, 'rpc', ['count', { quantile: 0.9 }], defaultName);
    assert.deepEqual(outputs.map((o) => ({ ...o })), [{ __name__: 'rpc_count', quantile: '0.5', ['__proto__']: 'p' }, { __name__: 'rpc', quantile: '0.9', ['__proto__']: 'p' }].map((o) => JSON.parse(JSON.stringify(o))));
    assert.ok(outputs.every((o) => Object.isFrozen(o) && Object.getPrototypeOf(o) === Object.prototype));
  });

  it('keys a label set without its quantile label, empty values left out, as the sink does', () => {
    assert.equal(keyWithoutQuantile({ __name__: 'x', room: 'a', quantile: '0.5' }), cachedLabelsKey({ __name__: 'x', room: 'a' }));
    assert.equal(keyWithoutQuantile({ __name__: 'x', room: 'a', site: '' }), cachedLabelsKey({ __name__: 'x', room: 'a' }));
    assert.equal(outputKey({ __name__: 'x', quantile: '' }), cachedLabelsKey({ __name__: 'x' }));
  });

  it('classes per check: none without quantiles or names; with quantiles the input key itself for an input without a quantile label', () => {
    assert.deepEqual(classesOf('none', { __name__: 'x' }, ['count']).classes, []);
    const plain: Labels = { __name__: 'x', room: 'a' };
    assert.deepEqual(classesOf('quantile-labelled', plain, ['count', { quantile: 0.5 }]).classes, [cachedLabelsKey(plain)]);
    // A quantile label no quantile output has: only the quantile outputs' class (the input less its label).
    assert.deepEqual(classesOf('quantile-labelled', { __name__: 'x', quantile: 'p' }, ['count', { quantile: 0.5 }]).classes, [cachedLabelsKey({ __name__: 'x' })]);
    // quantile="0.5" as asked: the count output x_count{quantile="0.5"} is x_count's 0.5 quantile, so its class counts too.
    assert.deepEqual(classesOf('quantile-labelled', { __name__: 'x', quantile: '0.5' }, ['count', { quantile: 0.5 }]).classes, [cachedLabelsKey({ __name__: 'x' }), cachedLabelsKey({ __name__: 'x_count' })]);
  });

  it('with names, finds two outputs of one series that are one series (by index), and only those', () => {
    const sumAsName = (a: Aggregation, m: string): string => (a === 'sum' ? m : defaultName(a, m));
    assert.deepEqual(classesOf('all', { __name__: 'x', quantile: '0.5' }, ['sum', { quantile: 0.5 }], sumAsName).twice, [0, 1]);
    assert.equal(classesOf('all', { __name__: 'x', quantile: '0.9' }, ['sum', { quantile: 0.5 }], sumAsName).twice, null);
    assert.equal(classesOf('all', { __name__: 'x' }, ['sum', { quantile: 0.5 }], sumAsName).twice, null);
    assert.deepEqual(classesOf('all', { __name__: 'x' }, ['count', 'max', 'min'], (a, m) => (a === 'count' ? m : `${m}_${a === 'max' ? 'count' : 'min'}`)).twice, null);
    assert.deepEqual(classesOf('all', { __name__: 'x' }, ['count', 'max', 'min'], (a, m) => (a === 'count' ? `${m}_min` : `${m}_${String(a)}`)).twice, [0, 2]);
  });

  const SEED = 4242;
  it(`property (seed ${SEED}): two input series with one output series in common share a class, and a series with two outputs in one is found`, () => {
    const universe: Labels[] = [
      { __name__: 'x' }, { __name__: 'x', quantile: '0.5' }, { __name__: 'x', quantile: '0.9' }, { __name__: 'x', quantile: '' },
      { __name__: 'x_count' }, { __name__: 'x_count', quantile: '0.5' }, { __name__: 'x_sum', room: 'a' }, { __name__: 'x', room: 'a', quantile: '0.5' },
      { __name__: 'y', room: 'a' }, { __name__: 'y', room: 'a', site: '' }, { __name__: 'x', room: 'a' },
    ];
    const namings: Array<((a: Aggregation, m: string) => string) | undefined> = [
      undefined,
      (a, m) => (a === 'count' ? 'x_count' : defaultName(a, m)),
      (a, m) => (a === 'sum' ? m : defaultName(a, m)),
      (a, m) => (a === 'max' && m === 'x' ? 'x_count' : defaultName(a, m)),
      (a, m) => (typeof a === 'object' ? `${m}_sum` : defaultName(a, m)),
      (a, m) => (typeof a === 'object' ? 'x' : a === 'count' ? 'y' : defaultName(a, m)),
    ];
    const aggregationSets: Aggregation[][] = [['count', 'sum'], ['count', { quantile: 0.5 }], ['sum', 'max', { quantile: 0.5 }, { quantile: 0.9 }], [{ quantile: 0.5 }], ['max', 'count', 'sum']];
    fc.assert(
      fc.property(fc.nat({ max: universe.length - 1 }), fc.nat({ max: universe.length - 1 }), fc.nat({ max: namings.length - 1 }), fc.nat({ max: aggregationSets.length - 1 }), (i, j, n, g) => {
        const aggregations = aggregationSets[g];
        const naming = namings[n];
        const check: OutputCheck = naming !== undefined ? 'all' : aggregations.some((a) => typeof a === 'object') ? 'quantile-labelled' : 'none';
        const a = classesOf(check, universe[i], aggregations, naming ?? defaultName);
        const b = classesOf(check, universe[j], aggregations, naming ?? defaultName);
        const keysA = a.outputs.map(outputKey);
        const keysB = b.outputs.map(outputKey);
        const selfMeets = keysA.some((key, k) => keysA.indexOf(key) !== k);
        assert.equal(a.twice !== null, selfMeets, `seed ${SEED}: two outputs of ${JSON.stringify(universe[i])} in one series found`);
        if (a.twice !== null) assert.equal(keysA[a.twice[0]], keysA[a.twice[1]]);
        if (cachedLabelsKey(universe[i]) === cachedLabelsKey(universe[j]) || a.twice !== null || b.twice !== null) return;
        if (keysA.some((key) => keysB.includes(key))) {
          assert.ok(a.classes.some((c) => b.classes.includes(c)), `seed ${SEED}: ${JSON.stringify(universe[i])} and ${JSON.stringify(universe[j])} meet in an output but share no class`);
        }
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });
});
