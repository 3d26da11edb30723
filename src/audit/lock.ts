import fs from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { log } from '../shared/log.js';

/**
 * An exclusive lock between processes on one host (Node has no flock): a lock file created with
 * O_EXCL that holds "<pid>@<host>". Holders keep it for one read-tail + write (the disk sync comes
 * after), so waiting is a short synchronous spin. A holder that died inside that window leaves the
 * file behind; it is broken when its pid is gone (same host) or, when the owner can't be checked
 * (unreadable, other host), once it is older than UNCHECKABLE_OWNER_STALE_MS. Not meant for
 * network file systems.
 */
const UNCHECKABLE_OWNER_STALE_MS = 30_000;
const MAX_BACKOFF_MS = 4;
const sleepCell = new Int32Array(new SharedArrayBuffer(4));

function sleepSync(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

export class FileLock {
  private readonly owner = `${process.pid}@${hostname()}`;

  constructor(
    readonly path: string,
    readonly timeoutMs: number,
  ) {}

  hold<T>(critical: () => T): T {
    this.acquire();
    try {
      return critical();
    } finally {
      this.release();
    }
  }

  private acquire(): void {
    const deadline = Date.now() + this.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      if (this.tryCreate()) return;
      if (this.breakIfStale()) continue;
      if (Date.now() >= deadline) throw new Error(`timed out after ${this.timeoutMs} ms waiting for lock ${this.path}`);
      // Holds last a few syscalls, so poll often; jitter keeps two waiters out of lockstep.
      sleepSync(Math.min(MAX_BACKOFF_MS, 0.25 * 2 ** attempt) * (0.5 + Math.random()));
    }
  }

  private tryCreate(): boolean {
    let fd: number;
    try {
      fd = fs.openSync(this.path, 'wx', 0o600);
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') return false;
      throw err;
    }
    try {
      fs.writeSync(fd, `${this.owner}\n`);
    } catch (err) {
      fs.unlinkSync(this.path);
      throw err;
    } finally {
      fs.closeSync(fd);
    }
    return true;
  }

  private release(): void {
    try {
      fs.unlinkSync(this.path);
    } catch (err) {
      log.warn('audit lock vanished while held', { lock: this.path, error: errnoCode(err) });
    }
  }

  /** True when the lock file is gone now (removed by us or its owner), so acquiring can be retried at once. */
  private breakIfStale(): boolean {
    let fd: number;
    try {
      fd = fs.openSync(this.path, 'r');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return true;
      throw err;
    }
    let inode: number;
    let owner: string;
    try {
      const stat = fs.fstatSync(fd);
      inode = stat.ino;
      owner = fs.readFileSync(fd, 'utf8').trim();
      if (!isStale(owner, stat.mtimeMs)) return false;
    } finally {
      fs.closeSync(fd);
    }
    // Rename first, then check it was the file we judged: between our check and the rename another
    // waiter may have broken it and a live process taken a fresh lock under the same name.
    const aside = `${this.path}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
    try {
      fs.renameSync(this.path, aside);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return true;
      throw err;
    }
    const movedLiveLock = fs.statSync(aside).ino !== inode;
    if (movedLiveLock) {
      try {
        fs.linkSync(aside, this.path);
      } catch (err) {
        log.error('could not restore an audit lock moved by mistake', { lock: this.path, error: errnoCode(err) });
      }
    } else {
      log.warn('removed stale audit lock', { lock: this.path, owner });
    }
    fs.unlinkSync(aside);
    return !movedLiveLock;
  }
}

function isStale(owner: string, mtimeMs: number): boolean {
  const match = /^(\d+)@(.+)$/.exec(owner);
  if (match && match[2] === hostname()) return !processIsAlive(Number(match[1]));
  return Date.now() - mtimeMs > UNCHECKABLE_OWNER_STALE_MS;
}
