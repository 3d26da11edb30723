import { closeSync, fstatSync, linkSync, openSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from './errors.js';
import { log } from './log.js';

/**
 * An exclusive lock between processes (Node has no flock): the lock file `path` exists while
 * someone holds it and names its owner as JSON {pid, host, nonce, createdAt}. Used by futucli
 * around keys.json, by the audit log around "read the tail, append", and by the limits ledger
 * around each key's read-modify-write.
 *
 * - The file is written under a temporary name and published with link(), which fails if the
 *   name exists: a lock is never visible without its owner, so a holder that dies right after
 *   taking it is still recognisable as dead (an O_EXCL open leaves an empty file until the write).
 * - A lock is stale when its owner is on this host and provably dead, or, if the caller passes
 *   staleAfterMs, once it is older than that whoever the owner is: a dead holder's pid may have
 *   been reused, and an owner on another host cannot be checked at all.
 * - Stale locks are broken under a second lock (`<path>.break`), and only if the file is still
 *   the one judged stale (inode and content), so two waiters cannot both break it and then
 *   delete each other's fresh lock.
 * - A holder stalled past staleAfterMs may have lost the lock without knowing: assertHeld()
 *   re-checks right before the write the lock protects, and release() never deletes a lock
 *   that is no longer ours.
 */
export interface LockOptions {
  /** How long to wait for a live holder before failing with LockTimeoutError. */
  readonly timeoutMs: number;
  /**
   * A lock older than this is broken even if its owner looks alive. Without it, a live or
   * uncheckable owner's lock is never broken, so leave it out only where a person is there to
   * remove a wedged lock.
   */
  readonly staleAfterMs?: number;
}

export interface HeldLock {
  readonly path: string;
  /** Throws unless the lock file is still the one this holder created. */
  assertHeld(): void;
  /** Removes the lock if it is still ours. Never throws: it runs in `finally` blocks and must not hide their outcome. */
  release(): void;
}

export class LockTimeoutError extends Error {
  constructor(
    readonly lockPath: string,
    readonly timeoutMs: number,
  ) {
    super(`timed out after ${timeoutMs} ms waiting for lock ${lockPath}`);
    this.name = 'LockTimeoutError';
  }
}

/**
 * Waits without blocking the event loop: for servers, whose holders may keep the lock across
 * an fsync (the limits ledger).
 */
export async function acquireLock(path: string, options: LockOptions): Promise<HeldLock> {
  const attempts = new Attempts(path, options);
  for (;;) {
    const next = attempts.next();
    if (typeof next !== 'number') return next;
    await sleep(next);
  }
}

/**
 * Waits by blocking the thread: only for code that is synchronous end to end (futucli) or whose
 * holders keep the lock for a few syscalls (the audit log, which must append in call order and
 * syncs after releasing).
 */
export function withLockSync<T>(path: string, options: LockOptions, work: (lock: HeldLock) => T): T {
  const attempts = new Attempts(path, options);
  let next = attempts.next();
  while (typeof next === 'number') {
    sleepSync(next);
    next = attempts.next();
  }
  try {
    return work(next);
  } finally {
    next.release();
  }
}

/**
 * False only when the process is provably gone. Any other answer (EPERM: someone else's process)
 * counts as alive, because judging a live holder dead breaks mutual exclusion.
 */
export function isProcessAlive(pid: number): boolean {
  // 0 and negative pids address process groups, which would always look alive.
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

const HOST = hostname();
/** Holds range from a few syscalls to an fsync, so waiters poll often; the cap keeps that bounded. */
const MAX_BACKOFF_MS = 4;
const sleepCell = new Int32Array(new SharedArrayBuffer(4));

function sleepSync(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

/** One acquisition, shared by both flavours: each step yields the lock or how long to wait. */
class Attempts {
  private readonly deadline: number;
  private count = 0;

  constructor(
    private readonly path: string,
    private readonly options: LockOptions,
  ) {
    this.deadline = Date.now() + options.timeoutMs;
  }

  next(): HeldLock | number {
    const text = tryCreate(this.path);
    if (text !== null) return heldLock(this.path, text);
    if (breakIfStale(this.path, this.options)) return 0;
    if (Date.now() >= this.deadline) throw new LockTimeoutError(this.path, this.options.timeoutMs);
    // Jitter keeps waiters out of lockstep.
    return Math.min(MAX_BACKOFF_MS, 0.25 * 2 ** this.count++) * (0.5 + Math.random());
  }
}

function heldLock(path: string, text: string): HeldLock {
  // The content carries a random nonce, so equal content means the very file we created.
  const ours = () => observe(path)?.text === text;
  return {
    path,
    assertHeld: () => {
      if (!ours()) throw new Error(`lock ${path} is no longer held: it was broken as stale or removed`);
    },
    release: () => {
      try {
        if (ours()) unlinkSync(path);
        else log.warn('lock was broken or removed by someone else while held', { lock: path });
      } catch (err) {
        log.error('could not remove a lock; others wait until it is judged stale', { lock: path, error: describeError(err) });
      }
    },
  };
}

/** Publishes a lock file with its content in one step; returns that content, or null if the lock is taken. */
function tryCreate(path: string): string | null {
  const nonce = randomBytes(8).toString('hex');
  const text = JSON.stringify({ pid: process.pid, host: HOST, nonce, createdAt: Date.now() });
  const temp = `${path}.${nonce}.tmp`;
  try {
    writeFileSync(temp, text, { mode: 0o600, flag: 'wx' });
    try {
      linkSync(temp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return null;
      throw err;
    }
    return text;
  } finally {
    rmSync(temp, { force: true });
  }
}

interface Owner {
  readonly pid: number;
  readonly host: string;
  readonly createdAt: number | null;
}

interface Observed {
  readonly ino: number;
  readonly mtimeMs: number;
  readonly text: string;
  readonly owner: Owner | null;
}

function observe(path: string): Observed | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    // Stat and content from one descriptor, so both describe the same file.
    const stat = fstatSync(fd);
    const text = readFileSync(fd, 'utf8');
    return { ino: stat.ino, mtimeMs: stat.mtimeMs, text, owner: parseOwner(text) };
  } finally {
    closeSync(fd);
  }
}

/**
 * null when the owner cannot be told; such a lock is judged by age alone. Besides our JSON this
 * reads the "<pid>" (futucli) and "<pid>@<host>" (audit log) lock files that earlier versions
 * wrote, so a lock a crashed older process left behind is still recognised after an upgrade;
 * an owner without a host is local, as those versions assumed.
 */
function parseOwner(text: string): Owner | null {
  const plain = /^(\d+)(?:@(.+))?$/.exec(text.trim());
  let fields: { pid?: unknown; host?: unknown; createdAt?: unknown };
  try {
    fields = plain ? { pid: Number(plain[1]), host: plain[2] } : ((JSON.parse(text) as typeof fields | null) ?? {});
  } catch {
    return null;
  }
  const { pid, host = HOST, createdAt } = fields;
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0 || typeof host !== 'string') return null;
  return { pid, host, createdAt: typeof createdAt === 'number' && Number.isFinite(createdAt) ? createdAt : null };
}

function isStale(seen: Observed, options: LockOptions): boolean {
  const { owner } = seen;
  if (owner !== null && owner.host === HOST && !isProcessAlive(owner.pid)) return true;
  if (options.staleAfterMs === undefined) return false;
  return Date.now() - (owner?.createdAt ?? seen.mtimeMs) > options.staleAfterMs;
}

/** True when the lock is gone now (released, or broken by us), so acquiring can be retried at once. */
function breakIfStale(path: string, options: LockOptions): boolean {
  const seen = observe(path);
  if (seen === null) return true;
  if (!isStale(seen, options)) return false;
  const breaker = `${path}.break`;
  const text = tryCreate(breaker);
  if (text === null) {
    // Someone else is breaking it; their breaker lock is itself broken once stale, so a waiter
    // that died while breaking cannot wedge the lock.
    const other = observe(breaker);
    return other !== null && isStale(other, options) && removeIfSame(breaker, other);
  }
  try {
    const removed = removeIfSame(path, seen);
    if (removed) log.warn('broke a stale lock', { lock: path, pid: seen.owner?.pid, host: seen.owner?.host });
    return removed;
  } finally {
    heldLock(breaker, text).release();
  }
}

/** Inode numbers are reused after unlink and legacy content is not unique, so identity is both. */
function removeIfSame(path: string, expected: Observed): boolean {
  const now = observe(path);
  if (now === null || now.ino !== expected.ino || now.text !== expected.text) return false;
  try {
    unlinkSync(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
