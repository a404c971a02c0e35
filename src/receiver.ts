/**
 * An embedded Remote-Write 1.0 receiver: for the demo, for users' own tests, and for fault
 * injection. `strict` answers as Prometheus 2.42 does (400 for out-of-order, duplicate and
 * too-old samples) and also refuses what the spec forbids (unsorted, repeated or invalid label
 * names, empty values, no `__name__`); `lenient` accepts everything, as VictoriaMetrics does.
 * A refused request stores nothing. Malformed bodies get a 4xx, never a crash.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ConfigError, enumOption, numberOption } from './errors.js';
import type { Labels } from './model.js';
import { decodeWriteRequest, type DecodedTimeSeries } from './proto.js';
import { snappyUncompress } from './snappy.js';

export interface ReceiverOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: a free port. */
  readonly port?: number;
  /** `'strict'` (default) answers like Prometheus and the spec; `'lenient'` accepts like VictoriaMetrics. */
  readonly mode?: 'strict' | 'lenient';
  /** Samples kept at most, 1 to 1e9 (default 5,000,000). A write that would exceed it is refused with 507 and stores nothing. */
  readonly maxSamples?: number;
  /** Series kept at most, 1 to 1e8 (default 1,000,000); same rule. */
  readonly maxSeries?: number;
  /** Largest compressed body (bytes), default 32 MiB; larger gets 413. */
  readonly maxBodyBytes?: number;
  /** Largest decompressed body (bytes), default 256 MiB, checked before decompressing; larger gets 413. */
  readonly maxDecompressedBytes?: number;
  /**
   * Strict mode: a sample older than the newest stored timestamp (any series) minus this (ms) is
   * refused as `out of bounds`, like Prometheus' head block (default 3,600,000).
   */
  readonly outOfBoundsMs?: number;
}

/** A fault for one request, consumed in order by the requests that follow `injectFaults`. */
export type ReceiverFault =
  | { readonly status: number; readonly body?: string; readonly headers?: Readonly<Record<string, string>> }
  | { readonly delayMs: number }
  | { readonly reset: true }
  | { readonly hang: true };

export interface ReceivedSeries {
  readonly labels: Labels;
  /** [timestamp ms, value], oldest first. */
  readonly samples: Array<[number, number]>;
}

export interface ReceiverStats {
  requests: number;
  requestsAccepted: number;
  /** Refused requests by status. */
  requestsRefused: Record<number, number>;
  samplesAccepted: number;
  /** Samples in refused (well-formed) requests. */
  samplesRefused: number;
  bytesReceived: number;
  faultsInjected: number;
}

export interface Receiver {
  /** The write endpoint: `http://host:port/api/v1/write`. */
  readonly url: string;
  readonly mode: 'strict' | 'lenient';
  injectFaults(faults: readonly ReceiverFault[]): void;
  /** Stored series matching every given label (or the predicate), sorted by label set. */
  series(match?: Labels | ((labels: Labels) => boolean)): ReceivedSeries[];
  seriesCount(): number;
  samplesStored(): number;
  stats(): ReceiverStats;
  /** Forgets everything stored, the counters and every queued fault. */
  reset(): void;
  close(): Promise<void>;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

interface StoredSeries {
  readonly labels: Labels;
  readonly timestamps: number[];
  readonly values: number[];
}

class Refusal extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const sameValue = (a: number, b: number): boolean => a === b || (Number.isNaN(a) && Number.isNaN(b) && Object.is(new Float64Array([a])[0], new Float64Array([b])[0]));

function describeSeries(series: DecodedTimeSeries): string {
  return `{${series.labels.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(', ')}}`;
}

/** The spec's rules for one series' labels; returns a problem or undefined. */
function labelProblem(series: DecodedTimeSeries): string | undefined {
  let previous: string | undefined;
  let hasName = false;
  for (const { name, value } of series.labels) {
    if (!LABEL_NAME.test(name)) return `invalid label name ${JSON.stringify(name)}`;
    if (name.startsWith('__') && name !== '__name__') return `reserved label name ${JSON.stringify(name)}`;
    if (value === '') return `empty value for label ${JSON.stringify(name)}`;
    if (previous !== undefined && name === previous) return `label name ${JSON.stringify(name)} is not unique`;
    if (previous !== undefined && name < previous) return `labels are not sorted by name (${JSON.stringify(name)} after ${JSON.stringify(previous)})`;
    if (name === '__name__') {
      hasName = true;
      if (!METRIC_NAME.test(value)) return `invalid metric name ${JSON.stringify(value)}`;
    }
    previous = name;
  }
  return hasName ? undefined : 'no __name__ label';
}

/** Lenient mode: sort, keep the last of repeated names, drop empty values. */
function canonicalLabels(series: DecodedTimeSeries): Array<[string, string]> {
  const byName = new Map<string, string>();
  for (const { name, value } of series.labels) if (value !== '') byName.set(name, value);
  return [...byName].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

const keyOf = (pairs: ReadonlyArray<readonly [string, string]>): string => pairs.map(([n, v]) => `${n}\u0000${v}`).join('\u0001');

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Refusal(413, `body larger than ${limit} bytes`));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The uncompressed length a snappy block announces (its varint preamble), or -1 when unreadable. */
function snappyLength(body: Buffer): number {
  let result = 0;
  let shift = 0;
  for (let i = 0; i < Math.min(body.length, 5); i++) {
    const byte = body[i];
    result += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return result;
    shift += 7;
  }
  return -1;
}

export async function startReceiver(options: ReceiverOptions = {}): Promise<Receiver> {
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string') throw new ConfigError('host', 'a host name or address', host);
  const port = numberOption('port', options.port, 0, { min: 0, max: 65535 });
  const mode = enumOption('mode', options.mode, ['strict', 'lenient'], 'strict');
  const maxSamples = numberOption('maxSamples', options.maxSamples, 5_000_000, { min: 1, max: 1e9 });
  const maxSeries = numberOption('maxSeries', options.maxSeries, 1_000_000, { min: 1, max: 1e8 });
  const maxBodyBytes = numberOption('maxBodyBytes', options.maxBodyBytes, 32 * 1024 * 1024, { min: 1, max: 2 ** 31 });
  const maxDecompressedBytes = numberOption('maxDecompressedBytes', options.maxDecompressedBytes, 256 * 1024 * 1024, { min: 1, max: 2 ** 31 });
  const outOfBoundsMs = numberOption('outOfBoundsMs', options.outOfBoundsMs, 3_600_000, { min: 0 });

  const store = new Map<string, StoredSeries>();
  let stored = 0;
  let newestAnywhere = -Infinity;
  const faults: ReceiverFault[] = [];
  const sockets = new Set<Socket>();
  const stats: ReceiverStats = { requests: 0, requestsAccepted: 0, requestsRefused: {}, samplesAccepted: 0, samplesRefused: 0, bytesReceived: 0, faultsInjected: 0 };

  /** Checks a whole request, then stores it; throws a Refusal and stores nothing on the first problem. */
  const ingest = (timeseries: DecodedTimeSeries[]): number => {
    interface Staged { key: string; pairs: Array<[string, string]>; existing: StoredSeries | undefined; timestamps: number[]; values: number[] }
    const staged = new Map<string, Staged>();
    let count = 0;
    let newest = newestAnywhere;
    for (const series of timeseries) {
      if (mode === 'strict') {
        const problem = labelProblem(series);
        if (problem !== undefined) throw new Refusal(400, `${problem}: series ${describeSeries(series)}`);
      }
      const pairs = mode === 'strict' ? series.labels.map((l): [string, string] => [l.name, l.value]) : canonicalLabels(series);
      const key = keyOf(pairs);
      let entry = staged.get(key);
      if (entry === undefined) {
        entry = { key, pairs, existing: store.get(key), timestamps: [], values: [] };
        staged.set(key, entry);
      }
      for (const sample of series.samples) {
        const t = Number(sample.timestamp);
        const v = sample.value;
        if (mode === 'strict') {
          const lastT = entry.timestamps.length > 0 ? entry.timestamps[entry.timestamps.length - 1] : entry.existing?.timestamps[entry.existing.timestamps.length - 1];
          const lastV = entry.values.length > 0 ? entry.values[entry.values.length - 1] : entry.existing?.values[entry.existing.values.length - 1];
          if (t < newest - outOfBoundsMs) throw new Refusal(400, `out of bounds: series ${describeSeries(series)} timestamp ${t} is more than ${outOfBoundsMs} ms older than the newest stored sample`);
          if (lastT !== undefined && t < lastT) throw new Refusal(400, `out of order sample: series ${describeSeries(series)} timestamp ${t} is older than ${lastT}`);
          if (lastT !== undefined && t === lastT) {
            if (sameValue(v, lastV as number)) continue; // an exact repeat is ignored, as Prometheus does
            throw new Refusal(400, `duplicate sample for timestamp: series ${describeSeries(series)} timestamp ${t} has ${lastV}, got ${v}`);
          }
        }
        entry.timestamps.push(t);
        entry.values.push(v);
        if (t > newest) newest = t;
        count++;
      }
    }
    const newSeries = [...staged.values()].filter((e) => e.existing === undefined && e.timestamps.length > 0).length;
    if (stored + count > maxSamples) throw new Refusal(507, `receiver full: it keeps at most ${maxSamples} samples (maxSamples)`);
    if (store.size + newSeries > maxSeries) throw new Refusal(507, `receiver full: it keeps at most ${maxSeries} series (maxSeries)`);
    for (const entry of staged.values()) {
      if (entry.timestamps.length === 0) continue;
      let target = entry.existing;
      if (target === undefined) {
        target = { labels: Object.freeze(Object.fromEntries(entry.pairs)), timestamps: [], values: [] };
        store.set(entry.key, target);
      }
      for (let i = 0; i < entry.timestamps.length; i++) insert(target, entry.timestamps[i], entry.values[i]);
    }
    stored += count;
    newestAnywhere = newest;
    return count;
  };

  /** Appends, or (lenient mode) inserts in time order, replacing a sample at the same timestamp. */
  const insert = (series: StoredSeries, t: number, v: number): void => {
    const ts = series.timestamps;
    if (ts.length === 0 || t > ts[ts.length - 1]) {
      ts.push(t);
      series.values.push(v);
      return;
    }
    let lo = 0;
    let hi = ts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ts[mid] < t) lo = mid + 1;
      else hi = mid;
    }
    if (ts[lo] === t) {
      series.values[lo] = v;
      stored--;
    } else {
      ts.splice(lo, 0, t);
      series.values.splice(lo, 0, v);
    }
  };

  const answer = (res: ServerResponse, status: number, body = '', headers: Record<string, string> = {}): void => {
    if (status >= 300) stats.requestsRefused[status] = (stats.requestsRefused[status] ?? 0) + 1;
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
    res.end(body);
  };

  const handleWrite = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBodyBytes) throw new Refusal(413, `body larger than ${maxBodyBytes} bytes`);
    const body = await readBody(req, maxBodyBytes);
    stats.bytesReceived += body.length;
    const announced = snappyLength(body);
    if (announced < 0) throw new Refusal(400, 'snappy: corrupt input (no length preamble)');
    if (announced > maxDecompressedBytes) throw new Refusal(413, `decompressed body would be ${announced} bytes, more than ${maxDecompressedBytes}`);
    let raw: Uint8Array;
    try {
      raw = snappyUncompress(body, maxDecompressedBytes);
    } catch (error) {
      throw new Refusal(400, `snappy: ${error instanceof Error ? error.message : String(error)}`);
    }
    let request;
    try {
      request = decodeWriteRequest(raw);
    } catch (error) {
      throw new Refusal(400, `protobuf: ${error instanceof Error ? error.message : String(error)}`);
    }
    const samples = request.timeseries.reduce((n, s) => n + s.samples.length, 0);
    try {
      const accepted = ingest(request.timeseries);
      stats.requestsAccepted++;
      stats.samplesAccepted += accepted;
      answer(res, 204, '', { 'X-Prometheus-Remote-Write-Samples-Written': String(accepted) });
    } catch (error) {
      stats.samplesRefused += samples;
      throw error;
    }
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    stats.requests++;
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/api/v1/write') {
      req.resume();
      return answer(res, 404, `not found: ${path} (the write endpoint is /api/v1/write)`);
    }
    if (req.method !== 'POST') {
      req.resume();
      return answer(res, 405, 'method not allowed: use POST', { Allow: 'POST' });
    }
    const fault = faults.shift();
    if (fault !== undefined) {
      stats.faultsInjected++;
      if ('status' in fault) {
        req.resume();
        return answer(res, fault.status, fault.body ?? '', { ...fault.headers });
      }
      if ('reset' in fault) {
        req.socket.destroy();
        return;
      }
      if ('hang' in fault) {
        req.resume();
        return;
      }
      setTimeout(() => serve(req, res), fault.delayMs);
      return;
    }
    serve(req, res);
  };

  const serve = (req: IncomingMessage, res: ServerResponse): void => {
    handleWrite(req, res).catch((error: unknown) => {
      if (res.headersSent || res.destroyed) return;
      if (error instanceof Refusal) answer(res, error.status, error.message);
      else answer(res, 400, `bad request: ${error instanceof Error ? error.message : String(error)}`);
    });
  };

  const server: Server = createServer(handle);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  const boundPort = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
  const hostPart = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${hostPart}:${boundPort}/api/v1/write`,
    mode,
    injectFaults(list) {
      faults.push(...list);
    },
    series(match) {
      const test =
        match === undefined ? () => true
        : typeof match === 'function' ? match
        : (labels: Labels) => Object.entries(match).every(([name, value]) => Object.prototype.hasOwnProperty.call(labels, name) && labels[name] === value);
      const out: ReceivedSeries[] = [];
      for (const [key, series] of [...store].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        void key;
        if (test(series.labels)) out.push({ labels: series.labels, samples: series.timestamps.map((t, i): [number, number] => [t, series.values[i]]) });
      }
      return out;
    },
    seriesCount: () => store.size,
    samplesStored: () => stored,
    stats: () => ({ ...stats, requestsRefused: { ...stats.requestsRefused } }),
    reset() {
      Object.assign(stats, { requests: 0, requestsAccepted: 0, requestsRefused: {}, samplesAccepted: 0, samplesRefused: 0, bytesReceived: 0, faultsInjected: 0 });
      store.clear();
      stored = 0;
      newestAnywhere = -Infinity;
      faults.length = 0;
    },
    close() {
      return new Promise((resolve) => {
        faults.length = 0;
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}
