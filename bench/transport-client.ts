/**
 * The HTTP transport alone: CPU per request of rxprom's axios client (`AxiosWriteClient`, the one
 * the sink uses) against plain `node:http` (what the reference sender uses), sending the same
 * encoded bodies of the sink-cpu workload (10k series, 2000 samples per request, snappy) with
 * `lanes` requests in flight. The bodies are encoded before the clock starts, so the figure is
 * the transport's own: at `batch` samples per request, CPU per million samples is this × 1e6 / batch.
 *
 *   node dist/bench/transport-client.js --url URL --transport axios|node-http [--requests 2000]
 *     [--lanes 4] [--batch 2000]
 *
 * Prints one JSON line (see `TransportResult`).
 */
import http from 'node:http';
import { parseArgs } from 'node:util';
import { WriteRequestEncoder } from '../src/protocol/encoder.js';
import { AxiosWriteClient } from '../src/remote-write/http/axios-client.js';
import type { WriteClient, WriteResult } from '../src/remote-write/http/write-client.js';
import { resolveRemoteWriteOptions } from '../src/remote-write/options.js';
import { SeriesInterner, type SeriesRecord } from '../src/remote-write/series-interner.js';
import { buildLabelSets } from './workload.js';

export interface TransportResult {
  readonly transport: string;
  readonly requests: number;
  /** Requests answered with a 2xx. */
  readonly written: number;
  readonly cpuSeconds: number;
  readonly cpuMicrosPerRequest: number;
  readonly seconds: number;
}

const { values: o } = parseArgs({
  options: {
    url: { type: 'string', default: '' },
    transport: { type: 'string', default: 'axios' },
    requests: { type: 'string', default: '2000' },
    lanes: { type: 'string', default: '4' },
    batch: { type: 'string', default: '2000' },
  },
});
const REQUESTS = Number(o.requests);
const LANES = Number(o.lanes);
const BATCH = Number(o.batch);
const SERIES = 10_000;
/** Distinct bodies, sent in turn: enough that no two requests in flight carry the same one. */
const BODIES = 40;

/** The workload's bodies: pass p over the series at one timestamp per pass, as the sink would batch it. */
function encodeBodies(): Uint8Array[] {
  const interner = new SeriesInterner({ validation: 'strict' });
  const records = buildLabelSets(SERIES).map((labels) => interner.resolve(labels) as SeriesRecord);
  const encoder = new WriteRequestEncoder();
  const start = Date.now() - 3_600_000;
  const bodies: Uint8Array[] = [];
  for (let b = 0; b < BODIES; b++) {
    const series: SeriesRecord[] = [];
    const values = new Float64Array(BATCH);
    const timestamps = new Float64Array(BATCH);
    for (let i = 0; i < BATCH; i++) {
      const n = b * BATCH + i;
      series.push(records[n % SERIES]);
      values[i] = Math.random();
      timestamps[i] = start + Math.floor(n / SERIES) * 1000;
    }
    bodies.push(encoder.encode({ length: BATCH, series, values, timestamps }).body);
  }
  return bodies;
}

/** Plain node:http on keep-alive connections, as the reference sender sends. */
function nodeHttpClient(url: string, headers: Readonly<Record<string, string>>): WriteClient {
  const agent = new http.Agent({ keepAlive: true, maxSockets: LANES });
  const target = new URL(url);
  return {
    send: (body: Uint8Array): Promise<WriteResult> =>
      new Promise((resolve) => {
        const request = http.request(
          { hostname: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers: { ...headers, 'Content-Length': String(body.length) } },
          (response) => {
            response.resume();
            response.on('end', () => resolve({ kind: 'response', status: response.statusCode ?? 0, body: '', attempts: 1 }));
          },
        );
        request.on('error', (error) => resolve({ kind: 'network-error', message: error.message, code: undefined, attempts: 1 }));
        request.end(body);
      }),
    close: () => agent.destroy(),
  };
}

const config = resolveRemoteWriteOptions({ url: o.url ?? '', shards: LANES });
const bodies = encodeBodies();
const client: WriteClient =
  o.transport === 'node-http'
    ? nodeHttpClient(config.url, config.headers)
    : new AxiosWriteClient({ url: config.url, timeoutMs: config.timeoutMs, headers: config.headers, retry: config.retry, maxSockets: LANES });
const signal = new AbortController().signal;
let next = 0;
let written = 0;
const cpuStart = process.cpuUsage();
const started = performance.now();
await Promise.all(
  Array.from({ length: LANES }, async () => {
    while (next < REQUESTS) {
      const result = await client.send(bodies[next++ % BODIES], signal);
      if (result.kind === 'response' && result.status >= 200 && result.status < 300) written++;
    }
  }),
);
const cpu = process.cpuUsage(cpuStart);
const seconds = (performance.now() - started) / 1000;
client.close?.();
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const result: TransportResult = {
  transport: o.transport === 'node-http' ? 'node-http' : 'axios',
  requests: REQUESTS,
  written,
  cpuSeconds,
  cpuMicrosPerRequest: Math.round((cpuSeconds / REQUESTS) * 1e6),
  seconds,
};
console.log(JSON.stringify(result));
