import type { UsageSnapshot } from './builder.js';
import { AuthzError } from './errors.js';

/**
 * Per-key limit usage shared by every futu-mcp process trading with the same keys: the rate
 * windows (orders and cancels in the last 60 s) and the UTC day's value (committed, plus
 * reservations in flight). One interface, two implementations that pass the same contract
 * tests: the state directory (LimitsLedger, processes on one machine) and Redis (RedisLimits,
 * replicas on several machines).
 *
 * - Rate: every authorized trade attempt is recorded, whether or not the broker later accepts it.
 *   Denied calls are not recorded.
 * - Daily value: reserved atomically with the decision, committed when the broker accepts the
 *   order, released when it fails. Reservations in flight count, so concurrent calls cannot
 *   overshoot; a reservation stops counting when its TTL passes (or its holder is seen gone).
 * Every failure throws an AuthzError (LEDGER_ERROR, STATE_STORE_UNAVAILABLE); callers deny on it.
 * `now` is the caller's clock; a shared store may keep its own (Redis: its TIME) so that
 * replicas with drifting clocks count the same windows.
 */
export interface LimitsStore {
  /**
   * How long after reserving an order may still be sent: half the reservation's lifetime, so the
   * reservation outlives the send and the read-back. Sent later, it could spend budget that the
   * lapsed reservation no longer holds.
   */
  readonly sendWindowMs: number;
  /**
   * The atomic check-and-reserve: `decide` sees the key's usage, and what it reserves is
   * recorded only if no other call changed the usage meanwhile (in any process), so the budget
   * it sees is the budget it spends.
   */
  decideAndReserve<T>(
    keyId: string,
    currency: string,
    now: Date,
    decide: (usage: UsageSnapshot) => ReserveDecision<T>,
    rateKind?: RateKind,
  ): Promise<{ outcome: T; reservation: Reservation | null }>;
  /**
   * The broker accepted the order: its value moves from in flight to committed (also when the
   * reservation already lapsed: the order exists). Never throws; a failed write is retried before
   * the key's next operation. Settles once: a second commit or release changes nothing.
   */
  commit(reservation: Reservation, now?: Date): Promise<boolean>;
  /** The broker refused (or the call failed before sending): the reservation stops counting. Never throws. */
  release(reservation: Reservation, now?: Date): Promise<boolean>;
  /** Committed value that will never be spent; counts only against `day` (YYYY-MM-DD, UTC), never below zero. */
  refund(keyId: string, value: number, day: string, now?: Date): Promise<void>;
  /** An order found placed whose reservation was lost with its process: committed to `day`. */
  commitValue(keyId: string, currency: string, value: number, day: string, now?: Date): Promise<void>;
  /** Current usage without recording anything (for explain and status output). */
  usage(keyId: string, now: Date): Promise<UsageSnapshot>;
  /** When the key may next place an order under `cap` orders a minute (epoch ms; `now` if it may now). */
  nextOrderSlot(keyId: string, now: Date, cap: number): Promise<number>;
  /** Throws (STATE_STORE_UNAVAILABLE) when limits cannot be checked now: an unlock is refused then. */
  assertAvailable(): Promise<void>;
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

/** Which rate window a call is counted in: orders, or risk-reducing calls (cancels). */
export type RateKind = 'order' | 'cancel';

/** How long an unresolved reservation counts by default (the broker answers far sooner). */
export const RESERVATION_TTL_MS = 120_000;

/** First settle wins: a reservation is committed or released at most once per process. */
export class SettleOnce {
  private readonly settled = new WeakSet<Reservation>();

  /** True when this is the first settle of a reservation that holds value. */
  first(reservation: Reservation): boolean {
    if (this.settled.has(reservation)) return false;
    this.settled.add(reservation);
    return reservation.value > 0;
  }
}

/** Checks a value a caller asks to refund or commit. */
export function validValue(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

/** Today's usage is recorded in one currency: a key whose limit currency changed waits for the next UTC day. */
export function currencyChangedError(recorded: string, requested: string): AuthzError {
  return new AuthzError(
    'LEDGER_ERROR',
    `limits ledger: today's usage is recorded in ${recorded} but the key's limit currency is now ${requested}; trading resumes after UTC midnight`,
  );
}
