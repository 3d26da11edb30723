import type { TrdSide } from '../keys/types.js';
import type { Env, TradeAction } from './actions.js';
import type { CallTarget } from './builder.js';
import { AuthzError } from './errors.js';
import type { ExistingOrder, OrderType, TradeTerms } from './valuation.js';

/**
 * MCP tool arguments (canonical names: symbol, symbols, market, acc_id, env, side, order_type,
 * qty, price) → builder input. Shared by the tool declarations and `futucli policy explain`, so
 * explain evaluates exactly what a real call would.
 */
export type ToolArgs = Readonly<Record<string, unknown>>;

export function callTargetFromArgs(args: ToolArgs): CallTarget {
  const single = args.symbol ?? args.plate;
  // Assigned member by member, not spread from conditional literals: this runs on every read call.
  const target: { -readonly [K in keyof CallTarget]: CallTarget[K] } = { env: envFromArgs(args) };
  if (Array.isArray(args.symbols)) target.symbols = args.symbols.map((s) => text(s, 'symbols'));
  else if (single !== undefined) target.symbols = [text(single, 'symbol')];
  if (args.market !== undefined) target.market = text(args.market, 'market');
  if (args.acc_id !== undefined) target.account = text(args.acc_id, 'acc_id');
  return target;
}

/** The env a call targets: "simulate" unless the arguments say "real" (or something invalid, which the builder refuses). */
export function envFromArgs(args: ToolArgs): Env {
  return args.env === undefined ? 'simulate' : (args.env as Env);
}

/** modify and cancel need the order as the gateway reports it (`existing`). */
export function tradeTermsFromArgs(action: TradeAction, args: ToolArgs, existing?: ExistingOrder): TradeTerms {
  if (action === 'futu_place_order') {
    return {
      action,
      symbol: text(args.symbol, 'symbol'),
      side: text(args.side, 'side') as TrdSide,
      orderType: (args.order_type === undefined ? 'LIMIT' : text(args.order_type, 'order_type')) as OrderType,
      qty: num(args.qty, 'qty'),
      ...(args.price !== undefined ? { price: num(args.price, 'price') } : {}),
    };
  }
  if (!existing) throw new AuthzError('INVALID_VALUE', `invalid value: ${action} needs the existing order (symbol, side, qty, price)`);
  if (action === 'futu_cancel_order') return { action, existing };
  return {
    action,
    existing,
    ...(args.qty !== undefined ? { qty: num(args.qty, 'qty') } : {}),
    ...(args.price !== undefined ? { price: num(args.price, 'price') } : {}),
  };
}

function text(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new AuthzError('INVALID_VALUE', `invalid value: ${what} must be a string`);
  return value;
}

function num(value: unknown, what: string): number {
  if (typeof value !== 'number' && typeof value !== 'string') throw new AuthzError('INVALID_VALUE', `invalid value: ${what} must be a number`);
  const n = Number(value);
  if (!Number.isFinite(n)) throw new AuthzError('INVALID_VALUE', `invalid value: ${what} must be a number`);
  return n;
}
