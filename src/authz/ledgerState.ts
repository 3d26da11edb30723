import { isProcessAlive } from '../shared/fileLock.js';

/**
 * One key's limit usage as stored on disk, and the pure rules that age it: attempts leave the
 * 60 s window, the committed total resets at UTC midnight, and a reservation stops counting
 * when its owning process is gone or its TTL has passed.
 */
export interface StoredReservation {
  readonly id: string;
  /** Minor units of `currency`. */
  readonly value: number;
  readonly pid: number;
  readonly expiresAt: number;
}

export interface LedgerState {
  readonly version: 1;
  readonly keyId: string;
  /** Unit of every value below; fixed while anything is recorded for the day. */
  currency: string | null;
  /** UTC day (YYYY-MM-DD) the committed total belongs to. */
  day: string;
  committed: number;
  /** Epoch ms of orders (places, modifies that add risk) in the last 60 s. */
  attempts: number[];
  /** Epoch ms of risk-reducing calls (cancels, lowering modifies of own orders) in the last 60 s. */
  cancels: number[];
  reservations: StoredReservation[];
}

const RATE_WINDOW_MS = 60_000;

/** The UTC day (YYYY-MM-DD) usage at `now` counts against. */
export function utcDay(now: Date): string {
  return now.toISOString().slice(0, 10);
}

export function emptyState(keyId: string, now: Date): LedgerState {
  return { version: 1, keyId, currency: null, day: utcDay(now), committed: 0, attempts: [], cancels: [], reservations: [] };
}

/**
 * Brings a loaded state to `now`. A clock that went backwards never erases usage: the day only
 * moves forward and attempts stamped "in the future" keep counting. Reservations of this
 * process are judged by TTL only.
 */
export function ageState(state: LedgerState, now: Date): void {
  const t = now.getTime();
  if (utcDay(now) > state.day) {
    state.day = utcDay(now);
    state.committed = 0;
  }
  state.attempts = state.attempts.filter((at) => t - at < RATE_WINDOW_MS);
  state.cancels = state.cancels.filter((at) => t - at < RATE_WINDOW_MS);
  state.reservations = state.reservations.filter(
    (r) => r.expiresAt > t && (r.pid === process.pid || isProcessAlive(r.pid)),
  );
  if (state.committed === 0 && state.reservations.length === 0) state.currency = null;
}

export function dailyValue(state: LedgerState): number {
  return state.reservations.reduce((sum, r) => sum + r.value, state.committed);
}

/** Parses a state file strictly: a ledger we cannot read is a ledger we must not trust. */
export function parseState(text: string, keyId: string): LedgerState {
  const s = JSON.parse(text) as Partial<LedgerState>;
  // Written before cancels were counted apart: none recorded.
  s.cancels ??= [];
  const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
  const ok =
    s.version === 1 &&
    s.keyId === keyId &&
    (s.currency === null || typeof s.currency === 'string') &&
    typeof s.day === 'string' &&
    isCount(s.committed) &&
    Array.isArray(s.attempts) &&
    s.attempts.every(isCount) &&
    Array.isArray(s.cancels) &&
    s.cancels.every(isCount) &&
    Array.isArray(s.reservations) &&
    s.reservations.every((r) => typeof r?.id === 'string' && isCount(r.value) && isCount(r.pid) && isCount(r.expiresAt));
  if (!ok) throw new Error('ledger state file is malformed');
  return s as LedgerState;
}
