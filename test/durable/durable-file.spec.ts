import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTempFile, writeFileAtomic } from '../../src/durable/durable-file.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rxprom-atomic-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('replaces the file with the new bytes and leaves no temp file', async () => {
    const path = join(root, 'a.bin');
    await writeFile(path, 'old');
    await writeFileAtomic(path, Buffer.from('new contents'));
    assert.equal(await readFile(path, 'utf8'), 'new contents');
    assert.deepEqual(await readdir(root), ['a.bin']);
  });

  it('on a full disk fails with ENOSPC after a partial write, keeps the old file and removes the temp file', async () => {
    const path = join(root, 'b.bin');
    await writeFile(path, 'old');
    await assert.rejects(writeFileAtomic(path, Buffer.alloc(100, 1), { spaceLeft: () => 40 }), (error: NodeJS.ErrnoException) => error.code === 'ENOSPC');
    assert.equal(await readFile(path, 'utf8'), 'old');
    assert.deepEqual((await readdir(root)).filter(isTempFile), []);
  });
});

describe('isTempFile', () => {
  it('recognises the temp files it writes and nothing else', () => {
    assert.equal(isTempFile('.checkpoint-1.ckpt.123.tmp'), true);
    assert.equal(isTempFile('checkpoint-1.ckpt'), false);
    assert.equal(isTempFile('.hidden'), false);
  });
});
