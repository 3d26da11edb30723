import { requiredScope, type ActionName, type Env } from '../authz/actions.js';
import type { Authorizer, TradeInput } from '../authz/authorizer.js';
import type { Caller } from '../authz/builder.js';
import type { Decision } from '../authz/decision.js';
import { AuthzError } from '../authz/errors.js';
import { keyMayUseAccount } from '../authz/principal.js';
import { DEFAULT_CALLS_PER_MINUTE, type KeyRecord, type Scope } from '../keys/types.js';
import type { AuthzPlan } from './tools/kit.js';

/**
 * The decision half of a tool call, shared by the call pipeline and `futucli policy explain` so
 * that explain answers what the server decides: the scope the call needs, the two gates that
 * refuse before a plan may read anything from OpenD, the authorizer input of a trade plan, and
 * (for explain only) the decision of a plan without reserving, sending or recording anything.
 */

/** The scope the call needs: trade tools need trade:real for `env: "real"`; null when every key may make it. */
export function callScope(action: ActionName, args: Record<string, unknown>): Scope | null {
  return requiredScope(action, envOf(args));
}

/**
 * Deny-only, and before the tool's plan reads anything from OpenD (accounts, orders, quotes to
 * value an order): a key without the tool's scope must not learn which accounts or orders exist
 * from the plan's errors, nor spend OpenD's subscription quota. No Cedar policy is named, as
 * none was evaluated; Cedar still decides every call that gets past the gate.
 *
 * An acc_id outside the key's accounts is refused the same way, before the plan looks anything
 * up in it (a modify or cancel would read the order there), with the code and text of Cedar's
 * `account-not-allowed` and counted under the same metric reason.
 */
export function checkCallGates(key: KeyRecord, scope: Scope | null, args: Record<string, unknown>, policyVersion: string): void {
  if (scope !== null && !key.scopes.includes(scope)) throw new AuthzError('MISSING_SCOPE', `missing scope ${scope}`, { policy_version: policyVersion, policies: [] });
  if (typeof args.acc_id === 'string' && !keyMayUseAccount(key, args.acc_id)) {
    throw new AuthzError('LIMIT_EXCEEDED', `limit check failed: account ${args.acc_id} not allowed`, {
      policy_version: policyVersion,
      policies: [],
      limit: 'account-not-allowed',
    });
  }
}

/**
 * The key's cap on tool calls per 60 s (`call-rate-limit`). Each server process counts the calls
 * it takes in memory, so `policy explain`, a process of its own, can name the cap but not the count.
 */
export function callRateCap(key: KeyRecord): number {
  return key.limits.max_calls_per_minute ?? DEFAULT_CALLS_PER_MINUTE;
}

/** The authorizer's input for a trade plan. */
export function tradeInput(caller: Caller, plan: Extract<AuthzPlan, { kind: 'trade' }>): TradeInput {
  return { ...caller, env: plan.env, account: plan.account.accId, trdMarket: plan.account.trdMarket, terms: plan.terms, sellable: plan.sellable, refresh: plan.refresh };
}

/** What the server would decide for a planned call now, reserving, sending and recording nothing. */
export async function previewDecision(authorizer: Authorizer, caller: Caller, plan: AuthzPlan): Promise<Decision> {
  switch (plan.kind) {
    case 'call':
      return authorizer.authorizeCall({ ...caller, action: plan.action, target: plan.target });
    case 'trade':
      return authorizer.previewTrade(tradeInput(caller, plan));
    case 'unlock':
      return authorizer.previewUnlock({ ...caller, unlocking: plan.unlocking });
  }
}

function envOf(args: Record<string, unknown>): Env {
  return args.env === 'real' ? 'real' : 'simulate';
}
