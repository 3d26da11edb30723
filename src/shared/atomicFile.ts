import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { link, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

const POSIX = process.platform !== 'win32';

/**
 * Replaces `path` so that a reader, or a crash at any point, sees either the old or the new
 * content in full: write a temp file in the same directory (rename is atomic only within one
 * file system), fsync it, rename it over the target, fsync the directory so the rename itself is
 * durable. The parent directory must exist; its mode is the caller's policy.
 *
 * The file gets exactly `mode`: it is set on the temp file before any data is written, so the
 * content is never readable more widely, whatever the umask or the mode of the file replaced.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode: number): void {
  const dir = dirname(path);
  const temp = tempPathFor(path);
  const fd = openSync(temp, 'wx', mode);
  try {
    try {
      // The open mode is filtered by the umask.
      if (POSIX) fchmodSync(fd, mode);
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  fsyncDirectory(dir);
}

/**
 * writeFileAtomic with every step on libuv's thread pool, for callers on a server's event loop:
 * its two fsyncs would otherwise stall every other request for as long as the disk takes.
 */
export async function writeFileAtomicAsync(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  const temp = await writeTempAsync(path, data, mode);
  try {
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await fsyncDirectoryAsync(dirname(path));
}

/**
 * Creates `path` with `data` unless it exists, atomically across processes: the full content
 * appears at once or not at all (a hard link of a synced temp file, which fails if the name is
 * taken). Resolves true when this call created it, false when it already existed.
 */
export async function createFileExclusiveAsync(path: string, data: string | Uint8Array, mode: number): Promise<boolean> {
  const temp = await writeTempAsync(path, data, mode);
  try {
    await link(temp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await rm(temp, { force: true });
  }
  await fsyncDirectoryAsync(dirname(path));
  return true;
}

/** A synced temp file beside `path` holding `data` with exactly `mode`; removed again on failure. */
async function writeTempAsync(path: string, data: string | Uint8Array, mode: number): Promise<string> {
  const temp = tempPathFor(path);
  const file = await open(temp, 'wx', mode);
  try {
    try {
      if (POSIX) await file.chmod(mode);
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  return temp;
}

async function fsyncDirectoryAsync(dir: string): Promise<void> {
  if (!POSIX) return;
  const directory = await open(dir, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

/** A fresh name beside `path` (rename is atomic only within one file system). */
function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Makes the directory's entries (a new or renamed file) durable. A no-op on Windows, which
 * cannot open a directory for fsync; there durability of the entry rests on the file system.
 */
export function fsyncDirectory(dir: string): void {
  if (!POSIX) return;
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
