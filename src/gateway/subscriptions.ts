import { log } from '../shared/log.js';
import { describeError } from '../shared/errors.js';
import type { OpenDClient } from './client.js';
import { REHAB, SUB_TYPE, type SubTypeName } from './enums.js';
import { GatewayError } from './errors.js';
import type { Message } from './proto.js';
import { ProtoId } from './protoIds.js';
import { formatSecurity, parseSymbol, type ParsedSymbol, type Security } from './symbol.js';
import type { Subscription, SubscriptionInfo } from './types.js';

/** OpenD refuses to unsubscribe a (security, subType) within a minute of subscribing it. */
export const MIN_SUBSCRIPTION_MS = 60_000;

interface Slot {
  symbol: string;
  security: Security;
  subType: number;
  since: number;
}

interface RawSubInfo {
  connSubInfoList: { subInfoList: { subType: number; securityList: Security[] }[] }[];
  totalUsedQuota: number;
  remainQuota: number;
}

const slotKey = (symbol: string, subType: number): string => `${symbol}|${subType}`;

/**
 * What this gateway has subscribed, kept so it can be restored after a reconnect, plus OpenD's
 * subscription rules enforced locally: the quota (checked against Qot_GetSubInfo across all
 * connections before subscribing) and the one-minute minimum before unsubscribing. Changes run
 * one at a time so concurrent callers never double-count a slot.
 */
export class SubscriptionManager {
  private readonly slots = new Map<string, Slot>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly client: OpenDClient,
    private readonly now: () => number = Date.now,
  ) {
    client.onRestore(() => this.serialized(() => this.resubscribeAll()));
  }

  /** Subscribes whatever is not yet subscribed; no request at all when everything already is. */
  ensure(symbols: readonly ParsedSymbol[], subTypes: readonly number[]): Promise<void> {
    for (const p of symbols) {
      for (const subType of subTypes) {
        if (!this.slots.has(slotKey(symbolOf(p), subType))) return this.serialized(() => this.add(expand(symbols, subTypes)));
      }
    }
    return Promise.resolve();
  }

  async subscribe(symbols: readonly string[], subTypes: readonly SubTypeName[]): Promise<void> {
    const [parsed, types] = parseTargets(symbols, subTypes);
    await this.ensure(parsed, types);
  }

  async unsubscribe(symbols: readonly string[], subTypes: readonly SubTypeName[]): Promise<void> {
    const [parsed, types] = parseTargets(symbols, subTypes);
    await this.serialized(() => this.remove(expand(parsed, types)));
  }

  async info(): Promise<SubscriptionInfo> {
    const quota = (await this.client.request(ProtoId.Qot_GetSubInfo, { isReqAllConn: false })) as unknown as RawSubInfo;
    return { subscriptions: this.list(), usedQuota: quota.totalUsedQuota, remainingQuota: quota.remainQuota };
  }

  list(): Subscription[] {
    const bySymbol = new Map<string, SubTypeName[]>();
    for (const slot of this.slots.values()) {
      const name = SUB_TYPE.name(slot.subType) as SubTypeName;
      bySymbol.set(slot.symbol, [...(bySymbol.get(slot.symbol) ?? []), name]);
    }
    return [...bySymbol].map(([symbol, subTypes]) => ({ symbol, subTypes }));
  }

  private async add(wanted: Slot[]): Promise<void> {
    const missing = wanted.filter((s) => !this.slots.has(slotKey(s.symbol, s.subType)));
    if (missing.length === 0) return;
    const quota = (await this.client.request(ProtoId.Qot_GetSubInfo, { isReqAllConn: true })) as unknown as RawSubInfo;
    const heldAnywhere = new Set<string>();
    for (const conn of quota.connSubInfoList) {
      for (const info of conn.subInfoList) for (const sec of info.securityList) heldAnywhere.add(slotKey(formatSecurity(sec), info.subType));
    }
    // A slot another connection already holds costs nothing more.
    const needed = missing.filter((s) => !heldAnywhere.has(slotKey(s.symbol, s.subType))).length;
    if (needed > quota.remainQuota) {
      throw new GatewayError(
        'SUBSCRIPTION_QUOTA',
        `subscription quota exhausted: ${needed} more slot(s) needed, ${quota.remainQuota} left (${quota.totalUsedQuota} in use)`,
        { needed, remaining: quota.remainQuota, used: quota.totalUsedQuota },
      );
    }
    for (const group of bySubType(missing)) {
      await this.client.request(ProtoId.Qot_Sub, subscribeRequest(group, true));
      const since = this.now();
      for (const s of group) this.slots.set(slotKey(s.symbol, s.subType), { ...s, since });
    }
  }

  private async remove(requested: Slot[]): Promise<void> {
    const held = requested.flatMap((s) => this.slots.get(slotKey(s.symbol, s.subType)) ?? []);
    if (held.length === 0) return;
    const youngest = Math.max(...held.map((s) => s.since));
    const waitMs = youngest + MIN_SUBSCRIPTION_MS - this.now();
    if (waitMs > 0) {
      const retryAfter = Math.ceil(waitMs / 1000);
      throw new GatewayError(
        'UNSUBSCRIBE_TOO_SOON',
        `OpenD allows unsubscribing only ${MIN_SUBSCRIPTION_MS / 1000} s after subscribing; retry in ${retryAfter} s`,
        { retry_after_seconds: retryAfter },
      );
    }
    for (const group of bySubType(held)) {
      await this.client.request(ProtoId.Qot_Sub, subscribeRequest(group, false));
      for (const s of group) this.slots.delete(slotKey(s.symbol, s.subType));
    }
  }

  /** On a fresh link: subscribe everything again. OpenD's one-minute clock restarts with it. */
  private async resubscribeAll(): Promise<void> {
    for (const group of bySubType([...this.slots.values()])) {
      try {
        await this.client.request(ProtoId.Qot_Sub, subscribeRequest(group, true));
        const since = this.now();
        for (const s of group) s.since = since;
      } catch (err) {
        // Forget them, so the next use subscribes afresh instead of trusting a dead subscription.
        for (const s of group) this.slots.delete(slotKey(s.symbol, s.subType));
        log.warn('could not restore subscriptions', { subType: group[0]!.subType, count: group.length, reason: describeError(err) });
      }
    }
  }

  private serialized<T>(op: () => Promise<T>): Promise<T> {
    const result = this.queue.then(op, op);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

const symbolOf = (p: ParsedSymbol): string => `${p.market}.${p.code}`;

function parseTargets(symbols: readonly string[], subTypes: readonly SubTypeName[]): [ParsedSymbol[], number[]] {
  if (symbols.length === 0 || subTypes.length === 0) {
    throw new GatewayError('INVALID_ARGUMENT', 'at least one symbol and one subscription type are required');
  }
  return [symbols.map(parseSymbol), subTypes.map((t) => SUB_TYPE.value(t, 'subscription type'))];
}

function expand(symbols: readonly ParsedSymbol[], subTypes: readonly number[]): Slot[] {
  const slots = new Map<string, Slot>();
  for (const p of symbols) {
    for (const subType of subTypes) slots.set(slotKey(symbolOf(p), subType), { symbol: symbolOf(p), security: p.security, subType, since: 0 });
  }
  return [...slots.values()];
}

function bySubType(slots: readonly Slot[]): Slot[][] {
  const groups = new Map<number, Slot[]>();
  for (const s of slots) groups.set(s.subType, [...(groups.get(s.subType) ?? []), s]);
  return [...groups.values()];
}

function subscribeRequest(group: readonly Slot[], subscribe: boolean): Message {
  const target = { securityList: group.map((s) => s.security), subTypeList: [group[0]!.subType], isSubOrUnSub: subscribe };
  if (!subscribe) return target;
  // Register for pushes too (K-line pushes forward-adjusted) and get the current data pushed once.
  return { ...target, isRegOrUnRegPush: true, regPushRehabTypeList: [REHAB.value('FORWARD', 'rehab')], isFirstPush: true };
}
