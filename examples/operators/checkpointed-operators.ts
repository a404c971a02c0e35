import { Subject } from 'rxjs';
import { PipelineState, reorderByWatermark, tumblingWindow, type Sample } from '../../src/index.js';

const temp = { __name__: 'temp', room: 'kitchen' };
const at = (seconds: number, value: number): Sample => ({ labels: temp, value, timestamp: seconds * 1000 });

// One pipeline; each stateful stage gets its slot in the pipeline's state.
function start(state: PipelineState): { input: Subject<Sample>; stop: () => void } {
  const ordered = reorderByWatermark<Sample>({ eventTime: (s) => s.timestamp, maxOutOfOrderMs: 2000, state: state.slot('reorder') });
  const windows = tumblingWindow({ sizeMs: 10_000, aggregations: ['count', 'avg'], watermark: ordered, state: state.slot('window') });
  const input = new Subject<Sample>();
  const subscription = input.pipe(ordered, windows).subscribe((s) => console.log(s.labels['__name__'], s.value, s.timestamp));
  return { input, stop: () => subscription.unsubscribe() };
}

// First run: a graceful stop is "checkpoint, then unsubscribe" (unsubscribing emits no partial window).
const first = new PipelineState();
const run = start(first);
[at(1, 20), at(4, 22), at(3, 21)].forEach((s) => run.input.next(s));
const checkpoint = JSON.stringify(first.snapshot()); // what a checkpoint file holds
run.stop();
console.log('stopped');

// Next run: restored from the checkpoint, the open window goes on and closes complete.
const next = start(new PipelineState(JSON.parse(checkpoint)));
[at(8, 23), at(15, 30)].forEach((s) => next.input.next(s));
next.input.complete();
// prints:
// stopped
// temp_count 4 10000
// temp_avg 21.5 10000
// temp_count 1 20000
// temp_avg 30 20000
