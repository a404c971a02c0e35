/**
 * Benchmark 1: request encoding (protobuf + snappy) on one core, rxprom's `WriteRequestEncoder`
 * against `prometheus-remote-write` 0.5.1's own path (its label mapping, `serialize` = protobufjs
 * static code with verify, then its snappyjs), on identical requests. Also checks that rxprom's
 * body decompresses to exactly the bytes protobufjs encodes for the same request.
 */
import { createRequire } from 'node:module';
import prw from 'prometheus-remote-write';
import { WriteRequestEncoder, type SampleColumns } from '../src/encoder.js';
import type { Labels } from '../src/model.js';
import { encodeWriteRequestReference, type DecodedWriteRequest } from '../src/proto.js';
import { SeriesInterner, type SeriesRecord } from '../src/series.js';
import { snappyUncompress } from '../src/snappy.js';
import { figure, type BenchContext, type Figure } from './common.js';
import { buildLabelSets } from './workload.js';

// The peer's own snappyjs (0.6.1, nested under its package), as its pushTimeseries uses it.
const peerRequire = createRequire(createRequire(import.meta.url).resolve('prometheus-remote-write'));
const peerSnappy = peerRequire('snappyjs') as { compress(input: Uint8Array): Uint8Array };

interface Case {
  readonly name: string;
  readonly series: number;
  readonly samplesPerSeries: number;
}

const CASES: readonly Case[] = [
  { name: '2000 series x 1 sample', series: 2000, samplesPerSeries: 1 },
  { name: '200 series x 10 samples', series: 200, samplesPerSeries: 10 },
];

/** Runs `fn` repeatedly for about `ms` (after a warm-up); returns calls per second. */
async function rate(fn: () => unknown | Promise<unknown>, ms: number): Promise<number> {
  const warmEnd = performance.now() + Math.min(300, ms / 3);
  while (performance.now() < warmEnd) await fn();
  let calls = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    await fn();
    calls++;
    now = performance.now();
  }
  return calls / ((now - start) / 1000);
}

export async function encodingBenchmark(context: BenchContext): Promise<Figure[]> {
  const figures: Figure[] = [];
  const ms = context.quick ? 700 : 3000;
  for (const c of CASES) {
    const labelSets = buildLabelSets(c.series, 4, 'bench_encoding');
    const t0 = 1_700_000_000_000;
    // Samples in time order: every series' k-th sample, then the (k+1)-th.
    const count = c.series * c.samplesPerSeries;
    const interner = new SeriesInterner({ validation: 'strict', lanes: 1 });
    const records = labelSets.map((labels) => interner.resolve(labels) as SeriesRecord);
    const columns: SampleColumns = {
      length: count,
      series: new Array<SeriesRecord>(count),
      values: new Float64Array(count),
      timestamps: new Float64Array(count),
    };
    const peerSeries: Array<{ labels: Labels; samples: Array<{ value: number; timestamp: number }> }> = labelSets.map((labels) => ({ labels, samples: [] }));
    const reference: DecodedWriteRequest = { timeseries: labelSets.map((labels) => ({ labels: Object.entries(labels).map(([name, value]) => ({ name, value })), samples: [] })) };
    let i = 0;
    for (let k = 0; k < c.samplesPerSeries; k++) {
      for (let s = 0; s < c.series; s++, i++) {
        const value = Math.round(Math.random() * 1e6) / 100;
        const timestamp = t0 + k * 1000;
        (columns.series as SeriesRecord[])[i] = records[s];
        columns.values[i] = value;
        columns.timestamps[i] = timestamp;
        peerSeries[s].samples.push({ value, timestamp });
        reference.timeseries[s].samples.push({ value, timestamp });
      }
    }

    const encoder = new WriteRequestEncoder();
    const rxRate = (await rate(() => encoder.encode(columns), ms)) * count;

    // What pushTimeseries does before sending, minus the HTTP call.
    const peerEncode = async (): Promise<Uint8Array> => {
      const writeRequest = {
        timeseries: peerSeries.map((t) => ({
          labels: Object.entries(t.labels).map((e) => ({ name: e[0], value: e[1] })),
          samples: t.samples.map((s) => ({ value: s.value, timestamp: s.timestamp ? s.timestamp : Date.now() })),
        })),
      };
      const buffer = (await prw.serialize(writeRequest as never)) as unknown as Uint8Array;
      return peerSnappy.compress(buffer);
    };
    const peerRate = (await rate(peerEncode, ms)) * count;

    // Correctness: rxprom's body, decompressed, against protobufjs on the same request.
    const expected = Buffer.from(encodeWriteRequestReference(reference));
    const encoded = encoder.encode(columns);
    const identical = snappyUncompress(encoded.body, 1 << 26).equals(expected);
    const peerBody = Buffer.from(await peerEncode());
    const peerIdentical = snappyUncompress(peerBody, 1 << 26).equals(expected);

    const ratio = rxRate / peerRate;
    figures.push(
      figure('encoding', `rxprom encode, ${c.name}`, Math.round(rxRate), 'samples/s', {
        comparison: { name: 'prometheus-remote-write serialize+snappyjs', value: Math.round(peerRate) },
        floor: { text: '>= 5x the peer', met: ratio >= 5 },
        note: `body ${encoded.body.length} B (peer ${peerBody.length} B), raw ${encoded.rawBytes} B`,
      }),
      figure('encoding', `rxprom body == protobufjs reference, ${c.name}`, identical ? 1 : 0, 'identical (1 = yes)', {
        floor: { text: 'byte-identical after decompression', met: identical },
        note: `peer's body identical too: ${peerIdentical ? 'yes' : 'no'}`,
      }),
    );
    context.log(`encoding ${c.name}: rxprom ${Math.round(rxRate)}/s, peer ${Math.round(peerRate)}/s (x${ratio.toFixed(1)}), identical=${identical}`);
  }
  return figures;
}
