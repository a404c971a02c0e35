import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { tumblingWindow, type Aggregation, type TumblingWindowOptions } from '../../operators/tumbling-window.js';
import { ConfigError } from '../../src/core/errors.js';
import type { Logger } from '../../src/core/logger.js';
import type { Labels, Sample } from '../../src/core/model.js';
import { PipelineState } from '../../src/durable/pipeline-state.js';
import { cachedLabelsKey } from '../../src/core/series-key.js';
import { feed, runCut, SLOT, throughJson } from './support/checkpoint-cut.js';

const s = (labels: Labels, timestamp: number, value = 1): Sample => ({ labels, value, timestamp });

/** The samples that share a series (as the sink keys it) and a timestamp with an earlier one. */
function duplicates(output: readonly Sample[]): string[] {
  const seen = new Set<string>();
  const repeated: string[] = [];
  for (const sample of output) {
    const id = `${cachedLabelsKey(sample.labels)}@${sample.timestamp}`;
    if (seen.has(id)) repeated.push(`${JSON.stringify(sample.labels)} at ${sample.timestamp}`);
    seen.add(id);
  }
  return repeated;
}

/** A logger that keeps what it is given. */
function recordingLogger(): Logger & { readonly warnings: Array<Record<string, unknown>>; readonly messages: string[]; readonly details: unknown[] } {
  const warnings: Array<Record<string, unknown>> = [];
  const messages: string[] = [];
  const details: unknown[] = [];
  return {
    warnings,
    messages,
    details,
    debug: (fields) => details.push(fields['detail']),
    info: () => {},
    warn: (fields, message) => {
      warnings.push(fields);
      messages.push(`${message} ${JSON.stringify(fields)}`);
    },
    error: () => {},
  };
}

/** What a test reads of an output sample: timestamp, name, the labels but __name__, value. */
const shape = (sample: Sample): [number, string, string, number] => {
  const { __name__: name, ...rest } = sample.labels;
  const labels = Object.keys(rest).sort().map((label) => `${label}=${rest[label]}`).join(',');
  return [sample.timestamp, name, labels, sample.value];
};

describe('tumblingWindow: never two samples of one series at one timestamp', () => {
  it('input series that differ only by a quantile label: in each window the first writes the quantile output, the other is dropped as invalid, counted, logged', () => {
    const p50: Labels = { __name__: 'rpc', job: 'x', quantile: '0.5' };
    const p90: Labels = { __name__: 'rpc', job: 'x', quantile: '0.9' };
    const dropped: Array<[number, string]> = [];
    const logger = recordingLogger();
    const op = tumblingWindow({ sizeMs: 10, aggregations: ['count', { quantile: 0.99 }], onDrop: (e, reason) => dropped.push([e.timestamp, reason]), logger });
    const run = feed(op, [s(p50, 1, 1), s(p90, 2, 5), s(p50, 3, 2), s(p90, 4, 6), s(p90, 12, 7), s(p50, 13, 3)]);
    assert.deepEqual(duplicates(run.output), []);
    assert.deepEqual(run.output.map(shape), [
      [10, 'rpc_count', 'job=x,quantile=0.5', 2], [10, 'rpc', 'job=x,quantile=0.99', 1],
      [20, 'rpc_count', 'job=x,quantile=0.9', 1], [20, 'rpc', 'job=x,quantile=0.99', 7],
    ]);
    assert.deepEqual(dropped, [[2, 'invalid'], [4, 'invalid'], [13, 'invalid']]);
    assert.deepEqual({ accepted: op.stats.accepted, invalid: op.stats.invalid, samplesOut: op.stats.samplesOut }, { accepted: 3, invalid: 3, samplesOut: 4 });
    // Warned once per window and refused series; every drop logged with what was wrong.
    assert.deepEqual(logger.warnings.map((w) => [w['series'], w['writtenBy'], w['window']]), [
      ['rpc{job="x",quantile="0.9"}', 'rpc{job="x",quantile="0.5"}', 0],
      ['rpc{job="x",quantile="0.5"}', 'rpc{job="x",quantile="0.9"}', 10],
    ]);
    assert.equal(logger.details.length, 3);
    assert.match(String(logger.details[0]), /input series rpc\{job="x",quantile="0.9"\}: its output rpc\{job="x",quantile="0.99"\} at 10 is written by input series rpc\{job="x",quantile="0.5"\}/);
  });

  it('a series that shared an output and was forgotten, then comes back: still the first in each window writes it', () => {
    const p50: Labels = { __name__: 'rpc', quantile: '0.5' };
    const p90: Labels = { __name__: 'rpc', quantile: '0.9' };
    const dropped: string[] = [];
    const op = tumblingWindow({ sizeMs: 10, aggregations: ['count', { quantile: 0.5 }], onDrop: (e) => dropped.push(`${e.labels['quantile']}@${e.timestamp}`) });
    // p50 stops after the first window and is forgotten two windows on; p90 writes alone; p50 comes back behind p90, then ahead of it.
    const run = feed(op, [s(p50, 1, 1), s(p90, 2, 9), s(p90, 12, 2), s(p90, 22, 3), s(p90, 32, 4), s(p90, 52, 5), s(p50, 53, 6), s(p50, 61, 7), s(p90, 62, 8)]);
    assert.deepEqual(duplicates(run.output), []);
    assert.deepEqual(run.output.map(shape), [
      [10, 'rpc_count', 'quantile=0.5', 1], [10, 'rpc', 'quantile=0.5', 1],
      [20, 'rpc_count', 'quantile=0.9', 1], [20, 'rpc', 'quantile=0.5', 2],
      [30, 'rpc_count', 'quantile=0.9', 1], [30, 'rpc', 'quantile=0.5', 3],
      [40, 'rpc_count', 'quantile=0.9', 1], [40, 'rpc', 'quantile=0.5', 4],
      [60, 'rpc_count', 'quantile=0.9', 1], [60, 'rpc', 'quantile=0.5', 5],
      [70, 'rpc_count', 'quantile=0.5', 1], [70, 'rpc', 'quantile=0.5', 7],
    ]);
    assert.deepEqual(dropped, ['0.9@2', '0.5@53', '0.9@62']);
    assert.equal(op.stats.invalid, 3);
  });

  it('two aggregations that names gives one output name are a ConfigError at creation naming the names entry', () => {
    const cases: Array<[Aggregation[], TumblingWindowOptions<Sample>['names'], string, RegExp]> = [
      [['min', 'max'], { min: (m) => `${m}_x`, max: (m) => `${m}_x` }, 'names.max', /names\.min gives the same name/],
      [['count', 'max'], { max: (m) => `${m}_count` }, 'names.max', /aggregations\[0\] \(count\) gives the same name/],
      [['max', 'count'], { max: (m) => `${m}_count` }, 'names.max', /aggregations\[1\] \(count\) gives the same name/],
      [['sum', 'avg'], { sum: () => 'total', avg: () => 'total' }, 'names.avg', /names\.sum gives the same name.*got "total"/],
    ];
    for (const [aggregations, names, option, message] of cases) {
      assert.throws(() => tumblingWindow({ sizeMs: 10, aggregations, names }), (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.equal(error.option, option);
        assert.match(error.message, message);
        return true;
      });
    }
    // A names function that throws is not called to death at creation: it throws in the stream, which errors.
    const throwing = tumblingWindow({ sizeMs: 10, aggregations: ['count', 'max'], names: { max: () => { throw new Error('no name'); } } });
    const failed = feed(throwing, [s({ __name__: 'temp' }, 1)]);
    assert.deepEqual(failed.errors.map((e) => (e as Error).message), ['no name']);
    // A scalar named like the quantiles is apart from them by their quantile label; an entry for an aggregation not asked for names nothing.
    const op = tumblingWindow({ sizeMs: 10, aggregations: ['max', { quantile: 0.5 }], names: { max: (m) => m, min: (m) => m } });
    const run = feed(op, [s({ __name__: 'temp' }, 1, 4)]);
    assert.deepEqual(run.output.map(shape), [[10, 'temp', '', 4], [10, 'temp', 'quantile=0.5', 4]]);
  });

  it('names that give two aggregations one name only for some metric: that input series is dropped whole as invalid, the others go on', () => {
    const temp: Labels = { __name__: 'temp', room: 'a' };
    const hum: Labels = { __name__: 'hum', room: 'a' };
    const logger = recordingLogger();
    const dropped: string[] = [];
    const op = tumblingWindow({ sizeMs: 10, aggregations: ['count', 'max'], names: { max: (m) => (m === 'hum' ? 'hum_count' : `${m}_max`) }, onDrop: (e, reason) => dropped.push(`${e.labels['__name__']} ${reason}`), logger });
    const run = feed(op, [s(temp, 1, 3), s(hum, 2, 50), s(hum, 12, 51), s(temp, 13, 4)]);
    assert.deepEqual(duplicates(run.output), []);
    assert.deepEqual(run.output.map(shape), [[10, 'temp_count', 'room=a', 1], [10, 'temp_max', 'room=a', 3], [20, 'temp_count', 'room=a', 1], [20, 'temp_max', 'room=a', 4]]);
    assert.deepEqual(dropped, ['hum invalid', 'hum invalid']);
    assert.deepEqual({ accepted: op.stats.accepted, invalid: op.stats.invalid }, { accepted: 2, invalid: 2 });
    assert.equal(logger.warnings.length, 1, 'warned when the series is first seen, not per element');
    assert.match(String(logger.details[0]), /hum\{room="a"\}: aggregations\[0\] \(count\) and names\.max both give it the output hum_count\{room="a"\}/);
  });

  it('names that map several metrics to one name: per window the first input series writes the output; label sets that differ only by an empty value are one series', () => {
    const temp: Labels = { __name__: 'temp', room: 'a' };
    // site="" is no label at all on the wire: readings{room="a"} again.
    const hum: Labels = { __name__: 'hum', room: 'a', site: '' };
    const other: Labels = { __name__: 'temp', room: 'b' };
    const dropped: number[] = [];
    const op = tumblingWindow({ sizeMs: 10, aggregations: ['count', 'sum'], names: { count: () => 'readings' }, onDrop: (e) => dropped.push(e.timestamp) });
    const run = feed(op, [s(temp, 1, 1), s(hum, 2, 60), s(other, 3, 2), s(temp, 4, 1), s(hum, 11, 61), s(temp, 12, 1), s(other, 13, 2)]);
    assert.deepEqual(duplicates(run.output), []);
    assert.deepEqual(run.output.map(shape), [
      [10, 'readings', 'room=a', 2], [10, 'temp_sum', 'room=a', 2],
      [10, 'readings', 'room=b', 1], [10, 'temp_sum', 'room=b', 2],
      [20, 'readings', 'room=a,site=', 1], [20, 'hum_sum', 'room=a,site=', 61],
      [20, 'readings', 'room=b', 1], [20, 'temp_sum', 'room=b', 2],
    ]);
    assert.deepEqual(dropped, [2, 12]);
    assert.equal(op.stats.invalid, 2);
    assert.equal(op.stats.accepted + op.stats.invalid + op.stats.late, 7);
  });

  it('with the default names, one input series\' quantile output meets another\'s count output (x_count{quantile="0.5"}): the second in the window is dropped', () => {
    const xCount: Labels = { __name__: 'x_count', room: 'a' };
    const x: Labels = { __name__: 'x', room: 'a', quantile: '0.5' };
    const op = tumblingWindow({ sizeMs: 10, aggregations: ['count', { quantile: 0.5 }] });
    const run = feed(op, [s(xCount, 1, 8), s(x, 2, 9), s(x, 13, 9), s(xCount, 14, 8)]);
    assert.deepEqual(duplicates(run.output), []);
    assert.deepEqual(run.output.map(shape), [
      [10, 'x_count_count', 'room=a', 1], [10, 'x_count', 'quantile=0.5,room=a', 8],
      [20, 'x_count', 'quantile=0.5,room=a', 1], [20, 'x', 'quantile=0.5,room=a', 9],
    ]);
    assert.deepEqual({ accepted: op.stats.accepted, invalid: op.stats.invalid }, { accepted: 2, invalid: 2 });
  });

  it('a checkpoint whose series would meet under the names given now (or saved by a version that let them meet) restores: the later writer in each window is dropped as invalid, counted, logged', () => {
    const temp: Labels = { __name__: 'temp', room: 'a' };
    const hum: Labels = { __name__: 'hum', room: 'a' };
    const pipeline = new PipelineState();
    const run = feed(tumblingWindow({ sizeMs: 10, aggregations: ['count', 'max'], state: pipeline.slot(SLOT) }), [s(temp, 1, 5), s(hum, 2, 7), s(hum, 3, 8)], false);
    const saved = throughJson(pipeline.snapshot());
    run.unsubscribe();
    const cases: Array<[TumblingWindowOptions<Sample>['names'], string[], RegExp]> = [
      // hum's outputs meet temp's (readings{room="a"}): temp came first in the window.
      [{ count: () => 'readings' }, ['1,readings,room=a,2', '1,temp_max,room=a,5'], /"series":"hum.*"writtenBy":"temp/],
      // hum's own two outputs are one series: it writes nothing.
      [{ max: (m) => (m === 'hum' ? 'hum_count' : `${m}_max`) }, ['1,temp_count,room=a,2', '1,temp_max,room=a,5'], /aggregations\[0\] \(count\) and names\.max both give it/],
    ];
    for (const [names, expected, warning] of cases) {
      const logger = recordingLogger();
      const op = tumblingWindow({ sizeMs: 10, aggregations: ['count', 'max'], names, logger, state: new PipelineState(saved).slot(SLOT) });
      const restored = feed(op, [s(temp, 4, 3)]);
      assert.deepEqual(restored.errors, []);
      assert.deepEqual(restored.output.map(shape).map((x) => x.join(',')), expected.map((e) => e.replace(/^1,/, '10,')));
      assert.deepEqual(duplicates(restored.output), []);
      assert.equal(op.stats.accepted, 2, 'temp\'s two elements');
      assert.equal(op.stats.invalid, 2, 'hum\'s two saved elements are dropped');
      assert.match(logger.messages.join('\n'), warning);
    }
  });

  // Few label sets, built to meet: quantile labels, metric names that are another's output name, an empty value.
  const UNIVERSE: Labels[] = [
    { __name__: 'x', room: 'a' },
    { __name__: 'x', room: 'a', quantile: '0.5' },
    { __name__: 'x', room: 'a', quantile: '0.9' },
    { __name__: 'x_count', room: 'a' },
    { __name__: 'x_count', room: 'a', quantile: '0.5' },
    { __name__: 'y', room: 'a', site: '' },
    { __name__: 'y', room: 'b' },
  ];
  const NAMINGS: Array<TumblingWindowOptions<Sample>['names']> = [
    undefined,
    { count: () => 'x_count' },
    { max: (m) => (m === 'x' ? 'x_count' : `${m}_max`) },
    { sum: (m) => m, quantile: (m) => `${m}_q` },
  ];
  const AGGREGATION_SETS: Aggregation[][] = [
    ['count', 'max', { quantile: 0.5 }],
    ['count', 'sum', { quantile: 0.5 }, { quantile: 0.9 }],
    ['max', 'count'],
    [{ quantile: 0.5 }, 'sum'],
  ];
  const SEED = 20261126;
  const input = fc.array(fc.record({ series: fc.nat({ max: UNIVERSE.length - 1 }), copy: fc.boolean(), value: fc.integer({ min: -9, max: 9 }), timestamp: fc.integer({ min: 0, max: 60 }) }), { maxLength: 120 })
    .map((raw) => raw.map(({ series, copy, value, timestamp }) => ({ labels: copy ? { ...UNIVERSE[series] } : UNIVERSE[series], value, timestamp })));
  const options = fc.record({ names: fc.nat({ max: NAMINGS.length - 1 }), aggregations: fc.nat({ max: AGGREGATION_SETS.length - 1 }), sizeMs: fc.integer({ min: 5, max: 30 }), allowedLatenessMs: fc.integer({ min: 0, max: 20 }) });

  it(`property (seed ${SEED}): over input series built to meet, no output repeats a series and timestamp, every element is accepted or counted, and a checkpoint cut anywhere gives what one run gives`, () => {
    fc.assert(
      fc.property(input, options, fc.nat(), (elements, o, cut) => {
        const operators: Array<ReturnType<typeof tumblingWindow>> = [];
        const { whole, before, after } = runCut((state) => {
          const op = tumblingWindow({ sizeMs: o.sizeMs, allowedLatenessMs: o.allowedLatenessMs, aggregations: AGGREGATION_SETS[o.aggregations], names: NAMINGS[o.names], state });
          operators.push(op);
          return op;
        }, elements, cut % (elements.length + 1));
        assert.deepEqual(whole.errors, []);
        assert.deepEqual(duplicates(whole.output), [], `seed ${SEED}`);
        const stats = operators[0].stats;
        assert.equal(stats.accepted + stats.late + stats.invalid, elements.length, `seed ${SEED}: every element accepted or counted`);
        assert.equal(stats.samplesOut, whole.output.length);
        assert.deepStrictEqual([...before.output, ...after.output], whole.output, `seed ${SEED}: the cut run emits what one run emits`);
        const { openWindows: _a, ...restored } = operators[2].stats;
        const { openWindows: _b, ...uninterrupted } = stats;
        assert.deepEqual(restored, uninterrupted, `seed ${SEED}: the counters continue from the checkpoint`);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});
