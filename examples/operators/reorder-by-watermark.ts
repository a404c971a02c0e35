import { from } from 'rxjs';
import { reorderByWatermark } from '../../src/index.js';

// Readings arrive out of order; each device gets its own watermark (max event time - 2 s).
const arrivals = [
  { device: 'a', t: 1000 }, { device: 'a', t: 3000 }, { device: 'a', t: 2000 },
  { device: 'b', t: 1500 }, { device: 'a', t: 6000 }, { device: 'a', t: 2500 },
];
const ordered = reorderByWatermark({
  eventTime: (r: { device: string; t: number }) => r.t,
  key: (r) => r.device,
  maxOutOfOrderMs: 2000,
  onLate: (r) => console.log('late', r.device, r.t),
});
from(arrivals).pipe(ordered).subscribe({
  next: (r) => console.log(r.device, r.t),
  complete: () => console.log('late:', ordered.stats.late),
});
// prints:
// a 1000
// a 2000
// a 3000
// late a 2500
// b 1500
// a 6000
// late: 1
