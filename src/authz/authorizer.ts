import { isFutuError } from '../shared/errors.js';
import type { Env } from './actions.js';
import { buildRequests, buildTradeRequest, type CallTarget, type Caller, type NonTradeAction, type UsageSnapshot } from './builder.js';
import { decisionError, denialFromError, type Decision } from './decision.js';
import type { AuthzEngine } from './engine.js';
import { AuthzError } from './errors.js';
import { FxConverter } from './fx.js';
import { gatewayOperationFor, type GatewayGuard } from './gatewayGuard.js';
import type { LimitsLedger, Reservation } from './ledger.js';
import { tradeSubject, valueTrade, type OrderValuation, type ReferencePriceSource, type TradeTerms } from './valuation.js';

/**
 * The call pipeline's entry point to authorization: builder → engine, plus for trades the
 * valuation, the ledger's atomic check-and-reserve, OpenD's rate guard and commit/release.
 * Denials come back as Decision values; runTrade/runUnlock throw decisionError(decision).
 */
export interface AuthorizerDeps {
  readonly engine: AuthzEngine;
  readonly ledger: LimitsLedger;
  readonly fx?: FxConverter;
  /** Needed to value MARKET orders; without it they are denied (PRICE_UNAVAILABLE). */
  readonly prices?: ReferencePriceSource;
  /** OpenD rate protection; runTrade/runUnlock take a slot right before sending. */
  readonly guard?: GatewayGuard;
}

export interface CallInput extends Caller {
  readonly action: NonTradeAction;
  readonly target?: CallTarget;
}

export interface TradeInput extends Caller {
  readonly terms: TradeTerms;
  readonly env: Env;
  readonly account: string;
}

/** What runTrade/runUnlock do once allowed: an optional step before the guard, then the send. */
export interface SendSteps<T> {
  readonly beforeSend?: (decision: Decision) => Promise<void>;
  readonly send: () => Promise<T>;
}

export interface TradeAuthorization {
  readonly decision: Decision;
  /** Present when allowed: commit it when the broker accepts, release it when it refuses. */
  readonly reservation: Reservation | null;
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
  'outside-hours',
]);
const NO_VALUE: OrderValuation = { orderValue: 0, addedValue: 0 };
const NO_USAGE: UsageSnapshot = { ordersBefore: 0, dailyValue: 0 };

/** Errors after which the order certainly does not exist; anything else (a timeout) may have placed it. */
const NOT_PLACED_CODES = new Set(['OPEND_ERROR', 'GATEWAY_NOT_CONNECTED', 'GATEWAY_RATE_LIMITED', 'INVALID_ARGUMENT', 'INVALID_SYMBOL', 'AUDIT_WRITE_FAILED', 'LEDGER_ERROR']);

export class Authorizer {
  private readonly fx: FxConverter;

  constructor(private readonly deps: AuthorizerDeps) {
    this.fx = deps.fx ?? new FxConverter();
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

  /** Place, modify, cancel: valuation outside the lock, decision and reservation inside it. */
  async authorizeTrade(input: TradeInput): Promise<TradeAuthorization> {
    const { key, now } = input;
    try {
      const refused = this.refusedWhateverTheValue(input);
      if (refused) return { decision: refused, reservation: null };
      const valuation = await this.value(input);
      const { outcome, reservation } = await this.deps.ledger.decideAndReserve(key.id, key.limits.limit_currency, now, (usage) => {
        const decision = this.decideTrade(input, valuation, usage);
        return { outcome: decision, reserveValue: decision.allowed ? valuation.addedValue : null };
      });
      return { decision: outcome, reservation };
    } catch (err) {
      return { decision: denialFromError(input.terms.action, err, this.deps.engine.version), reservation: null };
    }
  }

  /** The decision a trade would get now, recording and reserving nothing (for explain). */
  async previewTrade(input: TradeInput): Promise<Decision> {
    try {
      const valuation = await this.value(input);
      return this.decideTrade(input, valuation, this.deps.ledger.usage(input.key.id, input.now));
    } catch (err) {
      return denialFromError(input.terms.action, err, this.deps.engine.version);
    }
  }

  /**
   * authorize → beforeSend (the caller's durable audit of the intent) → OpenD guard → send →
   * commit. The guard slot is taken last so OpenD's minimum gap holds between actual sends. The
   * reservation is released when the order certainly was not placed, and committed otherwise (a
   * timed-out order may exist).
   */
  async runTrade<T>(input: TradeInput, steps: SendSteps<T>): Promise<{ decision: Decision; result: T }> {
    const { decision, reservation } = await this.authorizeTrade(input);
    if (!decision.allowed) throw decisionError(decision);
    const reservedAt = performance.now();
    try {
      await steps.beforeSend?.(decision);
      await this.deps.guard?.acquire(gatewayOperationFor(input.terms.action), input.account);
      if (reservation && performance.now() - reservedAt > this.deps.ledger.sendWindowMs) {
        throw new AuthzError('LEDGER_ERROR', 'limits ledger: the order was held up too long before sending (audit log or OpenD stalled) and its reservation would lapse; it was not sent');
      }
      const result = await steps.send();
      if (reservation) await this.deps.ledger.commit(reservation);
      return { decision, result };
    } catch (err) {
      if (reservation) {
        const notPlaced = isFutuError(err) && NOT_PLACED_CODES.has(err.code);
        await (notPlaced ? this.deps.ledger.release(reservation) : this.deps.ledger.commit(reservation));
      }
      throw err;
    }
  }

  async runUnlock<T>(input: Caller, steps: SendSteps<T>): Promise<{ decision: Decision; result: T }> {
    const decision = this.authorizeCall({ ...input, action: 'futu_unlock_trade' });
    if (!decision.allowed) throw decisionError(decision);
    await steps.beforeSend?.(decision);
    await this.deps.guard?.acquire('unlock');
    return { decision, result: await steps.send() };
  }

  /**
   * Pricing an order reads its quotes from OpenD, which subscribes to them and spends OpenD's
   * subscription quota. So the policies are asked first with the order valued at nothing: a
   * refusal that cannot depend on the value (scope, key state, market, symbol, side, account,
   * hours) is final, and the order is never priced. Anything else, value limits included, is
   * left to the full decision.
   */
  private refusedWhateverTheValue(input: TradeInput): Decision | undefined {
    const decision = this.decideTrade(input, NO_VALUE, NO_USAGE);
    if (decision.allowed) return undefined;
    const first = decision.determiningPolicies[0];
    const scopeOnly = decision.code === 'MISSING_SCOPE' && first === undefined;
    return scopeOnly || (first !== undefined && VALUE_INDEPENDENT_FORBIDS.has(first.id)) ? decision : undefined;
  }

  private value(input: TradeInput): Promise<OrderValuation> {
    return valueTrade(input.terms, { limitCurrency: input.key.limits.limit_currency, fx: this.fx }, this.deps.prices);
  }

  private decideTrade(input: TradeInput, valuation: OrderValuation, usage: UsageSnapshot): Decision {
    const { symbol, side } = tradeSubject(input.terms);
    const request = buildTradeRequest(input, { action: input.terms.action, env: input.env, account: input.account, symbol, side, valuation, usage });
    return this.deps.engine.authorize(request);
  }
}
