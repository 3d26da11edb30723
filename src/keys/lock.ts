import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { keysFileLocked } from './errors.js';

/**
 * A lock file created with O_EXCL and holding the owner's pid. A lock whose owner no longer runs
 * (crashed futucli) is taken over; a live owner is waited for, briefly, then reported.
 */
const RETRY_MS = 50;
const MAX_WAIT_MS = 5_000;

export function withFileLock<T>(lockFile: string, work: () => T): T {
  const fd = acquire(lockFile);
  try {
    return work();
  } finally {
    closeSync(fd);
    unlinkSync(lockFile);
  }
}

function acquire(lockFile: string): number {
  mkdirSync(dirname(lockFile), { recursive: true, mode: 0o700 });
  for (let waited = 0; ; ) {
    try {
      const fd = openSync(lockFile, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      return fd;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (takeOverIfAbandoned(lockFile)) continue;
    if (waited >= MAX_WAIT_MS) throw keysFileLocked(lockFile);
    sleep(RETRY_MS);
    waited += RETRY_MS;
  }
}

/** True when the lock is gone or was abandoned and removed, i.e. worth retrying at once. */
function takeOverIfAbandoned(lockFile: string): boolean {
  let owner: number;
  try {
    owner = Number(readFileSync(lockFile, 'utf8'));
  } catch {
    return true;
  }
  // An empty file is a lock being created right now, not an abandoned one.
  if (!Number.isSafeInteger(owner) || owner <= 0 || isRunning(owner)) return false;
  try {
    unlinkSync(lockFile);
  } catch {
    // Another waiter removed it first.
  }
  return true;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
