import { writeFleetJournal, FLEET_WINDOW_MS } from './dist/test/integration/fixtures/durable-fleet.js';
import { runFleet } from './dist/test/integration/durable-fleet-harness.js';
import { startPrometheus } from './dist/test/harness/servers.js';
import { seededRandom } from './dist/src/testing/index.js';
import { mkdtemp, stat } from 'node:fs/promises';
import { join } from 'node:path';
const root = await mkdtemp('/tmp/coord-crash-');
const journal = { devices: 100, seed: 7, startTime: Math.floor((Date.now() - 20 * 60_000) / FLEET_WINDOW_MS) * FLEET_WINDOW_MS, durationMs: 4 * 60_000 };
const journalPath = join(root, 'j.jsonl');
await writeFleetJournal(journalPath, journal);
const bytes = (await stat(journalPath)).size;
const prom = await startPrometheus();
const random = seededRandom(20261125);
const fractions = Array.from({ length: 5 }, () => 0.1 + random() * 0.7).sort((a, b) => a - b);
const stateDirectory = join(root, 's');
for (const fraction of [...fractions, null]) {
  const delay = Math.floor(random() * 100);
  const run = await runFleet({ journalPath, journal, url: prom.writeUrl, stateDirectory, checkpointIntervalMs: 200 }, fraction === null ? undefined : { signal: 'SIGKILL', when: (p) => (p >= fraction * bytes ? delay : undefined) });
  const c = run.counters ?? {};
  console.log(JSON.stringify({ fraction, signal: run.signal, restored: run.started?.restored?.sequence, pos: run.started?.restored?.position, ckpts: run.checkpoints.length, lastCkpt: run.checkpoints.at(-1)?.position, in: c.samplesIn, written: c.written, dropped: Object.fromEntries(Object.entries(c.dropped ?? {}).filter(([, n]) => n > 0)), replayed: c.replayed, rw: c.replayedWritten, rd: Object.fromEntries(Object.entries(c.replayedDropped ?? {}).filter(([, n]) => n > 0)), pending: c.pending }));
  if (run.stderr) console.log('STDERR', run.stderr.slice(0, 3000));
}
await prom.stop();
