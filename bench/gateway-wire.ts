/**
 * The wire between the fleet process and the pipeline process of the gateway benchmark: frames of
 * `[u32 length][u32 type][payload]` on a pipe. One header frame (JSON: the device ids and the
 * registry, sent once, as a gateway would load its registry), then batch frames of four doubles
 * per reading, so that encoding and decoding cost a few nanoseconds per reading and the transport is
 * never what limits the pipeline (`--variant transport` measures it alone).
 */
import type { DeviceContext, DeviceReading } from '../examples/fleet.js';

export const FRAME_HEADER = 0;
export const FRAME_BATCH = 1;
/** A batch frame: u32 length, u32 type, f64 the fleet's clock when sent, then per reading four f64. */
const BATCH_PREFIX = 16;
const RECORD_DOUBLES = 4;
const KINDS: readonly DeviceReading['kind'][] = ['genuine', 'late', 'duplicate', 'spike'];
const KIND_INDEX: Readonly<Record<DeviceReading['kind'], number>> = { genuine: 0, late: 1, duplicate: 2, spike: 3 };

export interface FleetHeader {
  readonly ids: readonly string[];
  /** Per device: its [site, room], or null when it is missing from the registry. */
  readonly registered: ReadonlyArray<readonly [string, string] | null>;
}

export function encodeHeader(header: FleetHeader): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  // Padded with spaces to a multiple of 8 bytes, so the batches after it stay 8-byte aligned.
  const frame = Buffer.alloc(Math.ceil((8 + json.length) / 8) * 8, 0x20);
  frame.writeUInt32LE(frame.length, 0);
  frame.writeUInt32LE(FRAME_HEADER, 4);
  json.copy(frame, 8);
  return frame;
}

/**
 * Encodes readings as doubles: time, temperature, humidity, and device index × 4 + kind;
 * `indexOf` maps a device id to its index in the header's `ids`.
 */
export function encodeBatch(readings: readonly DeviceReading[], indexOf: ReadonlyMap<string, number>, sentAt: number): Buffer {
  const doubles = new Float64Array(BATCH_PREFIX / 8 + readings.length * RECORD_DOUBLES);
  const frame = Buffer.from(doubles.buffer);
  frame.writeUInt32LE(frame.length, 0);
  frame.writeUInt32LE(FRAME_BATCH, 4);
  doubles[1] = sentAt;
  let at = BATCH_PREFIX / 8;
  for (const r of readings) {
    doubles[at] = r.timestamp;
    doubles[at + 1] = r.temperature;
    doubles[at + 2] = r.humidity;
    doubles[at + 3] = (indexOf.get(r.device) as number) * 4 + KIND_INDEX[r.kind];
    at += RECORD_DOUBLES;
  }
  return frame;
}

/** What the pipeline process does with the frames it reads. */
export interface FrameHandlers {
  header(header: FleetHeader): void;
  /** A batch: `decode(ids)` makes fresh reading objects of it, as a message decoder would. */
  batch(sentAt: number, count: number, decode: (ids: readonly string[]) => DeviceReading[]): void;
}

/** Splits a byte stream into frames (chunks of a pipe end anywhere). */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly handlers: FrameHandlers) {}

  push(chunk: Buffer): void {
    let data = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let at = 0;
    while (data.length - at >= 8) {
      const length = data.readUInt32LE(at);
      if (data.length - at < length) break;
      const type = data.readUInt32LE(at + 4);
      if (type === FRAME_HEADER) this.handlers.header(JSON.parse(data.toString('utf8', at + 8, at + length)) as FleetHeader);
      else if (type === FRAME_BATCH) this.batch(data.subarray(at, at + length));
      else throw new Error(`gateway wire: unknown frame type ${type}`);
      at += length;
    }
    data = data.subarray(at);
    // Keep only the unfinished frame, copied so the pipe's chunk can be released.
    this.pending = data.length === 0 ? Buffer.alloc(0) : Buffer.from(data);
  }

  private batch(frame: Buffer): void {
    // A Float64Array view needs 8-byte alignment: copy a frame that does not start on one.
    const aligned = frame.byteOffset % 8 === 0 ? frame : Buffer.from(frame);
    const doubles = new Float64Array(aligned.buffer, aligned.byteOffset, aligned.length / 8);
    const count = (doubles.length - BATCH_PREFIX / 8) / RECORD_DOUBLES;
    this.handlers.batch(doubles[1], count, (ids) => {
      const readings = new Array<DeviceReading>(count);
      let at = BATCH_PREFIX / 8;
      for (let i = 0; i < count; i++) {
        const tag = doubles[at + 3];
        readings[i] = { device: ids[tag >>> 2], timestamp: doubles[at], temperature: doubles[at + 1], humidity: doubles[at + 2], kind: KINDS[tag & 3] };
        at += RECORD_DOUBLES;
      }
      return readings;
    });
  }
}

/** The registry a header describes. */
export function registryOf(header: FleetHeader): Map<string, DeviceContext> {
  const registry = new Map<string, DeviceContext>();
  header.ids.forEach((id, i) => {
    const placed = header.registered[i];
    if (placed !== null) registry.set(id, { site: placed[0], room: placed[1] });
  });
  return registry;
}
