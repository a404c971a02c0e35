import { from, mergeMap, toArray, map } from 'rxjs';
import { batchSamples, partitionBySeries, sample } from '../../src/index.js';

// Six series onto two ordered lanes, each lane batched by 4 samples (or 1 s): what remoteWrite does inside.
const samples = [0, 1, 2].flatMap((t) => ['a', 'b', 'c', 'd', 'e', 'f'].map((s) => sample({ __name__: 'm', s }, t, 1000 * t)));
from(samples)
  .pipe(
    partitionBySeries({ shards: 2 }),
    mergeMap((lane) => lane.pipe(batchSamples({ maxSamples: 4, maxDelayMs: 1000 }), map((batch) => `lane ${lane.key}: ${batch.map((s) => s.labels['s'] + s.value).join(' ')}`))),
    toArray(),
  )
  .subscribe((lines) => console.log(lines.sort().join('\n')));
// prints:
// lane 0: b0 d0 f0 b1
// lane 0: d1 f1 b2 d2
// lane 0: f2
// lane 1: a0 c0 e0 a1
// lane 1: c1 e1 a2 c2
// lane 1: e2
