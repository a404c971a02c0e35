/**
 * Rolls the gateway's per-room window aggregates up into one point per window for the page:
 * the mean of the rooms' average temperature per site, the coldest and warmest room minimum and
 * maximum, and the mean humidity. Windows close all at once, so a window's samples arrive
 * together; a window is emitted once no sample for it came for `settleMs`.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import type { Sample } from '../../src/index.js';

export interface RoomRollupPoint {
  /** The window's timestamp (ms). */
  readonly t: number;
  /** Mean of the rooms' average temperature, by site (°C). */
  readonly sites: Readonly<Record<string, number>>;
  /** Lowest room minimum and highest room maximum (°C). */
  readonly min: number;
  readonly max: number;
  /** Mean of the rooms' average humidity (%). */
  readonly humidity: number;
  /** Rooms that reported in this window. */
  readonly rooms: number;
}

interface Bucket {
  touchedAt: number;
  siteSums: Map<string, { sum: number; n: number }>;
  min: number;
  max: number;
  humiditySum: number;
  humidityN: number;
  rooms: Set<string>;
}

export function roomRollup(settleMs = 200): OperatorFunction<Sample, RoomRollupPoint> {
  return (source) =>
    new Observable<RoomRollupPoint>((subscriber) => {
      const buckets = new Map<number, Bucket>();
      const flush = (all: boolean): void => {
        const now = Date.now();
        for (const [t, b] of [...buckets].sort(([a], [c]) => a - c)) {
          if (!all && now - b.touchedAt < settleMs) continue;
          buckets.delete(t);
          if (b.siteSums.size === 0) continue;
          const sites: Record<string, number> = {};
          for (const [site, { sum, n }] of [...b.siteSums].sort(([a], [c]) => a.localeCompare(c))) sites[site] = sum / n;
          subscriber.next({ t, sites, min: b.min, max: b.max, humidity: b.humidityN ? b.humiditySum / b.humidityN : NaN, rooms: b.rooms.size });
        }
      };
      const timer = setInterval(() => flush(false), settleMs);
      const subscription = source.subscribe({
        next(s) {
          const name = s.labels['__name__'];
          const site = s.labels['site'] ?? '';
          let b = buckets.get(s.timestamp);
          if (b === undefined) {
            b = { touchedAt: 0, siteSums: new Map(), min: Infinity, max: -Infinity, humiditySum: 0, humidityN: 0, rooms: new Set() };
            buckets.set(s.timestamp, b);
          }
          b.touchedAt = Date.now();
          if (name === 'room_temperature_celsius_avg') {
            const acc = b.siteSums.get(site) ?? { sum: 0, n: 0 };
            acc.sum += s.value;
            acc.n++;
            b.siteSums.set(site, acc);
            b.rooms.add(`${site}/${s.labels['room'] ?? ''}`);
          } else if (name === 'room_temperature_celsius_min') b.min = Math.min(b.min, s.value);
          else if (name === 'room_temperature_celsius_max') b.max = Math.max(b.max, s.value);
          else if (name === 'room_humidity_percent_avg') {
            b.humiditySum += s.value;
            b.humidityN++;
          }
        },
        error: (e: unknown) => subscriber.error(e),
        complete() {
          flush(true);
          subscriber.complete();
        },
      });
      return () => {
        clearInterval(timer);
        subscription.unsubscribe();
      };
    });
}
