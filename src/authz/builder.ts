import type { CedarValueJson, EntityJson } from '@cedar-policy/cedar-wasm/nodejs';
import { isExpired } from '../keys/time.js';
import { TRD_SIDES, type KeyRecord, type Scope, type TrdSide } from '../keys/types.js';
import {
  ACTION_SPECS,
  ENVS,
  GATEWAY_ID,
  NAMESPACE,
  requiredScope,
  type ActionName,
  type Env,
  type TradeAction,
} from './actions.js';
import { AuthzError } from './errors.js';
import { isWithinHoursWindow, parseHoursWindow } from './hoursWindow.js';
import { checkedLong } from './money.js';
import { principalEntity } from './principal.js';
import { canonicalAccount, resolveSecurity } from './canonical.js';
import type { OrderValuation } from './valuation.js';

/**
 * Turns a tool call into Cedar requests. All arithmetic happens here (and in valuation.ts);
 * the context it produces holds exactly the attributes the schema requires for the action.
 */
export interface AuthzRequest {
  readonly action: ActionName;
  readonly principal: EntityJson;
  readonly resource: { readonly type: string; readonly id: string };
  readonly context: Record<string, CedarValueJson>;
  /** The scope a default deny (no permit matched) is reported as missing; null when the action needs none. */
  readonly requiredScope: Scope | null;
}

/** Who is calling, and facts about the call the key store already established. */
export interface Caller {
  readonly key: KeyRecord;
  readonly now: Date;
  /** The key's allowed_machines admit this machine (true when the key is unbound). */
  readonly machineBound: boolean;
  /** This call keeps the key within its max_calls_per_minute (see CallRateWindows). */
  readonly withinCallRate: boolean;
}

export type NonTradeAction = Exclude<ActionName, TradeAction>;

/** Arguments of a non-trade tool that policies look at; which ones apply depends on the tool. */
export interface CallTarget {
  /** Quote tools: every symbol of the call (futu_plate_stocks: the plate, e.g. HK.BK1910). */
  readonly symbols?: readonly string[];
  /** futu_list_plates. */
  readonly market?: string;
  /** Account reads of one account. */
  readonly account?: string;
  readonly env?: Env;
  /** Account reads of several accounts (every account the key may use, by default): each is authorized. */
  readonly accounts?: readonly { readonly account: string; readonly env: Env }[];
  /** futu_unlock_trade: halt and confirmation, and whether it unlocks (false: locks again). */
  readonly guards?: HumanGuards;
  readonly unlocking?: boolean;
}

/**
 * What stands between an allowed trade (or unlock) and a human: whether a human confirmed this
 * very call, and whether futucli halt is in force for the key. Absent = unconfirmed, not halted.
 */
export interface HumanGuards {
  readonly humanConfirmed: boolean;
  readonly halted: boolean;
  /** The reason given to futucli halt; "" when not halted. */
  readonly haltReason: string;
}

export const NO_GUARDS: HumanGuards = Object.freeze({ humanConfirmed: false, halted: false, haltReason: '' });

/** OpenD takes at most 400 codes per snapshot; more than that is not a real call. */
export const MAX_SYMBOLS_PER_CALL = 400;

/** The ledger's view of the key at decision time. */
export interface UsageSnapshot {
  /** Orders (places, modifies that add risk) recorded in the last 60 s, not counting this one. */
  readonly ordersBefore: number;
  /** Risk-reducing calls (cancels, lowering modifies of own orders) in the last 60 s, not counting this one. */
  readonly cancelsBefore: number;
  /** Today's (UTC) committed value plus in-flight reservations, minor units. */
  readonly dailyValue: number;
}

export interface TradeRequestInput {
  readonly action: TradeAction;
  readonly env: Env;
  readonly account: string;
  readonly symbol: string;
  readonly side: TrdSide;
  readonly valuation: OrderValuation;
  readonly usage: UsageSnapshot;
  /** The call acts on an order this key placed (always true for place). */
  readonly ownOrder: boolean;
  /** A cancel, or a modify raising neither qty nor price, of the key's own order. */
  readonly reducesRisk: boolean;
  readonly guards?: HumanGuards;
}

/**
 * Requests for a non-trade tool: one per distinct symbol for quote tools and one per account for
 * account reads (so each is authorized and a denial can name it), otherwise exactly one.
 */
export function buildRequests(caller: Caller, action: NonTradeAction, target: CallTarget): AuthzRequest[] {
  const principal = principalEntity(caller.key);
  const scope = requiredScope(action);
  const { expired, machineBound, withinCallRate } = keyContext(caller);
  // Literals rather than spreads of shared parts: this runs on every read call, and copying
  // through a spread cost several times as much.
  const request = (resource: AuthzRequest['resource'], context: AuthzRequest['context']): AuthzRequest => ({
    action,
    principal,
    resource,
    context,
    requiredScope: scope,
  });
  switch (ACTION_SPECS[action].shape) {
    case 'gateway':
      return [request(gateway(), { expired, machineBound, withinCallRate })];
    case 'unlock': {
      const { humanConfirmed, halted, haltReason } = target.guards ?? NO_GUARDS;
      return [request(gateway(), { expired, machineBound, withinCallRate, unlock: target.unlocking !== false, humanConfirmed, halted, haltReason })];
    }
    case 'market': {
      const market = checkMarket(target.market);
      return [request(gateway(), { expired, machineBound, withinCallRate, market })];
    }
    case 'account': {
      const targets = target.accounts ?? [{ account: target.account ?? '', env: target.env }];
      if (targets.length === 0) throw new AuthzError('INVALID_VALUE', 'invalid value: at least one account is required');
      return targets.map((t) => {
        const account = canonicalAccount(t.account);
        return request(accountUid(account), { expired, machineBound, withinCallRate, env: checkEnv(t.env), account });
      });
    }
    case 'account-security': {
      // One security, on each account the call reads: the account and the symbol limits both apply.
      const securities = distinctSecurities(target.symbols);
      if (securities.length !== 1) throw new AuthzError('INVALID_VALUE', 'invalid value: exactly one symbol is required');
      const { market, symbol } = securities[0]!;
      const targets = target.accounts ?? [{ account: target.account ?? '', env: target.env }];
      if (targets.length === 0) throw new AuthzError('INVALID_VALUE', 'invalid value: at least one account is required');
      return targets.map((t) => {
        const account = canonicalAccount(t.account);
        return request(accountUid(account), { expired, machineBound, withinCallRate, env: checkEnv(t.env), account, market, symbol });
      });
    }
    case 'security':
      return distinctSecurities(target.symbols).map((s) =>
        request({ type: `${NAMESPACE}::Security`, id: s.symbol }, { expired, machineBound, withinCallRate, market: s.market, symbol: s.symbol }),
      );
  }
}

export function buildTradeRequest(caller: Caller, input: TradeRequestInput): AuthzRequest {
  const env = checkEnv(input.env);
  const account = canonicalAccount(input.account);
  const security = resolveSecurity(input.symbol);
  if (!TRD_SIDES.includes(input.side)) throw new AuthzError('INVALID_VALUE', `invalid value: side must be one of ${TRD_SIDES.join(', ')}`);
  const window = caller.key.limits.hours_window;
  const { orderValue, addedValue } = input.valuation;
  const { humanConfirmed, halted, haltReason } = input.guards ?? NO_GUARDS;
  return {
    action: input.action,
    principal: principalEntity(caller.key),
    resource: accountUid(account),
    requiredScope: requiredScope(input.action, env),
    context: {
      ...keyContext(caller),
      withinHoursWindow: window === null || isWithinHoursWindow(parseHoursWindow(window), caller.now),
      humanConfirmed,
      halted,
      haltReason,
      env,
      account,
      market: security.market,
      symbol: security.symbol,
      side: input.side,
      orderValue: checkedLong(orderValue, 'order value'),
      addedValue: checkedLong(addedValue, 'added value'),
      projectedDailyValue: checkedLong(checkedLong(input.usage.dailyValue, 'daily value') + addedValue, 'projected daily value'),
      ordersLastMinute: countWithThisCall(input.usage.ordersBefore, !input.reducesRisk, 'orders in the last minute'),
      ownOrder: input.ownOrder,
      reducesRisk: input.reducesRisk,
      cancelsLastMinute: countWithThisCall(input.usage.cancelsBefore, input.reducesRisk, 'cancels in the last minute'),
    },
  };
}

/** A rate count as policies see it: the calls before, plus this one when it is of that kind. */
function countWithThisCall(before: number, counted: boolean, what: string): number {
  return checkedLong(checkedLong(before, what) + (counted ? 1 : 0), what);
}

function keyContext(caller: Caller): { expired: boolean; machineBound: boolean; withinCallRate: boolean } {
  return {
    expired: isExpired(caller.key.expires_at, caller.now.getTime()),
    machineBound: caller.machineBound === true,
    withinCallRate: caller.withinCallRate === true,
  };
}

function gateway() {
  return { type: `${NAMESPACE}::Gateway`, id: GATEWAY_ID };
}

function accountUid(account: string) {
  return { type: `${NAMESPACE}::Account`, id: account };
}

function distinctSecurities(symbols: readonly string[] | undefined) {
  if (!symbols || symbols.length === 0) throw new AuthzError('INVALID_VALUE', 'invalid value: at least one symbol is required');
  if (symbols.length > MAX_SYMBOLS_PER_CALL) {
    throw new AuthzError('INVALID_VALUE', `invalid value: at most ${MAX_SYMBOLS_PER_CALL} symbols per call`);
  }
  if (symbols.length === 1) return [resolveSecurity(symbols[0]!)];
  const bySymbol = new Map(symbols.map((s) => resolveSecurity(s)).map((s) => [s.symbol, s]));
  return [...bySymbol.values()];
}

function checkMarket(market: string | undefined): string {
  const upper = market?.trim().toUpperCase() ?? '';
  if (!/^[A-Z]{2,8}$/.test(upper)) throw new AuthzError('INVALID_VALUE', 'invalid value: market must be a market code such as HK or US');
  return upper;
}

function checkEnv(env: Env | undefined): Env {
  if (env === undefined || !ENVS.includes(env)) throw new AuthzError('INVALID_VALUE', 'invalid value: env must be "simulate" or "real"');
  return env;
}
