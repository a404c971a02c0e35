/**
 * Decoding of Remote-Write 1.0 request bodies from untrusted senders: the size guards, snappy
 * (through the block check of snappy.ts) and a hand-written `prometheus.WriteRequest` decoder.
 * It knows nothing of HTTP or of what a receiver accepts: every failure is a `DecodeError` that
 * names the layer that failed, and the embedded receiver turns it into its answer.
 */
import { isUtf8 } from 'node:buffer';
import type { DecodedLabel } from './reference.js';
import { snappyUncompress } from './snappy.js';

/** Which check a body failed: its announced size, its snappy framing, or its protobuf. */
export type DecodeProblem = 'too-large' | 'bad-snappy' | 'bad-protobuf';

/** A body that cannot be decoded; the message starts with the layer (`snappy: ` or `protobuf: `). */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    readonly problem: DecodeProblem,
    message: string,
  ) {
    super(message);
  }
}

// Snappy's densest element is a 2-byte-offset copy: 3 bytes for up to 64 output bytes. A body
// announcing more than that ratio cannot be valid, so it is refused before any allocation.
const MAX_SNAPPY_RATIO = 22;

/** The uncompressed length a snappy block announces (its varint preamble), or -1 when unreadable. */
export function snappyAnnouncedLength(body: Uint8Array): number {
  let result = 0;
  for (let i = 0; i < Math.min(body.length, 5); i++) {
    const byte = body[i];
    result += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return result;
  }
  return -1;
}

/**
 * Decompresses and decodes one Remote-Write 1.0 body. Throws a `DecodeError`, never anything
 * else: the announced length is checked before snappy allocates its output ('too-large' past
 * `maxDecompressedBytes`), and every error of the snappy and protobuf layers is turned into a
 * 'bad-snappy' or 'bad-protobuf' naming the layer that failed.
 */
export function decodeBody(body: Uint8Array, maxDecompressedBytes: number): WireRequest {
  const announced = snappyAnnouncedLength(body);
  if (announced < 0) throw new DecodeError('bad-snappy', 'snappy: corrupt input: no length preamble (is the body snappy block-compressed?)');
  if (announced > maxDecompressedBytes) {
    throw new DecodeError('too-large', `snappy: the body announces ${announced} decompressed bytes, more than the limit of ${maxDecompressedBytes} (maxDecompressedBytes)`);
  }
  if (announced > body.length * MAX_SNAPPY_RATIO + 16) {
    throw new DecodeError('bad-snappy', `snappy: corrupt input: ${body.length} bytes cannot decompress to the ${announced} bytes announced`);
  }
  let raw: Uint8Array;
  try {
    raw = snappyUncompress(body, maxDecompressedBytes);
  } catch (error) {
    throw new DecodeError('bad-snappy', `snappy: ${messageOf(error)}`);
  }
  try {
    return decodeWire(Buffer.isBuffer(raw) ? raw : Buffer.from(raw));
  } catch (error) {
    throw new DecodeError('bad-protobuf', `protobuf: ${messageOf(error)}`);
  }
}

/** One `TimeSeries` of a request: labels still as byte spans, samples as a range of the request's columns. */
export interface WireSeries {
  /** The bytes of its `Label` fields (latin1) when they are contiguous: equal bytes, equal labels. */
  readonly rawKey: string | undefined;
  /** Its labels in `WireRequest.labelSpans`: from index `spanStart` (inclusive) to `spanEnd`, four numbers per label. */
  readonly spanStart: number;
  readonly spanEnd: number;
  /** First sample's index in `timestamps` / `values`. */
  readonly start: number;
  readonly count: number;
}

/** A decoded `WriteRequest`, column-wise: no object per sample or label. */
export interface WireRequest {
  readonly raw: Buffer;
  readonly series: readonly WireSeries[];
  /** Per label: start and end of the name, start and end of the value, in `raw` (one array per request). */
  readonly labelSpans: Uint32Array;
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
  readonly samples: number;
}

class WireError extends Error {}

const TWO_32 = 4294967296;

/**
 * A hand-written decoder for `prometheus.WriteRequest` (the schema in proto/remote.proto):
 * several times faster than protobufjs' objects, which cost more than everything else the
 * receiver does. Stricter than protobufjs: a known field with the wrong wire type, a truncated
 * field, an over-long varint or a group is an error. Unknown fields are skipped. Repeated scalar
 * fields: the last one wins, as protobuf says.
 */
export function decodeWire(input: Uint8Array): WireRequest {
  const raw = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const end = raw.length;
  const series: WireSeries[] = [];
  let labelSpans = new Uint32Array(256);
  let spanCount = 0;
  let timestamps = new Float64Array(Math.max(16, Math.min(1 << 16, raw.length >>> 4)));
  let values = new Float64Array(timestamps.length);
  let samples = 0;
  let p = 0;

  const varint = (limit: number): number => {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (p >= limit) throw new WireError(`truncated varint at offset ${p}`);
      const byte = raw[p++];
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
    throw new WireError(`varint longer than 10 bytes at offset ${p}`);
  };
  // int64 in two's complement: exact through two 32-bit halves (a double would lose -1).
  const int64 = (limit: number): number => {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (p >= limit) throw new WireError(`truncated varint at offset ${p}`);
      const byte = raw[p++];
      const bits = byte & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if (byte < 0x80) {
        lo >>>= 0;
        hi >>>= 0;
        if (hi < 0x80000000) return hi * TWO_32 + lo;
        lo = (~lo + 1) >>> 0;
        hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
        return -(hi * TWO_32 + lo);
      }
    }
    throw new WireError(`varint longer than 10 bytes at offset ${p}`);
  };
  const lengthOf = (limit: number): number => {
    const length = p < limit && raw[p] < 0x80 ? raw[p++] : varint(limit);
    if (length > limit - p) throw new WireError(`field length ${length} at offset ${p} runs past the end of its message`);
    return length;
  };
  const skip = (wireType: number, limit: number, field: number): void => {
    switch (wireType) {
      case 0:
        varint(limit);
        return;
      case 1:
        if (limit - p < 8) throw new WireError(`truncated fixed64 at offset ${p}`);
        p += 8;
        return;
      case 2:
        p += lengthOf(limit);
        return;
      case 5:
        if (limit - p < 4) throw new WireError(`truncated fixed32 at offset ${p}`);
        p += 4;
        return;
      default:
        throw new WireError(`unsupported wire type ${wireType} (field ${field}) at offset ${p}`);
    }
  };
  const expect = (wireType: number, wanted: number, what: string): void => {
    if (wireType !== wanted) throw new WireError(`${what} has wire type ${wireType}, expected ${wanted}, at offset ${p}`);
  };

  while (p < end) {
    const tag = p < end && raw[p] < 0x80 ? raw[p++] : varint(end);
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (field === 0) throw new WireError(`field number 0 at offset ${p}`);
    if (field !== 1) {
      skip(wireType, end, field);
      continue;
    }
    expect(wireType, 2, 'WriteRequest.timeseries');
    const seriesEndLength = lengthOf(end); // read before p: it advances p
    const seriesEnd = p + seriesEndLength;
    const spanStart = spanCount;
    const start = samples;
    let keyStart = -1;
    let keyEnd = -1;
    let contiguous = true;
    while (p < seriesEnd) {
      const fieldStart = p;
      const tag = p < seriesEnd && raw[p] < 0x80 ? raw[p++] : varint(seriesEnd);
      const field = Math.floor(tag / 8);
      const wireType = tag & 7;
      if (field === 0) throw new WireError(`field number 0 at offset ${p}`);
      if (field === 1) {
        expect(wireType, 2, 'TimeSeries.labels');
        const labelEndLength = lengthOf(seriesEnd); // read before p: it advances p
        const labelEnd = p + labelEndLength;
        let nameStart = p;
        let nameEnd = p;
        let valueStart = p;
        let valueEnd = p;
        while (p < labelEnd) {
          const tag = p < labelEnd && raw[p] < 0x80 ? raw[p++] : varint(labelEnd);
          const field = Math.floor(tag / 8);
          const wireType = tag & 7;
          if (field === 0) throw new WireError(`field number 0 at offset ${p}`);
          if (field === 1 || field === 2) {
            expect(wireType, 2, field === 1 ? 'Label.name' : 'Label.value');
            const length = lengthOf(labelEnd);
            if (field === 1) {
              nameStart = p;
              nameEnd = p + length;
            } else {
              valueStart = p;
              valueEnd = p + length;
            }
            p += length;
          } else skip(wireType, labelEnd, field);
        }
        // A typed array grown by hand: pushing onto a number[] was most of the decoding time.
        if (spanCount + 4 > labelSpans.length) {
          const grown = new Uint32Array(labelSpans.length * 2);
          grown.set(labelSpans);
          labelSpans = grown;
        }
        labelSpans[spanCount++] = nameStart;
        labelSpans[spanCount++] = nameEnd;
        labelSpans[spanCount++] = valueStart;
        labelSpans[spanCount++] = valueEnd;
        if (keyStart < 0) keyStart = fieldStart;
        else if (keyEnd !== fieldStart) contiguous = false;
        keyEnd = p;
      } else if (field === 2) {
        expect(wireType, 2, 'TimeSeries.samples');
        const sampleEndLength = lengthOf(seriesEnd); // read before p: it advances p
        const sampleEnd = p + sampleEndLength;
        let value = 0;
        let timestamp = 0;
        while (p < sampleEnd) {
          const tag = p < sampleEnd && raw[p] < 0x80 ? raw[p++] : varint(sampleEnd);
          const field = Math.floor(tag / 8);
          const wireType = tag & 7;
          if (field === 0) throw new WireError(`field number 0 at offset ${p}`);
          if (field === 1) {
            expect(wireType, 1, 'Sample.value');
            if (sampleEnd - p < 8) throw new WireError(`truncated Sample.value at offset ${p}`);
            value = raw.readDoubleLE(p);
            p += 8;
          } else if (field === 2) {
            expect(wireType, 0, 'Sample.timestamp');
            timestamp = int64(sampleEnd);
          } else skip(wireType, sampleEnd, field);
        }
        if (samples === timestamps.length) {
          const grownT = new Float64Array(samples * 2);
          const grownV = new Float64Array(samples * 2);
          grownT.set(timestamps);
          grownV.set(values);
          timestamps = grownT;
          values = grownV;
        }
        timestamps[samples] = timestamp;
        values[samples] = value;
        samples++;
      } else skip(wireType, seriesEnd, field);
    }
    const rawKey = contiguous && keyStart >= 0 ? raw.toString('latin1', keyStart, keyEnd) : contiguous ? '' : undefined;
    series.push({ rawKey, spanStart, spanEnd: spanCount, start, count: samples - start });
  }
  return { raw, series, labelSpans, timestamps, values, samples };
}

/** A series' labels as sent (order, repeats and empty values kept), decoded as UTF-8. */
export function wireLabels(request: WireRequest, series: WireSeries): DecodedLabel[] {
  const { raw, labelSpans: spans } = request;
  const out: DecodedLabel[] = [];
  for (let i = series.spanStart; i < series.spanEnd; i += 4) {
    out.push({ name: raw.toString('utf8', spans[i], spans[i + 1]), value: raw.toString('utf8', spans[i + 2], spans[i + 3]) });
  }
  return out;
}

/** The name (decoded leniently) of a series' first label whose name or value is not valid UTF-8, or undefined. */
export function invalidUtf8Label(request: WireRequest, series: WireSeries): string | undefined {
  const { raw, labelSpans: spans } = request;
  for (let i = series.spanStart; i < series.spanEnd; i += 4) {
    if (!isUtf8(raw.subarray(spans[i], spans[i + 1])) || !isUtf8(raw.subarray(spans[i + 2], spans[i + 3]))) {
      return raw.toString('utf8', spans[i], spans[i + 1]);
    }
  }
  return undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
