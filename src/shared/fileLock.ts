import { closeSync, existsSync, fstatSync, openSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from './errors.js';
import { log } from './log.js';

/**
 * An exclusive lock between processes (Node has no flock): the lock file `path` exists while
 * someone holds it and names its owner as JSON {pid, host, nonce, createdAt}. Used by futucli
 * around keys.json, by the audit log around each batch's "read the tail, append", and by the
 * limits ledger around each key's read-modify-write.
 *
 * - The file is created with O_EXCL, then the owner written. A reader can catch it empty (or a
 *   creator can die between the two syscalls); an owner it cannot read is judged by age alone,
 *   so such a lock is never broken early. Publishing it complete with link() would close that
 *   window but doubles the directory updates each audit log batch pays for.
 * - A lock is stale when its owner is on this host and provably dead, or, if the caller passes
 *   staleAfterMs, once it is older than that whoever the owner is: a dead holder's pid may have
 *   been reused, and an owner on another host cannot be checked at all.
 * - Stale locks are broken under a second lock (`<path>.break`), and only if the file is still
 *   the one judged stale (inode and content), so two waiters cannot both break it and then
 *   delete each other's fresh lock.
 * - A holder stalled past staleAfterMs may have lost the lock without knowing: assertHeld()
 *   re-checks right before the write the lock protects, and release() re-checks before it
 *   deletes, so it does not remove a lock that is no longer ours. The holder keeps the lock file
 *   open, which pins its inode: no other file can get that inode number meanwhile, so an
 *   unchanged (dev, ino) at the path proves the lock is still ours, at the cost of one stat.
 * - A holder may keep the lock between uses (the audit log keeps it while appends keep coming)
 *   if its waiters announce themselves: with announceWaiting, a waiter that finds a live holder
 *   creates `<path>.waiting`, and the holder checks othersWaiting() after each use and hands the
 *   lock over. The announcement is only a hint; no safety property rests on it.
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
  /** Announce a wait for a live holder by creating `<path>.waiting` (see HeldLock.othersWaiting). */
  readonly announceWaiting?: boolean;
}

export interface HeldLock {
  readonly path: string;
  /** Throws unless the lock file is still the one this holder created. */
  assertHeld(): void;
  /**
   * Whether a waiter announced itself (announceWaiting) since the last call; clears the
   * announcement, so waiters still waiting after the hand-over announce themselves again.
   */
  othersWaiting(): boolean;
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
 * an fsync (the limits ledger) or whose work can queue meanwhile (the audit log's next batch).
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
 * Waits by blocking the thread: only for code that is synchronous end to end (futucli, opening
 * the audit log) or whose holders keep the lock for a few syscalls.
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
    const held = tryCreate(this.path);
    if (held !== null) return held;
    if (breakIfStale(this.path, this.options)) return 0;
    if (Date.now() >= this.deadline) throw new LockTimeoutError(this.path, this.options.timeoutMs);
    if (this.options.announceWaiting) announceWaiting(this.path);
    // Jitter keeps waiters out of lockstep.
    return Math.min(MAX_BACKOFF_MS, 0.25 * 2 ** this.count++) * (0.5 + Math.random());
  }
}

/** Creates the lock file and writes its owner; null if the lock is taken. */
function tryCreate(path: string): HeldLock | null {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw err;
  }
  try {
    writeFileSync(fd, JSON.stringify({ pid: process.pid, host: HOST, nonce: randomBytes(8).toString('hex'), createdAt: Date.now() }));
    return heldLock(path, fd, fstatSync(fd, { bigint: true }));
  } catch (err) {
    closeSync(fd);
    unlinkSync(path);
    throw err;
  }
}

function heldLock(path: string, fd: number, created: { dev: bigint; ino: bigint }): HeldLock {
  let released = false;
  const ours = () => {
    // bigint: inode numbers can exceed 2^53, where two would compare equal as numbers.
    const now = statSync(path, { bigint: true, throwIfNoEntry: false });
    return now !== undefined && now.ino === created.ino && now.dev === created.dev;
  };
  return {
    path,
    assertHeld: () => {
      if (!ours()) throw new Error(`lock ${path} is no longer held: it was broken as stale or removed`);
    },
    othersWaiting: () => {
      // Checked after every batch, and nearly always absent: a failed unlink would cost an
      // exception each time.
      if (!existsSync(waitingPath(path))) return false;
      try {
        unlinkSync(waitingPath(path));
      } catch {
        // Already gone: it was there, which is all the answer needs.
      }
      return true;
    },
    release: () => {
      // A second close could hit a descriptor number the process has since reused.
      if (released) return;
      released = true;
      try {
        let stillOurs: boolean;
        try {
          stillOurs = ours();
        } finally {
          // Before the unlink: Windows may keep a file deleted while open "delete pending", and
          // others' exclusive create fails on it until it is closed.
          closeSync(fd);
        }
        if (stillOurs) unlinkSync(path);
        else log.warn('lock was broken or removed by someone else while held', { lock: path });
      } catch (err) {
        log.error('could not remove a lock; others wait until it is judged stale', { lock: path, error: describeError(err) });
      }
    },
  };
}

function waitingPath(path: string): string {
  return `${path}.waiting`;
}

/** Best effort: a waiter that cannot announce itself still gets the lock once the holder idles. */
function announceWaiting(path: string): void {
  try {
    closeSync(openSync(waitingPath(path), 'a', 0o600));
  } catch {
    // The holder's idle timeout is the fallback.
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
  const breaking = tryCreate(breaker);
  if (breaking === null) {
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
    breaking.release();
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
