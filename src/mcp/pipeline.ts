import { isActionName, type ActionName } from '../authz/actions.js';
import type { Authorizer } from '../authz/authorizer.js';
import type { Caller } from '../authz/builder.js';
import { CallRateWindows } from '../authz/callRate.js';
import { decisionError, type Decision } from '../authz/decision.js';
import { AuthzError } from '../authz/errors.js';
import { keyMayUseAccount } from '../authz/principal.js';
import type { AuthzEngine } from '../authz/engine.js';
import { argumentsDigest, hashArguments } from '../audit/argsHash.js';
import { ConfirmationRoundRequired, type ConfirmationEvent, type HumanChannel } from '../authz/confirmations.js';
import { DEFAULT_ELICITATION_TIMEOUT_MS, describeSummary, type Confirmation, type HumanEvent } from '../authz/humanState.js';
import type { AuditLog } from '../audit/auditLog.js';
import { INVALID_KEY_ID, MISSING_KEY_ID, type ShadowRecord, type ToolCallEvent } from '../audit/types.js';
import type { DecisionLog } from '../authz/decisionLog.js';
import type { AccountDirectory } from '../gateway/accounts.js';
import type { FutuGateway } from '../gateway/api.js';
import type { KeyStore } from '../keys/store.js';
import type { KeyRecord, Scope } from '../keys/types.js';
import { describeError, FutuError, isFutuError } from '../shared/errors.js';
import { log, type Log } from '../shared/log.js';
import { callRateCap, callScope, checkCallGates, tradeInput } from './callDecision.js';
import type { HttpRefusal } from './http.js';
import { classifyPushFilterReason, type Metrics, type PushFilterReason } from './metrics.js';
import { DEFAULT_REFUSAL_THROTTLE, RefusalThrottles, type SuppressedRefusals } from './refusalThrottle.js';
import { withStartupKeyFix } from './startupKey.js';
import { callLog, type CallContext, type CallHandler, type CallOutcome, type ToolFailure } from './server.js';
import type { AnyFutuTool, AuthorizedTrade, AuthzPlan, ToolContext } from './tools/kit.js';
import type { ExistingOrder } from '../authz/valuation.js';

type AuthzPlanTerms = AuthorizedTrade['terms'];

/**
 * One tool call, end to end: resolve the key → build the Cedar request → authorize (and for
 * trades reserve limits) → execute on the gateway → commit or release → audit → metrics.
 *
 * Fail closed everywhere: a key, authorization, ledger or audit error denies the call. Side
 * effects (orders, unlock) are preceded by a durable audit record of the authorized intent, so an
 * order can never exist without a trace; every call then ends with exactly one result record.
 */
export interface PipelineDeps {
  readonly tools: readonly AnyFutuTool[];
  readonly keys: KeyStore;
  readonly engine: AuthzEngine;
  readonly authorizer: Authorizer;
  readonly gateway: FutuGateway;
  readonly accounts: AccountDirectory;
  readonly metrics: Metrics;
  /** Absent when the operator did not pass --audit-log. */
  readonly audit?: AuditLog;
  /** --decision-log: the Cedar request and decision of every call Cedar decided, for replay. */
  readonly decisionLog?: DecisionLog;
  /** FUTU_MCP_API_KEY / --api-key: the key of last resort (stdio clients send no header). */
  readonly startupKey?: string;
  /** MD5 of the trade password, read from the environment or keychain when an unlock needs it. */
  readonly tradePasswordMd5: () => Promise<string>;
  readonly now?: () => Date;
  /** How long the human has to answer an elicitation form (default 120 s). */
  readonly confirmationTimeoutMs?: number;
  /** The approval page of a confirmation, when this server serves one (HTTP). */
  readonly approvalUrl?: (confirmationId: string) => string | undefined;
}

/** Everything the result record needs, gathered as the call progresses. */
interface CallTrace {
  readonly tool: string;
  readonly startedAt: number;
  readonly args_hash: string;
  readonly context: CallContext;
  scope: Scope | null;
  keyId: string;
  /** From the decision (allowed calls) or the denial's details (refused ones). */
  policies: readonly string[];
  policyVersion: string | null;
  /** For the metric: the limit policy whose rule a gate applied, as no policy was evaluated. */
  limit?: string;
  /** Set once the gateway was asked to act: failures after this point are failures, not rejects. */
  executing: boolean;
  /** The result is an earlier call's, replayed for its client_order_id. */
  replay: boolean;
  /** Cedar's decision of the call, once made (not for refusals before or outside Cedar). */
  decision?: Decision;
  /** The key the call presented (its api_key, the bearer or the startup key) did not authenticate. */
  keyRefused: boolean;
}

const SENSITIVE_ARGUMENTS = ['api_key'] as const;

/** The policy (policies/limits.cedar) whose rule the call-rate gate applies. */
const CALL_RATE_POLICY = 'call-rate-limit';

/**
 * Failures of the machinery rather than refusals of the caller: when one happens before the call
 * ran, the record is deny + failure, and it is not counted as an authorization reject (an OpenD
 * outage must not look like a wave of refused keys).
 */
const OPERATIONAL_CODES: ReadonlySet<string> = new Set([
  'GATEWAY_NOT_CONNECTED',
  'GATEWAY_TIMEOUT',
  'OPEND_ERROR',
  'PROTOCOL_ERROR',
  'AUDIT_WRITE_FAILED',
  'INTERNAL_ERROR',
]);

export class CallPipeline {
  private readonly tools: ReadonlyMap<string, AnyFutuTool>;
  private readonly now: () => Date;
  private readonly httpRefusals: RefusalThrottles;
  /** Calls refused for the key's call rate: audited like HTTP refusals, at most 20 a minute per key. */
  private readonly callRateRefusals: RefusalThrottles;
  /**
   * Calls whose presented key did not authenticate (an unknown, revoked or expired `api_key`
   * argument, a bad startup key): no key's call rate can bound them, so their records are
   * throttled per key id like HTTP refusals.
   */
  private readonly keyRefusals: RefusalThrottles;
  private readonly callRates = new CallRateWindows();

  constructor(private readonly deps: PipelineDeps) {
    this.tools = new Map(deps.tools.map((tool) => [tool.name, tool]));
    this.now = deps.now ?? (() => new Date());
    this.httpRefusals = new RefusalThrottles({
      ...DEFAULT_REFUSAL_THROTTLE,
      onSuppressed: (summary, keyId) =>
        void this.auditSuppressed('http_auth_suppressed', summary, keyId, `HTTP refusals ${keyId === undefined ? 'without a recognised key' : `of key ${keyId}`}`),
    });
    this.callRateRefusals = new RefusalThrottles({
      ...DEFAULT_REFUSAL_THROTTLE,
      onSuppressed: (summary, keyId) => void this.auditSuppressed('tool_call_suppressed', summary, keyId, `calls of key ${keyId} over its call rate`),
    });
    this.keyRefusals = new RefusalThrottles({
      ...DEFAULT_REFUSAL_THROTTLE,
      onSuppressed: (summary, keyId) => void this.auditSuppressed('tool_call_suppressed', summary, keyId, `calls refused for their API key (${keyId})`),
    });
  }

  /** Records what the refusal throttles still hold; call before the audit log's last record. */
  flushRefusals(): void {
    this.httpRefusals.flush();
    this.callRateRefusals.flush();
    this.keyRefusals.flush();
  }

  /** Drops the call-rate windows of keys a reload removed. */
  retainKeys(exists: (keyId: string) => boolean): void {
    this.callRates.retain(exists);
  }

  readonly handleCall: CallHandler = async (toolName, args, context) => {
    const tool = this.tools.get(toolName);
    const trace = this.startTrace(toolName, args, context);
    if (context.signal.aborted) return this.finish(trace, { error: failureOf(cancelled()) });
    if (!tool || !isActionName(toolName)) {
      return this.finish(trace, { error: { code: 'UNKNOWN_TOOL', message: `unknown MCP tool ${JSON.stringify(toolName)}` } });
    }
    try {
      trace.scope = callScope(toolName, args);
      const now = this.now();
      const key = this.resolvePresentedKey(trace, args, context, now.getTime());
      trace.keyId = key.id;
      this.takeCall(key, now);
      checkCallGates(key, trace.scope, args, this.deps.engine.version);
      const toolArgs = withoutSecrets(args);
      const toolContext = this.toolContext(context.signal, key);
      const plan = await tool.authz(toolArgs, toolContext);
      // Built only for trades and unlocks: reads never reach a human, and its digest hashes the arguments.
      const human = () => this.humanChannel(context, key, toolArgs);
      const structured = await this.authorizeAndExecute(trace, { key, now, machineBound: true, withinCallRate: true }, toolName, plan, toolArgs, human, (orderTag, authorized = plan) => {
        trace.executing = true;
        return tool.execute(toolArgs, { ...toolContext, authorized, orderTag });
      });
      return await this.finish(trace, { structured: structured as Record<string, unknown> });
    } catch (err) {
      if (trace.keyId === MISSING_KEY_ID) trace.keyId = keyIdOfFailure(err);
      recordDenial(trace, err);
      const outcome = await this.finish(trace, { error: withStartupKeyFix(failureOf(err, this.traceLog(trace)), context.transport, args.api_key) });
      // Recorded as the refusal it is until the human answers; the client is handed the form.
      if (err instanceof ConfirmationRoundRequired && 'error' in outcome && outcome.error.code === err.code) return { confirmationRound: { state: err.state, form: err.form } };
      return outcome;
    }
  };

  /**
   * The key behind a transport context as it is now (bearer token, else the startup key): the
   * owner of a resource subscription. Resources take no api_key argument.
   */
  keyOf(context: CallContext): KeyRecord {
    return this.resolveKey({}, context, this.now().getTime());
  }

  /**
   * The re-check of one resource push at dispatch: whether `key`, as the key store has it now
   * (revoked, expired, narrowed by a reload), may still make the read `toolName` with `args`
   * makes: the same gates, plan and Cedar decision as the call, but nothing runs, nothing is
   * audited and the call rate is not charged. Undefined when allowed, else why not (fail
   * closed: any error is a reason).
   */
  async pushDenial(key: KeyRecord, toolName: string, args: Record<string, unknown>): Promise<PushFilterReason | undefined> {
    const tool = this.tools.get(toolName);
    if (!tool || !isActionName(toolName)) return 'other';
    const now = this.now();
    try {
      const current = this.deps.keys.refresh(key, now.getTime());
      checkCallGates(current, callScope(toolName, args), args, this.deps.engine.version);
      const plan = await tool.authz(args, this.toolContext(NEVER_ABORTED, current));
      if (plan.kind !== 'call') return 'other';
      const decision = this.deps.authorizer.authorizeCall({ key: current, now, machineBound: true, withinCallRate: true, action: plan.action, target: plan.target });
      return decision.allowed ? undefined : classifyPushFilterReason(decision.code, decision.determiningPolicies[0]?.id);
    } catch (err) {
      const limit = isFutuError(err) && typeof err.details.limit === 'string' ? err.details.limit : undefined;
      return classifyPushFilterReason(isFutuError(err) ? err.code : 'INTERNAL_ERROR', limit);
    }
  }

  /**
   * Calls the MCP layer refused before they reached handleCall (unknown tool, invalid arguments).
   * They count towards the key's call rate like any call, and one over it is refused as such.
   */
  readonly onRefused = async (toolName: string, failure: ToolFailure, context: CallContext, argumentKey: string | undefined): Promise<ToolFailure> => {
    const trace = this.startTrace(toolName, {}, context);
    const caller = this.identify(context, argumentKey);
    trace.keyId = caller.keyId;
    trace.keyRefused = caller.key === undefined;
    let refusal = failure;
    if (caller.key !== undefined) {
      try {
        this.takeCall(caller.key, this.now());
      } catch (err) {
        recordDenial(trace, err);
        refusal = failureOf(err);
      }
    }
    const outcome = await this.finish(trace, { error: refusal });
    return 'error' in outcome ? outcome.error : refusal;
  };

  /**
   * A 401/403 from the HTTP transport: counted like any refused call, and audited, except that
   * refusals are throttled per key id, and those without a recognised key together (see RefusalThrottle).
   */
  readonly onHttpRefused = async (refusal: HttpRefusal): Promise<void> => {
    const keyId = refusal.keyId ?? (refusal.code === 'missing_token' ? MISSING_KEY_ID : INVALID_KEY_ID);
    this.deps.metrics.authEvent('mcp', 'reject', keyId);
    if (!this.httpRefusals.admit(refusal.keyId, refusal.code)) return;
    await this.deps.audit?.append({
      event: 'http_auth',
      transport: 'http',
      key_id: keyId,
      decision: 'deny',
      outcome: 'reject',
      reason: refusal.reason,
      code: refusal.code,
      session_id: refusal.sessionId,
    });
  };

  /** One summary record of a throttle window; `refusals` says what was refused, e.g. `HTTP refusals of key x`. */
  private async auditSuppressed(event: 'http_auth_suppressed' | 'tool_call_suppressed', summary: SuppressedRefusals, keyId: string | undefined, refusals: string): Promise<void> {
    const codes = Object.entries(summary.codes)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([code, count]) => ({ code, count }));
    const counted = {
      decision: 'deny',
      outcome: 'reject',
      code: 'REFUSALS_SUPPRESSED',
      count: summary.count,
      codes,
      window_start: summary.windowStart.toISOString(),
      window_end: summary.windowEnd.toISOString(),
    } as const;
    const reason = `${summary.count} more ${refusals} (${codes.map((c) => `${c.count} ${c.code}`).join(', ')}) were counted, not recorded one by one`;
    try {
      if (event === 'http_auth_suppressed') {
        await this.deps.audit?.append({
          event,
          transport: 'http',
          ...counted,
          ...(keyId === undefined ? {} : { key_id: keyId }),
          reason,
        });
      } else {
        await this.deps.audit?.append({ event, ...counted, key_id: keyId ?? INVALID_KEY_ID, reason });
      }
    } catch (err) {
      log.error('could not audit the suppressed refusals', { count: summary.count, error: describeError(err) });
    }
  }

  private traceLog(trace: CallTrace): Log {
    return callLog(trace.context, { key_id: trace.keyId, tool: trace.tool });
  }

  private startTrace(tool: string, args: Record<string, unknown>, context: CallContext): CallTrace {
    return {
      tool,
      startedAt: performance.now(),
      args_hash: hashArguments(args),
      context,
      scope: null,
      keyId: MISSING_KEY_ID,
      policies: [],
      policyVersion: null,
      executing: false,
      keyRefused: false,
      replay: false,
    };
  }

  /**
   * Key precedence: the call's `api_key`, then the HTTP bearer token, then the startup key. A key
   * that is present but invalid is refused; it never falls back to a lower-precedence one.
   */
  /** resolveKey for a call: a key that does not authenticate marks the trace (its refusal is throttled). */
  private resolvePresentedKey(trace: CallTrace, args: Record<string, unknown>, context: CallContext, now: number): KeyRecord {
    try {
      return this.resolveKey(args, context, now);
    } catch (err) {
      trace.keyRefused = true;
      throw err;
    }
  }

  private resolveKey(args: Record<string, unknown>, context: CallContext, now: number): KeyRecord {
    const presented = presentedKey(args, context, this.deps.startupKey) ?? '';
    if (context.bearerKey !== undefined && presented === context.bearerToken) return this.deps.keys.reauthenticate(presented, context.bearerKey, now);
    return this.deps.keys.authenticate(presented, now);
  }

  /** The key id for the audit of a refused call, without letting a bad key change the refusal. */
  private identify(context: CallContext, argumentKey: string | undefined): { keyId: string; key?: KeyRecord } {
    const presented = presentedKey({ api_key: argumentKey }, context, this.deps.startupKey);
    if (presented === undefined) return { keyId: MISSING_KEY_ID };
    try {
      const key = this.deps.keys.authenticate(presented, this.now().getTime());
      return { keyId: key.id, key };
    } catch (err) {
      return { keyId: keyIdOfFailure(err) };
    }
  }

  /**
   * Counts the call against the key's max_calls_per_minute, or refuses it. Deny-only and ahead of
   * everything else a call costs (the plan's OpenD reads, Cedar, an audit record beyond the
   * throttle's 20 a minute); Cedar's `call-rate-limit` forbid is the rule, with the same code and
   * text, fed the same count as withinCallRate.
   */
  private takeCall(key: KeyRecord, now: Date): void {
    const cap = callRateCap(key);
    const verdict = this.callRates.take(key.id, cap, now.getTime());
    if (verdict.within) return;
    throw new AuthzError('LIMIT_EXCEEDED', `limit check failed: call rate limit (more than ${cap} calls in 60s)`, {
      policy_version: this.deps.engine.version,
      policies: [],
      limit: CALL_RATE_POLICY,
      retry_after_seconds: verdict.retryAfterSeconds,
    });
  }

  private toolContext(signal: AbortSignal, key: KeyRecord): ToolContext {
    const { gateway, accounts, tradePasswordMd5 } = this.deps;
    return {
      gateway,
      accounts,
      signal,
      keyId: key.id,
      tradePasswordMd5,
      accountAllowed: (accId) => keyMayUseAccount(key, accId),
      ownLimits: () => this.deps.authorizer.ownLimits(key, this.now()),
    };
  }

  private async authorizeAndExecute(
    trace: CallTrace,
    caller: Caller,
    action: ActionName,
    plan: AuthzPlan,
    args: Record<string, unknown>,
    humanChannel: () => HumanChannel,
    execute: (orderTag?: string, authorized?: AuthzPlan) => Promise<unknown>,
  ): Promise<unknown> {
    const { authorizer, metrics } = this.deps;
    const authzStarted = performance.now();
    if (plan.kind === 'call') {
      const decision = authorizer.authorizeCall({ ...caller, action: plan.action, target: plan.target });
      metrics.authzDuration((performance.now() - authzStarted) / 1000);
      if (!decision.allowed) throw decisionError(decision);
      recordDecision(trace, decision);
      return untilCancelled(execute(), trace.context.signal);
    }
    let timed = false;
    const decided = (): void => {
      if (timed) return;
      timed = true;
      metrics.authzDuration((performance.now() - authzStarted) / 1000);
    };
    /** Side effects: the authorized intent is durable before OpenD is asked. */
    const beforeSend = async (decision: Decision) => {
      decided();
      recordDecision(trace, decision);
      await this.auditIntent(trace);
    };
    const human = humanChannel();
    switch (plan.kind) {
      case 'trade': {
        const run = await authorizer
          .runTrade(
            tradeInput(caller, plan),
            {
              admitted: (work) => this.deps.gateway.withWriteAdmission(plan.terms.action === 'futu_place_order' ? 'place' : 'modify', plan.account, work),
              beforeSend,
              send: ({ tag, terms }) => execute(tag, terms && { ...plan, terms: terms as AuthorizedTrade['terms'] }),
            },
            {
              signal: trace.context.signal,
              clientOrderId: typeof args.client_order_id === 'string' ? args.client_order_id : undefined,
              argsDigest: human.argsDigest,
              orderIdOf: (result) => String((result as { order_id?: unknown }).order_id ?? ''),
              settledOrder: (result) => settledOrder(plan.terms, result),
              human,
            },
          )
          .finally(decided);
        if (!run.replay) return run.result;
        trace.replay = true;
        return { ...(run.result as Record<string, unknown>), replay: true };
      }
      case 'unlock':
        return (await authorizer.runUnlock({ ...caller, unlocking: plan.unlocking }, { beforeSend, send: () => execute() }, human).finally(decided)).result;
    }
    const unreachable: never = plan;
    throw new Error(`unhandled authorization plan for ${action}: ${JSON.stringify(unreachable)}`);
  }

  /**
   * How this call reaches a human if a confirmation rule asks for one: its confirmation_id, the
   * client's form (unless the key says out_of_band), the approval page, and the audit log.
   */
  private humanChannel(context: CallContext, key: KeyRecord, args: Record<string, unknown>): HumanChannel {
    const { confirmation_id: confirmationId, ...call } = args;
    const timeoutMs = this.deps.confirmationTimeoutMs ?? DEFAULT_ELICITATION_TIMEOUT_MS;
    const ask = context.askHuman;
    const inClient = key.confirmation_channel !== 'out_of_band';
    return {
      ...(typeof confirmationId === 'string' && { confirmationId }),
      argsDigest: argumentsDigest(call),
      ...(ask && inClient && { ask: (summary) => ask(describeSummary(summary).join('\n'), timeoutMs) }),
      ...(context.confirmationRounds && inClient && { rounds: { timeoutMs, ...context.confirmationRounds } }),
      ...(this.deps.approvalUrl && { approvalUrl: this.deps.approvalUrl }),
      onEvent: (event) => this.auditConfirmation(event),
    };
  }

  /** A human answered a confirmation on the approval page. */
  async auditPageAnswer(confirmation: Confirmation): Promise<void> {
    await this.auditConfirmation({
      kind: confirmation.state === 'approved' ? 'approved' : 'rejected',
      channel: 'page',
      keyId: confirmation.keyId,
      tool: confirmation.tool,
      digest: confirmation.digest,
      confirmationId: confirmation.id,
    });
  }

  /**
   * What a human did outside any call (futucli approve / reject / halt [--cancel-open] / resume), from the queue
   * in the shared state: durable in the audit log before the queue forgets it.
   */
  async auditHumanEvent(event: HumanEvent): Promise<void> {
    const actedAt = new Date(event.at).toISOString();
    if (event.kind === 'approved' || event.kind === 'rejected') {
      const { kind, keyId, tool, digest, confirmationId, at } = event;
      return this.auditConfirmation({ kind, channel: 'cli', keyId, tool, digest, confirmationId, at });
    }
    const halt = event.kind === 'halt';
    const record =
      event.kind === 'cancelled'
        ? ({ event: 'halt_cancel', key_id: event.keyId, env: event.env, acc_id: event.accId, order_id: event.orderId, acted_at: actedAt, decision: 'allow', outcome: 'success' } as const)
        : ({ event: event.kind, key_id: event.keyId ?? '*', reason: halt ? event.reason : null, acted_at: actedAt, decision: halt ? 'deny' : 'allow', outcome: 'success' } as const);
    if (this.deps.audit) await this.deps.audit.append(record);
    else log.info('a futucli act (no audit log to write it to)', record);
  }

  /** A confirmation whose time ran out before it was answered or used, once a sweep moved it to expired. */
  async auditExpiry(confirmation: Confirmation): Promise<void> {
    const { keyId, tool, digest, id: confirmationId, expiresAt: at } = confirmation;
    await this.auditConfirmation({ kind: 'expired', channel: confirmation.askedVia ?? 'out_of_band', keyId, tool, digest, confirmationId, at });
  }

  /** A confirmation step, durable before the call goes on (an audit failure refuses the call). */
  private async auditConfirmation(event: ConfirmationEvent): Promise<void> {
    const refused = REFUSING_CONFIRMATION_STEPS.has(event.kind);
    if (!this.deps.audit) {
      // Steps of a call are in its own log line; a human's act outside any call has only this one.
      if (event.at !== undefined) log.info('confirmation answered or expired', { key_id: event.keyId, kind: event.kind, channel: event.channel, confirmation_id: event.confirmationId });
      return;
    }
    await this.deps.audit.append({
      event: 'confirmation',
      key_id: event.keyId,
      tool: event.tool,
      kind: event.kind,
      channel: event.channel,
      confirmation_id: event.confirmationId,
      digest: event.digest,
      reason: event.reason ?? null,
      ...(event.at !== undefined && { acted_at: new Date(event.at).toISOString() }),
      decision: refused ? 'deny' : 'allow',
      outcome: refused ? 'reject' : 'success',
    });
  }

  /** The authorized intent of a side-effecting call, durable before the gateway is asked. */
  private async auditIntent(trace: CallTrace): Promise<void> {
    if (!this.deps.audit) return;
    const { reason: _reason, code: _code, decision: _decision, outcome: _outcome, ...fields } = this.callEvent(trace, { decision: 'allow', outcome: 'success' }, undefined);
    await this.deps.audit.append({ ...fields, event: 'tool_intent', decision: 'allow', outcome: 'allow' });
  }

  private async finish(trace: CallTrace, outcome: CallOutcome): Promise<CallOutcome> {
    const { metrics, audit } = this.deps;
    const failure = 'error' in outcome ? outcome.error : undefined;
    const ran = trace.executing;
    const rejected = failure !== undefined && !ran && !OPERATIONAL_CODES.has(failure.code) && failure.code !== 'CANCELLED';
    const verdict: Verdict = failure?.code === 'CANCELLED'
      ? { decision: trace.policyVersion === null ? 'deny' : 'allow', outcome: 'cancelled' }
      : ran
      ? { decision: 'allow', outcome: failure ? 'failure' : 'success' }
      : failure
        ? { decision: 'deny', outcome: rejected ? 'reject' : 'failure' }
        : { decision: 'allow', outcome: 'success' };
    const event = this.callEvent(trace, verdict, failure);
    // Refusals a flood produces (over the call rate, or under a key that does not authenticate):
    // recorded at most 20 a minute per key id, then counted.
    const throttle = trace.limit === CALL_RATE_POLICY ? this.callRateRefusals : trace.keyRefused ? this.keyRefusals : undefined;
    const recorded = failure === undefined || throttle === undefined || throttle.admit(trace.keyId, failure.code);
    try {
      if (recorded) await audit?.append(event);
    } catch (err) {
      this.traceLog(trace).error('audit write failed; withholding the result', { code: isFutuError(err) ? err.code : 'AUDIT_WRITE_FAILED' });
      // A call that already reached OpenD cannot be undone: say so, rather than "denied".
      outcome = trace.executing
        ? { error: { code: 'AUDIT_WRITE_FAILED', message: `audit log unavailable: ${trace.tool} ran but its result is withheld; check state before retrying` } }
        : { error: failureOf(err) };
    }
    if (trace.decision) {
      this.deps.decisionLog?.record(trace.decision);
      if (trace.decision.shadow) metrics.shadowDisagreement(trace.decision.shadow.kind);
    }
    const failedBeforeDecision = failure !== undefined && !ran && !rejected;
    if (!failedBeforeDecision) metrics.authEvent('mcp', rejected ? 'reject' : 'allow', trace.keyId);
    if (failure?.code === 'LIMIT_EXCEEDED') metrics.limitReject('mcp', trace.keyId, trace.policies[0] ?? trace.limit ?? failure.code);
    metrics.toolCall(trace.tool, event.outcome, (performance.now() - trace.startedAt) / 1000);
    return outcome;
  }

  private callEvent(trace: CallTrace, verdict: Verdict, failure: ToolFailure | undefined): ToolCallEvent {
    // One literal, not fields spread into a second object: this runs for every call. The cast
    // only joins decision and outcome, which Verdict already pairs correctly.
    return {
      event: 'tool_call',
      transport: trace.context.transport,
      tool: trace.tool,
      key_id: trace.keyId,
      scope: trace.scope,
      args_hash: trace.args_hash,
      reason: failure?.message ?? null,
      code: failure?.code ?? null,
      policy_version: trace.policyVersion ?? this.deps.engine.version,
      policies: trace.policies,
      session_id: trace.context.sessionId ?? null,
      latency_ms: Math.round((performance.now() - trace.startedAt) * 1000) / 1000,
      shadow: shadowRecord(trace.decision),
      decision: verdict.decision,
      outcome: verdict.outcome,
      ...(trace.replay ? { replay: true } : {}),
    } as ToolCallEvent;
  }
}

/** The decision and outcome pairs a tool_call record may carry (as ToolCallEvent pairs them). */
type Verdict = { readonly decision: 'allow'; readonly outcome: 'success' | 'failure' | 'cancelled' } | { readonly decision: 'deny'; readonly outcome: 'reject' | 'failure' | 'cancelled' };

function recordDecision(trace: CallTrace, decision: Decision): void {
  trace.policies = decision.determiningPolicies.map((p) => p.id);
  trace.policyVersion = decision.policyVersion;
  trace.decision = decision;
}

function shadowRecord(decision: Decision | undefined): ShadowRecord | undefined {
  const shadow = decision?.shadow;
  return shadow && { decision: shadow.allowed ? 'allow' : 'deny', code: shadow.code, policies: shadow.policies, policy_version: shadow.policyVersion };
}

/** A denial from the authorizer carries its determining policies and version in its details. */
function recordDenial(trace: CallTrace, err: unknown): void {
  if (!isFutuError(err) || trace.executing) return;
  const { policies, policy_version, limit, decision } = err.details;
  if (typeof limit === 'string') trace.limit = limit;
  if (decision !== undefined) trace.decision = decision as Decision;
  if (Array.isArray(policies)) trace.policies = policies.filter((p): p is string => typeof p === 'string');
  if (typeof policy_version === 'string') trace.policyVersion = policy_version;
}

function presentedKey(args: Record<string, unknown>, context: CallContext, startupKey: string | undefined): string | undefined {
  const fromArgs = args.api_key;
  if (typeof fromArgs === 'string' && fromArgs !== '') return fromArgs;
  if (context.bearerToken) return context.bearerToken;
  return startupKey || undefined;
}

/**
 * A read's result once it is ready, unless the client cancels first: the answer would be
 * dropped anyway, and the call is recorded as cancelled rather than as a success.
 */
function untilCancelled<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(cancelled());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(cancelled());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function cancelled(): FutuError {
  return new FutuError('CANCELLED', 'cancelled by the client');
}

/** A cancelled or modified order as the result reports it afterwards (qty, price, fills), for what it gives back to the day. */
function settledOrder(terms: AuthzPlanTerms, result: unknown): ExistingOrder | undefined {
  if (terms.action === 'futu_place_order') return undefined;
  const r = result as { status?: unknown; qty?: unknown; filled_qty?: unknown; price?: unknown };
  // Without a read-back the fills are unknown: refund nothing rather than guess.
  if (typeof r.status !== 'string' || typeof r.qty !== 'number') return undefined;
  return {
    symbol: terms.existing.symbol,
    side: terms.existing.side,
    qty: r.qty,
    ...(typeof r.price === 'number' ? { price: r.price } : {}),
    ...(typeof r.filled_qty === 'number' && r.filled_qty > 0 ? { filledQty: r.filled_qty } : {}),
  };
}

function withoutSecrets(args: Record<string, unknown>): Record<string, unknown> {
  const clean = { ...args };
  for (const name of SENSITIVE_ARGUMENTS) delete clean[name];
  return clean;
}

function keyIdOfFailure(err: unknown): string {
  if (isFutuError(err)) {
    const id = err.details.key_id;
    if (typeof id === 'string') return id;
    if (err.code === 'KEY_MISSING') return MISSING_KEY_ID;
  }
  return INVALID_KEY_ID;
}

/** A push re-check runs for no client request, so nothing cancels it. */
const NEVER_ABORTED = new AbortController().signal;

/** Confirmation steps after which the call does not go on (a requested one waits for a human). */
const REFUSING_CONFIRMATION_STEPS: ReadonlySet<ConfirmationEvent['kind']> = new Set(['requested', 'declined', 'timeout', 'rejected', 'expired', 'invalid']);

/** Details of an error a client may act on, passed as structured fields beside the text. */
const PUBLIC_DETAILS = ['confirmation_id', 'expires_at', 'approval_url', 'retry_after_seconds'] as const;

/** Only FutuErrors carry a message written for the caller; anything else is reported generically. */
function failureOf(err: unknown, logger: Log = log): ToolFailure {
  if (err instanceof FutuError) {
    const retry = err.details.retry_after_seconds;
    const message = typeof retry === 'number' ? `${err.message} (retry_after_seconds=${retry})` : err.message;
    const details = Object.fromEntries(PUBLIC_DETAILS.filter((name) => err.details[name] !== undefined).map((name) => [name, err.details[name]]));
    return { code: err.code, message, ...(Object.keys(details).length > 0 && { details }) };
  }
  logger.error('unexpected error in tool call', { error: err instanceof Error ? err.message : String(err) });
  return { code: 'INTERNAL_ERROR', message: 'internal error; the call may not have completed — check state before retrying' };
}
