/**
 * Reads a response body up to a bound, so a huge or endless answer cannot fill memory: a body
 * that ends within `maxBytes` is drained completely (its keep-alive socket goes back to the pool);
 * a longer one, or one that stalls beyond `timeoutMs`, is cut by destroying the stream, which
 * closes its socket. Only the first `keepChars` characters are kept.
 */
import type { Readable } from 'node:stream';

export interface BoundedBody {
  /** The first `keepChars` characters, with `...` appended when there was more. */
  readonly text: string;
  /** Bytes read from the stream (at most about `maxBytes` plus one chunk). */
  readonly bytesRead: number;
  /** True when the body ended within the bound; false when it was cut or failed. */
  readonly complete: boolean;
}

export interface BodyBounds {
  readonly maxBytes: number;
  readonly keepChars: number;
  readonly timeoutMs: number;
}

export function readBoundedBody(stream: Readable, bounds: BodyBounds): Promise<BoundedBody> {
  // A UTF-8 character is at most 4 bytes: this many bytes hold keepChars characters.
  const keepBytes = bounds.keepChars * 4;
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let bytesRead = 0;
  return new Promise<BoundedBody>((resolve) => {
    let settled = false;
    const finish = (complete: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
      // Keep consuming errors from a destroyed stream: an unhandled 'error' would crash the process.
      stream.on('error', () => {});
      if (!complete && !stream.destroyed) stream.destroy();
      const decoded = Buffer.concat(kept).toString('utf8');
      const more = !complete || decoded.length > bounds.keepChars || keptBytes < bytesRead;
      const text = decoded.length > bounds.keepChars ? decoded.slice(0, bounds.keepChars) : decoded;
      resolve({ text: more ? `${text}...` : text, bytesRead, complete });
    };
    const onData = (chunk: Buffer | string): void => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      bytesRead += bytes.length;
      if (keptBytes < keepBytes) {
        const part = bytes.subarray(0, keepBytes - keptBytes);
        kept.push(part);
        keptBytes += part.length;
      }
      if (bytesRead > bounds.maxBytes) finish(false);
    };
    const onEnd = (): void => finish(true);
    const onError = (): void => finish(false);
    const onClose = (): void => finish(false);
    const timer = setTimeout(() => finish(false), bounds.timeoutMs);
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}
