/**
 * The smallest useful pipeline: a few sensors, one reading a second each, written to any
 * Remote-Write endpoint.
 *
 *   node dist/examples/write-to-url.js http://127.0.0.1:9090/api/v1/write [seconds]
 *
 * Or set RXPROM_URL. Prints each request's outcome and the sink's counters at the end.
 */
import { interval, map, mergeMap, take } from 'rxjs';
import { remoteWrite, type Labels, type Sample } from '../src/index.js';

const url = process.argv[2] ?? process.env['RXPROM_URL'];
const seconds = Number(process.argv[3] ?? 10);
if (!url) {
  console.error('usage: node dist/examples/write-to-url.js <remote-write URL> [seconds]');
  process.exit(2);
}

// One label object per series, reused for every sample: the sink recognises it at once.
const sensors: Labels[] = ['kitchen', 'hall', 'cellar'].map((room) => ({ __name__: 'room_temperature_celsius', room, job: 'rxprom-example' }));

const sink = remoteWrite({ url, maxDelayMs: 1000 });

interval(1000)
  .pipe(
    take(seconds),
    mergeMap((tick) => sensors.map((labels, i): Sample => ({ labels, value: 20 + i + Math.sin(tick / 5), timestamp: Date.now() }))),
    sink,
    map((outcome) => `${outcome.type} ${outcome.samples} sample(s)${outcome.reason ? ` (${outcome.reason})` : ''} status=${outcome.status ?? '-'}`),
  )
  .subscribe({
    next: (line) => console.log(line),
    error: (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
    complete: () => console.log('done', sink.metrics.snapshot()),
  });
