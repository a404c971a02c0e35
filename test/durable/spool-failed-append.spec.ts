/**
 * An append whose write fails part-way (a disk that fills up: ENOSPC after part of the frame was
 * written) rejects; the record was never appended, so a restart must not count it as lost or as
 * damage (the sink sent that batch from memory).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open as openFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskSpool, type SpoolProblem } from '../../src/durable/spool.js';

let root: string;
let counter = 0;
const freshDir = (): string => join(root, `case-${++counter}`);
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rxprom-spool-failed-append-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const body = (n: number): Buffer => Buffer.alloc(40, `record-${n};`);

type Writev = (buffers: readonly Uint8Array[]) => Promise<unknown>;

/** Makes the next `writev` on any file write only the first half of what it was given, then fail with ENOSPC. */
async function halfWriteOnce(directory: string): Promise<() => void> {
  const probe = await openFile(join(directory, 'probe'), 'w');
  const prototype = Object.getPrototypeOf(probe) as { writev: Writev; write: (buffer: Uint8Array) => Promise<unknown> };
  await probe.close();
  await rm(join(directory, 'probe'));
  const writev = prototype.writev;
  let armed = true;
  prototype.writev = function (this: { write: (buffer: Uint8Array) => Promise<unknown> }, buffers: readonly Uint8Array[]): Promise<unknown> {
    if (!armed) return writev.call(this, buffers);
    armed = false;
    const all = Buffer.concat(buffers);
    return this.write(all.subarray(0, Math.floor(all.length / 2))).then(() => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    });
  };
  return () => {
    prototype.writev = writev;
  };
}

async function pendingAfterReopen(directory: string): Promise<{ sequences: number[]; problems: SpoolProblem[]; stats: ReturnType<DiskSpool['stats']> }> {
  const problems: SpoolProblem[] = [];
  const spool = await DiskSpool.open({ directory, fsync: 'never', onProblem: (p) => problems.push(p) });
  const sequences = spool.pendingRecords('0').map((r) => r.sequence);
  const stats = spool.stats();
  await spool.close();
  return { sequences, problems, stats };
}

describe('DiskSpool: an append that fails part-way', () => {
  for (const where of ['the last record of the spool', 'a record followed by others']) {
    it(`leaves no damage behind (${where}): after a restart nothing is counted lost, the good records are all there`, async () => {
      const directory = freshDir();
      const spool = await DiskSpool.open({ directory, fsync: 'never' });
      await spool.append('0', body(0), 1);
      await spool.append('0', body(1), 1);
      const restore = await halfWriteOnce(directory);
      try {
        await assert.rejects(spool.append('0', body(2), 1), /ENOSPC/);
      } finally {
        restore();
      }
      if (where !== 'the last record of the spool') await spool.append('0', body(3), 1);
      await spool.close();
      const { sequences, problems, stats } = await pendingAfterReopen(directory);
      assert.deepEqual(problems, [], 'no damage reported');
      assert.equal(stats.lostRecords, 0);
      assert.equal(stats.tornTails + stats.corruptSegments, 0);
      assert.deepEqual(sequences, where === 'the last record of the spool' ? [0, 1] : [0, 1, 3]);
    });
  }
});
