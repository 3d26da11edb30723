import { FutuError } from '../shared/errors.js';

export const AUTHZ_ERROR_CODES = [
  'POLICY_ERROR',
  'MISSING_SCOPE',
  'LIMIT_EXCEEDED',
  'POLICY_DENIED',
  'LEDGER_ERROR',
  'PRICE_UNAVAILABLE',
  'GATEWAY_RATE_LIMITED',
  'POLICY_LOAD_FAILED',
  'INVALID_VALUE',
  'STATE_STORE_UNAVAILABLE',
  'ORDER_OUTCOME_UNKNOWN',
  'IDEMPOTENCY_CONFLICT',
  'CANCELLED',
  'CONFIRMATION_REQUIRED',
  'CONFIRMATION_DECLINED',
  'CONFIRMATION_TIMEOUT',
  'CONFIRMATION_INVALID',
  'TRADING_HALTED',
] as const;
export type AuthzErrorCode = (typeof AUTHZ_ERROR_CODES)[number];

/** Codes a forbid policy may carry in its @code annotation (checked at load). */
export const FORBID_CODES: readonly AuthzErrorCode[] = ['MISSING_SCOPE', 'LIMIT_EXCEEDED', 'POLICY_DENIED', 'TRADING_HALTED', 'CONFIRMATION_REQUIRED'];

/** The code of forbids that ask a human rather than refuse: a call denied only by these may be confirmed. */
export const CONFIRMATION_CODE: AuthzErrorCode = 'CONFIRMATION_REQUIRED';

export class AuthzError extends FutuError {
  constructor(
    override readonly code: AuthzErrorCode,
    message: string,
    details: Readonly<Record<string, unknown>> = {},
  ) {
    super(code, message, details);
  }
}

/** A load or reload that was refused; `problems` lists every reason found. */
export class PolicyLoadError extends AuthzError {
  constructor(readonly problems: readonly string[]) {
    super('POLICY_LOAD_FAILED', `policy load failed: ${problems.join('; ')}`, { problems });
  }
}
