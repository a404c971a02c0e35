/**
 * Test helper: builds the column-wise batch the encoder takes (`SampleColumns`) from a list of
 * samples bound to their series, which is easier to write in a test.
 */
import type { SampleColumns } from '../../src/protocol/encoder.js';
import type { SeriesRecord } from '../../src/remote-write/series-interner.js';

/** A sample bound to its interned series, as a test writes it. */
export interface PreparedSample {
  readonly series: SeriesRecord;
  readonly value: number;
  readonly timestamp: number;
}

export function columnsOf(samples: readonly PreparedSample[]): SampleColumns {
  const values = new Float64Array(samples.length);
  const timestamps = new Float64Array(samples.length);
  const series = samples.map((s, i) => {
    values[i] = s.value;
    timestamps[i] = s.timestamp;
    return s.series;
  });
  return { length: samples.length, series, values, timestamps };
}
