/**
 * An HTTP proxy in front of a real receiver that injects faults on demand: each planned fault is
 * used by one request, in order; requests beyond the plan pass through untouched (or get a
 * random fault, with `randomFaults`). Faults are the shared vocabulary of rxprom/testing
 * (`Fault`, checked by `FaultPlan`, served by `serveFault`), as in the embedded receiver.
 * `down()` stops listening (connections are refused, as when the endpoint restarts) and `up()`
 * listens again on the same port.
 *
 * `respond(rule)` decides by content (the rule sees each request's body once the queue is empty,
 * e.g. a 400 for any request holding a poison sample, as Prometheus refuses a whole request for
 * one bad sample); `observe(listener)` reports every request's fate (the fault served, or the
 * receiver's status) for tests that check what reached the receiver. A delayed request whose
 * client gave up during the delay is not forwarded, as a reverse proxy abandons it.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { FaultPlan, serveFault, type Fault, type RandomFaults } from '../../src/testing/faults.js';

export type { Fault } from '../../src/testing/faults.js';

/** What became of one request: the fault served (if any) and, when forwarded, the receiver's status. */
export interface ProxyExchange {
  readonly body: Buffer;
  readonly fault?: Fault;
  /** The receiver's status; absent when the request was not forwarded (or forwarding failed). */
  readonly upstreamStatus?: number;
}

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
  /** Decides a fault by content for requests the queue does not cover; `undefined` removes it. */
  respond(rule: ((body: Buffer) => Fault | undefined) | undefined): void;
  /**
   * Called once per request: when a fault is served (before answering), or when the receiver
   * answered a forwarded one. `undefined` removes it.
   */
  observe(listener: ((exchange: ProxyExchange) => void) | undefined): void;
  /**
   * Stops listening and closes the connections. With `letInFlightFinish`, a request already being
   * handled still gets its answer (its connection closes right after), so that taking the endpoint
   * down never cuts a request the receiver may have stored: every later request is refused.
   */
  down(options?: { readonly letInFlightFinish?: boolean }): Promise<void>;
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

  /** Sockets with a request being handled. */
  const busy = new Set<Socket>();
  let draining = false;
  let rule: ((body: Buffer) => Fault | undefined) | undefined;
  let listener: ((exchange: ProxyExchange) => void) | undefined;

  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer, fault?: Fault): void => {
    const headers = { ...req.headers, host: target.host };
    const upstream = httpRequest(
      { hostname: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers },
      (answer) => {
        listener?.({ body, ...(fault ? { fault } : {}), upstreamStatus: answer.statusCode ?? 502 });
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (error) => {
      listener?.({ body, ...(fault ? { fault } : {}) });
      if (!res.headersSent) res.writeHead(502).end(`proxy: ${error.message}`);
      else res.destroy();
    });
    upstream.end(body);
  };

  const serve = (req: IncomingMessage, res: ServerResponse, body: Buffer, fault: Fault | undefined): void => {
    if (fault === undefined) return forward(req, res, body);
    if ('delayMs' in fault) {
      // After the delay: forwarded, unless the client gave up meanwhile.
      serveFault(fault, req, res, () => (req.socket.destroyed ? listener?.({ body, fault }) : forward(req, res, body, fault)), timers);
      return;
    }
    listener?.({ body, fault });
    serveFault(fault, req, res, () => forward(req, res, body, fault), timers);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    seen++;
    const socket = req.socket;
    busy.add(socket);
    res.on('close', () => {
      busy.delete(socket);
      if (draining) socket.destroy();
    });
    // The queue is consumed in arrival order; a content rule needs the body first.
    const queued = faults.next();
    readBody(req)
      .then((body) => serve(req, res, body, queued ?? rule?.(body)))
      .catch((error: unknown) => {
        if (!res.headersSent && !res.destroyed) res.writeHead(502).end(`proxy: ${String(error)}`);
      });
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
  const close = async (letInFlightFinish = false): Promise<void> => {
    if (!letInFlightFinish) {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    }
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    draining = letInFlightFinish;
    for (const socket of sockets) if (!letInFlightFinish || !busy.has(socket)) socket.destroy();
    // A hanging request never finishes: after a while its connection is cut too.
    const cut = letInFlightFinish ? setTimeout(() => sockets.forEach((socket) => socket.destroy()), 2000) : undefined;
    await closed;
    clearTimeout(cut);
    draining = false;
    sockets.clear();
  };

  const port = await listen(0);
  let listening = true;
  return {
    url: `http://127.0.0.1:${port}${target.pathname}`,
    plan: (list) => faults.add(list),
    randomFaults: (options) => faults.setRandom(options),
    pending: () => faults.pending,
    requests: () => seen,
    respond(next) {
      rule = next;
    },
    observe(next) {
      listener = next;
    },
    async down(options) {
      if (!listening) return;
      listening = false;
      await close(options?.letInFlightFinish ?? false);
    },
    async up() {
      if (listening) return;
      await listen(port);
      listening = true;
    },
    async stop() {
      faults.clear();
      rule = undefined;
      listener = undefined;
      if (listening) await close();
      listening = false;
    },
  };
}
