/**
 * A sender process for the kill -9 spec of a spooled batch sent in pieces: 20 samples (4 series,
 * 5 steps) into a spooled `remoteWrite` whose batch holds them all. Its client forwards every
 * request to `--url`; request number `--hang-at` is forwarded (the receiver stores it) but its
 * answer is never delivered, and the process prints `stored <n>` then: the parent kills it there,
 * between a piece being written and the sink learning it.
 */
import { parseArgs } from 'node:util';
import { Subject } from 'rxjs';
import { remoteWrite } from '../../../operators/remote-write.js';
import { silentLogger } from '../../../src/core/logger.js';
import type { Sample } from '../../../src/core/model.js';
import type { WriteAbortSignal, WriteClient, WriteResult } from '../../../src/remote-write/http/write-client.js';

const { values: o } = parseArgs({ options: { url: { type: 'string', default: '' }, spool: { type: 'string', default: '' }, 'hang-at': { type: 'string', default: '0' }, base: { type: 'string', default: '0' } } });
const hangAt = Number(o['hang-at']);
const base = Number(o.base);

class ForwardingClient implements WriteClient {
  private requests = 0;
  async send(body: Uint8Array, signal: WriteAbortSignal): Promise<WriteResult> {
    const n = ++this.requests;
    const response = await fetch(o.url, { method: 'POST', body, headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' } });
    const text = await response.text();
    if (n !== hangAt) return { kind: 'response', status: response.status, body: text, attempts: 1 };
    process.stdout.write(`stored ${n} ${response.status}\n`);
    return new Promise<WriteResult>((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
  }
}

// Kept alive until killed: nothing else holds the event loop while the request hangs.
setInterval(() => {}, 1000);
const sink = remoteWrite({ url: o.url, client: new ForwardingClient(), logger: silentLogger, shards: 1, maxSamplesPerRequest: 20, spool: { directory: o.spool } });
const source = new Subject<Sample>();
source.pipe(sink).subscribe({ error: (error: unknown) => process.stderr.write(`sink error: ${String(error)}\n`) });
for (let step = 0; step < 5; step++) {
  for (let s = 0; s < 4; s++) source.next({ labels: { __name__: 'rxprom_partial_kill', series: String(s) }, value: step * 10 + s, timestamp: base + step * 1000 });
}
