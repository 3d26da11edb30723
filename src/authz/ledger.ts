import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HeldLock, LockOptions } from '../shared/fileLock.js';
import { LockLease, type LeaseTiming } from '../shared/lockLease.js';
import { log } from '../shared/log.js';
import type { UsageSnapshot } from './builder.js';
import { AuthzError } from './errors.js';
import { decodeLedgerFile, KeyStateFile } from './ledgerFile.js';
import { ageState, dailyValue, emptyState, recordAttempt, slotFreeAt, windowCount, type LedgerState } from './ledgerState.js';
import { currencyChangedError, RESERVATION_TTL_MS, SettleOnce, validValue, type LimitsStore, type RateKind, type Reservation, type ReserveDecision } from './limits.js';

/**
 * LimitsStore (limits.ts) in the state directory, shared by every futu-mcp process on one machine.
 *
 * - Decisions run inside the key's critical section; a reservation whose process died, or whose
 *   TTL passed, stops counting.
 * - Operations on a key queue in this process and run in batches under the key's lock file
 *   (serializing processes): re-read the state, apply, append the new state as a record and
 *   fdatasync it (ledgerFile.ts). Rate windows are bounded counters (ledgerState.ts), so an
 *   operation costs the same with 0 or 100,000 attempts in the window.
 * - The key's lock is kept between batches while they keep coming, and handed to another
 *   process as soon as one waits (lockLease.ts): with many keys trading at once, creating and
 *   removing lock files, not the writes, was what bounded the trades per second.
 * Every failure is a LEDGER_ERROR; callers deny on it.
 */
export interface LedgerOptions {
  readonly stateDir: string;
  /** How long an unresolved reservation counts (default 2 min; the broker answers far sooner). */
  readonly reservationTtlMs?: number;
  readonly lockTimeoutMs?: number;
  /** A lock older than this is broken even if its pid looks alive (pid reuse). */
  readonly staleLockMs?: number;
}

/**
 * What an operation does to a key's state, in two steps so that a failing operation changes
 * nothing without copying the state: `plan` reads the state and may throw; `apply`, if the
 * operation changes anything, makes the change and does not throw.
 */
interface Transaction<R> {
  readonly result: R;
  readonly apply?: () => void;
}

/** Short against the lock's staleLockMs (15 s), as a lease is judged stale by the lock's age. */
const LEASE_TIMING: LeaseTiming = { idleMs: 25, maxMs: 1_000, pollMs: 10, handoverMs: 8 };

interface QueuedOperation {
  readonly now: Date;
  readonly plan: (state: LedgerState) => Transaction<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
}

export class LimitsLedger implements LimitsStore {
  private readonly stateDir: string;
  private readonly ttlMs: number;
  readonly sendWindowMs: number;
  private readonly lockOptions: LockOptions;
  private readonly waiting = new Map<string, QueuedOperation[]>();
  /** The drain of each key that has one running (see drain()). */
  private readonly drains = new Map<string, Promise<void>>();
  /** Commits whose write failed: applied first by the key's next successful write. */
  private readonly pendingCommits = new Map<string, Reservation[]>();
  private readonly settled = new SettleOnce();
  /** Keys whose lock this process holds or is handing over (LockLease forgets the idle ones). */
  private readonly leases = new Map<string, LockLease>();
  /**
   * Keys' state files kept open with the lock they were read under, until the lease ends (or,
   * after a hand-over, its pause does); a batch under another lock reads afresh.
   */
  private readonly files = new Map<string, { readonly lock: HeldLock; readonly file: KeyStateFile }>();

  constructor(options: LedgerOptions) {
    this.stateDir = options.stateDir;
    this.ttlMs = options.reservationTtlMs ?? RESERVATION_TTL_MS;
    this.sendWindowMs = this.ttlMs / 2;
    this.lockOptions = { timeoutMs: options.lockTimeoutMs ?? 10_000, staleAfterMs: options.staleLockMs ?? 15_000, announceWaiting: true };
  }

  /** `decide` runs while the key is locked in every process sharing the state directory. */
  decideAndReserve<T>(
    keyId: string,
    currency: string,
    now: Date,
    decide: (usage: UsageSnapshot) => ReserveDecision<T>,
    rateKind: RateKind = 'order',
  ): Promise<{ outcome: T; reservation: Reservation | null }> {
    return this.transact<{ outcome: T; reservation: Reservation | null }>(keyId, now, (state) => {
      if (state.currency !== null && state.currency !== currency) throw currencyChangedError(state.currency, currency);
      const { outcome, reserveValue } = decide(usageOf(state));
      if (reserveValue === null) return { result: { outcome, reservation: null } };
      if (!Number.isSafeInteger(reserveValue) || reserveValue < 0) throw new AuthzError('LEDGER_ERROR', 'limits ledger: invalid reservation value');
      const reservation: Reservation = { keyId, id: randomUUID(), currency, value: reserveValue };
      const apply = () => {
        recordAttempt(rateKind === 'cancel' ? state.cancels : state.orders, now.getTime());
        if (reserveValue > 0) {
          state.currency = currency;
          state.reservations.push({ id: reservation.id, value: reserveValue, pid: process.pid, expiresAt: now.getTime() + this.ttlMs });
        }
      };
      return { result: { outcome, reservation }, apply };
    });
  }

  /**
   * A failed write is kept in memory and applied by the key's next operation (which fails
   * closed too while the disk keeps failing): the order exists whatever the disk says.
   */
  async commit(reservation: Reservation, now = new Date()): Promise<boolean> {
    if (!this.settled.first(reservation)) return true;
    try {
      await this.transact(reservation.keyId, now, (state) => ({ result: undefined, apply: () => applyCommit(state, reservation) }));
      return true;
    } catch (err) {
      log.error('ledger commit failed; will retry on the next operation for this key', { key_id: reservation.keyId, error: (err as Error).message });
      const pending = this.pendingCommits.get(reservation.keyId) ?? [];
      this.pendingCommits.set(reservation.keyId, [...pending, reservation]);
      return false;
    }
  }

  async release(reservation: Reservation, now = new Date()): Promise<boolean> {
    if (!this.settled.first(reservation)) return true;
    try {
      await this.transact(reservation.keyId, now, (state) => {
        if (!state.reservations.some((r) => r.id === reservation.id)) return { result: undefined };
        return { result: undefined, apply: () => (state.reservations = state.reservations.filter((r) => r.id !== reservation.id)) };
      });
      return true;
    } catch (err) {
      // The reservation keeps counting until its TTL: over-counting is the safe failure.
      log.error('ledger release failed', { key_id: reservation.keyId, error: (err as Error).message });
      return false;
    }
  }

  async refund(keyId: string, value: number, day: string, now = new Date()): Promise<void> {
    if (!validValue(value)) throw new AuthzError('LEDGER_ERROR', 'limits ledger: invalid refund value');
    if (value === 0) return;
    await this.transact(keyId, now, (state) => {
      if (state.day !== day) return { result: undefined };
      return { result: undefined, apply: () => (state.committed = Math.max(0, state.committed - value)) };
    });
  }

  async commitValue(keyId: string, currency: string, value: number, day: string, now = new Date()): Promise<void> {
    if (!validValue(value)) throw new AuthzError('LEDGER_ERROR', 'limits ledger: invalid commit value');
    if (value === 0) return;
    await this.transact(keyId, now, (state) => {
      if (state.day !== day) return { result: undefined };
      const apply = () => {
        state.committed += value;
        state.currency ??= currency;
      };
      return { result: undefined, apply };
    });
  }

  /** Reads without locking. */
  async usage(keyId: string, now: Date): Promise<UsageSnapshot> {
    try {
      const state = this.read(keyId, now);
      ageState(state, now);
      return usageOf(state);
    } catch (err) {
      throw ledgerError(err);
    }
  }

  async nextOrderSlot(keyId: string, now: Date, cap: number): Promise<number> {
    try {
      const state = this.read(keyId, now);
      ageState(state, now);
      return slotFreeAt(state.orders, cap, now.getTime());
    } catch (err) {
      throw ledgerError(err);
    }
  }

  /** The state directory is checked by each operation itself. */
  async assertAvailable(): Promise<void> {}

  /**
   * Waits for the batches under way, then lets go of every key's kept lock, so a process that
   * exits leaves none behind (a waiter that cannot check a lock's pid would wait for its stale age).
   */
  async close(): Promise<void> {
    while (this.drains.size > 0) await Promise.all([...this.drains.values()]);
    for (const lease of [...this.leases.values()]) lease.end();
    for (const keyId of [...this.files.keys()]) this.forgetFile(keyId);
  }

  /**
   * Queues an operation on a key. Operations queued while the key is busy run together as one
   * batch: one lock, one read, each operation applied in order (one whose plan throws changes
   * nothing and fails alone), one durable write. Each sees exactly the state its predecessors left.
   */
  private transact<R>(keyId: string, now: Date, plan: (state: LedgerState) => Transaction<R>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const queue = this.waiting.get(keyId) ?? [];
      queue.push({ now, plan, resolve: resolve as (value: unknown) => void, reject });
      this.waiting.set(keyId, queue);
      if (!this.drains.has(keyId)) this.drains.set(keyId, this.drain(keyId));
    });
  }

  /**
   * Runs the key's batches until its queue is empty; never rejects. It removes itself from
   * `drains` only after awaiting a batch, so always after its caller registered it.
   */
  private async drain(keyId: string): Promise<void> {
    try {
      for (let batch = this.waiting.get(keyId); batch; batch = this.waiting.get(keyId)) {
        this.waiting.delete(keyId);
        await this.runBatch(keyId, batch);
      }
    } catch (err) {
      // Each operation is settled by its batch; anything escaping that is a bug, not a crash.
      log.error('ledger: a batch failed unexpectedly', { key_id: keyId, error: (err as Error)?.message });
    } finally {
      this.drains.delete(keyId);
    }
  }

  private async runBatch(keyId: string, batch: readonly QueuedOperation[]): Promise<void> {
    const lease = this.leaseFor(keyId);
    let lock: HeldLock;
    try {
      // A kept lock file proves the directory is there.
      if (!lease.holding) mkdirSync(join(this.stateDir, 'ledger'), { recursive: true, mode: 0o700 });
      lock = await lease.acquire();
    } catch (err) {
      for (const op of batch) op.reject(ledgerError(err));
      return;
    }
    let written = false;
    try {
      const file = this.stateFile(keyId, lock);
      const state = file.state ?? emptyState(keyId, batch[0]!.now);
      ageState(state, batch[0]!.now);
      const pending = this.pendingCommits.get(keyId) ?? [];
      for (const r of pending) applyCommit(state, r);
      let dirty = pending.length > 0;
      const outcomes = batch.map((op) => {
        ageState(state, op.now);
        let t: Transaction<unknown>;
        try {
          t = op.plan(state);
        } catch (err) {
          return { ok: false as const, error: ledgerError(err) };
        }
        // Outside the try: a throwing apply may have half-changed the state, so the whole batch fails unwritten.
        if (t.apply) {
          t.apply();
          dirty = true;
        }
        return { ok: true as const, value: t.result };
      });
      if (dirty) {
        lock.assertHeld();
        await file.write(state);
        this.pendingCommits.delete(keyId);
      }
      written = true;
      batch.forEach((op, i) => {
        const outcome = outcomes[i]!;
        if (outcome.ok) op.resolve(outcome.value);
        else op.reject(outcome.error);
      });
    } catch (err) {
      for (const op of batch) op.reject(ledgerError(err));
    } finally {
      if (written) {
        lease.kept();
      } else {
        // The state read (and perhaps changed in memory) must not outlive a failed batch.
        this.forgetFile(keyId);
        lease.end();
      }
    }
  }

  /**
   * The key's state file under `lock`: the one read in an earlier batch if the lock has been
   * held since and the file is as that batch left it, else read afresh.
   */
  private stateFile(keyId: string, lock: HeldLock): KeyStateFile {
    const kept = this.files.get(keyId);
    if (kept !== undefined && kept.lock === lock && kept.file.unchanged()) return kept.file;
    this.forgetFile(keyId);
    const file = KeyStateFile.open(ledgerFiles(this.stateDir, keyId).state, keyId);
    this.files.set(keyId, { lock, file });
    return file;
  }

  private forgetFile(keyId: string): void {
    this.files.get(keyId)?.file.close();
    this.files.delete(keyId);
  }

  private leaseFor(keyId: string): LockLease {
    let lease = this.leases.get(keyId);
    if (lease === undefined) {
      const forget = () => {
        this.leases.delete(keyId);
        this.forgetFile(keyId);
      };
      lease = new LockLease(ledgerFiles(this.stateDir, keyId).lock, this.lockOptions, LEASE_TIMING, undefined, forget);
      this.leases.set(keyId, lease);
    }
    return lease;
  }

  private read(keyId: string, now: Date): LedgerState {
    let bytes: Buffer;
    try {
      bytes = readFileSync(ledgerFiles(this.stateDir, keyId).state);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyState(keyId, now);
      throw err;
    }
    return decodeLedgerFile(bytes, keyId).state;
  }
}

/** Where a key's ledger lives; key ids are free text, so file names are a hash of them. */
export function ledgerFiles(stateDir: string, keyId: string): { state: string; lock: string } {
  const stem = join(stateDir, 'ledger', `key-${createHash('sha256').update(keyId).digest('hex').slice(0, 32)}`);
  return { state: `${stem}.json`, lock: `${stem}.lock` };
}

function usageOf(state: LedgerState): UsageSnapshot {
  return { ordersBefore: windowCount(state.orders), cancelsBefore: windowCount(state.cancels), dailyValue: dailyValue(state) };
}

/** Also counts a reservation that already expired: the order exists, so its value does. */
function applyCommit(state: LedgerState, reservation: Reservation): void {
  state.reservations = state.reservations.filter((r) => r.id !== reservation.id);
  state.committed += reservation.value;
  state.currency ??= reservation.currency;
}

function ledgerError(err: unknown): AuthzError {
  if (err instanceof AuthzError) return err;
  return new AuthzError('LEDGER_ERROR', `limits ledger unavailable (denied): ${(err as Error)?.message ?? String(err)}`);
}
