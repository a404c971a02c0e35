/**
 * The Remote-Write 1.0 messages, loaded from `proto/remote.proto` with protobufjs.
 * rxprom's hot path encodes by hand (see encoder.ts); these types decode requests (receiver, tests)
 * and serve as the reference encoding that the hand-written one is checked against.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

export interface DecodedLabel {
  name: string;
  value: string;
}
export interface DecodedSample {
  value: number;
  timestamp: number;
}
export interface DecodedTimeSeries {
  labels: DecodedLabel[];
  samples: DecodedSample[];
}
export interface DecodedWriteRequest {
  timeseries: DecodedTimeSeries[];
}

function protoPath(): string {
  // Compiled code lives in dist/src, sources in src: the proto folder sits at the package root.
  for (const relative of ['../../../proto/remote.proto', '../../proto/remote.proto']) {
    const path = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error('rxprom: proto/remote.proto not found next to the package');
}

let cached: protobuf.Type | undefined;

/** The protobufjs type of `prometheus.WriteRequest`. */
export function writeRequestType(): protobuf.Type {
  cached ??= protobuf.loadSync(protoPath()).lookupType('prometheus.WriteRequest');
  return cached;
}

/** Decodes an uncompressed WriteRequest; throws on malformed protobuf. */
export function decodeWriteRequest(bytes: Uint8Array): DecodedWriteRequest {
  const type = writeRequestType();
  const message = type.decode(bytes);
  return type.toObject(message, { longs: Number, defaults: true, arrays: true }) as DecodedWriteRequest;
}

/** Encodes a WriteRequest with protobufjs (the reference encoding; slow, for tests and tools). */
export function encodeWriteRequestReference(request: DecodedWriteRequest): Uint8Array {
  const type = writeRequestType();
  return type.encode(type.fromObject(request)).finish();
}
