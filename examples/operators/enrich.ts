import { from, of } from 'rxjs';
import { enrich } from '../../src/index.js';

type Reading = { device: string; celsius: number };
const registry = new Map([['d1', { room: 'kitchen' }], ['d2', { room: 'hall' }]]);
const readings: Reading[] = [{ device: 'd1', celsius: 20 }, { device: 'd9', celsius: 30 }, { device: 'd2', celsius: 18 }];

// From a Map; unknown devices go to room "unknown" (counted as missing).
const withRoom = enrich({
  key: (r: Reading) => r.device,
  reference: registry,
  join: (r, context) => ({ ...r, room: context.room }),
  onMissing: { default: { room: 'unknown' } },
});
from(readings).pipe(withRoom).subscribe((r) => console.log(r.device, r.room));

// From an async lookup (cached, 8 at once, output in input order); unknown devices are dropped.
const lookup = async (device: string) => registry.get(device);
const looked = enrich({ key: (r: Reading) => r.device, reference: lookup, join: (r, c) => `${r.device}@${c.room}`, concurrency: 8 });
from(readings).pipe(looked).subscribe({ next: (line) => console.log(line), complete: () => console.log('missing:', looked.stats.missing) });

// From snapshots that change while the stream runs (here: a single one).
from(readings).pipe(enrich({ key: (r: Reading) => r.device, reference: of(registry), join: (r, c) => c.room })).subscribe();
// prints:
// d1 kitchen
// d9 unknown
// d2 hall
// d1@kitchen
// d2@hall
// missing: 1
