/**
 * Test helper: a `WriteClient` that answers from a script, with no server. Each request takes the
 * next scripted answer; with none left it uses `fallback` (204 unless changed). It keeps every
 * body it was sent, decoded, so a test can check what a receiver would have got.
 */
import type { WriteClient, WriteResult } from '../../src/remote-write/http/write-client.js';
import { decodeWriteRequest, type DecodedWriteRequest } from '../../src/protocol/reference.js';
import { snappyUncompress } from '../../src/protocol/snappy.js';

export type ScriptedAnswer =
  /** Resolve with this result (after `delayMs`, if given). */
  | { readonly result: WriteResult; readonly delayMs?: number }
  /** Never resolve; reject when the request is aborted (as a real client does). */
  | { readonly hang: true }
  /** Throw synchronously from `send` (a broken client). */
  | { readonly throws: string };

export const written: WriteResult = { kind: 'response', status: 204, body: '', attempts: 1 };

export function status(code: number, body = '', attempts = 1): WriteResult {
  return { kind: 'response', status: code, body, attempts };
}

export class ScriptedClient implements WriteClient {
  readonly script: ScriptedAnswer[] = [];
  /** Every request sent, in order, decoded, with the answer it got. */
  readonly requests: Array<{ request: DecodedWriteRequest; samples: number; answer: ScriptedAnswer }> = [];
  fallback: ScriptedAnswer = { result: written };
  /** When set and the script is empty: the answer, from the request's content. */
  decide: ((request: DecodedWriteRequest) => ScriptedAnswer) | undefined;
  /** Requests aborted while waiting for their answer. */
  aborted = 0;
  closed = 0;

  constructor(...answers: ScriptedAnswer[]) {
    this.script.push(...answers);
  }

  send(body: Buffer, signal: AbortSignal): Promise<WriteResult> {
    const request = decodeWriteRequest(snappyUncompress(body, 1 << 28));
    const answer = this.script.shift() ?? this.decide?.(request) ?? this.fallback;
    const samples = request.timeseries.reduce((n, ts) => n + ts.samples.length, 0);
    this.requests.push({ request, samples, answer });
    if ('throws' in answer) throw new Error(answer.throws);
    return new Promise<WriteResult>((resolve, reject) => {
      const onAbort = (): void => {
        this.aborted++;
        clearTimeout(timer);
        reject(new Error('aborted'));
      };
      let timer: NodeJS.Timeout | undefined;
      if ('hang' in answer) {
        signal.addEventListener('abort', onAbort, { once: true });
        return;
      }
      const finish = (): void => {
        signal.removeEventListener('abort', onAbort);
        resolve(answer.result);
      };
      if (answer.delayMs === undefined) return finish();
      signal.addEventListener('abort', onAbort, { once: true });
      timer = setTimeout(finish, answer.delayMs);
    });
  }

  close(): void {
    this.closed++;
  }

  /** Samples in requests answered 2xx. */
  samplesWritten(): number {
    return this.requests.filter((r) => 'result' in r.answer && r.answer.result.kind === 'response' && r.answer.result.status < 300).reduce((n, r) => n + r.samples, 0);
  }
}
