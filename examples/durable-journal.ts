// A durable pipeline: readings from a JSON-lines journal, averaged per room in 10 s windows, written
// to Prometheus. Stop it (Ctrl-C) or kill it at any moment and start it again: it continues from its
// last checkpoint — open windows restored, not written half full, nothing refused as a duplicate.
//   node dist/examples/durable-journal.js readings.jsonl state/ http://127.0.0.1:9090/api/v1/write
import { DurablePipeline, JournalSource, remoteWrite, tumblingWindow } from '../src/index.js';

interface Reading { room: string; celsius: number; at: number }
const [journal = 'readings.jsonl', stateDir = 'state', url = 'http://127.0.0.1:9090/api/v1/write'] = process.argv.slice(2);

const pipeline = await DurablePipeline.start({
  directory: stateDir,
  pipeline: 'room-averages-v1', // another pipeline's state directory is refused
  source: new JournalSource<Reading>({ path: journal, follow: true }),
  checkpointIntervalMs: 5000,
  build: (state) => {
    const sink = remoteWrite({ url, state: state.slot('sink'), spool: { directory: `${stateDir}/spool` } });
    const windows = tumblingWindow<Reading>({
      sizeMs: 10_000,
      aggregations: ['avg'],
      eventTime: (r) => r.at,
      labels: (r) => ({ __name__: 'room_celsius', room: r.room }),
      value: (r) => r.celsius,
      state: state.slot('window'),
    });
    return { operator: (readings) => readings.pipe(windows, sink), pressure: sink.pressure };
  },
  onProblem: (problem) => console.warn('durable pipeline:', problem),
});
if (pipeline.restored) console.log(`restored checkpoint #${pipeline.restored.sequence}, resuming after byte ${pipeline.restored.position}`);
process.once('SIGINT', () => void pipeline.stop());
const summary = await pipeline.done;
console.log(`${summary.ending}: ${summary.elements} readings, ${summary.checkpoints} checkpoints, last #${summary.lastCheckpoint?.sequence}`);
