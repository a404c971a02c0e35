import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkStrictSample,
  decodeOrRefuse,
  describeSeries,
  headBound,
  labelProblem,
  lenientLabels,
  Refusal,
  refusalOf,
  sameBits,
  seriesLabels,
  type RefusalReason,
} from '../../../src/testing/receiver/refusal-rules.js';
import { DecodeError, decodeWire } from '../../../src/protocol/decoder.js';
import { encodeWriteRequestReference } from '../../../src/protocol/reference.js';
import { snappyCompress } from '../../../src/protocol/snappy.js';
import { STALE_NAN } from '../../../src/core/model.js';

const T = 1_700_000_000_000;
const labels = (...pairs: Array<[string, string]>) => pairs.map(([name, value]) => ({ name, value }));
const wireOf = (pairs: Array<[string, string]>) => {
  const raw = Buffer.from(encodeWriteRequestReference({ timeseries: [{ labels: labels(...pairs), samples: [{ timestamp: T, value: 1 }] }] }));
  return decodeWire(raw);
};

/** The refusal `run` throws, as [status, reason], or 'none'. */
function refusalFrom(run: () => unknown): [number, RefusalReason] | 'none' {
  try {
    run();
    return 'none';
  } catch (error) {
    assert.ok(error instanceof Refusal, `not a Refusal: ${String(error)}`);
    return [error.status, error.reason];
  }
}

describe('labelProblem (strict label rules of the specification)', () => {
  it('accepts sorted, unique, valid names with non-empty values and a valid __name__', () => {
    assert.equal(labelProblem(labels(['__name__', 'up'], ['instance', 'a:1'], ['job', 'x'])), undefined);
    assert.equal(labelProblem(labels(['__name__', 'ns:metric_total'])), undefined);
  });

  it('names the first rule broken', () => {
    const cases: Array<[Array<[string, string]>, RegExp]> = [
      [[['b', '1'], ['__name__', 'm2'], ['a', '1']], /^labels are not sorted by name \("__name__" after "b"\)/],
      [[['__name__', 'm3'], ['a.b', 'x']], /^invalid label name "a\.b"$/],
      [[['__name__', 'm'], ['__reserved', 'x']], /^reserved label name "__reserved"$/],
      [[['__name__', 'm4'], ['a', '']], /^empty value for label "a"$/],
      [[['__name__', 'm5'], ['a', '1'], ['a', '2']], /^label name "a" is not unique$/],
      [[['a', '1']], /^no __name__ label$/],
      [[['__name__', '0bad-name']], /^invalid metric name "0bad-name"$/],
      [[['__name__', 'm'], ['x'.repeat(200) + '.', 'v']], /^invalid label name "x{77}\.\.\."$/],
    ];
    for (const [pairs, message] of cases) assert.match(labelProblem(labels(...pairs)) ?? 'none', message, JSON.stringify(pairs));
  });
});

describe('lenientLabels (VictoriaMetrics-like repair)', () => {
  it('sorts by name, keeps the last of repeated names, drops empty values', () => {
    assert.deepEqual(lenientLabels(labels(['z', '1'], ['__name__', 'x'], ['a', ''], ['z', '2'])), { names: ['__name__', 'z'], values: ['x', '2'] });
    assert.deepEqual(lenientLabels(labels(['a', '1'], ['a', ''])), { names: [], values: [] }, 'an empty value removes the label');
    assert.deepEqual(lenientLabels(labels(['a.b', '1'], ['__proto__', 'p'])), { names: ['__proto__', 'a.b'], values: ['p', '1'] });
  });
});

describe('seriesLabels', () => {
  it('strict: the labels as sent, or the broken rule with the series quoted', () => {
    const good = wireOf([['__name__', 'm'], ['a', '1']]);
    assert.deepEqual(seriesLabels(good, good.series[0], 'strict'), { names: ['__name__', 'a'], values: ['m', '1'] });
    const unsorted = wireOf([['b', '1'], ['__name__', 'm2'], ['a', '1']]);
    assert.match(seriesLabels(unsorted, unsorted.series[0], 'strict') as string, /not sorted.*: series \{b="1", __name__="m2", a="1"\}$/);
  });

  it('lenient: repaired labels, whatever was sent', () => {
    const unsorted = wireOf([['b', '1'], ['__name__', 'm2'], ['a', '']]);
    assert.deepEqual(seriesLabels(unsorted, unsorted.series[0], 'lenient'), { names: ['__name__', 'b'], values: ['m2', '1'] });
  });

  it('strict: refuses labels that are not UTF-8 with 400 at once; lenient decodes them', () => {
    const raw = Buffer.from(encodeWriteRequestReference({ timeseries: [{ labels: labels(['__name__', 'm'], ['city', 'Zürich']), samples: [] }] }));
    raw[raw.indexOf(Buffer.from([0xc3, 0xbc]))] = 0xbc;
    const wire = decodeWire(raw);
    assert.deepEqual(refusalFrom(() => seriesLabels(wire, wire.series[0], 'strict')), [400, 'invalid-labels']);
    assert.equal(refusalFrom(() => seriesLabels(wire, wire.series[0], 'lenient')), 'none');
  });
});

describe('checkStrictSample (Prometheus answers to ordering)', () => {
  const series = { __name__: 'm' };
  const bound = headBound(T, 3_600_000);
  const empty = headBound(-Infinity, 3_600_000);

  it('appends newer samples and the first one of a series', () => {
    assert.equal(checkStrictSample(series, T + 1, 1, T, 1, bound), true);
    assert.equal(checkStrictSample(series, T - 1000, 1, Number.NaN, 0, bound), true, 'no newest sample yet');
    assert.equal(checkStrictSample(series, 0, 1, Number.NaN, 0, empty), true, 'an empty head accepts anything');
  });

  it('ignores an exact repeat (same timestamp, same value bits)', () => {
    assert.equal(checkStrictSample(series, T, 2.5, T, 2.5, bound), false);
    assert.equal(checkStrictSample(series, T, STALE_NAN, T, STALE_NAN, bound), false);
  });

  it('answers out of order, duplicate and out of bounds with 400 and the series', () => {
    const messageOf = (run: () => unknown): string => {
      try {
        run();
        return 'none';
      } catch (error) {
        assert.ok(error instanceof Refusal);
        assert.equal(error.status, 400);
        return `${error.reason}: ${error.message}`;
      }
    };
    assert.match(messageOf(() => checkStrictSample(series, T - 1, 1, T, 1, bound)), /^out-of-order: out of order sample: series \{__name__="m"\} timestamp \d+ is older than its newest sample/);
    assert.match(messageOf(() => checkStrictSample(series, T, 5, T, 1, bound)), /^duplicate: duplicate sample for timestamp: series \{__name__="m"\}/);
    // Prometheus compares value bits: a plain NaN is not the stale marker.
    assert.match(messageOf(() => checkStrictSample(series, T, Number.NaN, T, STALE_NAN, bound)), /^duplicate: /);
    assert.match(messageOf(() => checkStrictSample(series, T - 3 * 3_600_000, 1, Number.NaN, 0, bound)), /^out-of-bounds: out of bounds: series \{__name__="m"\} .* minus 3600000 ms\)$/);
  });

  it('sameBits tells NaN payloads apart and +0 from -0', () => {
    assert.equal(sameBits(STALE_NAN, STALE_NAN), true);
    assert.equal(sameBits(STALE_NAN, Number.NaN), false);
    assert.equal(sameBits(0, -0), false);
    assert.equal(sameBits(1.5, 1.5), true);
  });
});

describe('decode refusals', () => {
  it('413 for a body past the size limit, 400 for broken snappy or protobuf', () => {
    assert.deepEqual([refusalOf(new DecodeError('too-large', 'x')).status, refusalOf(new DecodeError('too-large', 'x')).reason], [413, 'too-large']);
    assert.deepEqual(refusalFrom(() => decodeOrRefuse(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]), 1000)), [413, 'too-large']);
    // Within the limit but impossible for snappy: 10 bytes cannot expand to 900.
    assert.deepEqual(refusalFrom(() => decodeOrRefuse(Buffer.from([0x84, 0x07, 0, 0, 0, 0, 0, 0, 0, 0]), 1000)), [400, 'bad-snappy']);
    assert.deepEqual(refusalFrom(() => decodeOrRefuse(snappyCompress(Buffer.from([0x08, 0x01])), 1000)), [400, 'bad-protobuf']);
    assert.equal(refusalFrom(() => decodeOrRefuse(snappyCompress(Buffer.alloc(0)), 1000)), 'none', 'an empty WriteRequest is valid');
  });

  it('describeSeries shortens long series for error bodies', () => {
    const text = describeSeries(Array.from({ length: 20 }, (_, i) => ({ name: `label_${i}`, value: 'v'.repeat(100) })));
    assert.equal(text.length, 401);
    assert.ok(text.startsWith('{label_0="vvv') && text.endsWith('...}'));
  });
});
