import type { z } from 'zod';
import type { Env, TradeAction } from '../../authz/actions.js';
import type { CallTarget, NonTradeAction } from '../../authz/builder.js';
import type { OwnLimits } from '../../authz/ownLimits.js';
import type { ExistingOrder, TradeTerms } from '../../authz/valuation.js';
import type { AccountDirectory } from '../../gateway/accounts.js';
import type { FutuGateway } from '../../gateway/api.js';
import type { AccountRef } from '../../gateway/types.js';
import type { ToolDeclaration } from '../tool.js';

/** What a tool may use: the gateway (the narrow executor's only way out) and the account list. */
export interface ToolContext {
  readonly gateway: FutuGateway;
  readonly accounts: AccountDirectory;
  readonly signal: AbortSignal;
  /** The calling key's id: live subscriptions its reads make count against its budget. */
  readonly keyId: string;
  /**
   * The calling key's account restriction. Lookups that search accounts before Cedar decides
   * (an order by id) stay inside it, so a key never learns what another account holds.
   */
  readonly accountAllowed: (accId: string) => boolean;
  /** MD5 of the trade password from the environment or OS keychain: the model never supplies it. */
  readonly tradePasswordMd5?: () => Promise<string>;
  /**
   * Set by the pipeline for `execute`: the plan that was authorized. Side-effecting tools act on
   * exactly this (account, order) instead of resolving it again, so nothing can change between
   * the decision and the order.
   */
  readonly authorized?: AuthzPlan;
  /** Set by the pipeline for a new order's `execute`: the tag its remark must carry. */
  readonly orderTag?: string;
  /** The calling key's limits and what is left of them now (futu_get_limits). */
  readonly ownLimits?: () => Promise<OwnLimits>;
}

/**
 * What the pipeline must authorize before `execute` runs. Building it may read from the gateway
 * (the account list, an existing order for modify/cancel) but never changes anything there.
 */
export type AuthzPlan =
  | { readonly kind: 'call'; readonly action: NonTradeAction; readonly target: CallTarget }
  | {
      readonly kind: 'trade';
      readonly env: Env;
      readonly account: AccountRef;
      readonly terms: TradeTerms & { readonly action: TradeAction };
      /** Shares of the order's security the account can still sell (for sells: read inside the sell lock). */
      readonly sellable?: () => Promise<number>;
      /** modify, cancel: the order read again inside its lock. */
      readonly refresh?: () => Promise<ExistingOrder>;
    }
  | { readonly kind: 'unlock'; readonly unlocking: boolean };

export type FutuTool<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> = ToolDeclaration<
  I,
  O,
  ToolContext,
  Promise<AuthzPlan>
>;

export type AuthorizedTrade = Extract<AuthzPlan, { kind: 'trade' }>;

/** The authorized trade plan for `execute`; its absence is a wiring bug, so fail closed. */
export function authorizedTrade<A extends TradeAction>(
  ctx: ToolContext,
  action: A,
): AuthorizedTrade & { readonly terms: Extract<TradeTerms, { action: A }> } {
  const plan = ctx.authorized;
  if (plan?.kind !== 'trade' || plan.terms.action !== action) throw new Error(`${action}: execute called without its authorized plan`);
  return plan as AuthorizedTrade & { readonly terms: Extract<TradeTerms, { action: A }> };
}

/** Identity at runtime; lets TypeScript infer I and O for one declaration. */
export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(tool: FutuTool<I, O>): FutuTool<I, O> {
  return tool;
}

/** The registry holds tools of different argument types; each is checked where it is declared. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFutuTool = FutuTool<any, any>;
