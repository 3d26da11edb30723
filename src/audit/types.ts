import type { Scope } from '../keys/types.js';

/**
 * One audit file holds one hash chain shared by tool-call records and system records (startup,
 * reload, shutdown), so a removed reload record breaks the chain just like a removed order.
 * The pipeline builds an AuditEvent; AuditLog adds the ChainFields. There is deliberately no field
 * for the call's arguments: only their hash (see hashArguments).
 */

export type Transport = 'stdio' | 'http';

/** key_id when no key was presented / when the presented key matched no record. Never the token itself. */
export const MISSING_KEY_ID = '<missing>';
export const INVALID_KEY_ID = '<invalid>';

interface ToolCallFields {
  readonly event: 'tool_call';
  readonly transport: Transport;
  readonly tool: string;
  /** A key id from the keys file, MISSING_KEY_ID or INVALID_KEY_ID. */
  readonly key_id: string;
  /** The scope the call needed (trade tools: resolved from `env`); null when the tool is unknown or needs no scope (futu_get_limits). */
  readonly scope: Scope | null;
  /** hashArguments(args). */
  readonly args_hash: string;
  /** Secret-free by design (error messages); scrubbed again on append. */
  readonly reason: string | null;
  /** Stable error or policy code, e.g. MISSING_SCOPE, RATE_LIMIT, OPEND_ERROR. */
  readonly code: string | null;
  readonly policy_version: string | null;
  /** Ids of the policies that determined the decision; stored sorted. */
  readonly policies: readonly string[];
  readonly session_id: string | null;
  /** Milliseconds from request to result, may be fractional. */
  readonly latency_ms: number;
  /** Only where the --shadow-policies candidate set decided otherwise than the active set. */
  readonly shadow?: ShadowRecord;
}

/** The candidate set's decision for a call it disagrees on; it never changed the call. */
export interface ShadowRecord {
  readonly decision: 'allow' | 'deny';
  readonly code: string;
  /** The candidate's determining policies. */
  readonly policies: readonly string[];
  readonly policy_version: string;
}

/**
 * An allowed call ran and succeeded or failed. A call that did not run was either rejected (by a
 * credential check, input validation or a policy) or failed before a decision could be made (the
 * gateway was unreachable while the request was being prepared): `deny` + `failure`.
 */
export type ToolCallEvent = ToolCallFields &
  (
    | { readonly decision: 'allow'; readonly outcome: 'success' | 'failure' }
    | { readonly decision: 'deny'; readonly outcome: 'reject' | 'failure' }
  );

/**
 * An HTTP request refused before it could reach a session: a missing, unknown, expired,
 * revoked or unbound bearer token (401), or a session presented with another key (403).
 */
export interface HttpAuthEvent {
  readonly event: 'http_auth';
  readonly transport: 'http';
  readonly key_id: string;
  readonly decision: 'deny';
  readonly outcome: 'reject';
  readonly reason: string;
  readonly code: string;
  readonly session_id: string | null;
}

/**
 * HTTP refusals without a recognised key that were counted instead of recorded one by one (see
 * RefusalThrottle): one record per window in which any were, so a flood stays visible in the
 * chain without writing it to disk request by request.
 */
export interface HttpAuthSuppressedEvent {
  readonly event: 'http_auth_suppressed';
  readonly transport: 'http';
  readonly decision: 'deny';
  readonly outcome: 'reject';
  readonly code: 'REFUSALS_SUPPRESSED';
  /** The recognised key whose refusals these were; absent for refusals without one. */
  readonly key_id?: string;
  readonly reason: string;
  readonly count: number;
  /**
   * Suppressed refusals by their code (missing_token, KEY_INVALID, ...). A list, not an object
   * keyed by code: a member named `missing_token` would look secret and be redacted.
   */
  readonly codes: ReadonlyArray<{ readonly code: string; readonly count: number }>;
  readonly window_start: string;
  readonly window_end: string;
}

/**
 * Tool calls of one key refused for its call rate beyond the throttle's records per window (see
 * RefusalThrottle): counted, then recorded as one summary per window, so a key that keeps calling
 * over its cap cannot fill the disk either.
 */
export interface ToolCallSuppressedEvent {
  readonly event: 'tool_call_suppressed';
  readonly key_id: string;
  readonly decision: 'deny';
  readonly outcome: 'reject';
  readonly code: 'REFUSALS_SUPPRESSED';
  readonly reason: string;
  readonly count: number;
  readonly codes: ReadonlyArray<{ readonly code: string; readonly count: number }>;
  readonly window_start: string;
  readonly window_end: string;
}

/**
 * Written after authorization and before a side-effecting call (order, modify, cancel, unlock)
 * reaches OpenD, so a broker-side effect can never exist without a durable trace even if the
 * process dies before the call's result record. Every call still ends with one `tool_call`.
 */
export type ToolIntentEvent = Omit<ToolCallFields, 'event' | 'reason' | 'code'> & {
  readonly event: 'tool_intent';
  readonly decision: 'allow';
  readonly outcome: 'allow';
};

export interface SystemEvent {
  readonly event: 'startup' | 'reload' | 'shutdown';
  readonly outcome: 'success' | 'failure';
  readonly reason: string | null;
  readonly code: string | null;
  /** The policy set in force after the event (for a failed reload: the one kept). */
  readonly policy_version: string | null;
}

/**
 * An order whose outcome was unknown (link lost, no answer, server died mid-order), resolved by
 * looking it up at OpenD by its remark tag: placed (its value stays committed) or not placed
 * (its value is refunded).
 */
export interface OrderReconciledEvent {
  readonly event: 'order_reconciled';
  readonly key_id: string;
  readonly decision: 'allow';
  readonly outcome: 'success';
  readonly resolution: 'placed' | 'not_placed';
  readonly env: string;
  readonly acc_id: string;
  readonly symbol: string;
  readonly order_id: string | null;
  readonly client_order_id: string | null;
  /** Minor units of `currency`: kept committed (placed) or refunded (not placed). */
  readonly value: number;
  readonly currency: string;
}

/**
 * The human in the loop: a confirmation asked for (requested), answered in the client
 * (accepted / declined / timeout), answered out of band (approved / rejected, by cli or page),
 * expired, used, or presented and refused (invalid, with the reason).
 */
export interface ConfirmationAuditEvent {
  readonly event: 'confirmation';
  readonly key_id: string;
  readonly tool: string;
  readonly kind: 'requested' | 'accepted' | 'declined' | 'timeout' | 'approved' | 'rejected' | 'expired' | 'used' | 'invalid';
  readonly channel: 'elicitation' | 'out_of_band' | 'cli' | 'page';
  readonly confirmation_id: string | null;
  /** Digest of the call it binds (key, tool, arguments, account, env). */
  readonly digest: string;
  readonly reason: string | null;
  /** When the human acted (futucli) or the time ran out (expired), for steps audited after the fact. */
  readonly acted_at?: string;
  readonly decision: 'allow' | 'deny';
  readonly outcome: 'success' | 'reject';
}

/** futucli halt / resume, audited by the one server that took it from the shared queue: key_id "*" for all keys. */
export interface HaltAuditEvent {
  readonly event: 'halt' | 'resume';
  readonly key_id: string;
  readonly reason: string | null;
  /** When futucli put the halt in force or lifted it. */
  readonly acted_at: string;
  readonly decision: 'deny' | 'allow';
  readonly outcome: 'success';
}

/** An open order futucli halt --cancel-open cancelled at OpenD, for the key that placed it through futu-mcp. */
export interface HaltCancelAuditEvent {
  readonly event: 'halt_cancel';
  readonly key_id: string;
  readonly env: string;
  readonly acc_id: string;
  readonly order_id: string;
  readonly acted_at: string;
  readonly decision: 'allow';
  readonly outcome: 'success';
}

export type AuditEvent =
  | ToolCallEvent
  | ToolIntentEvent
  | HttpAuthEvent
  | HttpAuthSuppressedEvent
  | SystemEvent
  | OrderReconciledEvent
  | ToolCallSuppressedEvent
  | ConfirmationAuditEvent
  | HaltAuditEvent
  | HaltCancelAuditEvent;
export type AuditOutcome = AuditEvent['outcome'];

export interface ChainFields {
  /** ISO-8601 UTC with milliseconds. */
  readonly timestamp: string;
  /** 1 for the first record of the file, then +1 per record, across restarts and processes. */
  readonly seq: number;
  readonly iface: 'mcp';
  /** `hash` of the previous record; GENESIS_HASH for the first. */
  readonly prev_hash: string;
  /** SHA-256 (hex) of the canonical JSON of the record without `hash`. */
  readonly hash: string;
  /** The replica that wrote the record (AuditLogOptions.replica); absent in logs written without one. */
  readonly replica?: string;
}

export type AuditRecord = AuditEvent & ChainFields;

export interface AuditHead {
  readonly seq: number;
  readonly hash: string;
}
