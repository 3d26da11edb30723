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

/**
 * The calls of one kind in the 60 s window, in a size that does not grow with their number:
 * the newest EXACT_ATTEMPTS at millisecond precision, older ones as counts per second.
 */
export interface RateWindow {
  /** Epoch ms of the newest attempts, ascending; at most EXACT_ATTEMPTS of them. */
  recent: number[];
  /** [epoch second, attempts in it] for the attempts pushed out of `recent`, ascending by second. */
  older: [number, number][];
}

export interface LedgerState {
  readonly version: 2;
  readonly keyId: string;
  /** Unit of every value below; fixed while anything is recorded for the day. */
  currency: string | null;
  /** UTC day (YYYY-MM-DD) the committed total belongs to. */
  day: string;
  committed: number;
  /** Orders (places, modifies that add risk) in the last 60 s. */
  orders: RateWindow;
  /** Risk-reducing calls (cancels, lowering modifies of own orders) in the last 60 s. */
  cancels: RateWindow;
  reservations: StoredReservation[];
}

const RATE_WINDOW_MS = 60_000;

/**
 * How many of the newest attempts keep their exact time. An attempt counts while it is less than
 * 60 s old, to the millisecond, as long as the window holds at most this many (always so for a
 * key whose per-minute cap is at most this and was in force all minute: denied calls are not
 * recorded). Beyond that, the older attempts count until 60 s after the END of their second, up
 * to 999 ms too long: over-counting, the side a limit may err on. Bounds the state, and so the
 * cost of every operation, whatever the number of attempts.
 */
export const EXACT_ATTEMPTS = 256;

/** The UTC day (YYYY-MM-DD) usage at `now` counts against. */
export function utcDay(now: Date): string {
  return now.toISOString().slice(0, 10);
}

export function emptyState(keyId: string, now: Date): LedgerState {
  return { version: 2, keyId, currency: null, day: utcDay(now), committed: 0, orders: emptyWindow(), cancels: emptyWindow(), reservations: [] };
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
  ageWindow(state.orders, t);
  ageWindow(state.cancels, t);
  state.reservations = state.reservations.filter(
    (r) => r.expiresAt > t && (r.pid === process.pid || isProcessAlive(r.pid)),
  );
  if (state.committed === 0 && state.reservations.length === 0) state.currency = null;
}

export function dailyValue(state: LedgerState): number {
  return state.reservations.reduce((sum, r) => sum + r.value, state.committed);
}

/** Attempts in the window (as of its last aging). */
export function windowCount(window: RateWindow): number {
  return window.older.reduce((sum, [, count]) => sum + count, window.recent.length);
}

/**
 * When the window next has room for one more attempt under `cap` (epoch ms): `now` when it has
 * room now. The attempt that must leave first is the (count - cap + 1)-th oldest.
 */
export function slotFreeAt(window: RateWindow, cap: number, now: number): number {
  const count = windowCount(window);
  if (count < cap) return now;
  let toLeave = count - cap + 1;
  for (const [second, attempts] of window.older) {
    if (attempts >= toLeave) return second * 1000 + 999 + RATE_WINDOW_MS;
    toLeave -= attempts;
  }
  return window.recent[toLeave - 1]! + RATE_WINDOW_MS;
}

/** Records an attempt at epoch ms `at`; a backwards clock may make it older than some recorded ones. */
export function recordAttempt(window: RateWindow, at: number): void {
  const { recent } = window;
  let i = recent.length;
  while (i > 0 && recent[i - 1]! > at) i--;
  recent.splice(i, 0, at);
  while (recent.length > EXACT_ATTEMPTS) addOlder(window.older, Math.floor(recent.shift()! / 1000));
}

function emptyWindow(): RateWindow {
  return { recent: [], older: [] };
}

/** Drops what is 60 s old or more; both lists are ascending, so what stays is a suffix. */
function ageWindow(window: RateWindow, t: number): void {
  const recentKept = window.recent.findIndex((at) => t - at < RATE_WINDOW_MS);
  window.recent.splice(0, recentKept === -1 ? window.recent.length : recentKept);
  const olderKept = window.older.findIndex(([second]) => t - (second * 1000 + 999) < RATE_WINDOW_MS);
  window.older.splice(0, olderKept === -1 ? window.older.length : olderKept);
}

function addOlder(older: [number, number][], second: number): void {
  let i = older.length;
  while (i > 0 && older[i - 1]![0] > second) i--;
  if (i > 0 && older[i - 1]![0] === second) older[i - 1]![1] += 1;
  else older.splice(i, 0, [second, 1]);
}

/** A version-1 list of attempt times (any order) as a window. */
function windowOf(times: readonly number[]): RateWindow {
  const sorted = [...times].sort((a, b) => a - b);
  const split = Math.max(0, sorted.length - EXACT_ATTEMPTS);
  const window: RateWindow = { recent: sorted.slice(split), older: [] };
  for (let i = 0; i < split; i++) addOlder(window.older, Math.floor(sorted[i]! / 1000));
  return window;
}

const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

function isWindow(w: unknown): w is RateWindow {
  const { recent, older } = (w ?? {}) as Partial<RateWindow>;
  return (
    Array.isArray(recent) &&
    recent.length <= EXACT_ATTEMPTS &&
    recent.every((at, i) => isCount(at) && (i === 0 || recent[i - 1]! <= at)) &&
    Array.isArray(older) &&
    older.every(
      (b, i) =>
        Array.isArray(b) && b.length === 2 && isCount(b[0]) && isCount(b[1]) && b[1] > 0 && (i === 0 || older[i - 1]![0] < b[0]),
    )
  );
}

/**
 * Parses a state file strictly: a ledger we cannot read is a ledger we must not trust. Reads
 * version 1 (attempt times as lists; `cancels` missing before cancels were counted apart) and
 * returns version 2, which the next write stores.
 */
export function parseState(text: string, keyId: string): LedgerState {
  const s = JSON.parse(text) as Record<string, unknown>;
  const common =
    s.keyId === keyId &&
    (s.currency === null || typeof s.currency === 'string') &&
    typeof s.day === 'string' &&
    isCount(s.committed) &&
    Array.isArray(s.reservations) &&
    (s.reservations as Partial<StoredReservation>[]).every(
      (r) => typeof r?.id === 'string' && isCount(r.value) && isCount(r.pid) && isCount(r.expiresAt),
    );
  if (common && s.version === 2 && isWindow(s.orders) && isWindow(s.cancels)) return s as unknown as LedgerState;
  const times = (v: unknown): v is number[] => Array.isArray(v) && v.every(isCount);
  const cancels = s.cancels ?? [];
  if (common && s.version === 1 && times(s.attempts) && times(cancels)) {
    const { currency, day, committed, reservations } = s as unknown as LedgerState;
    return { version: 2, keyId, currency, day, committed, orders: windowOf(s.attempts), cancels: windowOf(cancels), reservations };
  }
  throw new Error('ledger state file is malformed');
}
