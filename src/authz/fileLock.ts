import { linkSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { log } from '../shared/log.js';

/**
 * An exclusive lock between processes sharing a directory. The lock file is created complete
 * (temp file + link(), which fails if the name exists), holds {pid, nonce, createdAt}, and is
 * removed on release. A lock whose holder process is gone, or that is older than `staleMs`
 * (a reused pid must not wedge the ledger), is broken — under a second "breaker" lock and only
 * if the lock file is still the same one (inode + nonce) that was judged stale, so two waiters
 * cannot both break it and then delete each other's fresh lock.
 */
export interface FileLockOptions {
  readonly timeoutMs: number;
  readonly staleMs: number;
}

export interface HeldLock {
  /** The lock file is still ours (nobody judged it stale and broke it). */
  stillHeld(): boolean;
  release(): void;
}

interface Holder {
  readonly pid: number;
  readonly nonce: string;
  readonly createdAt: number;
}

interface Observed {
  readonly ino: number;
  readonly holder: Holder | null;
  readonly mtimeMs: number;
}

export async function acquireFileLock(path: string, options: FileLockOptions): Promise<HeldLock> {
  const deadline = Date.now() + options.timeoutMs;
  for (let attempt = 0; ; attempt++) {
    const nonce = tryCreate(path);
    if (nonce) return heldLock(path, nonce);
    const observed = observe(path);
    if (observed && isStale(observed, options.staleMs) && breakStale(path, observed, options.staleMs)) continue;
    if (Date.now() > deadline) throw new Error(`timed out waiting for lock ${path}`);
    await sleep(Math.min(10, 1 + attempt) * (0.5 + Math.random()));
  }
}

function heldLock(path: string, nonce: string): HeldLock {
  const stillHeld = () => observe(path)?.holder?.nonce === nonce;
  return {
    stillHeld,
    release: () => {
      if (stillHeld()) unlinkSync(path);
      else log.warn('lock was broken by another process while held', { path });
    },
  };
}

/** Creates the lock file with its content in one step; returns the nonce, or null if taken. */
function tryCreate(path: string): string | null {
  const nonce = randomBytes(8).toString('hex');
  const temp = `${path}.${nonce}.tmp`;
  writeFileSync(temp, JSON.stringify({ pid: process.pid, nonce, createdAt: Date.now() } satisfies Holder), { mode: 0o600 });
  try {
    linkSync(temp, path);
    return nonce;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw err;
  } finally {
    unlinkSync(temp);
  }
}

function observe(path: string): Observed | null {
  try {
    const stat = statSync(path);
    let holder: Holder | null = null;
    try {
      holder = JSON.parse(readFileSync(path, 'utf8')) as Holder;
    } catch {
      // Unreadable content: judged by age alone.
    }
    return { ino: stat.ino, holder, mtimeMs: stat.mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function isStale(o: Observed, staleMs: number): boolean {
  const createdAt = o.holder?.createdAt ?? o.mtimeMs;
  if (Date.now() - createdAt > staleMs) return true;
  return o.holder !== null && !isProcessAlive(o.holder.pid);
}

/** Returns whether the stale lock was removed (false: someone else is breaking it, or did). */
function breakStale(path: string, stale: Observed, staleMs: number): boolean {
  const breaker = `${path}.break`;
  const nonce = tryCreate(breaker);
  if (!nonce) {
    const other = observe(breaker);
    return other !== null && isStale(other, staleMs) && removeIfSame(breaker, other);
  }
  try {
    const removed = removeIfSame(path, stale);
    if (removed) log.warn('broke a stale lock', { path, pid: stale.holder?.pid });
    return removed;
  } finally {
    heldLock(breaker, nonce).release();
  }
}

/** Inode numbers are reused after unlink, so identity is inode and nonce together. */
function removeIfSame(path: string, expected: Observed): boolean {
  const now = observe(path);
  if (!now || now.ino !== expected.ino || now.holder?.nonce !== expected.holder?.nonce) return false;
  try {
    unlinkSync(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
