import { closeSync, fstatSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { writeFileAtomic } from '../shared/atomicFile.js';
import { LockTimeoutError, withLockSync, type HeldLock, type LockOptions } from '../shared/fileLock.js';
import { keyIdTaken, keysFileInvalid, keysFileLocked, keysFileNotFound, keysFileOwner, keysFilePermissions } from './errors.js';
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
  return parseKeysDocument(parseJsonText(file, readSecureText(file)), basename(file));
}

function parseJsonText(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    // V8's message quotes the surrounding text; only the position is reported.
    throw keysFileInvalid(`${basename(file)}: not valid JSON${jsonErrorPosition(err, text)}`);
  }
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
  withKeysFileLock(file, (lock) => {
    const records = change(readKeysFileOrEmpty(file));
    lock.assertHeld();
    writeKeysFile(file, records);
  });
}

function withKeysFileLock(file: string, body: (lock: HeldLock) => void): void {
  const lockFile = `${file}.lock`;
  // The lock lives next to the file, so its directory must exist before the first gen-key.
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  try {
    withLockSync(lockFile, LOCK_OPTIONS, body);
  } catch (err) {
    if (err instanceof LockTimeoutError) throw keysFileLocked(lockFile);
    throw err;
  }
}

/**
 * Adds one record under the exclusive lock, at a cost that does not grow with validation: the
 * file is parsed once (for the id and hash checks) but its records are not re-validated — the
 * server validates the whole file when it loads it, and refuses a bad one (keeping the keys it
 * has). The new record is spliced into the canonical text as written by writeKeysFile, so the
 * result is byte for byte what writing every record would give; a hand-formatted file is
 * rewritten in canonical form instead. KEY_ID_TAKEN when the id exists.
 */
export function appendKeyRecord(file: string, record: KeyRecord): void {
  withKeysFileLock(file, (lock) => {
    const text = readSecureTextOrNull(file);
    if (text === null) {
      lock.assertHeld();
      writeKeysFile(file, [record]);
      return;
    }
    const raw = existingRecords(file, parseJsonText(file, text));
    for (const existing of raw) {
      if (existing.id === record.id) throw keyIdTaken(record.id);
      // Two records for one secret would make authentication ambiguous (cannot happen for a fresh random key).
      if (String(existing.hash).toLowerCase().replace(/^sha256:/, '') === record.hash) throw keysFileInvalid(`${basename(file)}: key "${String(existing.id)}" has the same hash`);
    }
    const canonicalTail = '\n  ]\n}\n';
    const single = serializeKeysDocument([record]);
    const recordText = single.slice(single.indexOf('[') + 2, -canonicalTail.length);
    const next =
      raw.length > 0 && text.endsWith(canonicalTail)
        ? `${text.slice(0, -canonicalTail.length)},\n${recordText}${canonicalTail}`
        : JSON.stringify({ version: 1, keys: [...raw, record] }, null, 2) + '\n';
    lock.assertHeld();
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileAtomic(file, next, 0o600);
  });
}

/** The document's raw records, checked only as far as appending needs (version 1, a list of objects with an id). */
function existingRecords(file: string, json: unknown): { id: unknown; hash: unknown }[] {
  const doc = json as { version?: unknown; keys?: unknown } | null;
  if (typeof doc !== 'object' || doc === null || doc.version !== 1 || !Array.isArray(doc.keys)) {
    throw keysFileInvalid(`${basename(file)}: expected an object {"version": 1, "keys": [...]}`);
  }
  return doc.keys.map((raw: unknown, index: number) => {
    if (typeof raw !== 'object' || raw === null || typeof (raw as { id?: unknown }).id !== 'string') {
      throw keysFileInvalid(`${basename(file)}: keys[${index}]: expected a record with an id`);
    }
    return raw as { id: unknown; hash: unknown };
  });
}

function readSecureTextOrNull(file: string): string | null {
  try {
    return readSecureText(file);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'KEYS_FILE_NOT_FOUND') return null;
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
