import { from } from 'rxjs';
import { dropOutliers, sample } from '../../src/index.js';

const sensor = { __name__: 'celsius', device: 'd1' };
const values = [20.1, 20.3, 19.9, 20.0, 20.2, 95.0, 20.1, 20.4, -80, 20.2, 35.0, 20.3, 50.0];
const clean = dropOutliers({
  range: { min: -40, max: 85 },          // what the sensor can measure
  maxRate: { perSecond: 2 },             // °C per second between accepted readings
  mad: { window: 10, threshold: 3.5, minSamples: 5 },
  onDrop: (s, reason) => console.log('dropped', s.value, reason),
});
from(values.map((v, i) => sample(sensor, v, 1_700_000_000_000 + i * 10_000 + (v === 50 ? -9_000 : 0)))).pipe(clean).subscribe({
  complete: () => console.log('passed', clean.stats.passed, 'dropped', clean.stats.dropped),
});
// prints:
// dropped 95 range
// dropped -80 range
// dropped 35 mad
// dropped 50 rate
// passed 9 dropped { invalid: 0, range: 2, rate: 1, mad: 1 }
