import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fchmodSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { keysFileInvalid, keysFileNotFound, keysFilePermissions } from './errors.js';
import { withFileLock } from './lock.js';
import { parseKeysDocument, serializeKeysDocument } from './schema.js';
import type { KeyRecord } from './types.js';

/**
 * keys.json on disk. Reads refuse a file group or others can access (POSIX), because anyone who
 * can write it can mint themselves a key. Writes are atomic (temp file in the same directory,
 * fsync, rename), so a crash or a concurrent SIGHUP reload never sees half a file.
 */
const POSIX = process.platform !== 'win32';

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
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const temp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(temp, 'wx', 0o600);
  try {
    try {
      // The open mode is filtered by the umask; set it exactly.
      if (POSIX) fchmodSync(fd, 0o600);
      writeFileSync(fd, serializeKeysDocument(records));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
  } catch (err) {
    unlinkQuietly(temp);
    throw err;
  }
  if (POSIX) fsyncDirectory(dir);
}

/**
 * Read-modify-write under an exclusive lock, so two futucli runs cannot interleave and, say,
 * resurrect a key the other one just revoked. `change` returns the new record list.
 */
export function updateKeysFile(file: string, change: (records: KeyRecord[]) => readonly KeyRecord[]): void {
  withFileLock(`${file}.lock`, () => writeKeysFile(file, change(readKeysFileOrEmpty(file))));
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

function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone; nothing to clean.
  }
}
