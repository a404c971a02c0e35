/**
 * An embedded Remote-Write 1.0 receiver (node:http): for the demo, for users' own tests, and for
 * fault injection.
 *
 * - `strict` (default) answers as Prometheus 2.42 does to ordering problems — 400 `out of order
 *   sample`, 400 `duplicate sample for timestamp`, 400 `out of bounds` — and also refuses with 400
 *   what the specification forbids and Prometheus lets through: unsorted, repeated, invalid or
 *   reserved label names, empty label values, a missing or invalid `__name__`. An exact repeat of a
 *   series' newest sample (same timestamp, same value bits) is ignored, as Prometheus does.
 * - `lenient` accepts like VictoriaMetrics: labels are sorted (the last of repeated names wins,
 *   empty values dropped), out-of-order samples are inserted in time order, and a sample at a
 *   timestamp already stored replaces it.
 *
 * A refused request is refused whole: the request is checked first and stored only when all of it
 * passes. Malformed bodies (not snappy, not protobuf, too large) get a 4xx naming the problem,
 * never a crash. Memory is bounded: a request that would take the store past `maxSamples` or
 * `maxSeries` is refused whole with 507 (retryable; nothing is evicted, so what a test reads back
 * is everything that was accepted); `reset()` empties it.
 *
 * "Out of bounds" approximates Prometheus' head block: once anything is stored, a sample older
 * than the newest timestamp stored in any series minus `outOfBoundsMs` (Prometheus: half the 2 h
 * block range) is refused; the bound is taken before the request, so it does not move within one.
 * Compaction, WAL replay and the out-of-order window are not modelled. Within one request strict
 * mode also refuses out-of-order samples of a series (Prometheus 2.42 drops them silently).
 *
 * Headers: the body is always decoded as a snappy block whatever the headers say (Prometheus does
 * not check them either, and `prometheus-remote-write` sends none), except that strict mode
 * refuses an explicit `Content-Encoding` other than `snappy` with 415, and both modes refuse
 * Remote-Write 2.0 (`Content-Type: ...;proto=io.prometheus.write.v2.Request`) with 415, which
 * tells a 2.0 sender to fall back to 1.0.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ConfigError } from '../../core/errors.js';
import type { Sample } from '../../core/model.js';
import { enumOption, numberOption } from '../../core/options.js';
import { FaultPlan, serveFault, type Fault, type RandomFaults } from '../faults.js';
import { decodeOrRefuse, Refusal, type ReceiverMode, type RefusalReason } from './refusal-rules.js';
import { SeriesStore, type ReceivedSeries, type SeriesMatcher } from './store.js';

export type { ReceivedSeries, SeriesMatcher } from './store.js';
export type { ReceiverMode, RefusalReason } from './refusal-rules.js';

export interface ReceiverOptions {
  /** Address to listen on. Default 127.0.0.1. */
  readonly host?: string;
  /** Port, 0 to 65535. Default 0: a free port (read it from `url`). */
  readonly port?: number;
  /** `'strict'` (default) answers like Prometheus and the specification; `'lenient'` accepts like VictoriaMetrics. */
  readonly mode?: ReceiverMode;
  /** Samples kept at most, 1 to 1e9 (default 5,000,000). A write that would exceed it is refused whole with 507. */
  readonly maxSamples?: number;
  /** Series kept at most, 1 to 1e8 (default 1,000,000); same rule. */
  readonly maxSeries?: number;
  /** Largest compressed body in bytes, 1 to 2^31 (default 32 MiB); larger gets 413. */
  readonly maxBodyBytes?: number;
  /** Largest decompressed body in bytes, 1 to 2^31 (default 256 MiB), read from snappy's header before decompressing; larger gets 413. */
  readonly maxDecompressedBytes?: number;
  /**
   * Strict mode: a sample older than the newest stored timestamp (any series) minus this many ms
   * is refused as `out of bounds`, like Prometheus' head block. >= 0, default 3,600,000 (1 hour).
   */
  readonly outOfBoundsMs?: number;
}

/** @deprecated The receiver takes the shared `Fault` (rxprom/testing); this name stays for existing code. */
export type ReceiverFault = Fault;

export interface ReceiverStats {
  /** Every HTTP request, faulted ones included. */
  requests: number;
  /** Requests answered 204. */
  requestsAccepted: number;
  /** Requests the receiver itself refused, by status (injected faults are not counted here). */
  requestsRefused: Record<number, number>;
  /** The same refusals, by reason. */
  refusedByReason: Partial<Record<RefusalReason, number>>;
  /** Samples in accepted requests that were stored. */
  samplesAccepted: number;
  /** Strict mode: exact repeats of a series' newest sample, accepted but not stored again. */
  samplesIgnored: number;
  /** Samples in well-formed requests that were refused. */
  samplesRefused: number;
  /** Body bytes read (compressed). */
  bytesReceived: number;
  /** Faults served, from the queue or at random. */
  faultsInjected: number;
}

export interface Receiver {
  /** The write endpoint: `http://host:port/api/v1/write`. */
  readonly url: string;
  readonly mode: ReceiverMode;
  /** Queues faults, consumed in order, one per write request. */
  injectFaults(faults: readonly Fault[]): void;
  /** After the queue: a fault at random for a share of the requests; `undefined` turns it off. */
  randomFaults(options: RandomFaults | undefined): void;
  /** Stored series matching every given label (or the predicate), ordered by label set. */
  series(match?: SeriesMatcher): ReceivedSeries[];
  /** Stored samples of the matching series, series by series, oldest first. */
  samples(match?: SeriesMatcher): Sample[];
  seriesCount(): number;
  samplesStored(): number;
  /** A snapshot of the counters. */
  stats(): ReceiverStats;
  /** Forgets everything stored, the counters, every queued fault and the random faults. */
  reset(): void;
  /** Stops listening and closes every connection, hanging and keep-alive ones included. */
  close(): Promise<void>;
}

const WRITE_PATH = '/api/v1/write';

function newStats(): ReceiverStats {
  return { requests: 0, requestsAccepted: 0, requestsRefused: {}, refusedByReason: {}, samplesAccepted: 0, samplesIgnored: 0, samplesRefused: 0, bytesReceived: 0, faultsInjected: 0 };
}

/** Starts a receiver; resolves once it listens. */
export async function startReceiver(options: ReceiverOptions = {}): Promise<Receiver> {
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '') throw new ConfigError('host', 'a host name or address', host);
  const port = numberOption('port', options.port, 0, { min: 0, max: 65535 });
  const mode = enumOption('mode', options.mode, ['strict', 'lenient'], 'strict');
  const maxSamples = numberOption('maxSamples', options.maxSamples, 5_000_000, { min: 1, max: 1e9 });
  const maxSeries = numberOption('maxSeries', options.maxSeries, 1_000_000, { min: 1, max: 1e8 });
  const maxBodyBytes = numberOption('maxBodyBytes', options.maxBodyBytes, 32 * 1024 * 1024, { min: 1, max: 2 ** 31 });
  const maxDecompressedBytes = numberOption('maxDecompressedBytes', options.maxDecompressedBytes, 256 * 1024 * 1024, { min: 1, max: 2 ** 31 });
  const outOfBoundsMs = numberOption('outOfBoundsMs', options.outOfBoundsMs, 3_600_000, { min: 0 });

  const store = new SeriesStore({ mode, maxSamples, maxSeries, outOfBoundsMs });
  let stats = newStats();
  const faults = new FaultPlan();
  const timers = new Set<NodeJS.Timeout>();
  let closing: Promise<void> | undefined;

  const send = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void => {
    if (res.headersSent || res.destroyed) return;
    try {
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
      res.end(body);
    } catch {
      res.destroy();
    }
  };

  const refuse = (res: ServerResponse, refusal: Refusal, headers: Record<string, string> = {}): void => {
    stats.requestsRefused[refusal.status] = (stats.requestsRefused[refusal.status] ?? 0) + 1;
    stats.refusedByReason[refusal.reason] = (stats.refusedByReason[refusal.reason] ?? 0) + 1;
    send(res, refusal.status, `${refusal.message}\n`, headers);
  };

  /** Reads the body; past `maxBodyBytes` keeps draining (so the client gets the answer) but stops buffering. */
  const readBody = (req: IncomingMessage): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        stats.bytesReceived += chunk.length;
        if (size <= maxBodyBytes) chunks.push(chunk);
      });
      req.on('end', () => {
        if (size > maxBodyBytes) reject(new Refusal(413, 'too-large', `body larger than ${maxBodyBytes} bytes (maxBodyBytes)`));
        else resolve(Buffer.concat(chunks, size));
      });
      req.on('error', reject);
    });

  const checkHeaders = (req: IncomingMessage): void => {
    const contentType = String(req.headers['content-type'] ?? '');
    if (/proto=io\.prometheus\.write\.v2/i.test(contentType)) {
      throw new Refusal(415, 'unsupported-media-type', `unsupported Content-Type ${JSON.stringify(contentType)}: this receiver speaks Remote-Write 1.0 only (prometheus.WriteRequest)`);
    }
    const encoding = req.headers['content-encoding'];
    if (mode === 'strict' && encoding !== undefined && encoding.trim().toLowerCase() !== 'snappy') {
      throw new Refusal(415, 'unsupported-media-type', `unsupported Content-Encoding ${JSON.stringify(encoding)}: Remote-Write bodies are snappy block-compressed (Content-Encoding: snappy)`);
    }
    const declared = Number(req.headers['content-length']);
    if (declared > maxBodyBytes) throw new Refusal(413, 'too-large', `body of ${declared} bytes is larger than ${maxBodyBytes} bytes (maxBodyBytes)`);
  };

  const write = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    checkHeaders(req);
    const body = await readBody(req);
    const request = decodeOrRefuse(body, maxDecompressedBytes);
    try {
      const { accepted, ignored } = store.ingest(request);
      stats.requestsAccepted++;
      stats.samplesAccepted += accepted;
      stats.samplesIgnored += ignored;
      send(res, 204, '', { 'X-Prometheus-Remote-Write-Samples-Written': String(accepted + ignored) });
    } catch (error) {
      stats.samplesRefused += request.samples;
      throw error;
    }
  };

  const serve = (req: IncomingMessage, res: ServerResponse): void => {
    write(req, res).catch((error: unknown) => {
      if (error instanceof Refusal) {
        // An unread body (refused on its headers) cannot be left on a keep-alive connection.
        refuse(res, error, req.complete ? {} : { Connection: 'close' });
      } else if (!res.headersSent && !res.destroyed && !req.destroyed) {
        // Only a bug of ours lands here (request stream errors destroy the request first).
        send(res, 500, `receiver error: ${error instanceof Error ? error.message : String(error)}\n`);
      }
    });
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    stats.requests++;
    const path = (req.url ?? '/').split('?')[0];
    if (path !== WRITE_PATH) {
      req.resume();
      return refuse(res, new Refusal(404, 'not-found', `not found: ${JSON.stringify(path.slice(0, 200))} (the write endpoint is ${WRITE_PATH})`));
    }
    if (req.method !== 'POST') {
      req.resume();
      return refuse(res, new Refusal(405, 'method-not-allowed', `method ${req.method ?? ''} not allowed: use POST`), { Allow: 'POST' });
    }
    const fault = faults.next();
    if (fault === undefined) return serve(req, res);
    stats.faultsInjected++;
    serveFault(fault, req, res, () => serve(req, res), timers);
  };

  const server: Server = createServer(handle);
  const boundPort = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
  const hostPart = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${hostPart}:${boundPort}${WRITE_PATH}`,
    mode,
    injectFaults: (list) => faults.add(list),
    randomFaults: (options) => faults.setRandom(options),
    series: (match) => store.read(match),
    samples: (match) => store.samples(match),
    seriesCount: () => store.seriesCount,
    samplesStored: () => store.sampleCount,
    stats: () => ({ ...stats, requestsRefused: { ...stats.requestsRefused }, refusedByReason: { ...stats.refusedByReason } }),
    reset() {
      stats = newStats();
      store.clear();
      faults.clear();
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        faults.clear();
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close(() => resolve());
        // Keep-alive, hanging and delayed requests: close() alone would wait for them.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
