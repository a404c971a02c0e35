import { from } from 'rxjs';
import { dropOutliers, reorderByWatermark } from '../../src/index.js';

// With many devices, key per-device state by the device's number (found once, in a registry
// lookup) instead of its id string: an array slot instead of a hash lookup in every stage.
// The spike (95 at 2000) changes too fast and is dropped; the rest comes out in order per device.
const registry = new Map([['boiler-7', 0], ['fridge-2', 1]]);
const arrivals = [
  { id: 'boiler-7', t: 1000, v: 61 }, { id: 'fridge-2', t: 1000, v: 4 }, { id: 'boiler-7', t: 3000, v: 62 },
  { id: 'boiler-7', t: 2000, v: 95 }, { id: 'fridge-2', t: 4000, v: 5 }, { id: 'boiler-7', t: 6000, v: 63 },
];
type Placed = { id: string; t: number; v: number; index: number };
const placed: Placed[] = arrivals.map((r) => ({ ...r, index: registry.get(r.id) as number }));
from(placed)
  .pipe(
    dropOutliers({ series: (r: Placed) => r.index, value: (r) => r.v, eventTime: (r) => r.t, maxRate: { perSecond: 10 } }),
    reorderByWatermark({ key: (r: Placed) => r.index, eventTime: (r) => r.t, maxOutOfOrderMs: 2000 }),
  )
  .subscribe((r) => console.log(r.id, r.t, r.v));
// prints:
// fridge-2 1000 4
// boiler-7 1000 61
// boiler-7 3000 62
// fridge-2 4000 5
// boiler-7 6000 63
