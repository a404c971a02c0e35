/**
 * An HTTP proxy in front of a real receiver that injects faults on demand: each planned fault is
 * used by one request, in order; requests beyond the plan pass through untouched. `down()` stops
 * listening (connections are refused, as when the endpoint restarts) and `up()` listens again on
 * the same port.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type Fault =
  /** Answer with this status (and body/headers) instead of forwarding. */
  | { readonly status: number; readonly body?: string; readonly headers?: Readonly<Record<string, string>> }
  /** Destroy the connection without answering. */
  | { readonly reset: true }
  /** Wait, then forward. */
  | { readonly delayMs: number }
  /** Never answer (until the client gives up or the proxy stops). */
  | { readonly hang: true };

export interface FaultProxy {
  readonly url: string;
  /** Queues faults for the next requests. */
  plan(faults: readonly Fault[]): void;
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
  const queue: Fault[] = [];
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
    const fault = queue.shift();
    const fail = (error: unknown): void => {
      if (!res.headersSent) res.writeHead(502).end(`proxy: ${String(error)}`);
    };
    if (!fault) {
      forward(req, res).catch(fail);
    } else if ('status' in fault) {
      readBody(req)
        .then(() => {
          res.writeHead(fault.status, { 'content-type': 'text/plain', ...fault.headers });
          res.end(fault.body ?? '');
        })
        .catch(fail);
    } else if ('reset' in fault) {
      req.socket.destroy();
    } else if ('delayMs' in fault) {
      setTimeout(() => forward(req, res).catch(fail), fault.delayMs);
    } else {
      // hang: read the body and never answer; the socket is destroyed by the client or by stop().
      readBody(req).catch(() => {});
    }
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
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    await closed;
  };

  const port = await listen(0);
  let listening = true;
  return {
    url: `http://127.0.0.1:${port}${target.pathname}`,
    plan(faults) {
      queue.push(...faults);
    },
    pending: () => queue.length,
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
      queue.length = 0;
      if (listening) await close();
      listening = false;
    },
  };
}
