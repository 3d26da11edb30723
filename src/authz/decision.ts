import type { CedarValueJson } from '@cedar-policy/cedar-wasm/nodejs';
import type { ActionName } from './actions.js';
import type { AuthzRequest } from './builder.js';
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
  /** The Cedar request that was evaluated; absent for a denial decided before or outside Cedar. */
  readonly request?: AuthzRequest;
  /** Present only where the shadow set (--shadow-policies) decided otherwise. */
  readonly shadow?: ShadowVerdict;
}

/**
 * What the candidate set of --shadow-policies decided for a request where it disagrees with the
 * active set. It never changes the call; it goes into the audit record and a metric.
 */
export interface ShadowVerdict {
  /** would_deny: the active set allowed what the candidate would deny; would_allow: the reverse. */
  readonly kind: 'would_deny' | 'would_allow';
  readonly allowed: boolean;
  readonly code: Decision['code'];
  readonly policies: readonly string[];
  readonly policyVersion: string;
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

/** The error the MCP layer returns for a denial; its details carry the decision for the audit trail. */
export function decisionError(decision: Decision): AuthzError {
  const code = decision.code === 'ALLOW' ? 'POLICY_ERROR' : decision.code;
  return new AuthzError(code, decision.message, decisionDetails(decision));
}

/** What a refusal carries of the Cedar decision it rests on: the audit record's policies and version, the decision log's line, the shadow verdict. */
export function decisionDetails(decision: Decision): { policy_version: string; policies: string[]; decision: Decision } {
  return { policy_version: decision.policyVersion, policies: decision.determiningPolicies.map((p) => p.id), decision };
}
