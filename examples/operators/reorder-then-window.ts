import { from } from 'rxjs';
import { reorderByWatermark, tumblingWindow } from '../../src/index.js';

// Two devices, each put in order by its own watermark (max event time - 2 s); their outputs interleave,
// so a window closed on the largest event time seen misses b's readings that were still held.
type Reading = { device: string; t: number };
const arrivals: Reading[] = [
  { device: 'a', t: 9_000 }, { device: 'b', t: 8_500 }, { device: 'a', t: 12_000 },
  { device: 'b', t: 9_500 }, { device: 'a', t: 15_000 }, { device: 'b', t: 12_500 },
];
const counted = { __name__: 'readings' };
for (const closeOn of ['largest event time', 'watermark'] as const) {
  const ordered = reorderByWatermark({ eventTime: (r: Reading) => r.t, key: (r) => r.device, maxOutOfOrderMs: 2_000 });
  const windows = tumblingWindow({
    sizeMs: 10_000,
    eventTime: (r: Reading) => r.t,
    labels: () => counted,
    value: () => 1,
    aggregations: ['count'],
    watermark: closeOn === 'watermark' ? ordered : undefined,
  });
  from(arrivals).pipe(ordered, windows).subscribe({
    next: (s) => console.log(closeOn, s.timestamp, s.value),
    complete: () => console.log(closeOn, 'late:', windows.stats.late),
  });
}
// prints:
// largest event time 10000 1
// largest event time 20000 3
// largest event time late: 2
// watermark 10000 3
// watermark 20000 3
// watermark late: 0
