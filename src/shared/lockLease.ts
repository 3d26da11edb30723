import { setTimeout as sleep } from 'node:timers/promises';
import { acquireLock, type HeldLock, type LockOptions } from './fileLock.js';

/** How long a lease lasts; see LockLease. */
export interface LeaseTiming {
  /** The lease ends this long after the last use... */
  readonly idleMs: number;
  /** ...or once it is this old, so the lock's age stays far below its staleAfterMs... */
  readonly maxMs: number;
  /** ...and, while idle, is checked for waiters this often. */
  readonly pollMs: number;
  /**
   * After handing the lock to a waiter, how long to leave it be: longer than a waiter's longest
   * backoff (4 ms with jitter up to 1.5×), or the next use would take it back before the waiter
   * looks again.
   */
  readonly handoverMs: number;
}

/**
 * A lock file (fileLock.ts) kept from one use to the next while uses keep coming: creating and
 * removing the lock file, and the directory updates the next sync then has to commit, cost more
 * than the short work it guards.
 *
 * The lease ends when a waiter announces itself (the lock options must set announceWaiting; it is
 * checked after each use and, while idle, every pollMs; the lock is then left alone for handoverMs
 * so the waiter gets it), after idleMs without a use, after maxMs in any case, and on end(). A
 * waiter thus waits at most about one use or one poll. The price: a holder frozen (SIGSTOP)
 * within idleMs of a use blocks the others until its lock goes stale, as one frozen inside a use
 * always did.
 *
 * One use at a time: acquire(), the work, then kept() or end().
 */
export class LockLease {
  private lock: HeldLock | undefined;
  /** Between acquire() and kept()/end(): the work may await, and the idle check must not end the lease under it. */
  private inUse = false;
  /** When the lock was taken and last used, on the monotonic clock (see now()). */
  private since = 0;
  private lastUseAt = 0;
  private timer: NodeJS.Timeout | undefined;
  /** kept() asked for waiters after the timer was set, so its check need not ask again. */
  private askedSinceTimerSet = false;
  /** Until when the lock is left to the waiter it was handed to. */
  private handoverUntil = 0;

  constructor(
    readonly path: string,
    private readonly lockOptions: LockOptions,
    private readonly timing: LeaseTiming,
    private readonly takeLock: typeof acquireLock = acquireLock,
    /**
     * Called when the lease ends, so an owner of many leases can forget it (and what it kept
     * under the lock). After a hand-over, once the pause the next acquire() must keep is over,
     * unless a use has begun meanwhile.
     */
    private readonly onEnd?: () => void,
  ) {}

  /** Whether a lock is kept from an earlier use (acquire() then returns it without waiting). */
  get holding(): boolean {
    return this.lock !== undefined;
  }

  /** The lock kept from the last use, or a new one (first leaving a handed-over lock to its waiter). */
  async acquire(): Promise<HeldLock> {
    this.inUse = true;
    if (this.lock !== undefined) return this.lock;
    try {
      const handover = this.handoverUntil - now();
      if (handover > 0) await sleep(handover);
      this.lock = await this.takeLock(this.path, this.lockOptions);
      // A new lease: the timer of a hand-over's pause, if still set, has nothing left to do.
      clearTimeout(this.timer);
      this.timer = undefined;
    } catch (err) {
      this.inUse = false;
      throw err;
    }
    this.since = now();
    return this.lock;
  }

  /** After a use that succeeded: keep the lock for the next one unless a waiter wants it or it is old. */
  kept(): void {
    this.inUse = false;
    const lock = this.lock;
    if (lock === undefined) return;
    this.lastUseAt = now();
    if (lock.othersWaiting()) this.handOver();
    else if (this.lastUseAt - this.since >= this.timing.maxMs) this.end();
    else if (this.timer === undefined) this.setTimer();
    else this.askedSinceTimerSet = true;
  }

  /** Releases the lock now (after a failure, or on close). */
  end(): void {
    this.inUse = false;
    if (this.release()) this.onEnd?.();
  }

  /** While idle: end the lease once someone waits or uses have stopped. */
  private check(): void {
    this.timer = undefined;
    const lock = this.lock;
    if (lock === undefined) return;
    // kept() or end() follows the use and decides then.
    if (this.inUse) return;
    // Waiters first: a lease that ends while one waits must still leave it the lock.
    if (!this.askedSinceTimerSet && lock.othersWaiting()) this.handOver();
    else if (now() - this.lastUseAt >= this.timing.idleMs) this.end();
    else this.setTimer();
  }

  private setTimer(): void {
    this.askedSinceTimerSet = false;
    this.timer = setTimeout(() => this.check(), this.timing.pollMs).unref();
  }

  private handOver(): void {
    this.handoverUntil = now() + this.timing.handoverMs;
    this.release();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.inUse && this.lock === undefined) this.onEnd?.();
    }, this.timing.handoverMs).unref();
  }

  /** Whether there was a lock to release. */
  private release(): boolean {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.lock === undefined) return false;
    this.lock.release();
    this.lock = undefined;
    return true;
  }
}

/**
 * Monotonic: a wall-clock step back right after a hand-over would otherwise make the next
 * acquire() sleep for the whole step, and one during a use would stretch the lease past maxMs.
 */
function now(): number {
  return performance.now();
}
