/**
 * The gateway's live page: charts of the room aggregates and of the pipeline's flow, fed over
 * Server-Sent Events by `liveFeed`, drawn by uPlot (served from node_modules as it ships: no
 * build step), and the process' metrics for Prometheus on `/metrics` (prom-client).
 *
 *   GET /                  the page          GET /live/aggregates  window roll-ups (SSE)
 *   GET /metrics           Prometheus text   GET /live/flow        flow figures every second (SSE)
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Subject, interval, map, tap, type MonoTypeOperatorFunction } from 'rxjs';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { registerRxpromMetrics, type Sample, type RemoteWriteMetrics, type OperatorStatsSource } from '../../src/index.js';
import { liveFeed, type LiveFeed } from '../../src/live/index.js';
import { roomRollup, type RoomRollupPoint } from './room-rollup.js';

/** Cumulative figures the gateway keeps; the page gets them with per-second rates. */
export interface FlowReading {
  readonly eventsIn: number;
  readonly unregistered: number;
  readonly outliers: number;
  readonly duplicates: number;
  readonly lateReorder: number;
  readonly lateWindow: number;
  readonly aggregates: number;
  readonly written: number;
  readonly dropped: number;
  readonly retries: number;
  readonly pending: number;
  readonly inFlight: number;
  /** Seconds from the newest aggregate's timestamp to now, or null before the first. */
  readonly lagSeconds: number | null;
}

export interface FlowPoint extends FlowReading {
  /** Time of the reading (ms). */
  readonly t: number;
  /** Per-second rates since the previous reading. */
  readonly rates: {
    readonly eventsIn: number;
    readonly unregistered: number;
    readonly outliers: number;
    readonly duplicates: number;
    readonly late: number;
    readonly aggregates: number;
    readonly written: number;
    readonly dropped: number;
  };
}

export interface DashboardOptions {
  /** Port to listen on; 0 picks a free one. If the port is taken, a free one is used instead. */
  readonly port: number;
  /** Address to bind (default 127.0.0.1: the page is for this machine unless you say otherwise). */
  readonly host?: string;
  readonly readFlow: () => FlowReading;
  readonly sink: { readonly metrics: RemoteWriteMetrics };
  readonly operators?: Readonly<Record<string, OperatorStatsSource>>;
  /** How often the flow is sampled (default 1000 ms). */
  readonly flowIntervalMs?: number;
  /** Require this bearer token on the live feeds (the page passes it as ?access_token=). */
  readonly token?: string;
}

export interface Dashboard {
  readonly url: string;
  /** Put this after the aggregation: it passes samples on and feeds the page's room chart. */
  readonly aggregates: MonoTypeOperatorFunction<Sample>;
  readonly feeds: { readonly aggregates: LiveFeed<RoomRollupPoint>; readonly flow: LiveFeed<FlowPoint> };
  readonly registry: Registry;
  close(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));
// Compiled to dist/examples/dashboard/: the page's files stay in the source folder.
const assetsDir = here.includes(`${join('dist', 'examples')}`) ? join(here, '..', '..', '..', 'examples', 'dashboard') : here;
const uplotDir = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');

const STATIC: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: join(assetsDir, 'index.html'), type: 'text/html; charset=utf-8' },
  '/app.js': { file: join(assetsDir, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/uplot/uPlot.iife.min.js': { file: join(uplotDir, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  '/uplot/uPlot.min.css': { file: join(uplotDir, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

function listen(server: ReturnType<typeof createServer>, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = (): void => {
      server.off('error', onError);
      const address = server.address();
      resolve(address !== null && typeof address === 'object' ? address.port : port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const host = options.host ?? '127.0.0.1';
  const flowIntervalMs = options.flowIntervalMs ?? 1000;
  const aggregatesFeed = liveFeed<RoomRollupPoint>({ history: 300, token: options.token });
  const flowFeed = liveFeed<FlowPoint>({ history: 300, token: options.token });

  const samples = new Subject<Sample>();
  aggregatesFeed.connect(samples.pipe(roomRollup()));
  let previous: { t: number; reading: FlowReading } | undefined;
  flowFeed.connect(
    interval(flowIntervalMs).pipe(
      map((): FlowPoint => {
        const t = Date.now();
        const reading = options.readFlow();
        const seconds = previous ? Math.max(0.001, (t - previous.t) / 1000) : 1;
        const before = previous?.reading ?? reading;
        const rate = (now: number, then: number): number => Math.max(0, now - then) / seconds;
        previous = { t, reading };
        return {
          t,
          ...reading,
          rates: {
            eventsIn: rate(reading.eventsIn, before.eventsIn),
            unregistered: rate(reading.unregistered, before.unregistered),
            outliers: rate(reading.outliers, before.outliers),
            duplicates: rate(reading.duplicates, before.duplicates),
            late: rate(reading.lateReorder + reading.lateWindow, before.lateReorder + before.lateWindow),
            aggregates: rate(reading.aggregates, before.aggregates),
            written: rate(reading.written, before.written),
            dropped: rate(reading.dropped, before.dropped),
          },
        };
      }),
    ),
  );

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  registerRxpromMetrics(registry, { sink: options.sink, operators: options.operators, feeds: { aggregates: aggregatesFeed, flow: flowFeed } });

  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path === '/live/aggregates') return aggregatesFeed.handle(request, response);
    if (path === '/live/flow') return flowFeed.handle(request, response);
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => {
          response.writeHead(200, { 'Content-Type': registry.contentType });
          response.end(text);
        },
        (error: unknown) => {
          response.writeHead(500, { 'Content-Type': 'text/plain' });
          response.end(`metrics failed: ${error instanceof Error ? error.message : String(error)}\n`);
        },
      );
      return;
    }
    if (path === '/favicon.ico') {
      response.writeHead(204, { 'Cache-Control': 'max-age=86400' });
      response.end();
      return;
    }
    const asset = STATIC[path];
    if (asset === undefined || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'Content-Type': 'text/plain' });
      response.end('not found\n');
      return;
    }
    try {
      const body = readFileSync(asset.file);
      response.writeHead(200, { 'Content-Type': asset.type, 'Content-Length': body.length, 'Cache-Control': 'no-cache' });
      response.end(request.method === 'HEAD' ? undefined : body);
    } catch {
      response.writeHead(500, { 'Content-Type': 'text/plain' });
      response.end(`cannot read ${path}\n`);
    }
  };

  const server = createServer(handle);
  let port: number;
  try {
    port = await listen(server, options.port, host);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    port = await listen(server, 0, host);
  }
  const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${shownHost}:${port}/`,
    aggregates: tap((sample) => samples.next(sample)),
    feeds: { aggregates: aggregatesFeed, flow: flowFeed },
    registry,
    close: async () => {
      samples.complete();
      aggregatesFeed.close();
      flowFeed.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Browsers keep connections alive: do not let them hold the process.
      server.closeAllConnections();
      await closed;
    },
  };
}
