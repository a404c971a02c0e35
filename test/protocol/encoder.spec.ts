import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WriteRequestEncoder } from '../../src/protocol/encoder.js';
import { columnsOf, type PreparedSample } from './sample-columns.js';
import { SeriesInterner, type SeriesRecord } from '../../src/remote-write/series-interner.js';
import { decodeWriteRequest, encodeWriteRequestReference, type DecodedWriteRequest } from '../../src/protocol/reference.js';
import { snappyUncompress } from '../../src/protocol/snappy.js';
import { STALE_NAN, type Labels } from '../../src/core/model.js';
import fc from 'fast-check';
import { decodeLabelsKey } from '../../src/core/series-key.js';

function intern(interner: SeriesInterner, labels: Labels): SeriesRecord {
  const record = interner.resolve(labels);
  assert.notEqual(typeof record, 'string', `labels refused: ${String(record)}`);
  return record as SeriesRecord;
}

/** The reference request for a batch: series in first-appearance order, samples in batch order. */
function reference(batch: readonly PreparedSample[]): DecodedWriteRequest {
  const bySeries = new Map<SeriesRecord, DecodedWriteRequest['timeseries'][number]>();
  for (const s of batch) {
    let ts = bySeries.get(s.series);
    if (!ts) {
      const labels = decodeLabelsKey(s.series.key);
      ts = { labels: Object.keys(labels).map((name) => ({ name, value: labels[name] })), samples: [] };
      bySeries.set(s.series, ts);
    }
    ts.samples.push({ value: s.value, timestamp: s.timestamp });
  }
  return { timeseries: [...bySeries.values()] };
}

describe('WriteRequestEncoder', () => {
  it('is byte-identical to the protobufjs encoding of proto/remote.proto', () => {
    const interner = new SeriesInterner({ validation: 'strict' });
    const a = intern(interner, { __name__: 'temp', room: 'kitchen', device: 'd1' });
    const b = intern(interner, { device: 'd2', __name__: 'temp', room: 'hall' });
    const now = 1_732_500_000_123;
    const batch: PreparedSample[] = [
      { series: a, value: 21.5, timestamp: now },
      { series: b, value: -3, timestamp: now + 1 },
      { series: a, value: 0, timestamp: now + 1000 },
    ];
    const encoder = new WriteRequestEncoder();
    const raw = encoder.encodeRaw(columnsOf(batch));
    assert.equal(raw.series, 2);
    assert.deepEqual(raw.bytes, Buffer.from(encodeWriteRequestReference(reference(batch))));
    const compressed = encoder.encode(columnsOf(batch));
    assert.deepEqual(snappyUncompress(compressed.body, 1 << 20), raw.bytes);
  });

  it('sorts labels, drops empty values, and keeps UTF-8 intact', () => {
    const interner = new SeriesInterner({ validation: 'strict' });
    const series = intern(interner, { zone: 'Zürich 東京', __name__: 'x', empty: '', a: '1' });
    const decoded = decodeWriteRequest(new WriteRequestEncoder().encodeRaw(columnsOf([{ series, value: 1, timestamp: 5 }])).bytes);
    assert.deepEqual(decoded.timeseries[0].labels, [
      { name: '__name__', value: 'x' },
      { name: 'a', value: '1' },
      { name: 'zone', value: 'Zürich 東京' },
    ]);
  });

  it('keeps the stale-marker NaN bit pattern and encodes negative and large timestamps', () => {
    const interner = new SeriesInterner({ validation: 'strict' });
    const series = intern(interner, { __name__: 'x' });
    const bytes = new WriteRequestEncoder().encodeRaw(
      columnsOf([
        { series, value: STALE_NAN, timestamp: -5 },
        { series, value: Infinity, timestamp: 2 ** 52 },
      ]),
    ).bytes;
    const valueAt = bytes.indexOf(0x09) + 1;
    assert.equal(bytes.readBigUInt64LE(valueAt), 0x7ff0000000000002n);
    const decoded = decodeWriteRequest(bytes);
    assert.deepEqual(decoded.timeseries[0].samples.map((s) => s.timestamp), [-5, 2 ** 52]);
    assert.deepEqual(decoded.timeseries[0].samples[1].value, Infinity);
  });

  it('matches the reference for random batches (property)', () => {
    const labelSet = fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/), fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' }), { maxKeys: 6 });
    fc.assert(
      fc.property(
        fc.array(labelSet, { minLength: 1, maxLength: 8 }),
        fc.array(fc.tuple(fc.nat(), fc.double(), fc.integer({ min: -1e12, max: 2 ** 50 })), { minLength: 1, maxLength: 60 }),
        (labelSets, points) => {
          const interner = new SeriesInterner({ validation: 'strict' });
          const series = labelSets.map((labels, i) => intern(interner, { ...labels, __name__: `m${i}` }));
          const batch = points.map(([pick, value, timestamp]) => ({ series: series[pick % series.length], value, timestamp }));
          const encoder = new WriteRequestEncoder();
          // Twice with the same encoder: scratch state must not leak between requests.
          encoder.encodeRaw(columnsOf(batch.slice(0, 3)));
          const bytes = encoder.encodeRaw(columnsOf(batch)).bytes;
          assert.deepEqual(bytes, Buffer.from(encodeWriteRequestReference(reference(batch))));
        },
      ),
      { numRuns: 150 },
    );
  });
});
