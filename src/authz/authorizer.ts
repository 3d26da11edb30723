import { setTimeout as sleep } from 'node:timers/promises';
import type { KeyRecord, LimitCurrency, TrdSide } from '../keys/types.js';
import { describeError, FutuError, isFutuError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import type { Env, TradeAction } from './actions.js';
import { buildRequests, buildTradeRequest, NO_GUARDS, type CallTarget, type Caller, type HumanGuards, type NonTradeAction, type UsageSnapshot } from './builder.js';
import { HumanGate, onlyAsksForAHuman, tradeSummary, type HumanChannel } from './confirmations.js';
import { haltFor } from './humanState.js';
import { ownLimits, type OwnLimits } from './ownLimits.js';
import { decisionError, denialFromError, type Decision } from './decision.js';
import type { AuthzEngine } from './engine.js';
import { AuthzError } from './errors.js';
import { FxConverter } from './fx.js';
import type { LimitsStore, Reservation } from './limits.js';
import { utcDay } from './ledgerState.js';
import { intentIdentity, type IntentIdentity } from './orderTag.js';
import type { OrderReconciler } from './reconciler.js';
import type { OrderIntent, OrderOwner, TradeStateStore } from './tradeState.js';
import { tradeSubject, unfilledValue, valueTrade, type ExistingOrder, type OrderValuation, type ReferencePriceSource, type TradeTerms } from './valuation.js';

/**
 * The call pipeline's entry point to authorization: builder → engine, plus for trades the
 * valuation, the ledger's atomic check-and-reserve and commit/release (OpenD's frequency limits
 * are kept by the gateway at the socket write: src/gateway/pacing.ts).
 * Denials come back as Decision values; runTrade/runUnlock throw decisionError(decision).
 */
export interface AuthorizerDeps {
  readonly engine: AuthzEngine;
  readonly ledger: LimitsStore;
  readonly fx?: FxConverter;
  /** Needed to value MARKET orders; without it they are denied (PRICE_UNAVAILABLE). */
  readonly prices?: ReferencePriceSource;
  /**
   * Order ownership, intents and sell locks. Without it no existing order counts as the key's
   * own (modify and cancel need manage_any_order) and client_order_id is refused.
   */
  readonly trades?: TradeStateStore;
  /** Resolves unknown outcomes; told when a new one appears. */
  readonly reconciler?: OrderReconciler;
  /** How long a human's approval of an out-of-band confirmation stays usable. */
  readonly approvalTtlMs?: number;
}

export interface CallInput extends Caller {
  readonly action: NonTradeAction;
  readonly target?: CallTarget;
}

export interface UnlockInput extends Caller {
  /** unlock: true (unlocking real trading) or false (locking it again). */
  readonly unlocking: boolean;
}

export interface TradeInput extends Caller {
  readonly terms: TradeTerms;
  readonly env: Env;
  readonly account: string;
  /** The account's market view the order goes through (kept with the intent, to find the order again). */
  readonly trdMarket?: string;
  /**
   * Shares of the order's security the account can still sell, as OpenD reports them. Read
   * inside the sell lock, so sells in flight are already counted; absent = nothing to sell.
   */
  readonly sellable?: () => Promise<number>;
  /**
   * modify and cancel: the order as OpenD reports it now, read again inside the order's lock so
   * that parallel calls on one order each see what the previous one left (a stale read would
   * charge or refund the same change twice).
   */
  readonly refresh?: () => Promise<ExistingOrder>;
  /** Halt and human confirmation as they stand for this call (absent: not halted, unconfirmed). */
  readonly guards?: HumanGuards;
}

/** What runTrade/runUnlock do once allowed: an optional step before the send, then the send. */
export interface SendSteps<T> {
  /**
   * Runs the decision and the send inside a write slot OpenD's guard admitted, or throws its
   * refusal (GATEWAY_RATE_LIMITED) before anything is decided, reserved or recorded.
   */
  readonly admitted?: <R>(work: () => Promise<R>) => Promise<R>;
  readonly beforeSend?: (decision: Decision) => Promise<void>;
  /**
   * `tag`: the remark tag a new order must carry (absent for modify, cancel and unlock);
   * `terms`: what was authorized, with the order as read inside its lock (modify, cancel).
   */
  readonly send: (order: { readonly tag?: string; readonly terms?: TradeTerms }) => Promise<T>;
}

/** Options of runTrade beyond its steps. */
export interface TradeOptions<T> {
  /** Aborted when the client cancels: a trade not yet sent is abandoned, one sent runs to its outcome. */
  readonly signal?: AbortSignal;
  /** Exactly-once placing: the client's id for the order, and the digest of the call's arguments. */
  readonly clientOrderId?: string;
  readonly argsDigest?: string;
  /** The new order's id in a place's result (its owner is recorded under it). */
  readonly orderIdOf?: (result: T) => string;
  /** The order as it stands after a cancel (for the refund of its unfilled part); undefined if unknown. */
  readonly settledOrder?: (result: T) => ExistingOrder | undefined;
  /** How to reach a human when a confirmation rule asks for one. */
  readonly human?: HumanChannel;
}

export interface TradeRun<T> {
  /** null for a replay: the original call was authorized, this one only reads its outcome. */
  readonly decision: Decision | null;
  readonly result: T;
  /** The result of an earlier call with the same client_order_id. */
  readonly replay: boolean;
}

export interface TradeAuthorization {
  readonly decision: Decision;
  /** Present when allowed: commit it when the broker accepts, release it when it refuses. */
  readonly reservation: Reservation | null;
}

/** Facts about a trade established before it is decided (inside the sell lock for sells). */
interface TradeFacts {
  /** The side policies check: a sell of more than the account can still sell is a SELL_SHORT. */
  readonly side: TrdSide;
  readonly ownOrder: boolean;
  readonly owner: OrderOwner | undefined;
  readonly reducesRisk: boolean;
}

/** Shipped forbids whose conditions never read the order's value or the key's usage. */
export const VALUE_INDEPENDENT_FORBIDS: ReadonlySet<string> = new Set([
  'key-expired',
  'machine-not-bound',
  'real-env-without-scope',
  'market-not-allowed',
  'symbol-not-allowed',
  'side-not-allowed',
  'account-not-allowed',
  'foreign-order',
  'outside-hours',
  'trading-halted',
  'call-rate-limit',
]);
const NO_VALUE: OrderValuation = { orderValue: 0, addedValue: 0 };
const NO_USAGE: UsageSnapshot = { ordersBefore: 0, cancelsBefore: 0, dailyValue: 0 };

/** Errors raised before the request reached the socket: the order certainly does not exist. */
const NOT_WRITTEN_CODES = new Set(['GATEWAY_NOT_CONNECTED', 'GATEWAY_RATE_LIMITED', 'INVALID_ARGUMENT', 'INVALID_SYMBOL']);
/** OpenD answered with a refusal: the order does not exist. Anything else sent may have acted. */
const REFUSED_CODES = new Set(['OPEND_ERROR']);

/** How long a retry waits for a call with the same client_order_id that is still running. */
const IN_FLIGHT_WAIT_MS = 30_000;
const IN_FLIGHT_POLL_MS = 25;

/** A decision denied by confirmation rules alone, carried out of the locks to ask a human there. */
class NeedsHuman extends Error {
  constructor(readonly decision: Decision) {
    super('a human must confirm this call');
  }
}

export class Authorizer {
  private readonly fx: FxConverter;
  readonly human: HumanGate;
  /** Denials a human's yes would turn into allows (see withConfirmationSeen). */
  private readonly askable = new WeakSet<Decision>();

  constructor(private readonly deps: AuthorizerDeps) {
    this.fx = deps.fx ?? new FxConverter();
    this.human = new HumanGate(deps.trades, { approvalTtlMs: deps.approvalTtlMs });
  }

  /**
   * Non-trade tools. Quote tools evaluate every symbol: the first denied symbol (in argument
   * order) decides the call; when all are allowed, the first symbol's decision stands for it.
   */
  authorizeCall(input: CallInput): Decision {
    const { engine } = this.deps;
    try {
      let first: Decision | undefined;
      for (const request of buildRequests(input, input.action, input.target ?? {})) {
        const decision = engine.authorize(request);
        if (!decision.allowed) return decision;
        first ??= decision;
      }
      return first!;
    } catch (err) {
      return denialFromError(input.action, err, engine.version);
    }
  }

  /**
   * Place, modify, cancel without sending (and, for sells, outside the sell lock): valuation
   * outside the ledger's lock, decision and reservation inside it.
   */
  async authorizeTrade(input: TradeInput): Promise<TradeAuthorization> {
    try {
      return await this.decide(input, await this.facts(input));
    } catch (err) {
      return { decision: denialFromError(input.terms.action, err, this.deps.engine.version), reservation: null };
    }
  }

  /**
   * The decision a trade would get now, recording, reserving and asking nothing (for explain):
   * the same steps as runTrade (a modify's or cancel's order read again, halts in force, a
   * value-independent refusal before pricing, the confirmation rules seen as decide() sees them),
   * with the ledger's usage read instead of reserved. needsHuman() tells whether a human would
   * be asked about the decision.
   */
  async previewTrade(input: TradeInput): Promise<Decision> {
    try {
      const guarded = await refreshed({ ...input, guards: await this.human.haltGuards(input.key) });
      const facts = await this.facts(guarded);
      const refused = this.refusedWhateverTheValue(guarded, facts);
      if (refused) return refused;
      const valuation = await this.value(guarded, facts);
      return this.tradeDecision(guarded, facts, valuation, await this.deps.ledger.usage(input.key.id, input.now));
    } catch (err) {
      return denialFromError(input.terms.action, err, this.deps.engine.version);
    }
  }

  /**
   * The whole trade: [client_order_id: claim it or replay its outcome] → [sells: take the
   * (account, symbol) sell lock] → facts → authorize and reserve → intent recorded → beforeSend
   * (the caller's durable audit) → send (the gateway keeps OpenD's rate limits at the socket
   * write) → commit/release and record the outcome.
   *
   * - A sell holds the lock of its security in its account from the shares-available read to
   *   OpenD's answer, in every process sharing the state, so sells in flight are always counted:
   *   only what is really still sellable is a SELL, the rest is checked as SELL_SHORT.
   * - An order written to OpenD whose answer never came (link lost, timeout) is an unknown
   *   outcome: its value stays committed, the call fails ORDER_OUTCOME_UNKNOWN, and the
   *   reconciler later finds the order by its remark tag (commit) or not (refund).
   * - A cancel before the order is written abandons it (released, CANCELLED); after, it runs on.
   */
  async runTrade<T>(input: TradeInput, steps: SendSteps<T>, options: TradeOptions<T> = {}): Promise<TradeRun<T>> {
    const { terms } = input;
    if (terms.action !== 'futu_place_order') {
      const { existing } = terms;
      // One call at a time per order, across processes: each decides on the order as the previous call left it.
      const locked = (guarded: TradeInput) =>
        this.state().withLock(`order\0${input.env}\0${input.account}\0${existing.orderId ?? ''}`, async () => {
          const current = await refreshed(guarded);
          return this.underSellLock(current, () => this.decideAndSend(current, steps, options, undefined));
        });
      return this.withHuman(input, options, locked);
    }
    const place = (intent: OrderIntent | undefined) => this.withHuman(input, options, (guarded) => this.underSellLock(guarded, () => this.decideAndSend(guarded, steps, options, intent)));
    const trades = this.deps.trades;
    if (!trades) {
      if (options.clientOrderId !== undefined) throw new AuthzError('STATE_STORE_UNAVAILABLE', 'trade state unavailable: client_order_id cannot be honoured (denied)');
      return place(undefined);
    }
    const identity = intentIdentity(input.key.id, options.clientOrderId);
    // Held from before its claim to after its outcome is written: one this call could not
    // write is left to reconciliation once the call ends, not taken for a call still running.
    return trades.holdIntent(identity.id, async () => {
      const opened = await this.openIntent(input, identity, options);
      if (opened.replay) return { decision: null, result: opened.result as T, replay: true };
      try {
        return await place(opened.intent);
      } catch (err) {
        // Refused before anything was sent: the client_order_id is free for the retry (with its confirmation_id).
        if (opened.intent.clientOrderId !== null && err instanceof AuthzError && HUMAN_REFUSALS.has(err.code)) await trades.dropIntent(opened.intent.id);
        throw err;
      }
    });
  }

  /**
   * Runs `decideAndRun` with the halt in force; when the call is denied by confirmation rules
   * alone, asks a human outside every lock (the wait may be minutes) and runs it again confirmed.
   */
  private async withHuman<R>(input: TradeInput, options: Pick<TradeOptions<unknown>, 'human'>, decideAndRun: (guarded: TradeInput) => Promise<R>): Promise<R> {
    const guarded: TradeInput = { ...input, guards: await this.human.haltGuards(input.key) };
    try {
      return await decideAndRun(guarded);
    } catch (err) {
      if (!(err instanceof NeedsHuman)) throw err;
      const { terms, key } = guarded;
      const value = Number(err.decision.context.orderValue ?? 0);
      const summary = tradeSummary(terms, { keyId: key.id, env: guarded.env, accId: guarded.account, value, limitCurrency: key.limits.limit_currency });
      const call = { key, tool: terms.action, env: guarded.env, accId: guarded.account, value, summary };
      const confirmed = await this.human.confirm(call, err.decision, guarded.guards!, options.human);
      return decideAndRun({ ...guarded, guards: confirmed });
    }
  }

  /** futu_get_limits: the key's limits and what is left of them now (ledger and halts as every server sees them). */
  async ownLimits(key: KeyRecord, now: Date): Promise<OwnLimits> {
    const usage = await this.deps.ledger.usage(key.id, now);
    const cap = key.limits.max_orders_per_minute;
    const nextOrderSlot = cap === null ? now.getTime() : await this.deps.ledger.nextOrderSlot(key.id, now, cap);
    const halts = this.deps.trades ? await this.deps.trades.halts() : [];
    return ownLimits(key, { dailyValue: usage.dailyValue, ordersInWindow: usage.ordersBefore, nextOrderSlot }, haltFor(halts, key.id), now);
  }

  /** The decision futu_unlock_trade would get now, recording and asking nothing (for explain); see needsHuman(). */
  async previewUnlock(input: UnlockInput): Promise<Decision> {
    return this.unlockDecision(input, await this.human.haltGuards(input.key)).decision;
  }

  /** A decision denied by confirmation rules alone that a human's yes would allow: the server asks a human. */
  needsHuman(decision: Decision): boolean {
    return this.askable.has(decision);
  }

  /** An unlock opens the way to trades, so it is refused too while limits cannot be checked. */
  async runUnlock<T>(input: UnlockInput, steps: SendSteps<T>, human?: HumanChannel): Promise<{ decision: Decision; result: T }> {
    const halted = await this.human.haltGuards(input.key);
    const unlock = this.unlockDecision(input, halted);
    let { decision } = unlock;
    if (this.askable.has(decision)) {
      const summary = { tool: 'futu_unlock_trade', keyId: input.key.id, env: 'real' as const, accId: null, order: 'unlock real trading (OpenD accepts real orders until it is locked again)', value: null, limitValue: null };
      const call = { key: input.key, tool: 'futu_unlock_trade', env: null, accId: null, value: 0, summary };
      const guards = await this.human.confirm(call, decision, halted, human);
      decision = unlock.decideWith(guards);
    }
    if (!decision.allowed) throw decisionError(decision);
    await this.deps.ledger.assertAvailable();
    await steps.beforeSend?.(decision);
    return { decision, result: await steps.send({}) };
  }

  /** The unlock's decision with `halted` in force and the confirmation rules seen, and how to decide it again with other guards. */
  private unlockDecision(input: UnlockInput, halted: HumanGuards): { decision: Decision; decideWith: (guards: HumanGuards) => Decision } {
    const decideWith = (guards: HumanGuards) => this.authorizeCall({ ...input, action: 'futu_unlock_trade', target: { guards, unlocking: input.unlocking } });
    return { decision: this.withConfirmationSeen({ guards: halted }, decideWith(halted), decideWith), decideWith };
  }

  private async decideAndSend<T>(input: TradeInput, steps: SendSteps<T>, options: TradeOptions<T>, intent: OrderIntent | undefined): Promise<TradeRun<T>> {
    if (!steps.admitted) return this.decideAndSendAdmitted(input, steps, options, intent);
    let admitted = false;
    try {
      return await steps.admitted(() => {
        admitted = true;
        return this.decideAndSendAdmitted(input, steps, options, intent);
      });
    } catch (err) {
      // Refused by OpenD's guard before anything was recorded: the client_order_id is free for the retry.
      if (!admitted && intent && intent.clientOrderId !== null) await this.state().dropIntent(intent.id);
      throw err;
    }
  }

  private async decideAndSendAdmitted<T>(input: TradeInput, steps: SendSteps<T>, options: TradeOptions<T>, intent: OrderIntent | undefined): Promise<TradeRun<T>> {
    const facts = await this.facts(input);
    const { decision, reservation } = await this.decide(input, facts).catch((err: unknown) => ({
      decision: denialFromError(input.terms.action, err, this.deps.engine.version),
      reservation: null,
    }));
    if (!decision.allowed) {
      // The intent stays claimed while a human is asked; runTrade drops it if they say no.
      if (this.askable.has(decision)) throw new NeedsHuman(decision);
      if (intent && intent.clientOrderId !== null) await this.state().dropIntent(intent.id);
      throw decisionError(decision);
    }
    const sending: OrderIntent | undefined = intent && { ...intent, state: 'sending', value: reservation?.value ?? 0, ...(reservation && { reservationId: reservation.id }), pid: process.pid };
    const reservedAt = performance.now();
    let sent = false;
    try {
      if (sending) await this.state().putIntent(sending);
      await steps.beforeSend?.(decision);
      throwIfCancelled(options.signal);
      if (reservation && performance.now() - reservedAt > this.deps.ledger.sendWindowMs) {
        throw new AuthzError('LEDGER_ERROR', 'limits ledger: the order was held up too long before sending (audit log or OpenD stalled) and its reservation would lapse; it was not sent');
      }
      throwIfCancelled(options.signal);
      sent = true;
      const result = await steps.send({ tag: sending?.tag, terms: input.terms });
      await this.afterAccepted(input, facts, reservation, sending, result, options);
      return { decision, result, replay: false };
    } catch (err) {
      throw await this.afterFailure(input, err, sent, reservation, sending);
    }
  }

  /**
   * Records what an accepted call changed: its value committed, a new order's owner and intent, a
   * cancel's refund. The order stands at OpenD whatever the bookkeeping says, so the call
   * succeeds even when the state store fails here.
   */
  private async afterAccepted<T>(input: TradeInput, facts: TradeFacts, reservation: Reservation | null, intent: OrderIntent | undefined, result: T, options: TradeOptions<T>): Promise<void> {
    const { terms, key, now } = input;
    if (!(await this.settleReservation(reservation, 'commit', input))) return;
    try {
      if (intent && options.orderIdOf) {
        const orderId = options.orderIdOf(result);
        await this.state().recordOwner({ env: input.env, accId: input.account, orderId }, { keyId: key.id, tag: intent.tag, day: intent.day, placedAt: now.getTime() });
        // Kept for replays of its client_order_id; a server-chosen intent has no one to ask again.
        if (intent.clientOrderId === null) await this.state().dropIntent(intent.id);
        else await this.state().putIntent({ ...intent, state: 'placed', orderId, result: result as Record<string, unknown> });
      }
      if (terms.action !== 'futu_place_order' && facts.ownOrder && facts.owner?.day === utcDay(now)) {
        await this.deps.ledger.refund(key.id, this.freedValue(terms, options.settledOrder?.(result), key.limits.limit_currency), facts.owner.day);
      }
    } catch (err) {
      // The order stands at OpenD whatever the bookkeeping says; a lost owner record only makes
      // the order foreign to the key (fail closed), a lost refund only over-counts the day.
      log.error('could not record the outcome of an accepted trade', { tool: terms.action, key_id: key.id, error: describeError(err) });
    }
  }

  /**
   * What a cancel or a lowering modify of the key's own order gives back to the day, from the
   * order as it stands afterwards (fills may have come in meanwhile): a cancel frees its
   * unfilled shares; a modify frees the working value before less the working value after, both
   * counted with the final fills. Values at the order's limit price, rounded down, so no more is
   * given back than was charged. Nothing when the order's state afterwards is unknown.
   */
  private freedValue(terms: Exclude<TradeTerms, { action: 'futu_place_order' }>, after: ExistingOrder | undefined, limitCurrency: LimitCurrency): number {
    if (!after) return 0;
    const scope = { limitCurrency, fx: this.fx };
    if (terms.action === 'futu_cancel_order') return unfilledValue(after, scope);
    const before = { ...terms.existing, filledQty: after.filledQty ?? 0 };
    return Math.max(0, unfilledValue(before, scope) - unfilledValue(after, scope));
  }

  /**
   * Commits or releases a call's reservation; false when the store failed. A new order's intent
   * is then left sending, and once the call ends reconciliation settles its reservation: commits
   * it if the order is at OpenD, releases it if not (each reservation settles once, whoever
   * settles it). A modify's reservation just lapses.
   */
  private async settleReservation(reservation: Reservation | null, how: 'commit' | 'release', input: TradeInput): Promise<boolean> {
    if (!reservation) return true;
    try {
      if (await (how === 'commit' ? this.deps.ledger.commit(reservation) : this.deps.ledger.release(reservation))) return true;
    } catch (err) {
      log.error(`could not ${how} a trade's reservation`, { tool: input.terms.action, key_id: input.key.id, error: describeError(err) });
    }
    log.warn(`a trade's reservation is left for reconciliation to ${how}`, { tool: input.terms.action, key_id: input.key.id });
    return false;
  }

  /** Settles the reservation and the intent of a failed call; returns the error to throw. */
  private async afterFailure(input: TradeInput, err: unknown, sent: boolean, reservation: Reservation | null, intent: OrderIntent | undefined): Promise<unknown> {
    const code = isFutuError(err) ? err.code : undefined;
    const outcome = !sent || (code !== undefined && NOT_WRITTEN_CODES.has(code)) ? 'not_sent' : code !== undefined && REFUSED_CODES.has(code) ? 'refused' : 'unknown';
    const settled = await this.settleReservation(reservation, outcome === 'unknown' ? 'commit' : 'release', input);
    // Not settled, the intent stays as it was: written `unknown` it would claim a commit that never happened.
    if (intent && settled) {
      try {
        if (outcome === 'unknown') {
          await this.state().putIntent({ ...intent, state: 'unknown' });
          this.deps.reconciler?.soon();
        } else if (outcome === 'refused' && intent.clientOrderId !== null) {
          await this.state().putIntent({ ...intent, state: 'refused', error: { code: code!, message: (err as Error).message } });
        } else {
          await this.state().dropIntent(intent.id);
        }
      } catch (stateErr) {
        log.error('could not record the outcome of a failed trade', { tool: input.terms.action, key_id: input.key.id, error: describeError(stateErr) });
      }
    }
    if (outcome !== 'unknown') return err;
    log.warn('trade outcome unknown', { tool: input.terms.action, key_id: input.key.id, code: code ?? 'INTERNAL_ERROR' });
    return new AuthzError('ORDER_OUTCOME_UNKNOWN', UNKNOWN_OUTCOME_MESSAGES[input.terms.action], { cause_code: code ?? 'INTERNAL_ERROR' });
  }

  /**
   * The intent of a new order. With a client_order_id it is claimed durably first, so the same
   * key sending the same id again (a retry, in parallel or after a restart) finds it and gets the
   * first call's outcome instead of a second order.
   */
  private async openIntent(
    input: TradeInput,
    { id, tag }: IntentIdentity,
    options: Pick<TradeOptions<unknown>, 'clientOrderId' | 'argsDigest' | 'signal'>,
  ): Promise<{ replay: false; intent: OrderIntent } | { replay: true; result: unknown }> {
    const { key, now, terms } = input;
    const clientOrderId = options.clientOrderId;
    const fresh: OrderIntent = {
      version: 1,
      id,
      tag,
      keyId: key.id,
      clientOrderId: clientOrderId ?? null,
      argsDigest: options.argsDigest ?? '',
      env: input.env,
      accId: input.account,
      trdMarket: input.trdMarket ?? '',
      symbol: tradeSubject(terms).symbol,
      value: 0,
      currency: key.limits.limit_currency,
      day: utcDay(now),
      state: 'claimed',
      pid: process.pid,
      createdAt: now.getTime(),
    };
    if (clientOrderId === undefined) return { replay: false, intent: fresh };
    const waitUntil = Date.now() + IN_FLIGHT_WAIT_MS;
    for (;;) {
      throwIfCancelled(options.signal);
      const claim = await this.state().claimIntent(fresh);
      if (claim.claimed) return { replay: false, intent: fresh };
      let existing: OrderIntent | undefined = claim.existing;
      if (existing.argsDigest !== fresh.argsDigest) {
        throw new AuthzError('IDEMPOTENCY_CONFLICT', `client_order_id "${clientOrderId}" was already used by this key for a different order; send a new client_order_id for a new order`);
      }
      if (existing.state === 'placed') return { replay: true, result: existing.result };
      if (existing.state === 'refused') {
        throw new FutuError(existing.error?.code ?? 'OPEND_ERROR', `client_order_id "${clientOrderId}" was already tried and refused: ${existing.error?.message ?? 'refused'}`);
      }
      const running = (existing.state === 'claimed' || existing.state === 'sending') && !(await this.state().isUnresolved(existing));
      if (running) {
        if (Date.now() > waitUntil) throw new AuthzError('ORDER_OUTCOME_UNKNOWN', `the first call with client_order_id "${clientOrderId}" is still running; check futu_get_orders before retrying`);
        await sleep(IN_FLIGHT_POLL_MS);
        continue;
      }
      existing = this.deps.reconciler ? await this.deps.reconciler.resolve(existing) : existing;
      if (existing?.state === 'placed') return { replay: true, result: existing.result };
      if (existing !== undefined) throw new AuthzError('ORDER_OUTCOME_UNKNOWN', UNKNOWN_OUTCOME_MESSAGES.futu_place_order);
      // Not placed after all: the id is free, and this call places the order.
    }
  }

  /** Sells that may exceed the shares held run one at a time per (account, symbol), across processes. */
  private underSellLock<T>(input: TradeInput, work: () => Promise<T>): Promise<T> {
    const { symbol, side } = tradeSubject(input.terms);
    if (side !== 'SELL' || addedQty(input.terms) <= 0) return work();
    return this.state().withLock(`sell\0${input.env}\0${input.account}\0${symbol}`, work);
  }

  private async facts(input: TradeInput): Promise<TradeFacts> {
    const { terms, key } = input;
    const requested = tradeSubject(terms).side;
    const added = addedQty(terms);
    const side = requested === 'SELL' && added > 0 && added > (await this.sellable(input)) ? 'SELL_SHORT' : requested;
    if (terms.action === 'futu_place_order') return { side, ownOrder: true, owner: undefined, reducesRisk: false };
    const { orderId } = terms.existing;
    const owner = orderId === undefined || !this.deps.trades ? undefined : await this.deps.trades.ownerOf({ env: input.env, accId: input.account, orderId });
    const ownOrder = owner?.keyId === key.id;
    return { side, ownOrder, owner, reducesRisk: ownOrder && !raisesRisk(terms) };
  }

  private async sellable(input: TradeInput): Promise<number> {
    if (!input.sellable) return 0;
    const qty = await input.sellable();
    return Number.isFinite(qty) && qty > 0 ? qty : 0;
  }

  private async decide(input: TradeInput, facts: TradeFacts): Promise<TradeAuthorization> {
    const { key, now } = input;
    const refused = this.refusedWhateverTheValue(input, facts);
    if (refused) return { decision: refused, reservation: null };
    const valuation = await this.value(input, facts);
    const { outcome, reservation } = await this.deps.ledger.decideAndReserve(
      key.id,
      key.limits.limit_currency,
      now,
      (usage) => {
        const decision = this.tradeDecision(input, facts, valuation, usage);
        return { outcome: decision, reserveValue: decision.allowed ? valuation.addedValue : null };
      },
      facts.reducesRisk ? 'cancel' : 'order',
    );
    return { decision: outcome, reservation };
  }

  /** The trade's decision with the confirmation rules seen (withConfirmationSeen). */
  private tradeDecision(input: TradeInput, facts: TradeFacts, valuation: OrderValuation, usage: UsageSnapshot): Decision {
    return this.withConfirmationSeen(input, this.decideTrade(input, facts, valuation, usage), (guards) => this.decideTrade({ ...input, guards }, facts, valuation, usage));
  }

  /**
   * A denial by confirmation rules alone, looked at again as if a human had said yes: when that
   * allows the call it is marked askable (a human is asked); otherwise the confirmed decision is
   * the real reason (a missing scope, which no forbid names) and is returned instead, so nobody
   * is asked about a call that would fail anyway.
   */
  private withConfirmationSeen(input: { guards?: HumanGuards }, decision: Decision, decideWith: (guards: HumanGuards) => Decision): Decision {
    if (input.guards?.humanConfirmed || !onlyAsksForAHuman(decision)) return decision;
    const confirmed = decideWith({ ...(input.guards ?? NO_GUARDS), humanConfirmed: true });
    if (!confirmed.allowed) return confirmed;
    this.askable.add(decision);
    return decision;
  }

  /**
   * Pricing an order reads its quotes from OpenD, which subscribes to them and spends OpenD's
   * subscription quota. So the policies are asked first with the order valued at nothing: a
   * refusal that cannot depend on the value (scope, key state, market, symbol, side, account,
   * order ownership, hours) is final, and the order is never priced. Anything else, value
   * limits included, is left to the full decision.
   */
  private refusedWhateverTheValue(input: TradeInput, facts: TradeFacts): Decision | undefined {
    const decision = this.decideTrade(input, facts, NO_VALUE, NO_USAGE);
    if (decision.allowed) return undefined;
    const first = decision.determiningPolicies[0];
    const scopeOnly = decision.code === 'MISSING_SCOPE' && first === undefined;
    return scopeOnly || (first !== undefined && VALUE_INDEPENDENT_FORBIDS.has(first.id)) ? decision : undefined;
  }

  /** Another's order (manage_any_order) is charged its full new value: its old value was never this key's. */
  private async value(input: TradeInput, facts: TradeFacts): Promise<OrderValuation> {
    const valuation = await valueTrade(input.terms, { limitCurrency: input.key.limits.limit_currency, fx: this.fx }, this.deps.prices);
    return facts.ownOrder ? valuation : { orderValue: valuation.orderValue, addedValue: valuation.orderValue };
  }

  private decideTrade(input: TradeInput, facts: TradeFacts, valuation: OrderValuation, usage: UsageSnapshot): Decision {
    const { symbol } = tradeSubject(input.terms);
    const request = buildTradeRequest(input, {
      action: input.terms.action,
      env: input.env,
      account: input.account,
      symbol,
      side: facts.side,
      valuation,
      usage,
      ownOrder: facts.ownOrder,
      reducesRisk: facts.reducesRisk,
      guards: input.guards,
    });
    return this.deps.engine.authorize(request);
  }

  private state(): TradeStateStore {
    if (!this.deps.trades) throw new AuthzError('STATE_STORE_UNAVAILABLE', 'trade state unavailable (denied)');
    return this.deps.trades;
  }
}

/** Refusals of the human loop: nothing was sent, so a client_order_id claimed for the call is freed. */
const HUMAN_REFUSALS: ReadonlySet<string> = new Set(['CONFIRMATION_REQUIRED', 'CONFIRMATION_DECLINED', 'CONFIRMATION_TIMEOUT', 'CONFIRMATION_INVALID', 'STATE_STORE_UNAVAILABLE']);

const UNKNOWN_OUTCOME_MESSAGES: Record<TradeAction, string> = {
  futu_place_order: 'the order may have been placed; check futu_get_orders before retrying (retrying with the same client_order_id is always safe)',
  futu_modify_order: 'the modify may have taken effect; check futu_get_orders before retrying',
  futu_cancel_order: 'the cancel may have taken effect; check futu_get_orders before retrying',
};

/** A modify or cancel with the order as OpenD reports it now (TradeInput.refresh), if it can be read again. */
async function refreshed(input: TradeInput): Promise<TradeInput> {
  const { terms } = input;
  if (!input.refresh || terms.action === 'futu_place_order') return input;
  return { ...input, terms: { ...terms, existing: await input.refresh() } };
}

/** Shares a call adds to what is working: place = qty, modify = new − old total, cancel = 0. */
function addedQty(terms: TradeTerms): number {
  if (terms.action === 'futu_place_order') return terms.qty;
  if (terms.action === 'futu_modify_order') return (terms.qty ?? terms.existing.qty) - terms.existing.qty;
  return 0;
}

/** A modify raises risk when it raises the quantity or the limit price (a MARKET order has none to lower). */
function raisesRisk(terms: TradeTerms): boolean {
  if (terms.action !== 'futu_modify_order') return false;
  const { existing } = terms;
  const oldPrice = existing.price ?? 0;
  const priceRaised = terms.price !== undefined && (oldPrice <= 0 || terms.price > oldPrice);
  return addedQty(terms) > 0 || priceRaised;
}

function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AuthzError('CANCELLED', 'cancelled by the client before the order was sent; nothing was sent to OpenD');
}
