import { from } from 'rxjs';
import { tumblingWindow, type Sample } from '../../src/index.js';

// A summary's quantile series windowed again: the output's quantile label replaces theirs, so both
// would write rpc_seconds{quantile="0.99"}. Per window, the first input series to arrive writes it.
const p50 = { __name__: 'rpc_seconds', quantile: '0.5' };
const p90 = { __name__: 'rpc_seconds', quantile: '0.9' };
const input: Sample[] = [
  { labels: p50, value: 0.1, timestamp: 1_000 },
  { labels: p90, value: 0.4, timestamp: 2_000 },
  { labels: p90, value: 0.5, timestamp: 11_000 },
];
const windows = tumblingWindow({
  sizeMs: 10_000,
  aggregations: ['count', { quantile: 0.99 }],
  onDrop: (s, reason) => console.log('dropped', s.labels['quantile'], 'at', s.timestamp, reason),
});
from(input)
  .pipe(windows)
  .subscribe({
    next: (s) => console.log(s.timestamp, s.labels['__name__'], s.labels['quantile'], s.value),
    complete: () => console.log('invalid:', windows.stats.invalid),
  });
// prints (rename the input's quantile label in `labels` to keep both):
// dropped 0.9 at 2000 invalid
// 10000 rpc_seconds_count 0.5 1
// 10000 rpc_seconds 0.99 0.1
// 20000 rpc_seconds_count 0.9 1
// 20000 rpc_seconds 0.99 0.5
// invalid: 1
