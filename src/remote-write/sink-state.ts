/**
 * The sink's state in a checkpoint (`remoteWrite({ state })`), and what a restart makes of it.
 *
 * - `newest`: the order guard, the newest accepted timestamp of each live series, keyed by the
 *   series' canonical key (its protobuf label bytes, one char per byte). Restored, it refuses what
 *   was already accepted.
 * - `spool`: with a spool, each lane's next spool sequence at the snapshot. Everything the sink
 *   accepted after the snapshot is in records from there on; a restart reads them
 *   (`scanSpooledSince`) to raise each series' guard, so the samples a deterministic pipeline
 *   regenerates (replaying its source from the checkpoint) are dropped as `'replayed'` instead of
 *   being sent twice.
 * - `unwritten`: without a spool, the samples accepted but not yet written, re-queued first on
 *   restore (as replayed samples).
 */
import { decodeBody } from '../protocol/decoder.js';
import type { DiskSpool } from '../durable/spool.js';
import type { SeriesInterner } from './series-interner.js';

export interface RemoteWriteState {
  readonly version: 1;
  /** Series key → newest accepted timestamp (ms). */
  readonly newest: Readonly<Record<string, number>>;
  /**
   * Series key → newest timestamp accepted before a restart that the source has not regenerated yet
   * (its regenerated samples up to it are dropped as `'replayed'`); `newest` then holds how far it has.
   */
  readonly replayed?: Readonly<Record<string, number>>;
  /** Spool lane name → the lane's next sequence at the snapshot. */
  readonly spool?: Readonly<Record<string, number>>;
  /** `[series key, value, timestamp]`, oldest first per lane; a value that is not finite (NaN, the stale marker, ±Infinity) is its 8 bytes in hex. */
  readonly unwritten?: ReadonlyArray<readonly [string, number | string, number]>;
}

/** The order guard as a compact record. */
export function snapshotGuard(interner: SeriesInterner): Record<string, number> {
  const newest: Record<string, number> = {};
  interner.forEachLive((key, timestamp) => {
    if (timestamp !== -Infinity) newest[key] = timestamp;
  });
  return newest;
}

/** A value as JSON can hold it: finite numbers as they are, any other as its bit pattern (a NaN's payload is the stale marker). */
export function encodeValue(value: number): number | string {
  if (Number.isFinite(value)) return value;
  bits[0] = value;
  return Buffer.from(bits.buffer).toString('hex');
}

export function decodeValue(value: number | string): number {
  if (typeof value === 'number') return value;
  if (!/^[0-9a-f]{16}$/.test(value)) return Number.NaN;
  Buffer.from(bits.buffer).write(value, 'hex');
  return bits[0];
}

const bits = new Float64Array(1);

/** Whether `value` looks like a state this sink wrote (a state of another stage or version is refused with a message). */
export function checkState(value: unknown): RemoteWriteState | string {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const state = value as Partial<RemoteWriteState>;
  if (state.version !== 1) return `version ${String(state.version)} (this sink reads version 1)`;
  if (typeof state.newest !== 'object' || state.newest === null) return 'no order guard (`newest`)';
  if (state.replayed !== undefined && (typeof state.replayed !== 'object' || state.replayed === null)) return '`replayed` is not an object';
  if (state.spool !== undefined && (typeof state.spool !== 'object' || state.spool === null)) return '`spool` is not an object';
  if (state.unwritten !== undefined && !Array.isArray(state.unwritten)) return '`unwritten` is not an array';
  return state as RemoteWriteState;
}

/**
 * The newest timestamp per series key among the records each lane appended from its checkpoint
 * position on (acknowledged ones included: the spool retains them until the next checkpoint).
 * A record that cannot be decoded is skipped and counted.
 */
export async function scanSpooledSince(spool: DiskSpool, positions: Readonly<Record<string, number>>): Promise<{ newest: Map<string, number>; records: number; undecodable: number }> {
  const newest = new Map<string, number>();
  let records = 0;
  let undecodable = 0;
  for (const lane of spool.laneNames()) {
    const from = positions[lane] ?? 0;
    for await (const record of spool.records(lane, from)) {
      records++;
      let wire;
      try {
        wire = decodeBody(record.body, 64 * 1024 * 1024);
      } catch {
        undecodable++;
        continue;
      }
      for (const series of wire.series) {
        if (series.rawKey === undefined || series.count === 0) continue;
        let max = -Infinity;
        for (let i = series.start; i < series.start + series.count; i++) if (wire.timestamps[i] > max) max = wire.timestamps[i];
        const known = newest.get(series.rawKey);
        if (known === undefined || max > known) newest.set(series.rawKey, max);
      }
    }
  }
  return { newest, records, undecodable };
}
