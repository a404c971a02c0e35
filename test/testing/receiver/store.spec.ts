import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SeriesStore, type SeriesStoreOptions } from '../../../src/testing/receiver/store.js';
import { decodeOrRefuse, Refusal, type RefusalReason } from '../../../src/testing/receiver/refusal-rules.js';
import { decodeWire, type WireRequest } from '../../../src/protocol/decoder.js';
import { encodeWriteRequestReference } from '../../../src/protocol/reference.js';
import { snappyCompress } from '../../../src/protocol/snappy.js';
import { STALE_NAN } from '../../../src/core/model.js';
import { ConfigError } from '../../../src/core/errors.js';
import { fuzzedBodies } from '../../protocol/fuzz-bodies.js';

const T = 1_700_000_000_000;
const HOUR = 3_600_000;
type Series = { labels: Array<[string, string]>; samples: Array<[number, number]> };
const raw = (series: Series[]): Buffer =>
  Buffer.from(
    encodeWriteRequestReference({
      timeseries: series.map((s) => ({
        labels: s.labels.map(([name, value]) => ({ name, value })),
        samples: s.samples.map(([timestamp, value]) => ({ timestamp, value })),
      })),
    }),
  );
const wire = (series: Series[]): WireRequest => decodeWire(raw(series));
const metric = (name: string, ...extra: Array<[string, string]>): Array<[string, string]> => [['__name__', name], ...extra];
const storeOf = (options: Partial<SeriesStoreOptions> = {}): SeriesStore =>
  new SeriesStore({ mode: 'strict', maxSamples: 1e6, maxSeries: 1e5, outOfBoundsMs: HOUR, ...options });
const holdings = (store: SeriesStore): Record<string, Array<[number, number]>> =>
  Object.fromEntries(store.read().map((s) => [Object.entries(s.labels).map(([n, v]) => `${n}=${v}`).join(','), s.samples]));

/** The Refusal that `run` throws; fails the test when it throws nothing or something else. */
function refusal(run: () => unknown): { status: number; reason: RefusalReason; message: string } {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof Refusal, `not a Refusal: ${String(error)}`);
    return { status: error.status, reason: error.reason, message: error.message };
  }
  assert.fail('expected a Refusal, nothing was thrown');
}

describe('SeriesStore', () => {
  it('strict: stores in order, counts exact repeats as ignored, refuses a request whole', () => {
    const store = storeOf();
    assert.deepEqual(store.ingest(wire([{ labels: metric('m'), samples: [[T, 1], [T + 1, 2]] }])), { accepted: 2, ignored: 0 });
    assert.deepEqual(store.ingest(wire([{ labels: metric('m'), samples: [[T + 1, 2], [T + 2, 3]] }])), { accepted: 1, ignored: 1 });
    const refused = refusal(() => store.ingest(wire([{ labels: metric('good'), samples: [[T, 1], [T + 1, 1]] }, { labels: metric('m'), samples: [[T - 5, 1]] }])));
    assert.deepEqual([refused.status, refused.reason], [400, 'out-of-order']);
    assert.deepEqual(holdings(store), { '__name__=m': [[T, 1], [T + 1, 2], [T + 2, 3]] }, 'nothing of the refused request is stored');
    assert.deepEqual([store.sampleCount, store.seriesCount], [3, 1]);
  });

  it('refuses a matcher that is neither a label object nor a predicate, instead of matching all or none', () => {
    const store = storeOf();
    store.ingest(wire([{ labels: metric('a'), samples: [[T, 1]] }, { labels: metric('b'), samples: [[T, 2]] }]));
    assert.equal(store.read({ __name__: 'a' }).length, 1);
    assert.equal(store.read((labels) => labels['__name__'] === 'b').length, 1);
    assert.equal(store.read().length, 2);
    // 5 matched every series, 'a' (the metric name alone) matched none, null threw a TypeError.
    for (const match of [5, 'a', null, true, ['a']]) {
      for (const read of [() => store.read(match as never), () => store.samples(match as never)]) {
        assert.throws(read, (e: unknown) => e instanceof ConfigError && e.option === 'match', `match ${JSON.stringify(match)}`);
      }
    }
  });

  it('strict: checks order within a request too, across repeated series of it', () => {
    const store = storeOf();
    const within = refusal(() => store.ingest(wire([{ labels: metric('m'), samples: [[T + 5, 1], [T + 1, 1]] }])));
    assert.equal(within.reason, 'out-of-order');
    const across = refusal(() => store.ingest(wire([{ labels: metric('m'), samples: [[T + 5, 1]] }, { labels: metric('m'), samples: [[T + 5, 2]] }])));
    assert.equal(across.reason, 'duplicate');
    store.ingest(wire([{ labels: metric('m'), samples: [[T, 1]] }, { labels: metric('m'), samples: [[T + 1, 2]] }]));
    assert.deepEqual(holdings(store), { '__name__=m': [[T, 1], [T + 1, 2]] }, 'one series, whichever TimeSeries carried it');
  });

  it('strict: the out-of-bounds bound is taken before the request and does not move within it', () => {
    const store = storeOf();
    store.ingest(wire([{ labels: metric('a'), samples: [[T, 1]] }]));
    // b is 1.5 h older than the newest sample of this request but within an hour of the head before it.
    store.ingest(wire([{ labels: metric('a'), samples: [[T + 2 * HOUR, 1]] }, { labels: metric('b'), samples: [[T - HOUR / 2, 1]] }]));
    assert.equal(store.sampleCount, 3);
    const late = refusal(() => store.ingest(wire([{ labels: metric('c'), samples: [[T, 1]] }])));
    assert.equal(late.reason, 'out-of-bounds', 'now the head is 2 h further');
    assert.match(late.message, /older than 1700003600000 \(the newest stored timestamp, 1700007200000, minus 3600000 ms\)/);
  });

  it('strict: refuses series that break the label rules, with the series as sent', () => {
    const store = storeOf();
    const bad = refusal(() => store.ingest(wire([{ labels: metric('m3', ['a.b', 'x']), samples: [[T, 1]] }])));
    assert.deepEqual([bad.status, bad.reason], [400, 'invalid-labels']);
    assert.match(bad.message, /^invalid label name "a\.b": series \{__name__="m3", a\.b="x"\}$/);
    // The same bytes again: the cached identity refuses them too.
    assert.equal(refusal(() => store.ingest(wire([{ labels: metric('m3', ['a.b', 'x']), samples: [[T, 1]] }]))).reason, 'invalid-labels');
    assert.equal(store.seriesCount, 0);
  });

  it('lenient: inserts out-of-order samples in time order, replaces at a stored timestamp, repairs labels', () => {
    const store = storeOf({ mode: 'lenient' });
    store.ingest(wire([{ labels: [['z', '1'], ['__name__', 'x'], ['a', ''], ['z', '2']], samples: [[T + 20, 3], [T, 1], [T + 10, 2]] }]));
    assert.deepEqual(store.ingest(wire([{ labels: [['__name__', 'x'], ['z', '2']], samples: [[T + 5, 1.5], [T + 10, 7]] }])), { accepted: 2, ignored: 0 });
    const [series] = store.read({ __name__: 'x' });
    assert.deepEqual(Object.keys(series.labels), ['__name__', 'z']);
    assert.deepEqual(series.samples, [[T, 1], [T + 5, 1.5], [T + 10, 7], [T + 20, 3]]);
    assert.equal(store.sampleCount, 4, 'the replaced sample is not counted twice');
    // A label named __proto__ becomes a label, not a prototype.
    store.ingest(wire([{ labels: [['__name__', 'p'], ['__proto__', 'v']], samples: [[T, 1]] }]));
    const [proto] = store.read({ __name__: 'p' });
    assert.equal(Object.getOwnPropertyDescriptor(proto.labels, '__proto__')?.value, 'v');
  });

  it('refuses with 507 and stores nothing past maxSamples or maxSeries; clear() frees the room', () => {
    const store = storeOf({ maxSamples: 3, maxSeries: 1 });
    store.ingest(wire([{ labels: metric('m'), samples: [[T, 1], [T + 1, 1]] }]));
    const full = refusal(() => store.ingest(wire([{ labels: metric('m'), samples: [[T + 2, 1], [T + 3, 1]] }])));
    assert.deepEqual([full.status, full.reason], [507, 'full']);
    assert.match(full.message, /maxSamples/);
    const tooMany = refusal(() => store.ingest(wire([{ labels: metric('o'), samples: [[T, 1]] }])));
    assert.equal(tooMany.status, 507);
    assert.match(tooMany.message, /maxSeries/);
    store.ingest(wire([{ labels: metric('m'), samples: [[T + 2, 1]] }]));
    assert.equal(store.sampleCount, 3, 'what fits still goes in');
    store.clear();
    assert.deepEqual([store.sampleCount, store.seriesCount], [0, 0]);
    store.ingest(wire([{ labels: metric('o'), samples: [[T - 10 * HOUR, 1]] }]));
    assert.equal(store.seriesCount, 1, 'clear() also forgets the head bound');
  });

  it('reads back by label subset or predicate, ordered by label set, as copies', () => {
    const store = storeOf();
    store.ingest(wire([
      { labels: metric('r', ['zone', 'b']), samples: [[T, 2]] },
      { labels: metric('r', ['zone', 'a']), samples: [[T, 1], [T + 1, STALE_NAN]] },
      { labels: metric('q', ['zone', 'a']), samples: [[T, 3]] },
    ]));
    assert.deepEqual(store.read({ __name__: 'r' }).map((s) => s.labels.zone), ['a', 'b']);
    assert.deepEqual(store.read({ zone: 'a' }).map((s) => s.labels.__name__), ['q', 'r']);
    assert.deepEqual(store.read((labels) => labels.zone === 'b').map((s) => s.samples), [[[T, 2]]]);
    assert.deepEqual(store.read({ zone: 'c' }), []);
    assert.deepEqual(store.read({ toString: 'x' } as Record<string, string>), [], 'inherited properties are not labels');
    assert.deepEqual(store.samples({ zone: 'a' }).map((s) => [s.labels.__name__, s.timestamp]), [['q', T], ['r', T], ['r', T + 1]]);
    const copy = store.read({ __name__: 'q' })[0];
    copy.timestamps[0] = 0;
    copy.samples.length = 0;
    assert.deepEqual(store.read({ __name__: 'q' })[0].samples, [[T, 3]]);
  });

  it('decoding and storing never throw anything but a 4xx Refusal (in-process fuzz, both modes)', () => {
    const validRaw = raw([
      { labels: metric('fuzz', ['a', '1']), samples: [[T, 1], [T + 1, 2]] },
      { labels: metric('fuzz', ['a', '2'], ['b', 'x']), samples: [[T, 3], [T + 5, STALE_NAN]] },
    ]);
    const bodies = fuzzedBodies(validRaw);
    for (const mode of ['strict', 'lenient'] as const) {
      const store = storeOf({ mode });
      let stored = 0;
      fc.assert(
        fc.property(bodies, (payload) => {
          try {
            store.ingest(decodeOrRefuse(payload, 1 << 20));
            stored++;
          } catch (error) {
            assert.ok(error instanceof Refusal, `not a Refusal: ${String(error)}`);
            assert.ok(error.status >= 400 && error.status < 500, `status ${error.status}`);
          }
        }),
        { numRuns: 2500, seed: mode === 'strict' ? 42 : 43 },
      );
      assert.ok(stored > 0, `${mode}: some fuzzed bodies were valid and stored`);
    }
  });
});
