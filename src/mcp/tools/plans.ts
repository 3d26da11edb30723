import type { Env } from '../../authz/actions.js';
import type { NonTradeAction } from '../../authz/builder.js';
import { callTargetFromArgs } from '../../authz/toolArgs.js';
import { tradeMarketOf } from '../../gateway/accounts.js';
import { GatewayError } from '../../gateway/errors.js';
import { parseSymbol, type MarketCode } from '../../gateway/symbol.js';
import type { AccountRef, TrdEnvName, TrdMarketName } from '../../gateway/types.js';
import type { AuthzPlan, ToolContext } from './kit.js';

/**
 * Authorization plans of the read tools, built with the authz engineer's argument mapping
 * (toolArgs.ts) so `futucli policy explain` evaluates exactly what a real call would.
 */

/** Quote and gateway tools: every symbol (or the plate, or the market) of the call is checked. */
export function callPlan(action: NonTradeAction, args: Record<string, unknown>): AuthzPlan {
  return { kind: 'call', action, target: callTargetFromArgs(args) };
}

/** What narrows an account read; with none of them it reads every account the key may use. */
export interface AccountArgs {
  readonly acc_id?: string;
  readonly market?: MarketCode;
  readonly env?: TrdEnvName;
  /** A symbol filter also narrows to the accounts trading its market. */
  readonly symbol?: string;
}

/** Trade markets whose positions and orders are read (OpenD answers one per request). */
const READ_MARKETS: readonly TrdMarketName[] = ['HK', 'US', 'CN', 'HKCC'];

/**
 * The account views (account × trade market) an account read covers: every account the key may
 * use, real ones first, narrowed by acc_id, env and market (given, or the symbol's). Accounts
 * outside the key's are never listed, read or named, not even in an error.
 */
export async function accountViews(args: AccountArgs, ctx: ToolContext): Promise<AccountRef[]> {
  const market = args.market ?? (args.symbol === undefined ? undefined : parseSymbol(args.symbol).market);
  const usable = (await ctx.accounts.list()).filter((a) => ctx.accountAllowed(a.accId) && (a.env === 'real' || a.env === 'simulate'));
  const chosen = usable.filter((a) => args.acc_id === undefined || a.accId === args.acc_id);
  if (args.acc_id !== undefined && chosen.length === 0) {
    throw new GatewayError('INVALID_ARGUMENT', `unknown acc_id ${args.acc_id}: call futu_list_accounts for the valid ids, or leave acc_id out to read every account`);
  }
  if (args.acc_id !== undefined && args.env !== undefined && chosen[0]!.env !== args.env) {
    throw new GatewayError('INVALID_ARGUMENT', `acc_id ${args.acc_id} is a ${chosen[0]!.env} account but env is "${args.env}"`);
  }
  const views = chosen
    .filter((a) => args.env === undefined || a.env === args.env)
    .sort((a, b) => (a.env === b.env ? 0 : a.env === 'real' ? -1 : 1))
    .flatMap((a) => {
      const env = a.env as TrdEnvName;
      const wanted = market === undefined ? undefined : tradeMarketOf(market, env);
      return a.trdMarkets
        .filter((m): m is TrdMarketName => READ_MARKETS.includes(m as TrdMarketName) && (wanted === undefined || m === wanted))
        .map((trdMarket) => ({ accId: a.accId, env, trdMarket }));
    });
  if (views.length === 0) {
    const which = [args.env, args.acc_id === undefined ? undefined : `acc_id ${args.acc_id}`].filter(Boolean).join(' ');
    throw new GatewayError('INVALID_ARGUMENT', `no ${which ? `${which} ` : ''}account this key may use trades ${market ?? 'a supported market'}${market ? ' securities' : ''}`);
  }
  return views;
}

/** Account reads are authorized against every account the call resolves to, never a guess. */
export async function accountsPlan(action: NonTradeAction, args: AccountArgs, ctx: ToolContext): Promise<AuthzPlan> {
  const views = await accountViews(args, ctx);
  const seen = new Set<string>();
  const accounts: { account: string; env: Env }[] = [];
  for (const v of views) {
    if (seen.has(v.accId)) continue;
    seen.add(v.accId);
    accounts.push({ account: v.accId, env: v.env });
  }
  return { kind: 'call', action, target: { ...callTargetFromArgs({ ...args, acc_id: undefined }), accounts } };
}

/** The views `execute` reads: those of the call that were authorized, so nothing can be added in between. */
export async function authorizedViews(args: AccountArgs, ctx: ToolContext): Promise<AccountRef[]> {
  const plan = ctx.authorized;
  if (plan?.kind !== 'call' || plan.target.accounts === undefined) throw new Error('account read executed without its authorized plan');
  const authorized = new Set(plan.target.accounts.map((a) => `${a.env}|${a.account}`));
  return (await accountViews(args, ctx)).filter((v) => authorized.has(`${v.env}|${v.accId}`));
}

/** Reads each view in parallel; rows come back in view order (real accounts first), each labelled. */
export async function readEach<T>(views: readonly AccountRef[], read: (view: AccountRef) => Promise<readonly T[]>): Promise<Array<T & { acc_id: string; env: TrdEnvName; trd_market: string }>> {
  const results = await Promise.all(views.map(read));
  return views.flatMap((v, i) => results[i]!.map((row) => ({ acc_id: v.accId, env: v.env, trd_market: v.trdMarket, ...row })));
}
