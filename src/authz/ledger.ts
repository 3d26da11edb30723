import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { log } from '../shared/log.js';
import { writeFileAtomic } from './atomicFile.js';
import type { UsageSnapshot } from './builder.js';
import { AuthzError } from './errors.js';
import { acquireFileLock } from './fileLock.js';
import { ageState, dailyValue, emptyState, parseState, type LedgerState } from './ledgerState.js';

/**
 * Per-key limit usage shared by every futu-mcp process that uses the same state directory.
 *
 * - Rate: every authorized trade attempt is recorded (60 s sliding window), whether or not the
 *   broker later accepts it. Denied calls are not recorded.
 * - Daily value (UTC day): reserved inside the same critical section as the decision, committed
 *   when the broker accepts the order, released when it fails. In-flight reservations count
 *   toward the projection, so concurrent calls cannot overshoot; a reservation whose process
 *   died, or whose TTL passed, stops counting.
 * - Each operation takes the key's lock file (serializing processes) after an in-process queue
 *   (serializing this process), re-reads the state, and writes it back atomically and durably.
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

export interface Reservation {
  readonly keyId: string;
  readonly id: string;
  readonly currency: string;
  /** Minor units of the key's limit currency; 0 when the call adds no value. */
  readonly value: number;
}

export interface ReserveDecision<T> {
  readonly outcome: T;
  /** null: do not reserve (the call is denied); a number: record the attempt and reserve it. */
  readonly reserveValue: number | null;
}

interface Transaction<R> {
  readonly result: R;
  readonly dirty: boolean;
}

export class LimitsLedger {
  private readonly stateDir: string;
  private readonly ttlMs: number;
  private readonly lockOptions: { timeoutMs: number; staleMs: number };
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Commits whose write failed: applied first by the key's next successful write. */
  private readonly pendingCommits = new Map<string, Reservation[]>();
  private readonly settled = new WeakSet<Reservation>();

  constructor(options: LedgerOptions) {
    this.stateDir = options.stateDir;
    this.ttlMs = options.reservationTtlMs ?? 120_000;
    this.lockOptions = { timeoutMs: options.lockTimeoutMs ?? 10_000, staleMs: options.staleLockMs ?? 15_000 };
  }

  /**
   * The atomic check-and-reserve: `decide` sees the key's usage and runs while the key is
   * locked in every process, so the budget it sees is the budget it spends.
   */
  decideAndReserve<T>(
    keyId: string,
    currency: string,
    now: Date,
    decide: (usage: UsageSnapshot) => ReserveDecision<T>,
  ): Promise<{ outcome: T; reservation: Reservation | null }> {
    return this.transact<{ outcome: T; reservation: Reservation | null }>(keyId, now, (state) => {
      if (state.currency !== null && state.currency !== currency) {
        throw new AuthzError(
          'LEDGER_ERROR',
          `limits ledger: today's usage is recorded in ${state.currency} but the key's limit currency is now ${currency}; trading resumes after UTC midnight`,
        );
      }
      const { outcome, reserveValue } = decide({ ordersBefore: state.attempts.length, dailyValue: dailyValue(state) });
      if (reserveValue === null) return { result: { outcome, reservation: null }, dirty: false };
      if (!Number.isSafeInteger(reserveValue) || reserveValue < 0) throw new AuthzError('LEDGER_ERROR', 'limits ledger: invalid reservation value');
      const reservation: Reservation = { keyId, id: randomUUID(), currency, value: reserveValue };
      state.attempts.push(now.getTime());
      if (reserveValue > 0) {
        state.currency = currency;
        state.reservations.push({ id: reservation.id, value: reserveValue, pid: process.pid, expiresAt: now.getTime() + this.ttlMs });
      }
      return { result: { outcome, reservation }, dirty: true };
    });
  }

  /**
   * The broker accepted the order: its value moves from in flight to committed. Never throws:
   * the order exists whatever the disk says, so a failed write is kept and retried by the
   * key's next write (until then this process denies the key's trades via LEDGER_ERROR).
   */
  async commit(reservation: Reservation, now = new Date()): Promise<boolean> {
    if (!this.settle(reservation)) return true;
    try {
      await this.transact(reservation.keyId, now, (state) => {
        applyCommit(state, reservation);
        return { result: undefined, dirty: true };
      });
      return true;
    } catch (err) {
      log.error('ledger commit failed; will retry on the next operation for this key', { key_id: reservation.keyId, error: (err as Error).message });
      const pending = this.pendingCommits.get(reservation.keyId) ?? [];
      this.pendingCommits.set(reservation.keyId, [...pending, reservation]);
      return false;
    }
  }

  /** The broker refused (or the call failed before sending): the reservation stops counting. */
  async release(reservation: Reservation, now = new Date()): Promise<boolean> {
    if (!this.settle(reservation)) return true;
    try {
      await this.transact(reservation.keyId, now, (state) => {
        const before = state.reservations.length;
        state.reservations = state.reservations.filter((r) => r.id !== reservation.id);
        return { result: undefined, dirty: state.reservations.length !== before };
      });
      return true;
    } catch (err) {
      // The reservation keeps counting until its TTL: over-counting is the safe failure.
      log.error('ledger release failed', { key_id: reservation.keyId, error: (err as Error).message });
      return false;
    }
  }

  /** Current usage without locking or recording anything (for explain and status output). */
  usage(keyId: string, now: Date): UsageSnapshot {
    try {
      const state = this.read(keyId, now);
      ageState(state, now);
      return { ordersBefore: state.attempts.length, dailyValue: dailyValue(state) };
    } catch (err) {
      throw ledgerError(err);
    }
  }

  /** First settle wins; a reservation is committed or released at most once. */
  private settle(reservation: Reservation): boolean {
    if (this.settled.has(reservation)) return false;
    this.settled.add(reservation);
    return reservation.value > 0;
  }

  private transact<R>(keyId: string, now: Date, mutate: (state: LedgerState) => Transaction<R>): Promise<R> {
    return this.serialize(keyId, async () => {
      let lock;
      try {
        mkdirSync(join(this.stateDir, 'ledger'), { recursive: true, mode: 0o700 });
        lock = await acquireFileLock(this.path(keyId, 'lock'), this.lockOptions);
      } catch (err) {
        throw ledgerError(err);
      }
      try {
        const state = this.read(keyId, now);
        ageState(state, now);
        const pending = this.pendingCommits.get(keyId) ?? [];
        for (const r of pending) applyCommit(state, r);
        const { result, dirty } = mutate(state);
        if (dirty || pending.length > 0) {
          if (!lock.stillHeld()) throw new Error('lost the ledger lock');
          writeFileAtomic(this.path(keyId, 'json'), JSON.stringify(state));
          this.pendingCommits.delete(keyId);
        }
        return result;
      } catch (err) {
        throw ledgerError(err);
      } finally {
        try {
          lock.release();
        } catch (err) {
          log.error('ledger lock release failed', { key_id: keyId, error: (err as Error).message });
        }
      }
    });
  }

  /** Runs operations on one key one at a time within this process. */
  private serialize<R>(keyId: string, operation: () => Promise<R>): Promise<R> {
    const previous = this.queues.get(keyId) ?? Promise.resolve();
    const run = previous.then(operation, operation);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(keyId, tail);
    void tail.then(() => {
      if (this.queues.get(keyId) === tail) this.queues.delete(keyId);
    });
    return run;
  }

  private read(keyId: string, now: Date): LedgerState {
    let text: string;
    try {
      text = readFileSync(this.path(keyId, 'json'), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyState(keyId, now);
      throw err;
    }
    return parseState(text, keyId);
  }

  private path(keyId: string, ext: 'json' | 'lock'): string {
    const files = ledgerFiles(this.stateDir, keyId);
    return ext === 'json' ? files.state : files.lock;
  }
}

/** Where a key's ledger lives; key ids are free text, so file names are a hash of them. */
export function ledgerFiles(stateDir: string, keyId: string): { state: string; lock: string } {
  const stem = join(stateDir, 'ledger', `key-${createHash('sha256').update(keyId).digest('hex').slice(0, 32)}`);
  return { state: `${stem}.json`, lock: `${stem}.lock` };
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
