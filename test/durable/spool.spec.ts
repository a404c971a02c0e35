import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open as openFile } from 'node:fs/promises';
import fc from 'fast-check';
import { DiskSpool, SpoolError, type DiskSpoolOptions, type SpoolDrop, type SpoolProblem, type SpoolRecord, type SpoolRecordRef } from '../../src/durable/spool.js';
import { ConfigError } from '../../src/core/errors.js';
import { crc32 } from '../../src/durable/crc32.js';

const FRAME = 20;
let root: string;
let counter = 0;
const freshDir = (): string => join(root, `case-${++counter}`);
const open = (directory: string, extra: Partial<DiskSpoolOptions> = {}): Promise<DiskSpool> => DiskSpool.open({ directory, fsync: 'never', ...extra });
const body = (n: number, size = 30): Buffer => Buffer.alloc(size, `record-${n};`);

async function replayAll(spool: DiskSpool, lane: string): Promise<SpoolRecord[]> {
  const out: SpoolRecord[] = [];
  for await (const record of spool.replay(lane)) out.push({ ...record, body: Buffer.from(record.body) });
  return out;
}
const segmentFiles = async (dir: string): Promise<string[]> => (await readdir(dir)).filter((n) => n.endsWith('.seg')).sort();
const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rxprom-spool-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('DiskSpool', () => {
  it('replays unacknowledged records in append order after a reopen, bodies and sample counts intact', async () => {
    const dir = freshDir();
    const spool = await open(dir);
    const refs: SpoolRecordRef[] = [];
    for (let i = 0; i < 6; i++) refs.push(await spool.append('0', body(i), i * 10));
    await spool.append('1', body(100), 7);
    await spool.ack(refs[0]!);
    await spool.ack(refs[3]!);
    await spool.close();

    const again = await open(dir);
    const replayed = await replayAll(again, '0');
    assert.deepEqual(replayed.map((r) => r.sequence), [1, 2, 4, 5]);
    assert.deepEqual(replayed.map((r) => r.samples), [10, 20, 40, 50]);
    replayed.forEach((r) => assert.deepEqual(r.body, body(r.sequence)));
    assert.deepEqual((await replayAll(again, '1')).map((r) => r.body.toString().slice(0, 11)), ['record-100;']);
    assert.deepEqual(again.laneNames(), ['0', '1']);
    assert.equal(again.pending(), 5);
    // New appends continue the lane's sequence in a new segment.
    assert.equal((await again.append('0', body(6))).sequence, 6);
    await again.close();
  });

  it('does not replay records acknowledged before the last flush, in or out of order', async () => {
    const dir = freshDir();
    const spool = await open(dir, { segmentBytes: 1 << 20 });
    const refs: SpoolRecordRef[] = [];
    for (let i = 0; i < 4; i++) refs.push(await spool.append('a', body(i)));
    await spool.ack(refs[0]!);
    await spool.ack(refs[2]!);
    await spool.flush();
    await spool.ack(refs[1]!);
    // No close: as after a crash, with the acknowledgements saved by the last flush.
    const again = await open(dir);
    assert.deepEqual((await replayAll(again, 'a')).map((r) => r.sequence), [1, 3], 'acknowledged after the flush: replayed (at least once)');
    await again.close();
    await spool.close();
  });

  it('never gives a new record the sequence of one the acknowledgement file lists, after a crash', async () => {
    const dir = freshDir();
    // Two records per segment: 0 and 1 in the first (closed by the third append), 2 in the second.
    const crashed = await open(dir, { fsyncIntervalMs: 3_600_000, segmentBytes: 2 * (FRAME + 30) });
    const refs: SpoolRecordRef[] = [];
    for (let i = 0; i < 3; i++) refs.push(await crashed.append('a', body(i)));
    await crashed.ack(refs[0]!);
    await crashed.ack(refs[2]!);
    await crashed.flush(); // saved: all below 1 acknowledged, and 2 (its segment, all acknowledged, goes), next 3
    await crashed.ack(refs[1]!); // the first segment is deleted; then the process dies before the next flush
    assert.deepEqual(await segmentFiles(join(dir, 'a')), []);
    const restarted = await open(dir);
    const fresh: SpoolRecordRef[] = [];
    for (let i = 10; i < 13; i++) fresh.push(await restarted.append('a', body(i), i));
    assert.ok(fresh.every((r) => r.sequence >= 3), `sequences ${fresh.map((r) => r.sequence).join(',')}`);
    await restarted.close();
    const again = await open(dir);
    assert.deepEqual((await replayAll(again, 'a')).map((r) => r.samples), [10, 11, 12]);
    await again.close();
  });

  it('a flipped bit anywhere in the acknowledgement file never hides an unacknowledged record: the marks come back as saved, or the damage is counted, logged and everything is replayed (every bit)', async () => {
    // The marks decide what a restart replays: a flip that still parses ("below":3 read as 7)
    // would pass unacknowledged records for acknowledged ones, lost without a word.
    const dir = freshDir();
    const spool = await open(dir, { segmentBytes: 4 * (FRAME + 30) });
    const refs: SpoolRecordRef[] = [];
    for (let i = 0; i < 12; i++) refs.push(await spool.append('l', body(i), i));
    for (const i of [0, 1, 2, 5, 7, 10]) await spool.ack(refs[i]!);
    await spool.close();
    const unacknowledged = [3, 4, 6, 8, 9, 11];
    const saved = await readFile(join(dir, 'l', 'acked'));
    const segments = new Map<string, Buffer>();
    for (const name of await segmentFiles(join(dir, 'l'))) segments.set(name, await readFile(join(dir, 'l', name)));
    let damaged = 0;
    for (let bit = 0; bit < saved.length * 8; bit++) {
      const flipped = Buffer.from(saved);
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      await rm(join(dir, 'l'), { recursive: true, force: true });
      await mkdir(join(dir, 'l'));
      await writeFile(join(dir, 'l', 'acked'), flipped);
      for (const [name, bytes] of segments) await writeFile(join(dir, 'l', name), bytes);
      const warnings: string[] = [];
      const again = await open(dir, { logger: { info: () => {}, warn: (_fields, message) => warnings.push(message), error: () => {} } });
      const replayed = (await replayAll(again, 'l')).map((r) => r.sequence);
      const counted = again.stats().damagedAckFiles;
      await again.close();
      const context = `bit ${bit} (byte ${bit >> 3}: ${JSON.stringify(flipped.toString('latin1', bit >> 3, (bit >> 3) + 1))})`;
      assert.ok(unacknowledged.every((sequence) => replayed.includes(sequence)), `${context}: replayed ${replayed.join(',')}`);
      if (replayed.length === unacknowledged.length) {
        assert.equal(counted, 0, `${context}: marks read as saved`);
      } else {
        damaged++;
        assert.equal(counted, 1, `${context}: counted`);
        assert.ok(warnings.some((w) => /acknowledgements in .* unreadable/.test(w)), `${context}: logged`);
        assert.deepEqual(replayed, Array.from({ length: 12 }, (_, i) => i), `${context}: everything replayed`);
      }
    }
    assert.ok(damaged > saved.length * 4, `most flips are caught (${damaged} of ${saved.length * 8})`);
  });

  it('progress marks of a record sent in part: saved before progress() resolves, replaced (not merged), back after a reopen, gone with the acknowledgement', async () => {
    const dir = freshDir();
    const spool = await open(dir);
    const refs: SpoolRecordRef[] = [];
    for (const samples of [10, 20, 30]) refs.push(await spool.append('0', body(samples), samples));
    await spool.progress(refs[1]!, 4, 8);
    // What a kill -9 right after the resolution leaves on disk: the mark names the piece in flight.
    assert.match(await readFile(join(dir, '0', 'acked'), 'utf8'), /"progress":\[\[1,4,8\]\]/);
    // The piece in flight is refused and halved: the mark shrinks with it.
    await spool.progress(refs[1]!, 4, 6);
    await assert.rejects(spool.progress(refs[1]!, 5, 21), (error: unknown) => error instanceof SpoolError && /0 <= settled <= sending <= 20/.test(error.message));
    await assert.rejects(spool.progress(refs[1]!, 6, 5), SpoolError);
    await spool.close();

    const again = await open(dir);
    assert.deepEqual(again.pendingRecords('0'), [{ sequence: 0, samples: 10 }, { sequence: 1, samples: 20, progress: { settled: 4, sending: 6 } }, { sequence: 2, samples: 30 }]);
    await again.ack({ lane: '0', sequence: 1 });
    await again.close();
    assert.doesNotMatch(await readFile(join(dir, '0', 'acked'), 'utf8'), /progress/, 'written only while a record has some');

    const third = await open(dir);
    assert.deepEqual(third.pendingRecords('0'), [{ sequence: 0, samples: 10 }, { sequence: 2, samples: 30 }]);
    await third.close();
  });

  it('progress marks read on open: one that does not fit its record is not trusted (replayed whole, logged), one covering it whole acknowledges it, a malformed list is a damaged file', async () => {
    const withChecksum = (json: string): string => `${json}\n${crc32(Buffer.from(json, 'utf8'), 0).toString(16).padStart(8, '0')}\n`;
    const cases: Array<{ progress: string; pending: unknown; damaged: number; warned: RegExp | undefined }> = [
      { progress: '[[1,5,99]]', pending: [{ sequence: 0, samples: 10 }, { sequence: 1, samples: 20 }], damaged: 0, warned: /does not fit it/ },
      { progress: '[[1,20,20]]', pending: [{ sequence: 0, samples: 10 }], damaged: 0, warned: undefined },
      { progress: '[[1,2,3]]', pending: [{ sequence: 0, samples: 10 }, { sequence: 1, samples: 20, progress: { settled: 2, sending: 3 } }], damaged: 0, warned: undefined },
      { progress: '[[1,6,5]]', pending: [{ sequence: 0, samples: 10 }, { sequence: 1, samples: 20 }], damaged: 1, warned: /unreadable/ },
      { progress: '{"1":[2,3]}', pending: [{ sequence: 0, samples: 10 }, { sequence: 1, samples: 20 }], damaged: 1, warned: /unreadable/ },
    ];
    for (const { progress, pending, damaged, warned } of cases) {
      const dir = freshDir();
      const spool = await open(dir);
      await spool.append('0', body(0), 10);
      await spool.append('0', body(1), 20);
      await spool.close();
      await writeFile(join(dir, '0', 'acked'), withChecksum(`{"below":0,"above":[],"next":2,"progress":${progress}}`));
      const warnings: string[] = [];
      const again = await open(dir, { logger: { info: () => {}, warn: (_fields, message) => warnings.push(message), error: () => {} } });
      assert.deepEqual(again.pendingRecords('0'), pending, progress);
      assert.equal(again.stats().damagedAckFiles, damaged, progress);
      if (warned) assert.ok(warnings.some((w) => warned.test(w)), `${progress}: ${warnings.join('; ')}`);
      else assert.deepEqual(warnings, [], progress);
      await again.close();
    }
  });

  it('a flipped bit anywhere in an acknowledgement file holding progress marks: the marks come back as saved, or the damage is counted and the record is replayed whole (every bit)', async () => {
    const dir = freshDir();
    const spool = await open(dir);
    const refs: SpoolRecordRef[] = [];
    for (let i = 0; i < 4; i++) refs.push(await spool.append('l', body(i), 40));
    await spool.ack(refs[0]!);
    await spool.progress(refs[2]!, 13, 27);
    await spool.close();
    const saved = await readFile(join(dir, 'l', 'acked'));
    const segments = new Map<string, Buffer>();
    for (const name of await segmentFiles(join(dir, 'l'))) segments.set(name, await readFile(join(dir, 'l', name)));
    for (let bit = 0; bit < saved.length * 8; bit++) {
      const flipped = Buffer.from(saved);
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      await rm(join(dir, 'l'), { recursive: true, force: true });
      await mkdir(join(dir, 'l'));
      await writeFile(join(dir, 'l', 'acked'), flipped);
      for (const [name, bytes] of segments) await writeFile(join(dir, 'l', name), bytes);
      const again = await open(dir);
      const pending = again.pendingRecords('l');
      const counted = again.stats().damagedAckFiles;
      await again.close();
      const context = `bit ${bit}`;
      if (counted === 0) assert.deepEqual(pending, [{ sequence: 1, samples: 40 }, { sequence: 2, samples: 40, progress: { settled: 13, sending: 27 } }, { sequence: 3, samples: 40 }], `${context}: marks read as saved`);
      else assert.deepEqual(pending, [0, 1, 2, 3].map((sequence) => ({ sequence, samples: 40 })), `${context}: damaged, everything replayed whole`);
    }
  });

  it('keeps append order per lane across segment rotations and interleaved lanes, before and after reopen', async () => {
    const dir = freshDir();
    const spool = await open(dir, { segmentBytes: 3 * (FRAME + 30) });
    for (let i = 0; i < 40; i++) await spool.append(i % 3 === 0 ? 'x' : 'y', body(i), i);
    const expectX = Array.from({ length: 40 }, (_, i) => i).filter((i) => i % 3 === 0);
    const expectY = Array.from({ length: 40 }, (_, i) => i).filter((i) => i % 3 !== 0);
    const check = async (s: DiskSpool): Promise<void> => {
      assert.deepEqual((await replayAll(s, 'x')).map((r) => r.samples), expectX);
      assert.deepEqual((await replayAll(s, 'y')).map((r) => r.samples), expectY);
    };
    await check(spool);
    assert.ok((await segmentFiles(join(dir, 'y'))).length >= 9, 'the lane rotated through several segments');
    await spool.close();
    await check(await open(dir));
  });

  it('deletes a segment once all its records are acknowledged, and frees its bytes', async () => {
    const dir = freshDir();
    const spool = await open(dir, { segmentBytes: 2 * (FRAME + 30) });
    const refs: SpoolRecordRef[] = [];
    for (let i = 0; i < 5; i++) refs.push(await spool.append('l', body(i)));
    assert.deepEqual(await segmentFiles(join(dir, 'l')), ['0000000000000000.seg', '0000000000000002.seg', '0000000000000004.seg']);
    await spool.ack(refs[1]!);
    assert.equal((await segmentFiles(join(dir, 'l'))).length, 3, 'half-acknowledged segment stays');
    await spool.ack(refs[0]!);
    assert.deepEqual(await segmentFiles(join(dir, 'l')), ['0000000000000002.seg', '0000000000000004.seg']);
    await spool.ack(refs[4]!); // the segment being appended to: kept for the next appends, until the next flush
    await spool.ack(refs[3]!);
    await spool.ack(refs[2]!);
    assert.deepEqual(await segmentFiles(join(dir, 'l')), ['0000000000000004.seg']);
    await spool.flush();
    assert.deepEqual(await segmentFiles(join(dir, 'l')), []);
    const stats = spool.stats();
    assert.equal(stats.usedBytes, 0);
    assert.equal(stats.pendingRecords, 0);
    assert.equal(stats.deletedSegments, 3);
    assert.equal(stats.acknowledgedRecords, 5);
    await spool.ack(refs[2]!); // twice: nothing happens
    assert.equal(spool.stats().acknowledgedRecords, 5);
    assert.equal((await spool.append('l', body(5))).sequence, 5);
    await spool.close();
  });

  it('removes the temp file of an acknowledgement save that died before its rename, and keeps the saved marks', async () => {
    const dir = freshDir();
    const spool = await open(dir);
    const refs: SpoolRecordRef[] = [];
    for (let i = 0; i < 3; i++) refs.push(await spool.append('l', body(i)));
    await spool.ack(refs[0]!);
    await spool.close();
    // What a kill -9 in the middle of a save leaves: a half-written temp file beside `acked`.
    await writeFile(join(dir, 'l', '.acked.4242.tmp'), '{"below":3');
    const reopened = await open(dir);
    assert.deepEqual((await readdir(join(dir, 'l'))).filter((name) => name.endsWith('.tmp')), []);
    assert.deepEqual((await replayAll(reopened, 'l')).map((r) => r.sequence), [1, 2], 'the marks saved before are the ones read');
    await reopened.close();
  });

  it('cuts off a torn tail at every offset of the last record, reports it, and appends cleanly afterwards', async () => {
    const dir = freshDir();
    const spool = await open(dir);
    for (let i = 0; i < 3; i++) await spool.append('t', body(i), 1);
    await spool.close();
    const [segment] = await segmentFiles(join(dir, 't'));
    const file = join(dir, 't', segment!);
    const whole = await readFile(file);
    const goodEnd = 2 * (FRAME + 30);
    assert.equal(whole.length, 3 * (FRAME + 30));
    for (let cut = goodEnd + 1; cut < whole.length; cut++) {
      await writeFile(file, whole.subarray(0, cut));
      const problems: SpoolProblem[] = [];
      const reopened = await open(dir, { onProblem: (p) => problems.push(p) });
      assert.deepEqual((await replayAll(reopened, 't')).map((r) => r.sequence), [0, 1], `cut at ${cut}`);
      assert.equal(problems.length, 1);
      assert.equal(problems[0]!.kind, 'torn-tail');
      assert.equal(problems[0]!.file, file);
      assert.equal(problems[0]!.offset, goodEnd);
      assert.equal(problems[0]!.lostBytes, cut - goodEnd);
      assert.equal(problems[0]!.lostRecords, 1);
      const stats = reopened.stats();
      assert.equal(stats.tornTails, 1);
      assert.equal(stats.lostRecords, 1);
      assert.equal((await stat(file)).size, goodEnd, 'the torn bytes are cut off');
      await reopened.close();
      await writeFile(file, whole);
    }
    // After a cut, the next record goes in a fresh segment (after every sequence the lane gave out, the lost one's too) and all replay in order.
    await writeFile(file, whole.subarray(0, goodEnd + 5));
    const reopened = await open(dir);
    await reopened.append('t', body(3), 1);
    await reopened.close();
    const final = await open(dir);
    assert.deepEqual((await replayAll(final, 't')).map((r) => [r.sequence, Buffer.from(r.body).equals(body(r.sequence))]), [[0, true], [1, true], [3, true]]);
    assert.equal(final.stats().tornTails, 0);
    await final.close();
  });

  it('reports a corrupted record in the middle and counts every record after it in that segment as lost (exact when a later segment exists)', async () => {
    const dir = freshDir();
    const spool = await open(dir, { segmentBytes: 4 * (FRAME + 30) });
    for (let i = 0; i < 6; i++) await spool.append('c', body(i), 3);
    await spool.close();
    const [first] = await segmentFiles(join(dir, 'c'));
    const file = join(dir, 'c', first!);
    const bytes = await readFile(file);
    bytes[(FRAME + 30) + FRAME + 4]! ^= 0x40; // a byte in the body of record 1
    await writeFile(file, bytes);
    const problems: SpoolProblem[] = [];
    const reopened = await open(dir, { onProblem: (p) => problems.push(p) });
    assert.deepEqual((await replayAll(reopened, 'c')).map((r) => r.sequence), [0, 4, 5]);
    assert.equal(problems.length, 1);
    assert.deepEqual(
      { kind: problems[0]!.kind, file: problems[0]!.file, offset: problems[0]!.offset, lost: problems[0]!.lostRecords, exact: problems[0]!.lostRecordsExact, reason: problems[0]!.reason },
      { kind: 'corrupt', file, offset: FRAME + 30, lost: 3, exact: true, reason: 'checksum mismatch' },
    );
    assert.equal(reopened.stats().corruptSegments, 1);
    assert.equal(reopened.stats().lostRecords, 3);
    await reopened.close();
  });

  it('never returns a damaged body: any flipped bytes lose a suffix of a segment, counted, and the rest replays intact (property)', async () => {
    const dir = freshDir();
    const total = 8;
    const spool = await open(dir, { segmentBytes: 3 * (FRAME + 30) });
    for (let i = 0; i < total; i++) await spool.append('p', body(i), 1);
    await spool.close();
    const names = await segmentFiles(join(dir, 'p'));
    const originals = await Promise.all(names.map((n) => readFile(join(dir, 'p', n))));
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: names.length - 1 }),
        fc.array(fc.record({ at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }), { minLength: 1, maxLength: 3 }),
        async (which, flips) => {
          await Promise.all(names.map((n, i) => writeFile(join(dir, 'p', n), originals[i]!)));
          await rm(join(dir, 'p', 'acked'), { force: true }); // the previous run's lost records count as done
          const damaged = Buffer.from(originals[which]!);
          const seen = new Set<number>();
          for (const { at, mask } of flips) {
            const position = at % damaged.length;
            if (seen.has(position)) continue;
            seen.add(position);
            damaged[position]! ^= mask;
          }
          await writeFile(join(dir, 'p', names[which]!), damaged);
          const problems: SpoolProblem[] = [];
          const reopened = await open(dir, { onProblem: (p) => problems.push(p) });
          const replayed = await replayAll(reopened, 'p');
          for (const record of replayed) assert.ok(Buffer.from(record.body).equals(body(record.sequence)), `record ${record.sequence} intact`);
          const sequences = replayed.map((r) => r.sequence);
          assert.deepEqual(sequences, [...sequences].sort((a, b) => a - b));
          assert.equal(problems.length, 1, 'the damage is reported');
          const lost = reopened.stats().lostRecords;
          if (problems[0]!.lostRecordsExact) assert.equal(replayed.length + lost, total);
          else assert.ok(replayed.length + lost <= total && lost >= 1);
          await reopened.close();
        },
      ),
      { numRuns: 60 },
    );
  });

  it("'block': a full spool holds the append until an acknowledgement frees a segment", async () => {
    const dir = freshDir();
    const frame = FRAME + 30;
    const spool = await open(dir, { segmentBytes: 2 * frame, maxBytes: 4 * frame, whenFull: 'block' });
    const refs: SpoolRecordRef[] = [];
    for (let i = 0; i < 4; i++) refs.push(await spool.append('b', body(i)));
    let done = false;
    const blocked = spool.append('b', body(4)).then((ref) => {
      done = true;
      return ref;
    });
    await tick();
    assert.equal(done, false, 'the append waits');
    assert.equal(spool.stats().blockedAppends, 1);
    await spool.ack(refs[0]!);
    await tick();
    assert.equal(done, false, 'half a segment acknowledged frees nothing');
    await spool.ack(refs[1]!);
    assert.equal((await blocked).sequence, 4);
    const stats = spool.stats();
    assert.ok(stats.usedBytes <= stats.maxBytes);
    assert.equal(stats.droppedRecords, 0);
    assert.deepEqual((await replayAll(spool, 'b')).map((r) => r.sequence), [2, 3, 4]);
    await spool.close();
  });

  it("'block': close rejects an append still waiting for space", async () => {
    const dir = freshDir();
    const spool = await open(dir, { segmentBytes: 64, maxBytes: 64 });
    await spool.append('b', body(0));
    const waiting = spool.append('b', body(1));
    await tick();
    await spool.close();
    await assert.rejects(waiting, SpoolError);
  });

  it("'drop-oldest': deletes the oldest segments to make room, counting records and samples", async () => {
    const dir = freshDir();
    const frame = FRAME + 30;
    const drops: SpoolDrop[] = [];
    const spool = await open(dir, { segmentBytes: 2 * frame, maxBytes: 4 * frame, whenFull: 'drop-oldest', onDrop: (d) => drops.push(d) });
    const refs: SpoolRecordRef[] = [];
    for (let i = 0; i < 4; i++) refs.push(await spool.append(i % 2 ? 'q' : 'r', body(i), 100 + i));
    await spool.ack(refs[0]!); // lane r's oldest segment now holds one unacknowledged record
    await spool.append('r', body(4), 104); // drops r's oldest segment
    await spool.append('r', body(5), 105); // fits
    assert.equal(drops.length, 1);
    await spool.append('r', body(6), 106); // drops q's segment
    const stats = spool.stats();
    assert.ok(stats.usedBytes <= stats.maxBytes);
    assert.deepEqual(drops.map((d) => [d.lane, d.records, d.samples, d.bytes]), [['r', 1, 102, 2 * frame], ['q', 2, 204, 2 * frame]]);
    assert.equal(stats.droppedRecords, 3);
    assert.equal(stats.droppedSamples, 306);
    assert.equal(stats.droppedBytes, 4 * frame);
    assert.deepEqual((await replayAll(spool, 'r')).map((r) => r.samples), [104, 105, 106]);
    assert.deepEqual(await replayAll(spool, 'q'), []);
    await spool.ack(refs[1]!); // dropped already: no effect
    assert.equal(spool.stats().acknowledgedRecords, 1);
    await spool.close();
  });

  it('refuses a record larger than the budget and a bad lane name', async () => {
    const spool = await open(freshDir(), { segmentBytes: 64, maxBytes: 128 });
    await assert.rejects(spool.append('l', Buffer.alloc(200)), /cannot fit in the spool's 128-byte budget/);
    await assert.rejects(spool.append('../x', Buffer.alloc(1)), /lane name/);
    await spool.close();
  });

  it("fsync 'always' syncs every append before it resolves", async () => {
    const spool = await open(freshDir(), { fsync: 'always' });
    for (let i = 0; i < 5; i++) await spool.append('s', body(i));
    assert.ok(spool.stats().fsyncs >= 5);
    await spool.close();
  });

  it("fsync 'interval' syncs on its timer and then closes the segments it rotated away from", async () => {
    const dir = freshDir();
    const spool = await open(dir, { fsync: 'interval', fsyncIntervalMs: 10, segmentBytes: 2 * (FRAME + 30) });
    for (let i = 0; i < 6; i++) await spool.append('i', body(i));
    const openOn = async (): Promise<number> => {
      let count = 0;
      for (const fd of await readdir('/proc/self/fd')) {
        const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
        if (target.startsWith(join(dir, 'i'))) count++;
      }
      return count;
    };
    for (let i = 0; i < 250 && (spool.stats().fsyncs < 3 || (await openOn()) > 1); i++) await tick();
    assert.ok(spool.stats().fsyncs >= 3, 'each of the three segments synced');
    assert.equal(await openOn(), 1, 'only the segment being appended to stays open');
    await spool.close();
    assert.equal(await openOn(), 0);
  });

  it('flush() rejects when an fsync fails (a checkpoint must not count on those records), counts it, and syncs again at the next flush', async () => {
    const dir = freshDir();
    const spool = await open(dir, { fsync: 'interval', fsyncIntervalMs: 3_600_000 });
    await spool.append('f', body(0));
    // The disk reports a write-back error once (EIO), as a failing device does.
    const probe = await openFile(join(dir, 'probe'), 'w');
    const prototype = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
    await probe.close();
    const datasync = prototype.datasync;
    let failures = 1;
    prototype.datasync = function (this: unknown): Promise<void> {
      if (failures-- > 0) return Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
      return datasync.call(this);
    };
    try {
      await assert.rejects(spool.flush(), /EIO/);
      assert.equal(spool.stats().fsyncErrors, 1);
      await spool.flush();
      assert.equal(spool.stats().fsyncs, 1, 'synced at the next flush');
    } finally {
      prototype.datasync = datasync;
      await spool.close();
    }
  });

  it('validates its options at creation', () => {
    assert.throws(() => DiskSpool.open({ directory: '' }), ConfigError);
    assert.throws(() => DiskSpool.open({ directory: '/tmp/x', segmentBytes: 10 }), /option "segmentBytes" must be an integer >= 64/);
    assert.throws(() => DiskSpool.open({ directory: '/tmp/x', segmentBytes: 1000, maxBytes: 999 }), /option "maxBytes" must be an integer >= 1000/);
    assert.throws(() => DiskSpool.open({ directory: '/tmp/x', whenFull: 'drop-newest' as 'block' }), /option "whenFull" must be one of 'block', 'drop-oldest'/);
    assert.throws(() => DiskSpool.open({ directory: '/tmp/x', fsync: 'sometimes' as 'never' }), ConfigError);
  });

  it('read() returns one unacknowledged record by its reference, after a reopen too; nothing once acknowledged', async () => {
    const dir = freshDir();
    const spool = await open(dir, { segmentBytes: 200 });
    const refs: SpoolRecordRef[] = [];
    for (let i = 0; i < 8; i++) refs.push(await spool.append('0', body(i, 40 + i), i));
    const third = await spool.read(refs[2]!);
    assert.deepEqual(Buffer.from(third!.body), body(2, 42));
    assert.equal(third!.samples, 2);
    await spool.ack(refs[2]!);
    assert.equal(await spool.read(refs[2]!), undefined);
    await spool.close();
    const again = await open(dir, { segmentBytes: 200 });
    assert.deepEqual(again.pendingRecords('0').map((r) => r.sequence), [0, 1, 3, 4, 5, 6, 7]);
    const last = await again.read({ lane: '0', sequence: 7 });
    assert.deepEqual(Buffer.from(last!.body), body(7, 47));
    assert.equal(again.nextSequence('0'), 8);
    await again.close();
  });

  it('read() of a record whose length field was damaged on disk after the open reports and counts it, whatever the length says (never a huge read)', async () => {
    for (const length of [0xffffffff, 0xfffffff0, 0x80000020, 1000]) {
      const dir = freshDir();
      const spool = await open(dir);
      const refs: SpoolRecordRef[] = [];
      for (let i = 0; i < 3; i++) refs.push(await spool.append('0', body(i), 5));
      await spool.flush();
      const file = join(dir, '0', (await segmentFiles(join(dir, '0')))[0]!);
      const bytes = await readFile(file);
      bytes.writeUInt32LE(length, FRAME + 30); // the second record's length
      await writeFile(file, bytes);
      const context = `length ${length}`;
      assert.equal(await spool.read(refs[1]!), undefined, context);
      assert.equal(spool.stats().corruptSegments, 1, context);
      assert.equal(spool.stats().lostRecords, 1, context);
      assert.deepEqual(spool.pendingRecords('0').map((r) => r.sequence), [0, 2], context);
      assert.deepEqual(Buffer.from((await spool.read(refs[2]!))!.body), body(2), context);
      await spool.close();
    }
  });

  it('retain: acknowledged records stay readable by records() until release(), then their segments go', async () => {
    const dir = freshDir();
    const spool = await open(dir, { segmentBytes: 120, retain: true });
    const refs: SpoolRecordRef[] = [];
    for (let i = 0; i < 6; i++) refs.push(await spool.append('0', body(i), i + 1));
    for (const ref of refs) await spool.ack(ref);
    assert.equal(spool.pending(), 0);
    const kept = [];
    for await (const record of spool.records('0', 2)) kept.push(record.sequence);
    assert.deepEqual(kept, [2, 3, 4, 5]);
    await spool.close();
    // Reopened with the checkpoint's position: what is from there on is kept, the rest may go.
    const again = await open(dir, { segmentBytes: 120, retain: true, retainFrom: { '0': 4 } });
    const after = [];
    for await (const record of again.records('0', 4)) after.push(record.sequence);
    assert.deepEqual(after, [4, 5]);
    await again.release('0', 6);
    assert.deepEqual(await segmentFiles(join(dir, '0')), []);
    await again.close();
  });

  it('retain: a lane whose files are gone (a spool folder cleared, its marks lost) continues after the restored position, so records() from it finds what is appended now', async () => {
    // The checkpoint says lane 0 had reached sequence 50; the spool on disk knows nothing of it.
    for (const leftOver of ['none', 'empty lane folder', 'damaged marks']) {
      const dir = freshDir();
      if (leftOver !== 'none') await mkdir(join(dir, '0'), { recursive: true });
      if (leftOver === 'damaged marks') await writeFile(join(dir, '0', 'acked'), Buffer.alloc(40));
      const spool = await open(dir, { retain: true, retainFrom: { '0': 50 } });
      const ref = await spool.append('0', body(1), 3);
      await spool.ack(ref);
      const found = [];
      for await (const record of spool.records('0', 50)) found.push(record.samples);
      assert.ok(ref.sequence >= 50, `${leftOver}: sequence ${ref.sequence}`);
      assert.deepEqual(found, [3], `${leftOver}: kept for the checkpoint and found from its position`);
      await spool.close();
    }
  });

  it('retain: an empty segment left by a run killed before its first record is removed on open; the new segment with the same name keeps its records past a release', async () => {
    const dir = freshDir();
    const spool = await open(dir, { retain: true });
    for (let i = 0; i < 3; i++) await spool.ack(await spool.append('0', body(i), 1));
    await spool.close();
    // The killed run had created its next segment, named by the next sequence, and written nothing to it.
    await writeFile(join(dir, '0', '0000000000000003.seg'), '');
    // Restored from a checkpoint older than that segment (as a restart usually is): it would be retained.
    const again = await open(dir, { retain: true, retainFrom: { '0': 2 } });
    const refs = [await again.append('0', body(3), 1), await again.append('0', body(4), 1)];
    assert.deepEqual(refs.map((r) => r.sequence), [3, 4]);
    for (const ref of refs) await again.ack(ref);
    // A checkpoint at sequence 4: record 4 must stay readable for the next restart's scan.
    await again.release('0', 4);
    const kept = [];
    for await (const record of again.records('0', 4)) kept.push(record.sequence);
    assert.deepEqual(kept, [4]);
    await again.close();
    const third = await open(dir, { retain: true, retainFrom: { '0': 4 } });
    const afterRestart = [];
    for await (const record of third.records('0', 4)) afterRestart.push(record.sequence);
    assert.deepEqual(afterRestart, [4], 'still on disk after a restart');
    await third.close();
  });

  it('without retain, a fully acknowledged segment goes at once, the one being appended to at the next flush (records() finds nothing)', async () => {
    const dir = freshDir();
    const spool = await open(dir, { segmentBytes: 120 });
    const refs: SpoolRecordRef[] = [];
    for (let i = 0; i < 4; i++) refs.push(await spool.append('0', body(i), 1));
    for (const ref of refs) await spool.ack(ref);
    const found = [];
    for await (const record of spool.records('0', 0)) found.push(record.sequence);
    assert.deepEqual(found, []);
    assert.deepEqual(await segmentFiles(join(dir, '0')), ['0000000000000002.seg']);
    await spool.flush();
    assert.deepEqual(await segmentFiles(join(dir, '0')), []);
    await spool.close();
  });

  it('appends made before close() are written, appends after it are refused', async () => {
    const dir = freshDir();
    const spool = await open(dir);
    const appends = [spool.append('0', body(1), 1), spool.append('0', body(2), 1)];
    const closing = spool.close();
    await assert.rejects(spool.append('0', body(3), 1), SpoolError);
    await Promise.all(appends);
    await closing;
    const again = await open(dir);
    assert.deepEqual((await replayAll(again, '0')).map((r) => r.sequence), [0, 1]);
    await again.close();
  });

  it('a lane that keeps up appends to one segment file (no file per record), which goes at the flush once all is acknowledged', async () => {
    const dir = freshDir();
    const spool = await open(dir, { fsyncIntervalMs: 3_600_000 });
    for (let i = 0; i < 10; i++) await spool.ack(await spool.append('k', body(i), 1));
    assert.deepEqual(await segmentFiles(join(dir, 'k')), ['0000000000000000.seg']);
    assert.equal((await stat(join(dir, 'k', '0000000000000000.seg'))).size, 10 * (FRAME + 30), 'the ten frames in one file');
    assert.equal(spool.stats().deletedSegments, 0);
    assert.equal(spool.pending(), 0);
    await spool.flush();
    assert.deepEqual(await segmentFiles(join(dir, 'k')), []);
    assert.equal(spool.stats().usedBytes, 0);
    // Nothing of it comes back after a reopen, and the sequence goes on.
    await spool.close();
    const again = await open(dir);
    assert.deepEqual(await replayAll(again, 'k'), []);
    assert.equal((await again.append('k', body(10))).sequence, 10);
    await again.close();
  });

  it('a full spool gives up acknowledged records in segments being appended to before blocking or dropping anything', async () => {
    const frame = FRAME + 30;
    for (const whenFull of ['block', 'drop-oldest'] as const) {
      const drops: SpoolDrop[] = [];
      const spool = await open(freshDir(), { segmentBytes: 64, maxBytes: 2 * frame, whenFull, fsyncIntervalMs: 3_600_000, onDrop: (d) => drops.push(d) });
      await spool.append('a', body(0), 5); // unacknowledged, the oldest
      await spool.ack(await spool.append('b', body(1), 6)); // acknowledged, its segment still open for appends
      await spool.append('c', body(2), 7); // needs b's space
      assert.equal(spool.stats().blockedAppends, 0, whenFull);
      assert.deepEqual(drops, [], `${whenFull}: nothing unacknowledged dropped`);
      assert.deepEqual((await replayAll(spool, 'a')).map((r) => r.samples), [5]);
      assert.deepEqual((await replayAll(spool, 'c')).map((r) => r.samples), [7]);
      await spool.close();
    }
  });

  it("'block': an append waiting for space goes on when the last record of a segment being appended to is acknowledged", async () => {
    const frame = FRAME + 30;
    const spool = await open(freshDir(), { segmentBytes: 2 * frame, maxBytes: 2 * frame, fsyncIntervalMs: 3_600_000 });
    const first = await spool.append('a', body(0), 1);
    const second = await spool.append('a', body(1), 1);
    let done = false;
    const waiting = spool.append('a', body(2), 1).then((ref) => ((done = true), ref));
    await tick();
    assert.equal(done, false, 'blocked while both records wait');
    await spool.ack(first);
    await tick();
    assert.equal(done, false, 'one acknowledged record of a segment still waiting frees nothing');
    await spool.ack(second);
    assert.equal((await waiting).sequence, 2);
    assert.equal(spool.stats().blockedAppends, 1);
    await spool.close();
  });

  it("'block' with retain: an append waiting for space goes on once an acknowledgement makes a retained segment one it may let go", async () => {
    const frame = FRAME + 30;
    for (const segmentBytes of [64, 2 * frame]) {
      // One record per segment, then both records in the segment being appended to.
      const spool = await open(freshDir(), { segmentBytes, maxBytes: 2 * frame, retain: true, fsyncIntervalMs: 3_600_000 });
      const first = await spool.append('0', body(0), 1);
      const second = await spool.append('0', body(1), 1);
      let done = false;
      const waiting = spool.append('0', body(2), 1).then((ref) => ((done = true), ref));
      await tick();
      assert.equal(done, false, `blocked while both records wait (segmentBytes ${segmentBytes})`);
      await spool.ack(first);
      if (segmentBytes === 2 * frame) {
        await tick();
        assert.equal(done, false, 'the segment still holds a record waiting');
        await spool.ack(second);
      }
      assert.equal((await waiting).sequence, 2, `segmentBytes ${segmentBytes}`);
      await spool.close();
    }
  });

  it("'block' with retained acknowledged segments lets them go instead of blocking", async () => {
    const dir = freshDir();
    const spool = await open(dir, { segmentBytes: 100, maxBytes: 200, retain: true });
    for (let i = 0; i < 3; i++) await spool.ack(await spool.append('0', body(i, 60), 1));
    // A fourth record needs space: the retained (acknowledged) segments are let go.
    await spool.append('0', body(3, 60), 1);
    assert.equal(spool.stats().blockedAppends, 0);
    await spool.close();
  });
});
