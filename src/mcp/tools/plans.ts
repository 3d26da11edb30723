import type { NonTradeAction } from '../../authz/builder.js';
import { callTargetFromArgs } from '../../authz/toolArgs.js';
import { GatewayError } from '../../gateway/errors.js';
import { parseSymbol, type MarketCode } from '../../gateway/symbol.js';
import type { AccountRef, TrdEnvName } from '../../gateway/types.js';
import type { AuthzPlan, ToolContext } from './kit.js';

/**
 * Authorization plans of the read tools, built with the authz engineer's argument mapping
 * (toolArgs.ts) so `futucli policy explain` evaluates exactly what a real call would.
 */

/** Quote and gateway tools: every symbol (or the plate, or the market) of the call is checked. */
export function callPlan(action: NonTradeAction, args: Record<string, unknown>): AuthzPlan {
  return { kind: 'call', action, target: callTargetFromArgs(args) };
}

export interface AccountArgs {
  readonly acc_id?: string;
  readonly market?: MarketCode;
  readonly env: TrdEnvName;
  /** A symbol filter also tells which market's account is meant. */
  readonly symbol?: string;
}

/** Account reads are authorized against the account the call resolves to, never a guess. */
export async function accountPlan(action: NonTradeAction, args: AccountArgs, ctx: ToolContext): Promise<AuthzPlan> {
  const account = await readAccount(args, ctx);
  return { kind: 'call', action, target: callTargetFromArgs({ ...args, acc_id: account.accId }) };
}

/**
 * The account an account read addresses: the acc_id; else the env's account for the market
 * (given, or the symbol's); else the env's only account. Several candidates and no hint is an
 * error that lists them, so the model can retry without another round trip.
 */
export async function readAccount(args: AccountArgs, ctx: ToolContext): Promise<AccountRef> {
  const market = args.market ?? (args.symbol === undefined ? undefined : parseSymbol(args.symbol).market);
  if (args.acc_id !== undefined || market !== undefined) return ctx.accounts.resolve({ accId: args.acc_id, env: args.env, market });
  const candidates = (await ctx.accounts.list()).filter((a) => a.env === args.env);
  if (candidates.length === 1) return ctx.accounts.resolve({ accId: candidates[0]!.accId, env: args.env });
  if (candidates.length === 0) throw new GatewayError('INVALID_ARGUMENT', `there is no ${args.env} account`);
  const listed = candidates.map((a) => `${a.accId} (${a.trdMarkets.join('/')})`).join(', ');
  throw new GatewayError('INVALID_ARGUMENT', `acc_id or market is required: the ${args.env} accounts are ${listed}`);
}
