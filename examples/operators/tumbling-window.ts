import { from } from 'rxjs';
import { tumblingWindow, type Labels } from '../../src/index.js';

// Per-device readings, aggregated per room over 10 s windows (device is left out of the output).
const readings = [
  { device: 'd1', room: 'kitchen', t: 1_000, celsius: 20 },
  { device: 'd2', room: 'kitchen', t: 4_000, celsius: 22 },
  { device: 'd1', room: 'kitchen', t: 12_000, celsius: 21 },
];
const rooms = new Map<string, Labels>();
const roomLabels = (room: string): Labels => rooms.get(room) ?? rooms.set(room, { __name__: 'room_celsius', room }).get(room)!;

from(readings)
  .pipe(
    tumblingWindow({
      sizeMs: 10_000,
      eventTime: (r) => r.t,
      labels: (r) => roomLabels(r.room),
      value: (r) => r.celsius,
      aggregations: ['count', 'avg', 'max', { quantile: 0.5 }],
    }),
  )
  .subscribe((s) => console.log(s.timestamp, s.labels['__name__'], s.labels['quantile'] ?? '', Number(s.value.toPrecision(3))));
// prints (quantiles are exact up to 64 values per window, then estimates within 1%):
// 10000 room_celsius_count  2
// 10000 room_celsius_avg  21
// 10000 room_celsius_max  22
// 10000 room_celsius 0.5 20
// 20000 room_celsius_count  1
// 20000 room_celsius_avg  21
// 20000 room_celsius_max  21
// 20000 room_celsius 0.5 21
