/**
 * A sender process for the kill -9 test: a deterministic source (`--series` series, `--steps`
 * samples each, from `--base` ms, one second apart) into a spooled, checkpointed `remoteWrite`.
 * Every 150 ms it checkpoints (sink snapshot, flush, save with the source position, then
 * `checkpointed`) into `--state`; on start it restores the newest checkpoint and resumes the
 * source from its position. The source stays at most 400 samples ahead of the last saved
 * checkpoint, so a run spans many checkpoints on a fast or a loaded machine alike (the test
 * kills it after its first one; a run that finished first would leave nothing to restore). Prints `checkpoint <position>` lines, and `done <metrics JSON>` at the end.
 */
import { parseArgs } from 'node:util';
import { Observable } from 'rxjs';
import { remoteWrite } from '../../../operators/remote-write.js';
import { silentLogger } from '../../../src/core/logger.js';
import type { Sample } from '../../../src/core/model.js';
import { CheckpointStore } from '../../../src/durable/checkpoint-store.js';
import { PipelineState, type StageSnapshots } from '../../../src/durable/pipeline-state.js';
import type { RemoteWriteState } from '../../../src/remote-write/sink-state.js';

const { values: o } = parseArgs({ options: { url: { type: 'string', default: '' }, spool: { type: 'string', default: '' }, state: { type: 'string', default: '' }, series: { type: 'string', default: '20' }, steps: { type: 'string', default: '400' }, base: { type: 'string', default: '0' } } });
const SERIES = Number(o.series);
const TOTAL = SERIES * Number(o.steps);
const BASE = Number(o.base);

interface Saved {
  readonly position: number;
  readonly stages: StageSnapshots;
}
const store = new CheckpointStore<Saved>({ directory: o.state, pipeline: 'spool-kill-test' });
const checkpoint = await store.load();
const pipeline = new PipelineState(checkpoint?.state.stages ?? {});
let position = checkpoint?.state.position ?? 0;
const sink = remoteWrite({ url: o.url, logger: silentLogger, shards: 2, maxSamplesPerRequest: 100, maxDelayMs: 50, spool: { directory: o.spool, fsyncIntervalMs: 100 }, state: pipeline.slot<RemoteWriteState>('sink') });

const sampleAt = (i: number): Sample => {
  const step = Math.floor(i / SERIES);
  const s = i % SERIES;
  return { labels: { __name__: 'rxprom_spool_kill', series: String(s) }, value: step * 100 + s, timestamp: BASE + step * 1000 };
};
/** The source never runs more than this far ahead of the last saved checkpoint: a run spans many checkpoints however fast or slow the machine. */
const AHEAD = 400;
let savedAt = position;
const source = new Observable<Sample>((subscriber) => {
  let timer: NodeJS.Timeout | undefined;
  const tick = (): void => {
    for (let n = 0; n < 50 && position < TOTAL && position < savedAt + AHEAD; n++) subscriber.next(sampleAt(position++));
    if (position >= TOTAL) return subscriber.complete();
    timer = setTimeout(tick, 5);
  };
  timer = setTimeout(tick, 5);
  return () => clearTimeout(timer);
});

let saving = false;
const checkpoints = setInterval(() => {
  if (saving) return;
  saving = true;
  const snapshot = pipeline.snapshot();
  const at = position;
  void pipeline
    .flush()
    .then(() => store.save({ position: at, stages: snapshot }))
    .then(() => {
      pipeline.checkpointed(snapshot);
      savedAt = at;
      console.log(`checkpoint ${at}`);
    })
    .finally(() => (saving = false));
}, 150);

source.pipe(sink).subscribe({
  error: (error: unknown) => {
    console.log(`error ${String(error)}`);
    process.exit(1);
  },
  complete: () => {
    clearInterval(checkpoints);
    console.log(`done ${JSON.stringify(sink.metrics.snapshot())}`);
    process.exit(0);
  },
});
