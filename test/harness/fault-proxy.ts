/**
 * An HTTP proxy in front of a real receiver that injects faults on demand: each planned fault is
 * used by one request, in order; requests beyond the plan pass through untouched (or get a
 * random fault, with `randomFaults`). Faults are the shared vocabulary of rxprom/testing
 * (`Fault`, checked by `FaultPlan`, served by `serveFault`), as in the embedded receiver.
 * `down()` stops listening (connections are refused, as when the endpoint restarts) and `up()`
 * listens again on the same port.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { FaultPlan, serveFault, type Fault, type RandomFaults } from '../../src/testing/faults.js';

export type { Fault } from '../../src/testing/faults.js';

export interface FaultProxy {
  readonly url: string;
  /** Queues faults for the next requests (checked: a bad one throws `ConfigError`). */
  plan(faults: readonly Fault[]): void;
  /** After the queue: a fault at random for a share of the requests; `undefined` turns it off. */
  randomFaults(options: RandomFaults | undefined): void;
  /** Faults still queued. */
  pending(): number;
  /** Requests seen, forwarded or not. */
  requests(): number;
  down(): Promise<void>;
  up(): Promise<void>;
  stop(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startFaultProxy(targetUrl: string): Promise<FaultProxy> {
  const target = new URL(targetUrl);
  const faults = new FaultPlan();
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();
  let seen = 0;

  const forward = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const headers = { ...req.headers, host: target.host };
    const upstream = httpRequest(
      { hostname: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502).end(`proxy: ${error.message}`);
      else res.destroy();
    });
    upstream.end(body);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    seen++;
    const proceed = (): void => {
      forward(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(502).end(`proxy: ${String(error)}`);
      });
    };
    const fault = faults.next();
    if (fault === undefined) proceed();
    else serveFault(fault, req, res, proceed, timers);
  };

  let server: Server = createServer(handle);
  const listen = async (port: number): Promise<number> => {
    server = createServer(handle);
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  };
  const close = async (): Promise<void> => {
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    await closed;
  };

  const port = await listen(0);
  let listening = true;
  return {
    url: `http://127.0.0.1:${port}${target.pathname}`,
    plan: (list) => faults.add(list),
    randomFaults: (options) => faults.setRandom(options),
    pending: () => faults.pending,
    requests: () => seen,
    async down() {
      if (!listening) return;
      listening = false;
      await close();
    },
    async up() {
      if (listening) return;
      await listen(port);
      listening = true;
    },
    async stop() {
      faults.clear();
      if (listening) await close();
      listening = false;
    },
  };
}
