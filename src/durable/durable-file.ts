/**
 * Small file-system steps shared by the checkpoint store and the spool, each doing what a crash
 * needs: a file is complete under its final name or absent (temp file, fsync, rename, fsync of
 * the directory), and a directory entry is durable once its directory is fsynced.
 */
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Fsyncs a directory so that entries created, renamed or removed in it survive a power cut. */
export async function fsyncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** How many more bytes a write may put on disk before it fails as a full disk would (ENOSPC). */
export type SpaceLeft = () => number;

/** An ENOSPC error, as the file system raises it, for a simulated full disk. */
export function noSpaceError(path: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`ENOSPC: no space left on device, write '${path}'`);
  error.code = 'ENOSPC';
  error.path = path;
  return error;
}

/**
 * Writes `bytes` to `path` atomically: into a temp file beside it, fsynced, renamed over `path`,
 * then the directory fsynced. On failure the temp file is removed and the old `path` (if any)
 * is untouched. With `spaceLeft`, only that many bytes are written before an ENOSPC error, so
 * tests can run the full-disk path for real.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array, { sync = true, spaceLeft }: { sync?: boolean; spaceLeft?: SpaceLeft } = {}): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const handle = await open(temp, 'w');
  try {
    const room = spaceLeft ? Math.max(0, spaceLeft()) : Number.POSITIVE_INFINITY;
    if (room < bytes.length) {
      await handle.write(bytes, 0, room, 0);
      throw noSpaceError(temp);
    }
    await handle.write(bytes, 0, bytes.length, 0);
    if (sync) await handle.sync();
    await handle.close();
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(temp, { force: true });
    throw error;
  }
  await rename(temp, path);
  if (sync) await fsyncDirectory(dirname(path));
}

/** True for a temp file left by `writeFileAtomic` when a process died mid-write. */
export function isTempFile(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.tmp');
}
