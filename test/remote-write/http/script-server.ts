/**
 * A loopback `node:http` server that answers each request with the next scripted answer (204
 * when the script is used up) and records what it saw: for the HTTP client's specs.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type ScriptedAnswer =
  | { readonly status: number; readonly body?: string; readonly headers?: Readonly<Record<string, string>> }
  /** Closes the connection without answering. */
  | { readonly reset: true }
  /** Never answers (until the client gives up). */
  | { readonly hang: true }
  /** A 200 whose body streams `bytes` bytes, as fast as the client reads them. */
  | { readonly stream: number };

export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  /** Remote port of the connection: the same for requests on one kept-alive socket. */
  readonly remotePort: number;
}

export class ScriptServer {
  readonly answers: ScriptedAnswer[] = [];
  readonly seen: SeenRequest[] = [];
  /** Bytes of streamed bodies the server managed to write. */
  streamedBytes = 0;
  /** Streamed responses whose connection closed before the whole body was sent. */
  streamsCut = 0;
  connections = 0;
  private readonly server = http.createServer((req, res) => this.answer(req, res));
  port = 0;

  constructor() {
    this.server.on('connection', () => this.connections++);
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  url(path = '/api/v1/write'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  reset(): void {
    this.answers.length = 0;
    this.seen.length = 0;
    this.streamedBytes = 0;
    this.streamsCut = 0;
    this.connections = 0;
    this.server.closeAllConnections();
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      this.seen.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
        remotePort: req.socket.remotePort ?? 0,
      });
      const answer = this.answers.shift() ?? { status: 204 };
      if ('reset' in answer) return void req.socket.destroy();
      if ('hang' in answer) return;
      if ('stream' in answer) return this.stream(res, answer.stream);
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body ?? '');
    });
  }

  /** Writes `total` bytes in 64 KiB chunks, each only when the socket has room (so what is written is what the client read or buffered). */
  private stream(res: http.ServerResponse, total: number): void {
    const chunk = Buffer.alloc(64 * 1024, 'x');
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': String(total) });
    let closed = false;
    res.on('close', () => {
      closed = true;
      if (this.streamedBytes < total) this.streamsCut++;
    });
    const pump = (): void => {
      while (!closed && this.streamedBytes < total) {
        const part = chunk.subarray(0, Math.min(chunk.length, total - this.streamedBytes));
        this.streamedBytes += part.length;
        if (!res.write(part)) return void res.once('drain', pump);
      }
      if (!closed) res.end();
    };
    pump();
  }
}
