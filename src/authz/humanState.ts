import { createHash, randomBytes } from 'node:crypto';
import type { Env } from './actions.js';

/**
 * What the human-in-the-loop keeps in the shared trade state (TradeStateStore): confirmations a
 * human must give before a call proceeds, and halts (the kill switch). Every server and futucli
 * sharing the state sees the same records, so an approval given in one place is used in another
 * and a halt stops every server at its next trade decision, without a signal.
 */

/**
 * - pending: asked, not answered yet (expired once expiresAt has passed);
 * - approved / rejected: a human answered (futucli approve|reject, the approval page);
 * - used: an approved confirmation the call it was for has consumed (single use);
 * - expired: pending or approved, and its time ran out before it was used (set by whoever saw it
 *   first: a server's sweep or the call that presented it, so the expiry is audited once).
 */
export type ConfirmationState = 'pending' | 'approved' | 'rejected' | 'used' | 'expired';
export type ConfirmationAnswerChannel = 'cli' | 'page';

/** The order in plain words, as the human is shown it: no secret, nothing the key may not see. */
export interface ConfirmationSummary {
  readonly tool: string;
  readonly keyId: string;
  readonly env: Env | null;
  readonly accId: string | null;
  /** e.g. "BUY 100 HK.00700 @ 350 HKD (LIMIT)", "cancel order 123", "unlock real trading". */
  readonly order: string;
  /** e.g. "HKD 35,000.00"; null for calls that carry no value (unlock). */
  readonly value: string | null;
  /** The value in the key's limit currency when that differs from the security's. */
  readonly limitValue: string | null;
  /** The confirmation rules that asked, as their @message renders them. */
  readonly reasons: readonly string[];
}

export interface Confirmation {
  readonly version: 1;
  /** 128-bit random, 32 hex digits: unguessable, so the id itself is what the approval page needs. */
  readonly id: string;
  readonly keyId: string;
  /** Fingerprint of the key record as it was when asked: a reload that changes the key voids the approval. */
  readonly keyVersion: string;
  readonly tool: string;
  /** Digest of (key id, tool, canonical arguments, account, env): another call is another approval. */
  readonly digest: string;
  /** Minor units of `currency` the human approved; the call may not be worth more when it runs. */
  readonly value: number;
  readonly currency: string;
  readonly summary: ConfirmationSummary;
  readonly state: ConfirmationState;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly answeredAt?: number;
  readonly answeredBy?: ConfirmationAnswerChannel;
  readonly usedAt?: number;
  /** How the human was asked: the client's form (2026-07-28 rounds) or out of band; absent on records written before it was kept. */
  readonly askedVia?: 'elicitation' | 'out_of_band';
  /** One-time token the approval page's form must post back (CSRF). */
  readonly pageToken: string;
}

/**
 * What a human did outside any server (futucli approve / reject / halt [--cancel-open] / resume), queued in the
 * shared state until a server writes it to its audit log: a human's act is audited even when no
 * call ever looks at it again, and even when it is undone within a second.
 */
export type HumanEvent =
  | {
      readonly kind: 'approved' | 'rejected';
      readonly at: number;
      readonly confirmationId: string;
      readonly keyId: string;
      readonly tool: string;
      readonly digest: string;
    }
  | { readonly kind: 'halt'; readonly at: number; readonly keyId: string | null; readonly reason: string }
  | { readonly kind: 'resume'; readonly at: number; readonly keyId: string | null }
  /** An open order of a key that futucli halt --cancel-open cancelled at OpenD. */
  | { readonly kind: 'cancelled'; readonly at: number; readonly keyId: string; readonly env: string; readonly accId: string; readonly orderId: string };

/** futucli halt: new risk stops for one key, or for all keys (keyId null). */
export interface Halt {
  readonly keyId: string | null;
  readonly reason: string;
  readonly since: number;
}

export const DEFAULT_APPROVAL_TTL_MS = 5 * 60_000;
/** How long a confirmation is kept past its lifetime: a late call with its id is told why it is refused. */
export const CONFIRMATION_RETENTION_MS = 24 * 60 * 60 * 1000;

/** Still waiting to be answered or used: the states a confirmation can expire from. */
export function isOpenConfirmation(c: Confirmation): boolean {
  return c.state === 'pending' || c.state === 'approved';
}
export const DEFAULT_ELICITATION_TIMEOUT_MS = 120_000;

/** 128 random bits as 32 hex digits: a confirmation's id, and its approval page's form token. */
export function random128(): string {
  return randomBytes(16).toString('hex');
}

export function isConfirmationId(id: string): boolean {
  return /^[0-9a-f]{32}$/.test(id);
}

/**
 * The call a confirmation is for: key, tool, the full digest of its canonical arguments (without
 * confirmation_id and api_key), account and env. Another call is another approval.
 */
export function confirmationDigest(call: { keyId: string; tool: string; argsDigest: string; accId: string | null; env: Env | null }): string {
  return createHash('sha256').update(['futu-mcp:confirmation:v1', call.keyId, call.tool, call.argsDigest, call.accId ?? '', call.env ?? ''].join('\0')).digest('hex');
}

/** A one-way fingerprint of a key record: changes whenever the record does (scopes, limits, secret). */
export function keyVersionOf(record: object): string {
  return createHash('sha256').update(`futu-mcp:key-version:v1\0${JSON.stringify(record)}`).digest('hex').slice(0, 32);
}

/** The halt in force for a key: its own, else the one for all keys. */
export function haltFor(halts: readonly Halt[], keyId: string): Halt | undefined {
  return halts.find((h) => h.keyId === keyId) ?? halts.find((h) => h.keyId === null);
}

/** The call in plain words, one fact per line: what the elicitation form, futucli approve and the approval page show. */
export function describeSummary(summary: ConfirmationSummary): string[] {
  const where = summary.accId === null ? (summary.env === null ? '' : ` (${summary.env})`) : ` in ${summary.env} account ${summary.accId}`;
  return [
    `Key ${summary.keyId} wants to: ${summary.order}${where}`,
    ...(summary.value === null ? [] : [`Value: ${summary.value}${summary.limitValue === null ? '' : ` (${summary.limitValue} in the key's limit currency)`}`]),
    ...summary.reasons.map((reason) => `Asked by policy: ${reason}`),
  ];
}

const CONFIRMATION_STATES = new Set(['pending', 'approved', 'rejected', 'used', 'expired']);

/** A stored confirmation (any TradeStateStore), checked field by field: a malformed one is never acted on. */
export function parseConfirmation(text: string, id: string): Confirmation {
  const c = JSON.parse(text) as Partial<Confirmation>;
  const ok =
    c.version === 1 &&
    c.id === id &&
    typeof c.keyId === 'string' &&
    typeof c.keyVersion === 'string' &&
    typeof c.tool === 'string' &&
    typeof c.digest === 'string' &&
    Number.isSafeInteger(c.value) &&
    typeof c.currency === 'string' &&
    typeof c.summary === 'object' &&
    c.summary !== null &&
    CONFIRMATION_STATES.has(c.state as string) &&
    Number.isSafeInteger(c.createdAt) &&
    Number.isSafeInteger(c.expiresAt) &&
    typeof c.pageToken === 'string';
  if (!ok) throw new Error('confirmation record is malformed');
  return c as Confirmation;
}

/** A stored halt (any TradeStateStore). */
export function parseHalt(h: Partial<Halt>): Halt {
  if ((h.keyId !== null && typeof h.keyId !== 'string') || typeof h.reason !== 'string' || !Number.isSafeInteger(h.since)) throw new Error('halt record is malformed');
  return { keyId: h.keyId, reason: h.reason, since: h.since as number };
}

/** A queued HumanEvent (any TradeStateStore), checked field by field. */
export function parseHumanEvent(text: string): HumanEvent {
  const e = JSON.parse(text) as Record<string, unknown>;
  const keyIdOk = e.keyId === null || typeof e.keyId === 'string';
  const ok =
    Number.isSafeInteger(e.at) &&
    (e.kind === 'approved' || e.kind === 'rejected'
      ? typeof e.confirmationId === 'string' && isConfirmationId(e.confirmationId) && typeof e.keyId === 'string' && typeof e.tool === 'string' && typeof e.digest === 'string'
      : e.kind === 'halt'
        ? keyIdOk && typeof e.reason === 'string'
        : e.kind === 'cancelled'
          ? typeof e.keyId === 'string' && typeof e.env === 'string' && typeof e.accId === 'string' && typeof e.orderId === 'string'
          : e.kind === 'resume' && keyIdOk);
  if (!ok) throw new Error('human event record is malformed');
  return e as unknown as HumanEvent;
}
