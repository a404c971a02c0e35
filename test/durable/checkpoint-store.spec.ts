import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { CheckpointError, CheckpointStore, type CheckpointProblem } from '../../src/durable/checkpoint-store.js';
import { ConfigError } from '../../src/core/errors.js';

interface State {
  windows: Record<string, number>;
  position: number;
}

let root: string;
let counter = 0;
const freshDir = (): string => join(root, `case-${++counter}`);
const store = (directory: string, extra: Partial<ConstructorParameters<typeof CheckpointStore<State>>[0]> = {}): CheckpointStore<State> =>
  new CheckpointStore<State>({ directory, pipeline: 'gateway-v1', fsync: false, ...extra });

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rxprom-ckpt-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('CheckpointStore', () => {
  it('round-trips state and blobs through a new store on the same directory', async () => {
    const dir = freshDir();
    const first = store(dir);
    const saved = await first.save({ windows: { a: 1.5 }, position: 10 }, { sketch: Buffer.from([0, 1, 2, 255]) });
    assert.equal(saved.sequence, 1);
    await first.save({ windows: { a: 2.5, b: -1 }, position: 20 }, { sketch: Buffer.from([9, 9]) });
    const loaded = await store(dir, { fsync: true }).load();
    assert.ok(loaded);
    assert.equal(loaded.sequence, 2);
    assert.equal(loaded.pipeline, 'gateway-v1');
    assert.deepEqual(loaded.state, { windows: { a: 2.5, b: -1 }, position: 20 });
    assert.deepEqual([...loaded.blobs['sketch']!], [9, 9]);
  });

  it('continues the sequence after a restart and keeps only the newest `keep` checkpoints', async () => {
    const dir = freshDir();
    const first = store(dir, { keep: 2 });
    for (let i = 1; i <= 4; i++) await first.save({ windows: {}, position: i });
    const second = store(dir, { keep: 2 });
    const next = await second.save({ windows: {}, position: 5 });
    assert.equal(next.sequence, 5);
    assert.deepEqual((await readdir(dir)).sort(), ['checkpoint-0000000000000004.ckpt', 'checkpoint-0000000000000005.ckpt']);
  });

  it('on an empty or missing directory loads nothing and reports nothing', async () => {
    const problems: CheckpointProblem[] = [];
    assert.equal(await store(freshDir(), { onProblem: (p) => problems.push(p) }).load(), undefined);
    assert.deepEqual(problems, []);
  });

  it('falls back to the previous checkpoint when the newest is truncated at any byte offset, naming the file', async () => {
    const dir = freshDir();
    const writer = store(dir);
    await writer.save({ windows: { x: 1 }, position: 1 });
    const newest = await writer.save({ windows: { x: 2 }, position: 2 }, { blob: Buffer.from('abc') });
    const whole = await readFile(newest.file);
    for (let length = 0; length < whole.length; length++) {
      await writeFile(newest.file, whole.subarray(0, length));
      const problems: CheckpointProblem[] = [];
      const loaded = await store(dir, { onProblem: (p) => problems.push(p) }).load();
      assert.equal(loaded?.sequence, 1, `truncated to ${length} bytes`);
      assert.deepEqual(loaded?.state, { windows: { x: 1 }, position: 1 });
      assert.equal(problems.length, 1);
      assert.equal(problems[0]!.file, newest.file);
      assert.equal(problems[0]!.sequence, 2);
      assert.match(problems[0]!.reason, /truncated|checksum|magic/);
    }
    await writeFile(newest.file, whole);
    assert.equal((await store(dir).load())?.sequence, 2, 'the intact file loads again');
  });

  it('detects any flipped bytes in the newest checkpoint and uses the previous one (property)', async () => {
    const dir = freshDir();
    const writer = store(dir);
    await writer.save({ windows: { y: 7 }, position: 70 });
    const newest = await writer.save({ windows: { y: 8 }, position: 80 }, { blob: Buffer.alloc(40, 3) });
    const whole = await readFile(newest.file);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ at: fc.nat({ max: whole.length - 1 }), mask: fc.integer({ min: 1, max: 255 }) }), { minLength: 1, maxLength: 4 }),
        async (flips) => {
          const damaged = Buffer.from(whole);
          const positions = new Set<number>();
          for (const { at, mask } of flips) {
            if (positions.has(at)) continue; // two flips of one byte could cancel out
            positions.add(at);
            damaged[at]! ^= mask;
          }
          await writeFile(newest.file, damaged);
          const problems: CheckpointProblem[] = [];
          const loaded = await store(dir, { onProblem: (p) => problems.push(p) }).load();
          assert.equal(loaded?.sequence, 1);
          assert.deepEqual(loaded?.state, { windows: { y: 7 }, position: 70 });
          assert.equal(problems.length, 1);
          assert.equal(problems[0]!.file, newest.file);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('logs a warning naming the damaged file, and an error when no checkpoint is valid', async () => {
    const dir = freshDir();
    const saved = await store(dir).save({ windows: {}, position: 1 });
    await truncate(saved.file, 10);
    const warnings: string[] = [];
    const errors: string[] = [];
    const logger = { info: () => {}, warn: (_: unknown, m: string) => warnings.push(m), error: (_: unknown, m: string) => errors.push(m) };
    assert.equal(await store(dir, { logger }).load(), undefined);
    assert.equal(warnings.length, 1);
    assert.ok(warnings[0]!.includes(saved.file));
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /no valid checkpoint/);
  });

  it('refuses a state directory written by another pipeline, on load and on save', async () => {
    const dir = freshDir();
    await store(dir, { pipeline: 'other-pipeline' }).save({ windows: {}, position: 1 });
    const mine = store(dir);
    await assert.rejects(mine.load(), (error: unknown) => {
      assert.ok(error instanceof CheckpointError);
      assert.match(error.message, /holds checkpoints of pipeline "other-pipeline".*not of "gateway-v1"/);
      return true;
    });
    await assert.rejects(store(dir).save({ windows: {}, position: 2 }), CheckpointError);
    assert.deepEqual(await readdir(dir), ['checkpoint-0000000000000001.ckpt'], 'nothing written');
  });

  it('refuses a newer checkpoint written in another format version with a CheckpointError naming it, whatever its header holds', async () => {
    // A later rxprom may lay out its header and payload differently: such a file is complete and
    // its checksum matches, so it is not damage to skip (falling back to an older checkpoint) and
    // not a header to read as this version's (a TypeError on a field it lacks).
    const laterVersion = (sequence: number, header: Record<string, unknown>, payload: Buffer): Buffer => {
      const headerBytes = Buffer.from(JSON.stringify({ pipeline: 'gateway-v1', sequence, ...header }), 'utf8');
      const preamble = Buffer.alloc(16);
      preamble.write('RXPCKPT\n', 0, 'latin1');
      preamble.writeUInt32LE(2, 8);
      preamble.writeUInt32LE(headerBytes.length, 12);
      const body = Buffer.concat([preamble, headerBytes, payload]);
      return Buffer.concat([body, createHash('sha256').update(body).digest()]);
    };
    const cases: Array<[string, Buffer]> = [
      ['a header without this version\'s fields', laterVersion(2, { parts: [['state', 2]] }, Buffer.from('{}'))],
      ['payload lengths laid out otherwise', laterVersion(2, { stateBytes: 2, blobs: [], trailer: 4 }, Buffer.from('{}\0\0\0\0'))],
      ['another sequence field', laterVersion(2, { sequence: '2', stateBytes: 2, blobs: [] }, Buffer.from('{}'))],
    ];
    for (const [what, bytes] of cases) {
      const dir = freshDir();
      await store(dir).save({ windows: {}, position: 1 });
      await writeFile(join(dir, 'checkpoint-0000000000000002.ckpt'), bytes);
      const problems: CheckpointProblem[] = [];
      const check = (error: unknown): boolean => {
        assert.ok(error instanceof CheckpointError, `${what}: ${String(error)}`);
        assert.match(error.message, /checkpoint-0000000000000002\.ckpt is in format version 2, this rxprom reads version 1/, what);
        return true;
      };
      await assert.rejects(store(dir, { onProblem: (p) => problems.push(p) }).load(), check);
      assert.deepEqual(problems, [], `${what}: not reported as damage`);
      await assert.rejects(store(dir).save({ windows: {}, position: 3 }), check);
      assert.deepEqual((await readdir(dir)).sort(), ['checkpoint-0000000000000001.ckpt', 'checkpoint-0000000000000002.ckpt'], `${what}: nothing written or removed`);
    }
  });

  it('serialises concurrent saves in call order, each with the state as it was when called', async () => {
    const dir = freshDir();
    const writer = store(dir, { keep: 3 });
    const state: State = { windows: {}, position: 0 };
    const blob = Buffer.alloc(4);
    const saves = [];
    for (let i = 1; i <= 10; i++) {
      state.position = i;
      blob.fill(i);
      saves.push(writer.save(state, { blob }));
    }
    const results = await Promise.all(saves);
    assert.deepEqual(results.map((r) => r.sequence), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const loaded = await store(dir).load();
    assert.equal(loaded?.sequence, 10);
    assert.equal(loaded?.state.position, 10);
    assert.deepEqual([...loaded!.blobs['blob']!], [10, 10, 10, 10]);
    assert.deepEqual(results.map((r) => r.blobs['blob']![0]), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.equal((await readdir(dir)).length, 3);
  });

  it('on a full disk fails the save with a clear error, leaves no temp file, and the previous checkpoint stays loadable', async () => {
    const dir = freshDir();
    const writer = store(dir, { maxBytes: 600, keep: 5 });
    const first = await writer.save({ windows: { a: 1 }, position: 1 });
    const big = { windows: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`w${i}`, i])), position: 2 };
    await assert.rejects(writer.save(big), (error: unknown) => {
      assert.ok(error instanceof CheckpointError);
      assert.match(error.message, /could not save checkpoint 2 of pipeline "gateway-v1": no space left \(ENOSPC\); checkpoint 1 stays the newest/);
      assert.equal((error.cause as NodeJS.ErrnoException).code, 'ENOSPC');
      return true;
    });
    assert.deepEqual(await readdir(dir), [first.file.slice(dir.length + 1)]);
    const loaded = await store(dir).load();
    assert.equal(loaded?.sequence, 1);
    // A small state still fits; the store is usable after the failure.
    assert.equal((await writer.save({ windows: {}, position: 3 })).sequence, 2);
  });

  it('ignores and removes a temp file left by a save that died before its rename', async () => {
    const dir = freshDir();
    await store(dir).save({ windows: {}, position: 1 });
    await writeFile(join(dir, '.checkpoint-0000000000000002.ckpt.999.tmp'), 'half');
    const problems: CheckpointProblem[] = [];
    assert.equal((await store(dir, { onProblem: (p) => problems.push(p) }).load())?.sequence, 1);
    assert.deepEqual(problems, []);
    assert.deepEqual(await readdir(dir), ['checkpoint-0000000000000001.ckpt']);
  });

  it('rejects load when the problem callback throws', async () => {
    const dir = freshDir();
    const saved = await store(dir).save({ windows: {}, position: 1 });
    await truncate(saved.file, 5);
    await assert.rejects(store(dir, { onProblem: () => { throw new Error('callback failed'); } }).load(), /callback failed/);
  });

  it('rejects a state that is not JSON-serialisable', async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    await assert.rejects(new CheckpointStore<unknown>({ directory: freshDir(), pipeline: 'p', fsync: false }).save(cyclic), /not JSON-serialisable/);
  });

  it('validates its options at creation', () => {
    assert.throws(() => new CheckpointStore({ directory: '', pipeline: 'p' }), ConfigError);
    assert.throws(() => new CheckpointStore({ directory: '/tmp/x', pipeline: '' }), /option "pipeline" must be a non-empty string/);
    assert.throws(() => new CheckpointStore({ directory: '/tmp/x', pipeline: 'p', keep: 0 }), /option "keep" must be an integer in \[1, 1000\]/);
    assert.throws(() => new CheckpointStore({ directory: '/tmp/x', pipeline: 'p', maxBytes: -1 }), ConfigError);
  });
});
