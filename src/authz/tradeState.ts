import type { Env } from './actions.js';
import type { Confirmation, ConfirmationState, Halt, HumanEvent } from './humanState.js';
import { AuthzError } from './errors.js';

/**
 * Trade state shared by every futu-mcp process trading through the same OpenD accounts, beside
 * the limits (limits.ts): who placed which order, the intent behind every order sent (for
 * exactly-once retries and for orders whose outcome a lost link left unknown), and the locks that
 * serialize sells of one security in one account and calls on one order. One interface, two
 * implementations that pass the same contract tests: the state directory (FileTradeState,
 * processes on one machine) and Redis (RedisTradeState, replicas on several machines).
 *
 * Every method fails closed: an error is thrown, never swallowed, and the caller denies the call.
 */
export interface TradeStateStore {
  /**
   * Runs `work` while no other process or call holds the same lock (a sell of `symbol` in
   * `account`). The lock outlives a crashed holder only until its process is seen to be gone
   * (Redis: until its TTL passes without the holder renewing it).
   */
  withLock<T>(name: string, work: () => Promise<T>): Promise<T>;

  /** The key that placed this order through futu-mcp, if one did. */
  ownerOf(order: OrderRef): Promise<OrderOwner | undefined>;
  /** Durable before it resolves; an order's owner never changes once recorded. */
  recordOwner(order: OrderRef, owner: OrderOwner): Promise<void>;

  /**
   * Creates the intent unless one with its id exists (ids of client_order_ids are derived from
   * the key and the id, so a retry finds the first call's intent). Durable before it resolves.
   */
  claimIntent(intent: OrderIntent): Promise<{ readonly claimed: true } | { readonly claimed: false; readonly existing: OrderIntent }>;
  getIntent(id: string): Promise<OrderIntent | undefined>;
  /** Replaces the stored intent (same id). Durable before it resolves. */
  putIntent(intent: OrderIntent): Promise<void>;
  dropIntent(id: string): Promise<void>;
  /**
   * Runs `work` (the call that places intent `id`'s order) with the intent held by this store:
   * while it runs, a claimed or sending intent this store wrote is still in progress. Once it
   * returns, one left claimed or sending (the call could not record its outcome: the store
   * failed it) is unresolved, and reconciliation settles it while this process lives on.
   */
  holdIntent<T>(id: string, work: () => Promise<T>): Promise<T>;
  /** Intents whose order may exist without its outcome being known here: unknown, or sending/claimed by a call that has ended or a process that is gone. */
  unresolvedIntents(): Promise<OrderIntent[]>;
  /** Whether this intent is unknown, or claimed/sending by a call that has ended or a holder that is gone (see isUnresolved). */
  isUnresolved(intent: OrderIntent): Promise<boolean>;
  /** Forgets what no call can ask about any more (settled intents past the idempotency window, old owner records). */
  prune(now: number): Promise<void>;

  /**
   * The clock confirmations live by, in epoch ms: Redis TIME with Redis (one clock for every
   * replica, whatever theirs say), this host's with the state dir.
   */
  now(): Promise<number>;
  /** Stores a new confirmation (its id must be new). Durable before it resolves. */
  createConfirmation(confirmation: Confirmation): Promise<void>;
  getConfirmation(id: string): Promise<Confirmation | undefined>;
  /**
   * Moves a confirmation out of state `from` into what `next` returns, atomically across
   * processes: of calls racing on one confirmation, exactly one sees `changed: true`. Resolves to
   * the record as it stands afterwards, or undefined when there is none.
   */
  transitionConfirmation(id: string, from: ConfirmationState, next: (current: Confirmation) => Confirmation): Promise<ConfirmationTransition | undefined>;
  /**
   * Pending and approved confirmations whose time has run out by the shared clock (Redis TIME
   * with Redis, this host's clock with the state dir): what a server's sweep expires.
   */
  confirmationsDue(): Promise<Confirmation[]>;

  /** Halts in force: at most one per key id, and one for all keys (keyId null). */
  halts(): Promise<Halt[]>;
  /** Puts a halt in force (replacing the one for the same key id) and queues its HumanEvent, both durable before it resolves. */
  setHalt(halt: Halt): Promise<void>;
  /** Lifts the halt of one key id (null: the one for all keys) and queues its HumanEvent; false when there was none. */
  clearHalt(keyId: string | null): Promise<boolean>;

  /** Queues what a human did outside the servers until one audits it. Durable before it resolves. */
  recordHumanEvent(event: HumanEvent): Promise<void>;
  /**
   * Hands the queued HumanEvents (oldest first, at most `max`) to `audit`, and forgets them only
   * once it resolves: an event is audited at least once, by one server at a time. Resolves to how
   * many were handed over.
   */
  drainHumanEvents(audit: (events: readonly HumanEvent[]) => Promise<void>, max?: number): Promise<number>;
}

/** Events one drain hands over by default. */
export const HUMAN_EVENTS_PER_DRAIN = 100;

export interface ConfirmationTransition {
  /** This call moved it (false: it was not in the expected state). */
  readonly changed: boolean;
  readonly current: Confirmation;
}

export interface OrderRef {
  readonly env: Env;
  readonly accId: string;
  readonly orderId: string;
}

export interface OrderOwner {
  readonly keyId: string;
  /** The remark tag the order carries. */
  readonly tag: string;
  /** UTC day (YYYY-MM-DD) the order's value was committed on: a cancel refunds only that day's budget. */
  readonly day: string;
  readonly placedAt: number;
}

/**
 * - claimed: a client_order_id was taken; nothing decided or sent yet (dropped if refused).
 * - sending: authorized and about to be written to OpenD; its value is reserved.
 * - placed: OpenD accepted it (orderId, result kept for replays).
 * - refused: OpenD answered with an error (kept for replays: the order does not exist).
 * - unknown: written, but the link dropped or OpenD did not answer; its value is committed
 *   until reconciliation finds the order (placed) or not (refunded).
 */
export type IntentState = 'claimed' | 'sending' | 'placed' | 'refused' | 'unknown';

export interface OrderIntent {
  readonly version: 1;
  readonly id: string;
  /** The remark tag that identifies the order at OpenD. */
  readonly tag: string;
  readonly keyId: string;
  readonly clientOrderId: string | null;
  /** Digest of the call's arguments: a retry with the same client_order_id must match it. */
  readonly argsDigest: string;
  readonly env: Env;
  readonly accId: string;
  readonly trdMarket: string;
  readonly symbol: string;
  /** Minor units of `currency` reserved (sending) or committed (unknown) for the order. */
  readonly value: number;
  /** The ledger reservation of `value` while sending: settled once, by the call or by reconciliation. */
  readonly reservationId?: string;
  readonly currency: string;
  /** UTC day of the reservation. */
  readonly day: string;
  readonly state: IntentState;
  readonly pid: number;
  /**
   * The store instance (one per process: its replica id) that last wrote it. Its own intents it
   * knows to be running from its holds; another holder's by its liveness (Redis: its heartbeat;
   * the state dir: its pid).
   */
  readonly holder?: string;
  readonly createdAt: number;
  readonly orderId?: string;
  /** What the call returned (placed) or the error it ended with (refused), for replays. */
  readonly result?: Record<string, unknown>;
  readonly error?: { readonly code: string; readonly message: string };
}

/** How long a client_order_id is remembered: a retry within this window never places twice. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

/**
 * Whether an intent's order may exist without its outcome being known here: unknown, or still
 * sending (or claimed) by a holder that no longer runs it (`holderAlive`: for this store's own
 * intents, whether a call holds it; for another's, whether that process or replica lives).
 */
export function isUnresolved(intent: OrderIntent, holderAlive: (intent: OrderIntent) => boolean): boolean {
  if (intent.state === 'unknown') return true;
  return (intent.state === 'sending' || intent.state === 'claimed') && !holderAlive(intent);
}

/**
 * The intents this store instance's calls are working on (holdIntent). A count per id: a retry
 * in the same process holds the id its first call may still hold.
 */
export class IntentHolds {
  private readonly counts = new Map<string, number>();

  async during<T>(id: string, work: () => Promise<T>): Promise<T> {
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
    try {
      return await work();
    } finally {
      const left = this.counts.get(id)! - 1;
      if (left === 0) this.counts.delete(id);
      else this.counts.set(id, left);
    }
  }

  has(id: string): boolean {
    return this.counts.has(id);
  }
}

/** Whether an intent is settled: its outcome is known and it is kept only for replays. */
export function isSettled(intent: OrderIntent): boolean {
  return intent.state === 'placed' || intent.state === 'refused';
}

export function parseOwner(text: string): OrderOwner {
  const o = JSON.parse(text) as Partial<OrderOwner>;
  if (typeof o.keyId !== 'string' || typeof o.tag !== 'string' || typeof o.day !== 'string' || !Number.isSafeInteger(o.placedAt)) {
    throw new Error('order owner record is malformed');
  }
  return o as OrderOwner;
}

const INTENT_STATES = new Set(['claimed', 'sending', 'placed', 'refused', 'unknown']);

/** Parses a stored intent strictly: one we cannot read is one we must not act on. */
export function parseIntent(text: string, id: string): OrderIntent {
  const i = JSON.parse(text) as Partial<OrderIntent>;
  const ok =
    i.version === 1 &&
    i.id === id &&
    typeof i.tag === 'string' &&
    typeof i.keyId === 'string' &&
    (i.clientOrderId === null || typeof i.clientOrderId === 'string') &&
    typeof i.argsDigest === 'string' &&
    (i.env === 'simulate' || i.env === 'real') &&
    typeof i.accId === 'string' &&
    typeof i.symbol === 'string' &&
    Number.isSafeInteger(i.value) &&
    typeof i.day === 'string' &&
    INTENT_STATES.has(i.state as string) &&
    Number.isSafeInteger(i.pid) &&
    (i.holder === undefined || typeof i.holder === 'string') &&
    (i.reservationId === undefined || typeof i.reservationId === 'string');
  if (!ok) throw new Error('order intent record is malformed');
  return i as OrderIntent;
}

/** Intent ids are hex digests (orderTag.ts): they become file names and Redis keys. */
export function assertIntentId(id: string): void {
  if (!/^[0-9a-f]{32}$/.test(id)) throw new AuthzError('STATE_STORE_UNAVAILABLE', 'trade state: malformed intent id');
}
