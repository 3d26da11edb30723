import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { INVALID_KEY_ID, MISSING_KEY_ID, type AuditOutcome } from '../audit/types.js';

/**
 * Prometheus metrics of one futu-mcp process, on a registry of its own (the global prom-client
 * registry is shared by every library in the process, and tests create many instances).
 * Labels are bounded by construction: key ids come from the keys file, tool names from the tool
 * registry, and anything that doesn't look like either is collapsed to a fixed placeholder, so a
 * client can neither blow up cardinality nor get a presented token into a label.
 */

export type Iface = 'mcp';
export type AuthOutcome = 'allow' | 'reject';

export const LIMIT_REASONS = ['call_rate', 'rate', 'daily', 'per_order', 'market', 'symbol', 'side', 'account', 'hours', 'other'] as const;
export type LimitReason = (typeof LIMIT_REASONS)[number];

/** The limit policies' @id, upper-cased with `_` for `-` (e.g. `rate-limit` → RATE_LIMIT). */
const LIMIT_CODE_REASONS: Readonly<Record<string, LimitReason>> = {
  CALL_RATE_LIMIT: 'call_rate',
  RATE_LIMIT: 'rate',
  DAILY_LIMIT: 'daily',
  ORDER_VALUE_LIMIT: 'per_order',
  MARKET_NOT_ALLOWED: 'market',
  SYMBOL_NOT_ALLOWED: 'symbol',
  LISTING_WITH_SYMBOL_ALLOWLIST: 'symbol',
  SIDE_NOT_ALLOWED: 'side',
  ACCOUNT_NOT_ALLOWED: 'account',
  OUTSIDE_HOURS: 'hours',
};

/**
 * Why a push was withheld at dispatch: the key's scope, its revocation or expiry, or the limit
 * policy that denied it (the reasons of futu_auth_limit_rejects_total).
 */
export type PushFilterReason = LimitReason | 'scope' | 'revoked' | 'expired';

/** Maps a limit policy id (`rate-limit`, `daily-limit`, ...) to its reason; anything else is `other`. */
export function classifyLimitReason(codeOrPolicyId: string): LimitReason {
  const normalized = codeOrPolicyId.trim().toUpperCase().replace(/[^A-Z0-9]+/g, '_');
  return Object.hasOwn(LIMIT_CODE_REASONS, normalized) ? LIMIT_CODE_REASONS[normalized]! : 'other';
}

/** Credential and scope codes of a withheld push; any other denial is classified by its limit policy. */
const PUSH_CODE_REASONS: Readonly<Record<string, PushFilterReason>> = {
  KEY_REVOKED: 'revoked',
  KEY_EXPIRED: 'expired',
  MISSING_SCOPE: 'scope',
};

/** Why a push was withheld, from the denial's code and its determining limit policy (if any). */
export function classifyPushFilterReason(code: string, policyId: string | undefined): PushFilterReason {
  if (Object.hasOwn(PUSH_CODE_REASONS, code)) return PUSH_CODE_REASONS[code]!;
  return classifyLimitReason(policyId ?? code);
}

const KEY_ID_SHAPE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const LOOKS_LIKE_PLAINTEXT_KEY = /^fc_[0-9a-f]{16,}$/i;
export const UNKNOWN_TOOL = '<unknown>';

/** A key id fit for a label: a plausible id from the keys file, or one of the fixed placeholders. */
export function keyIdLabel(keyId: string): string {
  if (keyId === MISSING_KEY_ID || keyId === INVALID_KEY_ID) return keyId;
  return KEY_ID_SHAPE.test(keyId) && !LOOKS_LIKE_PLAINTEXT_KEY.test(keyId) ? keyId : INVALID_KEY_ID;
}

export interface MetricsOptions {
  /** Registered tool names; calls to anything else are counted as UNKNOWN_TOOL. */
  readonly knownTools?: readonly string[];
}

export interface Metrics {
  readonly registry: Registry;
  readonly contentType: string;
  render(): Promise<string>;
  authEvent(iface: Iface, outcome: AuthOutcome, keyId: string): void;
  /** `codeOrPolicyId` goes through classifyLimitReason. */
  limitReject(iface: Iface, keyId: string, codeOrPolicyId: string): void;
  /** A resource push withheld at dispatch because the key as it is now may not have it. */
  wsPushFiltered(keyId: string, reason: PushFilterReason): void;
  toolCall(tool: string, outcome: AuditOutcome, durationSeconds: number): void;
  authzDuration(seconds: number): void;
  setGatewayUp(up: boolean): void;
  /** Whether limits can be checked (the shared state store answers). */
  setStateStoreUp(up: boolean): void;
  setPolicyVersion(version: string): void;
  /** The halts in force (key id "*" for all keys): each 1, every other key id's series removed. */
  setHalted(keyIds: readonly string[]): void;
  /** Drops the series of every key id `exists` denies (keys a reload removed); placeholders stay. Costs the keys with series, not all keys. */
  retainKeys(exists: (keyId: string) => boolean): void;
  /** A call the --shadow-policies candidate would have decided the other way. */
  shadowDisagreement(kind: 'would_deny' | 'would_allow'): void;
}

/** 0.5 ms (a rejected call) to 10 s (an order through a slow OpenD). */
const TOOL_DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Cedar evaluation is sub-millisecond when healthy; the upper buckets are there to show when it isn't. */
const AUTHZ_DURATION_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1];

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });

  const authEvents = new Counter({
    name: 'futu_auth_events_total',
    help: 'Authorization decisions on tool calls, by interface, outcome and key id',
    labelNames: ['iface', 'outcome', 'key_id'] as const,
    registers,
  });
  const limitRejects = new Counter({
    name: 'futu_auth_limit_rejects_total',
    help: 'Calls rejected by a per-key limit, by interface, key id and limit',
    labelNames: ['iface', 'key_id', 'reason'] as const,
    registers,
  });
  const pushesFiltered = new Counter({
    name: 'futu_ws_push_filtered_total',
    help: 'Resource update pushes withheld at dispatch because the key, as it is now, may not have them, by key id and reason',
    labelNames: ['key_id', 'reason'] as const,
    registers,
  });
  const toolCalls = new Counter({
    name: 'futu_mcp_tool_calls_total',
    help: 'MCP tool calls by tool and outcome (reject, success, failure)',
    labelNames: ['tool', 'outcome'] as const,
    registers,
  });
  const toolDuration = new Histogram({
    name: 'futu_mcp_tool_duration_seconds',
    help: 'Time from tool call to result, rejections included',
    labelNames: ['tool'] as const,
    buckets: TOOL_DURATION_BUCKETS,
    registers,
  });
  const authzDuration = new Histogram({
    name: 'futu_authz_duration_seconds',
    help: 'Time to authorize one tool call (policy evaluation)',
    buckets: AUTHZ_DURATION_BUCKETS,
    registers,
  });
  const gatewayUp = new Gauge({ name: 'futu_gateway_up', help: '1 while connected to OpenD, else 0', registers });
  const tradingHalted = new Gauge({ name: 'futu_trading_halted', help: '1 while futucli halt is in force for key_id ("*": all keys)', labelNames: ['key_id'], registers });
  const policyInfo = new Gauge({
    name: 'futu_policy_info',
    help: 'Always 1, labelled with the version of the active policy set',
    labelNames: ['version'] as const,
    registers,
  });
  const shadowDisagreements = new Counter({
    name: 'futu_policy_shadow_disagreements_total',
    help: 'Calls the shadow policy set (--shadow-policies) would have decided otherwise: would_deny (active allowed) or would_allow (active denied)',
    labelNames: ['kind'] as const,
    registers,
  });
  const stateStoreUp = new Gauge({ name: 'futu_state_store_up', help: '1 while the shared state store (state dir or Redis) answers, else 0: trades and unlocks are refused', registers });
  gatewayUp.set(0);
  stateStoreUp.set(0);

  /** Per key id label, how to remove each series that carries it: removed keys leave no series behind. */
  const seriesOfKey = new Map<string, Map<string, () => void>>();
  const incForKey = <L extends string>(counter: Counter<L>, labels: Record<L, string> & { key_id: string }, series: string): void => {
    counter.inc(labels);
    let removers = seriesOfKey.get(labels.key_id);
    if (!removers) seriesOfKey.set(labels.key_id, (removers = new Map()));
    if (!removers.has(series)) removers.set(series, () => counter.remove(labels));
  };

  const knownTools = options.knownTools === undefined ? undefined : new Set(options.knownTools);
  const toolLabel = (tool: string): string => (knownTools === undefined || knownTools.has(tool) ? tool : UNKNOWN_TOOL);

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    authEvent: (iface, outcome, keyId) => incForKey(authEvents, { iface, outcome, key_id: keyIdLabel(keyId) }, `auth|${iface}|${outcome}`),
    limitReject: (iface, keyId, codeOrPolicyId) => {
      const reason = classifyLimitReason(codeOrPolicyId);
      incForKey(limitRejects, { iface, key_id: keyIdLabel(keyId), reason }, `limit|${iface}|${reason}`);
    },
    wsPushFiltered: (keyId, reason) => incForKey(pushesFiltered, { key_id: keyIdLabel(keyId), reason }, `push|${reason}`),
    toolCall: (tool, outcome, durationSeconds) => {
      const label = toolLabel(tool);
      toolCalls.inc({ tool: label, outcome });
      toolDuration.observe({ tool: label }, durationSeconds);
    },
    authzDuration: (seconds) => authzDuration.observe(seconds),
    setGatewayUp: (up) => gatewayUp.set(up ? 1 : 0),
    setHalted: (keyIds) => {
      tradingHalted.reset();
      for (const keyId of keyIds) tradingHalted.set({ key_id: keyId }, 1);
    },
    setStateStoreUp: (up) => stateStoreUp.set(up ? 1 : 0),
    setPolicyVersion: (version) => {
      policyInfo.reset();
      policyInfo.set({ version }, 1);
    },
    retainKeys: (exists) => {
      for (const [keyId, removers] of seriesOfKey) {
        if (keyId === MISSING_KEY_ID || keyId === INVALID_KEY_ID || exists(keyId)) continue;
        for (const remove of removers.values()) remove();
        seriesOfKey.delete(keyId);
      }
    },
    shadowDisagreement: (kind) => shadowDisagreements.inc({ kind }),
  };
}
