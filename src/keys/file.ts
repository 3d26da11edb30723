import { closeSync, fstatSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { writeFileAtomic } from '../shared/atomicFile.js';
import { LockTimeoutError, withLockSync, type LockOptions } from '../shared/fileLock.js';
import { keysFileInvalid, keysFileLocked, keysFileNotFound, keysFileOwner, keysFilePermissions } from './errors.js';
import { parseKeysDocument, serializeKeysDocument } from './schema.js';
import type { KeyRecord } from './types.js';

/**
 * keys.json on disk. Reads refuse a file group or others can access (POSIX), or one owned by a
 * user other than this process's or root, because anyone who can write it can mint themselves a key. Writes are atomic (temp file in the same directory,
 * fsync, rename), so a crash or a concurrent SIGHUP reload never sees half a file.
 */
const POSIX = process.platform !== 'win32';

/**
 * No staleAfterMs: a lock whose owner looks alive is reported, never broken by age. futucli runs
 * in front of a person, whom KEYS_FILE_LOCKED tells how to clear a truly abandoned lock, and
 * breaking a live (stalled) run's lock would leave only assertHeld() between it and a lost update.
 */
const LOCK_OPTIONS: LockOptions = { timeoutMs: 5_000 };

/** The file's records; throws KEYS_FILE_NOT_FOUND, KEYS_FILE_PERMISSIONS or KEYS_FILE_INVALID. */
export function readKeysFile(file: string): KeyRecord[] {
  const text = readSecureText(file);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    // V8's message quotes the surrounding text; only the position is reported.
    throw keysFileInvalid(`${basename(file)}: not valid JSON${jsonErrorPosition(err, text)}`);
  }
  return parseKeysDocument(json, basename(file));
}

/** Like readKeysFile, but a missing file is an empty key set (first gen-key). */
export function readKeysFileOrEmpty(file: string): KeyRecord[] {
  try {
    return readKeysFile(file);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'KEYS_FILE_NOT_FOUND') return [];
    throw err;
  }
}

/** Replaces the file atomically with mode 0600, creating missing parent directories with 0700. */
export function writeKeysFile(file: string, records: readonly KeyRecord[]): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileAtomic(file, serializeKeysDocument(records), 0o600);
}

/**
 * Read-modify-write under an exclusive lock, so two futucli runs cannot interleave and, say,
 * resurrect a key the other one just revoked. `change` returns the new record list.
 */
export function updateKeysFile(file: string, change: (records: KeyRecord[]) => readonly KeyRecord[]): void {
  const lockFile = `${file}.lock`;
  // The lock lives next to the file, so its directory must exist before the first gen-key.
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  try {
    withLockSync(lockFile, LOCK_OPTIONS, (lock) => {
      const records = change(readKeysFileOrEmpty(file));
      lock.assertHeld();
      writeKeysFile(file, records);
    });
  } catch (err) {
    if (err instanceof LockTimeoutError) throw keysFileLocked(lockFile);
    throw err;
  }
}

function readSecureText(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw keysFileNotFound(file);
    throw keysFileInvalid(`${basename(file)}: cannot open: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    // Checked on the open descriptor, so the file read is the file checked.
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw keysFileInvalid(`${basename(file)}: not a regular file`);
    if (POSIX && (stat.mode & 0o077) !== 0) throw keysFilePermissions(file, stat.mode);
    const self = process.getuid?.();
    if (self !== undefined && stat.uid !== self && stat.uid !== 0) throw keysFileOwner(file, stat.uid, self);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

function jsonErrorPosition(err: unknown, text: string): string {
  const position = /position (\d+)/.exec(err instanceof Error ? err.message : '')?.[1];
  if (position === undefined) return '';
  const before = text.slice(0, Number(position));
  const line = before.split('\n').length;
  const column = Number(position) - before.lastIndexOf('\n');
  return ` (line ${line}, column ${column})`;
}
