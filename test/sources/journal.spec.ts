import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, readlink, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom, lastValueFrom, take, timeout, toArray, type Observable } from 'rxjs';
import { JournalSource, type BadLine, type JournalSourceOptions } from '../../src/sources/journal.js';
import type { Positioned } from '../../src/sources/acknowledged.js';
import { ConfigError } from '../../src/core/errors.js';
import { seededRandom } from '../../src/testing/random.js';

interface Reading {
  device: string;
  value: number;
}

let root: string;
let counter = 0;
const freshFile = (): string => join(root, `journal-${++counter}.jsonl`);
const line = (i: number): string => `${JSON.stringify({ device: `d${i}`, value: i })}\n`;
const lines = (from: number, to: number): string => Array.from({ length: to - from }, (_, k) => line(from + k)).join('');
const source = (path: string, extra: Partial<JournalSourceOptions<Reading>> = {}): JournalSource<Reading> => new JournalSource<Reading>({ path, ...extra });
// The timeouts turn a hang into a failure; wide, as a loaded machine can be slow to read a file.
const all = <T>(observable: Observable<T>): Promise<T[]> => lastValueFrom(observable.pipe(toArray(), timeout(20_000)));
const first = <T>(observable: Observable<T>, n: number): Promise<T[]> => firstValueFrom(observable.pipe(take(n), toArray(), timeout(20_000)));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const values = (elements: Positioned<Reading, number>[]): number[] => elements.map((e) => e.value.value);

/** File descriptors of this process open on `path` (Linux /proc). */
async function descriptorsOn(path: string): Promise<number> {
  let count = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    try {
      if ((await readlink(`/proc/self/fd/${fd}`)) === path) count++;
    } catch {
      // closed meanwhile
    }
  }
  return count;
}

async function eventually(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await sleep(10);
  }
  assert.fail(`never happened: ${what}`);
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rxprom-journal-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('JournalSource', () => {
  it('emits every line with the byte offset after its newline as position, then completes', async () => {
    const path = freshFile();
    await writeFile(path, lines(0, 3));
    const elements = await all(source(path).resumeFrom());
    assert.deepEqual(values(elements), [0, 1, 2]);
    const ends = [line(0), line(0) + line(1), lines(0, 3)].map((text) => Buffer.byteLength(text));
    assert.deepEqual(elements.map((e) => e.position), ends);
  });

  it('after a restart, resuming from a position emits exactly the remaining lines', async () => {
    const path = freshFile();
    await writeFile(path, lines(0, 10));
    const before = source(path);
    const firstFour = await first(before.resumeFrom(), 4);
    const position = firstFour[3]!.position;
    await before.commit(position);
    assert.equal(before.committed, position);
    // A new process: the position comes from its checkpoint.
    const after = source(path);
    assert.deepEqual(values(await all(after.resumeFrom(position))), [4, 5, 6, 7, 8, 9]);
    // Without an argument a source resumes from its committed position.
    assert.deepEqual(values(await all(before.resumeFrom())), [4, 5, 6, 7, 8, 9]);
    // Resuming at the very end emits nothing.
    assert.deepEqual(await all(after.resumeFrom(Buffer.byteLength(lines(0, 10)))), []);
  });

  it('counts a bad line with its reason and offset, hands it to the callback, and goes on', async () => {
    const path = freshFile();
    const broken = '{"device": "x", value: 1}\n';
    await writeFile(path, line(0) + broken + '\n' + line(2));
    const bad: BadLine[] = [];
    const journal = source(path, { onBadLine: (b) => bad.push(b) });
    assert.deepEqual(values(await all(journal.resumeFrom())), [0, 2]);
    assert.equal(bad.length, 1);
    assert.equal(bad[0]!.offset, Buffer.byteLength(line(0)));
    assert.equal(bad[0]!.position, Buffer.byteLength(line(0) + broken));
    assert.match(bad[0]!.reason, /JSON/);
    assert.equal(bad[0]!.text, broken.trimEnd());
    assert.equal(bad[0]!.path, path);
    const stats = journal.stats();
    assert.deepEqual({ lines: stats.lines, emitted: stats.emitted, badLines: stats.badLines, emptyLines: stats.emptyLines }, { lines: 4, emitted: 2, badLines: 1, emptyLines: 1 });
  });

  it('treats a throw from `parse` as a bad line, and a throw from `onBadLine` errors the stream', async () => {
    const path = freshFile();
    await writeFile(path, lines(0, 3));
    const reasons: string[] = [];
    const strict = source(path, {
      parse: (text) => {
        const reading = JSON.parse(text) as Reading;
        if (reading.value === 1) throw new Error('value 1 refused');
        return reading;
      },
      onBadLine: (b) => reasons.push(b.reason),
    });
    assert.deepEqual(values(await all(strict.resumeFrom())), [0, 2]);
    assert.deepEqual(reasons, ['value 1 refused']);
    const failing = source(path, { parse: () => { throw new Error('nope'); }, onBadLine: () => { throw new Error('callback failed'); } });
    await assert.rejects(all(failing.resumeFrom()), /callback failed/);
    assert.equal(failing.stats().openFiles, 0);
  });

  it('reports a line longer than maxLineBytes and resumes at the next line', async () => {
    const path = freshFile();
    const long = `{"pad":"${'x'.repeat(500)}"}\n`;
    await writeFile(path, line(0) + long + line(2));
    const bad: BadLine[] = [];
    const journal = source(path, { maxLineBytes: 100, readBytes: 64, onBadLine: (b) => bad.push(b) });
    const elements = await all(journal.resumeFrom());
    assert.deepEqual(values(elements), [0, 2]);
    assert.equal(bad.length, 1);
    assert.equal(bad[0]!.offset, Buffer.byteLength(line(0)));
    assert.equal(bad[0]!.position, Buffer.byteLength(line(0) + long));
    assert.match(bad[0]!.reason, /longer than 100 bytes/);
    assert.equal(elements[1]!.position, Buffer.byteLength(line(0) + long + line(2)));
  });

  it('reports every line longer than maxLineBytes, whatever the read size (differential against a plain split, seeded)', async () => {
    // A long line that ends inside the read that began it was emitted, one that ran past a read
    // was reported: the outcome depended on readBytes.
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const random = seededRandom(seed);
      const maxLineBytes = 20 + Math.floor(random() * 60);
      const readBytes = 1 + Math.floor(random() * 300);
      const texts = Array.from({ length: 60 }, (_, i) => JSON.stringify({ device: `d${i}`, value: i, pad: 'é'.repeat(Math.floor(random() * 50)) }));
      const path = freshFile();
      await writeFile(path, texts.map((text) => `${text}\n`).join(''));
      const bad: BadLine[] = [];
      const journal = source(path, { maxLineBytes, readBytes, onBadLine: (b) => bad.push(b) });
      const elements = await all(journal.resumeFrom());
      const tooLong = texts.flatMap((text, i) => (Buffer.byteLength(text) > maxLineBytes ? [i] : []));
      const context = `seed ${seed}, maxLineBytes ${maxLineBytes}, readBytes ${readBytes}`;
      assert.ok(tooLong.length > 0 && tooLong.length < texts.length, `${context}: the input mixes both kinds`);
      assert.deepEqual(values(elements), texts.flatMap((_, i) => (tooLong.includes(i) ? [] : [i])), `${context}: emitted`);
      const offsets = texts.map((_, i) => Buffer.byteLength(texts.slice(0, i).map((text) => `${text}\n`).join('')));
      assert.deepEqual(bad.map((b) => [b.offset, b.position]), tooLong.map((i) => [offsets[i], offsets[i]! + Buffer.byteLength(texts[i]!) + 1]), `${context}: reported`);
      assert.equal(journal.stats().badLines, tooLong.length, `${context}: counted`);
    }
  });

  it('holds back a last line without its newline until the writer completes it', async () => {
    const path = freshFile();
    const third = line(2);
    await writeFile(path, lines(0, 2) + third.slice(0, 10));
    const once = source(path);
    assert.deepEqual(values(await all(once.resumeFrom())), [0, 1]);
    assert.equal(once.stats().partialBytes, 10);

    const following = source(path, { follow: true, pollIntervalMs: 5 });
    const seen: number[] = [];
    const subscription = following.resumeFrom().subscribe((e) => seen.push(e.value.value));
    await eventually(() => seen.length === 2, 'the two complete lines');
    await sleep(30);
    assert.deepEqual(seen, [0, 1], 'the partial line is not emitted');
    await appendFile(path, third.slice(10));
    await eventually(() => seen.length === 3, 'the completed line');
    assert.deepEqual(seen, [0, 1, 2]);
    subscription.unsubscribe();
  });

  it('follows appends with fs.watch when polling alone would be too slow', async () => {
    const path = freshFile();
    await writeFile(path, line(0));
    const journal = source(path, { follow: true, watch: true, pollIntervalMs: 600_000 });
    const seen: number[] = [];
    const subscription = journal.resumeFrom().subscribe((e) => seen.push(e.value.value));
    await eventually(() => seen.length === 1, 'the first line');
    await appendFile(path, lines(1, 3));
    await eventually(() => seen.length === 3, 'the appended lines, woken by the watcher');
    subscription.unsubscribe();
    await eventually(() => journal.stats().openFiles === 0, 'the handle closed');
  });

  it('reads nothing while paused and continues where it stopped on resume', async () => {
    const path = freshFile();
    await writeFile(path, lines(0, 2));
    const journal = source(path, { follow: true, pollIntervalMs: 5, readBytes: 16 });
    const seen: number[] = [];
    const subscription = journal.resumeFrom().subscribe((e) => {
      seen.push(e.value.value);
      if (e.value.value === 3) journal.pause(); // a sink at its high-water mark, mid-chunk
    });
    await eventually(() => seen.length === 2, 'the first lines');
    journal.pause();
    await sleep(30);
    const bytesWhilePaused = journal.stats().bytesRead;
    await appendFile(path, lines(2, 8));
    await sleep(60);
    assert.equal(journal.stats().bytesRead, bytesWhilePaused, 'no byte read while paused');
    assert.deepEqual(seen, [0, 1]);
    journal.resume();
    await eventually(() => seen.length === 4, 'lines up to the pause inside the stream');
    await sleep(60);
    assert.deepEqual(seen, [0, 1, 2, 3], 'paused again from inside the subscriber');
    assert.ok(journal.stats().bytesRead < Buffer.byteLength(lines(0, 8)), 'the rest of the file is not read ahead');
    journal.resume();
    await eventually(() => seen.length === 8, 'the rest');
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.equal(journal.stats().bytesRead, Buffer.byteLength(lines(0, 8)));
    subscription.unsubscribe();
  });

  it('stops emitting in the middle of a chunk when paused from the subscriber', async () => {
    const path = freshFile();
    await writeFile(path, lines(0, 8));
    const journal = source(path);
    const seen: number[] = [];
    let completed = false;
    journal.resumeFrom().subscribe({
      next: (e) => {
        seen.push(e.value.value);
        if (e.value.value === 3) journal.pause();
      },
      complete: () => (completed = true),
    });
    await eventually(() => seen.length === 4, 'lines up to the pause');
    await sleep(40);
    assert.deepEqual(seen, [0, 1, 2, 3]);
    assert.equal(completed, false);
    assert.equal(journal.stats().bytesRead, Buffer.byteLength(lines(0, 8)), 'one read took the whole file');
    journal.resume();
    await eventually(() => completed, 'completion');
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('closes its file handle when unsubscribed', async () => {
    const path = freshFile();
    await writeFile(path, lines(0, 3));
    const journal = source(path, { follow: true, pollIntervalMs: 5 });
    const seen: number[] = [];
    const subscription = journal.resumeFrom().subscribe((e) => seen.push(e.value.value));
    await eventually(() => seen.length === 3, 'the lines');
    assert.equal(journal.stats().openFiles, 1);
    assert.equal(await descriptorsOn(path), 1);
    subscription.unsubscribe();
    await eventually(async () => journal.stats().openFiles === 0 && (await descriptorsOn(path)) === 0, 'no descriptor left on the journal');
    await appendFile(path, line(3));
    await sleep(30);
    assert.deepEqual(seen, [0, 1, 2], 'nothing after unsubscribe');
  });

  it('refuses a resume position past the end or inside a line', async () => {
    const path = freshFile();
    await writeFile(path, lines(0, 2));
    await assert.rejects(all(source(path).resumeFrom(5)), /position 5 .* is not at the start of a line/);
    await assert.rejects(all(source(path).resumeFrom(10_000)), /cannot resume from position 10000/);
    await assert.rejects(all(source(path).resumeFrom(-1)), /non-negative integer/);
  });

  it('without a position, each subscription starts after the position committed by then (a retry or repeat does not read committed lines again)', async () => {
    const path = freshFile();
    await writeFile(path, lines(0, 10));
    const journal = source(path);
    const lines$ = journal.resumeFrom();
    const firstFive = await first(lines$, 5);
    await journal.commit(firstFive[4]!.position);
    assert.deepEqual(values(await all(lines$)), [5, 6, 7, 8, 9], 'the same observable, subscribed again after the commit');
  });

  it('errors when a followed journal shrinks below the read position', async () => {
    const path = freshFile();
    await writeFile(path, lines(0, 3));
    const journal = source(path, { follow: true, pollIntervalMs: 5 });
    let failure: unknown;
    const seen: number[] = [];
    journal.resumeFrom().subscribe({ next: (e) => seen.push(e.value.value), error: (e: unknown) => (failure = e) });
    await eventually(() => seen.length === 3, 'the lines');
    await truncate(path, 5);
    await eventually(() => failure !== undefined, 'the error');
    assert.match((failure as Error).message, /shrank to 5 bytes/);
    await eventually(() => journal.stats().openFiles === 0, 'the handle closed');
  });

  it('validates its options at creation', () => {
    assert.throws(() => new JournalSource({ path: '' }), ConfigError);
    assert.throws(() => new JournalSource({ path: 'x', pollIntervalMs: 0 }), /option "pollIntervalMs" must be an integer in \[1, 3600000\]/);
    assert.throws(() => new JournalSource({ path: 'x', follow: 'yes' as unknown as boolean }), /option "follow" must be a boolean/);
    assert.throws(() => new JournalSource({ path: 'x', parse: 'json' as unknown as () => unknown }), /option "parse" must be a function/);
  });

  it('commits cumulatively: an older position changes nothing', async () => {
    const journal = source(freshFile());
    await journal.commit(30);
    await journal.commit(10);
    assert.equal(journal.committed, 30);
    await assert.rejects(journal.commit(-1), /non-negative integer/);
  });
});
