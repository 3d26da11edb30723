import type { Scope } from '../keys/types.js';

/**
 * The tool → Cedar action registry: the single source of truth for which scope grants which
 * tool and what the request looks like. The MCP layer asserts its tool list equals ACTIONS; a
 * test asserts every action exists in the schema and is covered by a permit.
 */
export type Env = 'simulate' | 'real';
export const ENVS: readonly Env[] = ['simulate', 'real'];

/** What the request is about: decides the resource type and the context record. */
export type ActionShape = 'gateway' | 'market' | 'security' | 'account' | 'account-security' | 'trade' | 'unlock';

/**
 * Scope groups of the schema; "trade" resolves to trade:simulate or trade:real by env;
 * "own-limits" needs no scope (any valid key may read its own limits).
 */
export type ScopeGroup = 'qot:read' | 'acc:read' | 'trade' | 'trade:unlock' | 'own-limits';

interface ActionSpec {
  readonly group: ScopeGroup;
  readonly shape: ActionShape;
}

export const ACTION_SPECS = {
  futu_get_limits: { group: 'own-limits', shape: 'gateway' },
  futu_ping: { group: 'qot:read', shape: 'gateway' },
  futu_get_quote: { group: 'qot:read', shape: 'security' },
  futu_get_snapshot: { group: 'qot:read', shape: 'security' },
  futu_get_kline: { group: 'qot:read', shape: 'security' },
  futu_get_orderbook: { group: 'qot:read', shape: 'security' },
  futu_get_ticker: { group: 'qot:read', shape: 'security' },
  futu_get_rt: { group: 'qot:read', shape: 'security' },
  futu_get_static: { group: 'qot:read', shape: 'security' },
  futu_get_broker: { group: 'qot:read', shape: 'security' },
  futu_list_plates: { group: 'qot:read', shape: 'market' },
  futu_plate_stocks: { group: 'qot:read', shape: 'security' },
  futu_search: { group: 'qot:read', shape: 'gateway' },
  futu_get_market_state: { group: 'qot:read', shape: 'gateway' },
  futu_get_financials: { group: 'qot:read', shape: 'security' },
  futu_get_valuation: { group: 'qot:read', shape: 'security' },
  futu_get_company_profile: { group: 'qot:read', shape: 'security' },
  futu_get_analyst_consensus: { group: 'qot:read', shape: 'security' },
  futu_get_dividends: { group: 'qot:read', shape: 'security' },
  futu_search_news: { group: 'qot:read', shape: 'gateway' },
  futu_get_capital_flow: { group: 'qot:read', shape: 'security' },
  futu_get_capital_distribution: { group: 'qot:read', shape: 'security' },
  futu_get_option_expirations: { group: 'qot:read', shape: 'security' },
  futu_get_option_chain: { group: 'qot:read', shape: 'security' },
  futu_stock_filter: { group: 'qot:read', shape: 'market' },
  futu_list_watchlists: { group: 'qot:read', shape: 'gateway' },
  futu_list_accounts: { group: 'acc:read', shape: 'gateway' },
  futu_get_funds: { group: 'acc:read', shape: 'account' },
  futu_get_positions: { group: 'acc:read', shape: 'account' },
  futu_get_orders: { group: 'acc:read', shape: 'account' },
  futu_get_deals: { group: 'acc:read', shape: 'account' },
  futu_get_history_orders: { group: 'acc:read', shape: 'account' },
  futu_get_history_deals: { group: 'acc:read', shape: 'account' },
  futu_get_max_trade_qty: { group: 'acc:read', shape: 'account-security' },
  futu_get_order_fee: { group: 'acc:read', shape: 'account' },
  futu_place_order: { group: 'trade', shape: 'trade' },
  futu_modify_order: { group: 'trade', shape: 'trade' },
  futu_cancel_order: { group: 'trade', shape: 'trade' },
  futu_unlock_trade: { group: 'trade:unlock', shape: 'unlock' },
} as const satisfies Record<string, ActionSpec>;

export type ActionName = keyof typeof ACTION_SPECS;
export type TradeAction = 'futu_place_order' | 'futu_modify_order' | 'futu_cancel_order';

export const ACTIONS = Object.keys(ACTION_SPECS) as ActionName[];

export const NAMESPACE = 'Futu';
export const GATEWAY_ID = 'opend';

export function isActionName(name: string): name is ActionName {
  return Object.hasOwn(ACTION_SPECS, name);
}

/** The scope a call needs: trade tools need trade:real or trade:simulate by env; null = none (any valid key). */
export function requiredScope(action: ActionName, env: Env = 'simulate'): Scope | null {
  const group: ScopeGroup = ACTION_SPECS[action].group;
  if (group === 'trade') return env === 'real' ? 'trade:real' : 'trade:simulate';
  if (group === 'own-limits') return null;
  return group;
}

/** Scopes that can make at least one call of the tool succeed (for tools/list filtering); null = every key. */
export function grantingScopes(action: ActionName): Scope[] | null {
  const group: ScopeGroup = ACTION_SPECS[action].group;
  if (group === 'own-limits') return null;
  return group === 'trade' ? ['trade:simulate', 'trade:real'] : [group];
}
