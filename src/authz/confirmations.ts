import { MARKETS } from '../gateway/symbol.js';
import type { KeyRecord } from '../keys/types.js';
import type { Env } from './actions.js';
import { NO_GUARDS, type HumanGuards } from './builder.js';
import { resolveSecurity } from './canonical.js';
import { decisionDetails, type Decision } from './decision.js';
import { AuthzError, CONFIRMATION_CODE } from './errors.js';
import { formatMoney } from './money.js';
import {
  confirmationDigest,
  DEFAULT_APPROVAL_TTL_MS,
  describeSummary,
  haltFor,
  isConfirmationId,
  keyVersionOf,
  random128,
  type Confirmation,
  type ConfirmationSummary,
} from './humanState.js';
import type { TradeStateStore } from './tradeState.js';
import { tradeSubject, type TradeTerms } from './valuation.js';

/**
 * The human in the loop, between a call's decision and its execution. Cedar decides whether a
 * human must confirm (forbids with @code CONFIRMATION_REQUIRED, see policies/confirmation.cedar);
 * this gate only asks and checks the answer:
 * - a call carrying a confirmation_id proceeds only if a human approved exactly that call
 *   (same key and key version, same arguments, account, env; not worth more than approved),
 *   not yet used, not expired; it is used up at once;
 * - otherwise, when the client can show a form to its user (elicitation), the human is asked
 *   there and the call proceeds on accept;
 * - otherwise a pending confirmation is stored and the call is refused CONFIRMATION_REQUIRED
 *   with its id: a human approves it with futucli approve or the approval page.
 * Anything else (decline, timeout, an error) refuses the call. Nothing here can be answered by
 * the model: the only inputs that approve are the client's elicitation result and the shared
 * state a human's futucli or browser writes.
 */
export type ElicitationAnswer = 'accept' | 'decline' | 'cancel' | 'timeout';

/** What happened, for the audit log (event "confirmation"); never a secret. */
export interface ConfirmationEvent {
  readonly kind: 'requested' | 'accepted' | 'declined' | 'timeout' | 'approved' | 'rejected' | 'expired' | 'used' | 'invalid';
  readonly channel: 'elicitation' | 'out_of_band' | 'cli' | 'page';
  readonly keyId: string;
  readonly tool: string;
  readonly digest: string;
  readonly confirmationId: string | null;
  readonly reason?: string;
  /** Epoch ms the human acted or the time ran out, for steps recorded after the fact (not during a call). */
  readonly at?: number;
}

/** Reports one step of a confirmation for the call at hand (kind, channel, confirmation id, why). */
type EmitEvent = (kind: ConfirmationEvent['kind'], via: ConfirmationEvent['channel'], id: string | null, reason?: string) => Promise<void> | undefined;

/**
 * The 2026-07-28 protocol has no server-to-client request while a call runs: the form travels in
 * the call's input_required result and the human's answer comes back on the client's retry of the
 * same call, with the state the first round sealed (src/mcp/confirmationRounds.ts seals it). The
 * approval itself is a confirmation in the shared state like any other: single use, bound to the
 * call's digest, expiring.
 */
export interface ConfirmationRounds {
  /** How long the human has to answer: the pending confirmation and the sealed state expire together. */
  readonly timeoutMs: number;
  /** On a retry: what the client brought back from the first round. */
  readonly resumed?: ResumedRound;
}

/** What a first round seals into the call's request state; the retry must bring it back unaltered. */
export interface RoundState {
  readonly confirmationId: string;
  readonly keyId: string;
  /** Digest of the call's arguments (HumanChannel.argsDigest): a state is good for that call only. */
  readonly argsDigest: string;
  /** Epoch ms. */
  readonly expiresAt: number;
}

/** A retry's state as the seal let it through, with the human's answer; or why it could not be read. */
export type ResumedRound = { readonly state: RoundState; readonly answer: ElicitationAnswer } | { readonly unreadable: 'expired' | 'invalid' };

/**
 * Ends a first round: nothing was sent, and the client is to show its user `message` and call
 * again with `state` sealed as the request state. Refuses the call for every other purpose
 * (audit, idempotency records) exactly as CONFIRMATION_REQUIRED.
 */
export class ConfirmationRoundRequired extends AuthzError {
  constructor(
    readonly state: RoundState,
    readonly form: string,
    details: Readonly<Record<string, unknown>> = {},
  ) {
    super(CONFIRMATION_CODE, `waiting for the human's answer in the client (confirmation ${state.confirmationId}, until ${new Date(state.expiresAt).toISOString()})`, details);
  }
}

/**
 * A refusal of the human loop (confirmation required, declined, timed out, invalid) rests on the
 * Cedar decision that asked for a human, and carries it as every Cedar denial does: the audit
 * record names the confirmation rules, the decision log gets the call's line and the shadow set
 * its comparison.
 */
function refusedUnconfirmed(err: unknown, unconfirmed: Decision): unknown {
  if (!(err instanceof AuthzError) || err.details.decision !== undefined) return err;
  const details = { ...decisionDetails(unconfirmed), ...err.details };
  return err instanceof ConfirmationRoundRequired ? new ConfirmationRoundRequired(err.state, err.form, details) : new AuthzError(err.code, err.message, details);
}

/** How a call can reach a human, from the MCP layer. */
export interface HumanChannel {
  /** The confirmation_id the call carries, if any. */
  readonly confirmationId?: string;
  /** Digest of the call's arguments without confirmation_id and api_key. */
  readonly argsDigest: string;
  /** Shows the human the call in the client; absent when the client cannot (or the key says out_of_band). */
  readonly ask?: (summary: ConfirmationSummary) => Promise<ElicitationAnswer>;
  /** The same over 2026-07-28 requests (input_required rounds); never set together with ask. */
  readonly rounds?: ConfirmationRounds;
  /** The approval page of a confirmation, when the server has one. */
  readonly approvalUrl?: (id: string) => string | undefined;
  readonly onEvent?: (event: ConfirmationEvent) => Promise<void>;
}

/** A call a human may have to confirm, as the gate needs it. */
export interface GuardedCall {
  readonly key: KeyRecord;
  readonly tool: string;
  readonly env: Env | null;
  readonly accId: string | null;
  /** Minor units of the key's limit currency the call is worth (0 for unlock). */
  readonly value: number;
  readonly summary: Omit<ConfirmationSummary, 'reasons'>;
}

export interface HumanGateOptions {
  readonly approvalTtlMs?: number;
}

export class HumanGate {
  private readonly approvalTtlMs: number;

  constructor(
    private readonly store: TradeStateStore | undefined,
    options: HumanGateOptions = {},
  ) {
    this.approvalTtlMs = options.approvalTtlMs ?? DEFAULT_APPROVAL_TTL_MS;
  }

  /**
   * The halt in force for the key, as guards for its decision. A store that fails refuses the
   * call (its error propagates); without a store (explain, unit tests) nothing can be halted.
   */
  async haltGuards(key: KeyRecord): Promise<HumanGuards> {
    if (!this.store) return NO_GUARDS;
    const halt = haltFor(await this.store.halts(), key.id);
    return halt ? { ...NO_GUARDS, halted: true, haltReason: halt.reason || 'no reason given' } : NO_GUARDS;
  }

  /**
   * Given the decision the call gets unconfirmed: the guards to decide it with. A call denied
   * only by confirmation rules comes back confirmed once a human has said yes; every other
   * outcome is returned as it was (the caller's own decision then stands).
   */
  async confirm(call: GuardedCall, unconfirmed: Decision, guards: HumanGuards, channel: HumanChannel | undefined): Promise<HumanGuards> {
    if (unconfirmed.allowed || !onlyAsksForAHuman(unconfirmed)) return guards;
    try {
      return await this.ask(call, unconfirmed, guards, channel);
    } catch (err) {
      throw refusedUnconfirmed(err, unconfirmed);
    }
  }

  private async ask(call: GuardedCall, unconfirmed: Decision, guards: HumanGuards, channel: HumanChannel | undefined): Promise<HumanGuards> {
    const reasons = unconfirmed.determiningPolicies.map((p) => p.message);
    const digest = confirmationDigest({ keyId: call.key.id, tool: call.tool, argsDigest: channel?.argsDigest ?? '', accId: call.accId, env: call.env });
    const event: EmitEvent = (kind, via, confirmationId, reason) =>
      channel?.onEvent?.({ kind, channel: via, keyId: call.key.id, tool: call.tool, digest, confirmationId, ...(reason !== undefined && { reason }) });

    if (channel?.confirmationId !== undefined) {
      await this.useApproval(call, digest, channel.confirmationId, event);
      return { ...guards, humanConfirmed: true };
    }
    if (channel?.rounds) return { ...guards, humanConfirmed: await this.confirmInRounds(call, digest, reasons, channel.argsDigest, channel.rounds, event) };
    if (channel?.ask) {
      await event('requested', 'elicitation', null);
      const answer = await channel.ask({ ...call.summary, reasons }).catch(() => 'cancel' as const);
      await event(answer === 'accept' ? 'accepted' : answer === 'timeout' ? 'timeout' : 'declined', 'elicitation', null);
      if (answer === 'accept') return { ...guards, humanConfirmed: true };
      if (answer === 'timeout') throw new AuthzError('CONFIRMATION_TIMEOUT', 'no human answered the confirmation in time; nothing was sent');
      throw new AuthzError('CONFIRMATION_DECLINED', 'the human declined this call; nothing was sent');
    }
    throw await this.requestApproval(call, digest, reasons, channel, event);
  }

  /**
   * 2026-07-28: a first round stores a pending confirmation and ends the request with the form
   * (ConfirmationRoundRequired); the retry must bring back the sealed state of exactly this call
   * and key, and the human's yes uses the confirmation up in one step (a replayed state finds it
   * used). Resolves true on a yes; everything else refuses.
   */
  private async confirmInRounds(
    call: GuardedCall,
    digest: string,
    reasons: readonly string[],
    argsDigest: string,
    rounds: ConfirmationRounds,
    event: EmitEvent,
  ): Promise<true> {
    const { resumed } = rounds;
    if (!resumed) {
      const confirmation = await this.storePending(call, digest, reasons, rounds.timeoutMs, 'elicitation');
      await event('requested', 'elicitation', confirmation.id);
      const { id: confirmationId, keyId, expiresAt } = confirmation;
      throw new ConfirmationRoundRequired({ confirmationId, keyId, argsDigest, expiresAt }, describeSummary(confirmation.summary).join('\n'));
    }
    if ('unreadable' in resumed) {
      await event(resumed.unreadable === 'expired' ? 'timeout' : 'invalid', 'elicitation', null, `request state ${resumed.unreadable}`);
      if (resumed.unreadable === 'expired') throw roundTimedOut();
      throw new AuthzError('CONFIRMATION_INVALID', 'the confirmation state this call brought back is not one this server issued, or was altered; nothing was sent: call again without it to be asked again');
    }
    const { state, answer } = resumed;
    const id = state.confirmationId;
    const invalid = async (why: string): Promise<never> => {
      await event('invalid', 'elicitation', id, why);
      throw new AuthzError('CONFIRMATION_INVALID', `the confirmation state this call brought back ${why}; nothing was sent`);
    };
    if (state.keyId !== call.key.id) return invalid('belongs to another key');
    if (state.argsDigest !== argsDigest) return invalid('was asked for another call (other arguments): a changed call needs a new confirmation');
    if (!this.store) throw new AuthzError('STATE_STORE_UNAVAILABLE', 'trade state unavailable: a confirmation cannot be checked (denied)');
    const now = await this.store.now();
    if (now >= state.expiresAt) {
      await event('timeout', 'elicitation', id);
      throw roundTimedOut();
    }
    const found = await this.store.getConfirmation(id);
    if (!found) return invalid('names an unknown confirmation');
    const mismatch = otherCall(found, call, digest);
    if (mismatch) return invalid(mismatch);
    if (found.state === 'expired') throw roundTimedOut();
    if (found.state !== 'pending') return invalid(found.state === 'used' ? 'was already used: a confirmation is good for one call' : `was already answered (${found.state})`);
    if (answer !== 'accept') {
      await this.store.transitionConfirmation(id, 'pending', (c) => ({ ...c, state: 'rejected', answeredAt: now }));
      await event(answer === 'timeout' ? 'timeout' : 'declined', 'elicitation', id);
      throw new AuthzError('CONFIRMATION_DECLINED', 'the human declined this call; nothing was sent');
    }
    if (call.value > found.value) return invalid('was confirmed for a smaller value than the call is worth now');
    const used = await this.store.transitionConfirmation(id, 'pending', (c) => ({ ...c, state: 'used', answeredAt: now, usedAt: now }));
    if (!used?.changed) return invalid('was already used: a confirmation is good for one call');
    await event('accepted', 'elicitation', id);
    await event('used', 'elicitation', id);
    return true;
  }

  /** A pending confirmation of this call, expiring `ttlMs` from now, in the shared state. */
  private async storePending(call: GuardedCall, digest: string, reasons: readonly string[], ttlMs: number, askedVia: 'elicitation' | 'out_of_band'): Promise<Confirmation> {
    if (!this.store) throw new AuthzError('STATE_STORE_UNAVAILABLE', 'trade state unavailable: a confirmation cannot be recorded (denied)');
    const createdAt = await this.store.now();
    const confirmation: Confirmation = {
      version: 1,
      id: random128(),
      keyId: call.key.id,
      keyVersion: keyVersionOf(call.key),
      tool: call.tool,
      digest,
      value: call.value,
      currency: call.key.limits.limit_currency,
      summary: { ...call.summary, reasons },
      state: 'pending',
      createdAt,
      expiresAt: createdAt + ttlMs,
      askedVia,
      pageToken: random128(),
    };
    await this.store.createConfirmation(confirmation);
    return confirmation;
  }

  /** Stores a pending confirmation and builds the CONFIRMATION_REQUIRED refusal that names it. */
  private async requestApproval(
    call: GuardedCall,
    digest: string,
    reasons: readonly string[],
    channel: HumanChannel | undefined,
    event: EmitEvent,
  ): Promise<AuthzError> {
    const confirmation = await this.storePending(call, digest, reasons, this.approvalTtlMs, 'out_of_band');
    await event('requested', 'out_of_band', confirmation.id);
    const expiresAt = new Date(confirmation.expiresAt).toISOString();
    const url = channel?.approvalUrl?.(confirmation.id);
    const where = url ? `futucli approve ${confirmation.id}, or open ${url}` : `futucli approve ${confirmation.id}`;
    return new AuthzError(
      CONFIRMATION_CODE,
      `${reasons[0] ?? 'a human must confirm this call'}. Ask the human to approve confirmation_id ${confirmation.id} (${where}) before ${expiresAt}, then repeat exactly this call with confirmation_id "${confirmation.id}"`,
      { confirmation_id: confirmation.id, expires_at: expiresAt, ...(url !== undefined && { approval_url: url }) },
    );
  }

  /** Checks and uses up an approval; any mismatch refuses with CONFIRMATION_INVALID saying which. */
  private async useApproval(
    call: GuardedCall,
    digest: string,
    id: string,
    event: EmitEvent,
  ): Promise<void> {
    const invalid = async (why: string): Promise<never> => {
      await event('invalid', 'out_of_band', id, why);
      throw new AuthzError('CONFIRMATION_INVALID', `confirmation_id ${id} ${why}; nothing was sent`);
    };
    if (!this.store) throw new AuthzError('STATE_STORE_UNAVAILABLE', 'trade state unavailable: a confirmation cannot be checked (denied)');
    if (!isConfirmationId(id)) return invalid('is not one: a confirmation_id is the 32 hex digits a CONFIRMATION_REQUIRED refusal gave');
    const found = await this.store.getConfirmation(id);
    if (!found) return invalid('is unknown');
    const mismatch = otherCall(found, call, digest);
    if (mismatch) return invalid(`${mismatch}; call again without confirmation_id`);
    const now = await this.store.now();
    // The human's answer itself was audited when given (approval page, or futucli via the queue of human events).
    if (found.state === 'rejected') return invalid('was rejected by a human');
    if (found.state === 'used') return invalid('was already used: an approval is good for one call');
    const expired = `expired at ${new Date(found.expiresAt).toISOString()}`;
    if (found.state === 'expired') return invalid(expired);
    if (now >= found.expiresAt) {
      // Whoever moves it to expired first (this call, or a server's sweep) audits the expiry, once.
      const moved = await this.store.transitionConfirmation(id, found.state, (c) => ({ ...c, state: 'expired' }));
      if (moved?.changed) await event('expired', found.askedVia ?? 'out_of_band', id);
      return invalid(expired);
    }
    if (found.state === 'pending') return invalid('is not approved (yet): a human must approve it first with futucli approve or the approval page');
    if (call.value > found.value) return invalid('was approved for a smaller value than the call is worth now');
    const used = await this.store.transitionConfirmation(id, 'approved', (c) => ({ ...c, state: 'used', usedAt: now }));
    if (!used?.changed) return invalid(used?.current.state === 'expired' ? expired : 'was already used: an approval is good for one call');
    await event('used', 'out_of_band', id);
  }
}

/** A 2026-07-28 confirmation the human did not answer within its time. */
function roundTimedOut(): AuthzError {
  return new AuthzError('CONFIRMATION_TIMEOUT', 'the human did not answer the confirmation in time; nothing was sent: call again to be asked again');
}

/**
 * Moves every confirmation whose time ran out (by the store's clock) to expired and hands each one
 * this call moved to `audit`: of servers sweeping the same state, exactly one audits an expiry.
 */
export async function expireDueConfirmations(store: TradeStateStore, audit: (expired: Confirmation) => Promise<void>): Promise<number> {
  let expired = 0;
  for (const due of await store.confirmationsDue()) {
    const moved = await store.transitionConfirmation(due.id, due.state, (c) => ({ ...c, state: 'expired' }));
    if (!moved?.changed) continue;
    expired++;
    await audit(moved.current);
  }
  return expired;
}

/** Why a stored confirmation is not for this call (another key, call or key version), if it is not. */
function otherCall(found: Confirmation, call: GuardedCall, digest: string): string | undefined {
  if (found.keyId !== call.key.id) return 'belongs to another key';
  if (found.tool !== call.tool || found.digest !== digest) return 'was asked for another call (other tool, arguments, account or env): a changed call needs a new approval';
  if (found.keyVersion !== keyVersionOf(call.key)) return 'was asked before the key changed (reloaded)';
  return undefined;
}

/** Denied by confirmation rules alone: a human's yes would allow it. */
export function onlyAsksForAHuman(decision: Decision): boolean {
  return !decision.allowed && decision.determiningPolicies.length > 0 && decision.determiningPolicies.every((p) => p.code === CONFIRMATION_CODE);
}

/** A trade in plain words for the human asked to confirm it. */
export function tradeSummary(terms: TradeTerms, context: { keyId: string; env: Env; accId: string; value: number; limitCurrency: string }): Omit<ConfirmationSummary, 'reasons'> {
  const { symbol, side } = tradeSubject(terms);
  const currency = MARKETS[resolveSecurity(symbol).market].currency;
  const limitValue = formatMoney(context.value, context.limitCurrency);
  let order: string;
  let local: string | null = null;
  switch (terms.action) {
    case 'futu_place_order': {
      const at = terms.orderType === 'MARKET' || terms.price === undefined ? 'MARKET' : `${terms.price} ${currency} (LIMIT)`;
      order = `${side} ${terms.qty} ${symbol} @ ${at}`;
      if (terms.price !== undefined) local = formatMoney(Math.round(terms.qty * terms.price * 100), currency);
      break;
    }
    case 'futu_modify_order': {
      const qty = terms.qty ?? terms.existing.qty;
      const price = terms.price ?? terms.existing.price;
      order = `modify order ${terms.existing.orderId ?? '?'} (${side} ${symbol}) to ${qty} @ ${price === undefined || price <= 0 ? 'MARKET' : `${price} ${currency}`}`;
      if (price !== undefined && price > 0) local = formatMoney(Math.round(qty * price * 100), currency);
      break;
    }
    case 'futu_cancel_order':
      order = `cancel order ${terms.existing.orderId ?? '?'} (${side} ${terms.existing.qty} ${symbol})`;
      break;
  }
  const sameCurrency = local !== null && currency === context.limitCurrency;
  return {
    tool: terms.action,
    keyId: context.keyId,
    env: context.env,
    accId: context.accId,
    order,
    value: local ?? limitValue,
    limitValue: sameCurrency ? null : limitValue,
  };
}
