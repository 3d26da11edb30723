import type { CedarValueJson } from '@cedar-policy/cedar-wasm/nodejs';
import type { ActionName } from './actions.js';
import { AuthzError, type AuthzErrorCode } from './errors.js';

/** The outcome of authorizing one tool call; denials are values, not exceptions. */
export interface DeterminingPolicy {
  readonly id: string;
  readonly effect: 'permit' | 'forbid';
  readonly code: string;
  /** The @message with placeholders filled from the evaluated request. */
  readonly message: string;
}

export interface Decision {
  readonly allowed: boolean;
  readonly code: 'ALLOW' | AuthzErrorCode;
  /** One user-facing sentence; safe to show the model. */
  readonly message: string;
  readonly action: ActionName;
  /** Allow: the satisfied permits; forbid deny: the satisfied forbids, message order first. */
  readonly determiningPolicies: readonly DeterminingPolicy[];
  readonly policyVersion: string;
  /** The context that was evaluated (for explain and audit); empty if none was built. */
  readonly context: Readonly<Record<string, CedarValueJson>>;
  /** Evaluation errors behind a POLICY_ERROR (operator-facing). */
  readonly errors: readonly string[];
}

/** A denial decided before or outside Cedar (bad input, no price, ledger failure, ...). */
export function denialFromError(action: ActionName, err: unknown, policyVersion: string, context: Decision['context'] = {}): Decision {
  const known = err instanceof AuthzError;
  return {
    allowed: false,
    code: known ? err.code : 'POLICY_ERROR',
    message: known ? err.message : 'authorization failed: internal error (denied)',
    action,
    determiningPolicies: [],
    policyVersion,
    context,
    errors: known ? [] : [(err as Error)?.message ?? String(err)],
  };
}

/** The error the MCP layer returns for a denial. */
export function decisionError(decision: Decision): AuthzError {
  const code = decision.code === 'ALLOW' ? 'POLICY_ERROR' : decision.code;
  return new AuthzError(code, decision.message, {
    policy_version: decision.policyVersion,
    policies: decision.determiningPolicies.map((p) => p.id),
  });
}
