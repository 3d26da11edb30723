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

/** Slots of OpenD's quota that holders' reads never take: left for the server's own needs. */
export function readHeadroom(quota: number): number {
  return Math.max(1, Math.ceil(quota / 10));
}

/** Default slots one holder (an API key) may hold: a third of what reads may use. */
export function defaultPerHolder(quota: number): number {
  return Math.max(1, Math.floor((quota - readHeadroom(quota)) / 3));
}

/**
 * What this gateway has subscribed, kept so it can be restored after a reconnect, plus OpenD's
 * subscription rules enforced locally: the quota (checked against Qot_GetSubInfo across all
 * connections before subscribing) and the one-minute minimum before unsubscribing. Changes run
 * one at a time so concurrent callers never double-count a slot.
 *
 * Reads made for a holder (an API key) are budgeted so no one holder can exhaust OpenD's quota
 * for everyone: a holder may hold `perHolder` slots; beyond that its least-recently-used slot is
 * released once OpenD allows (a minute after subscribing), otherwise the read is refused with
 * when to retry. Holders' reads never take the last readHeadroom() slots of the quota.
 */
export class SubscriptionManager {
  private readonly slots = new Map<string, Slot>();
  /** Per holder, the slots it uses, least recently used first (Map order). */
  private readonly claims = new Map<string, Map<string, Slot>>();
  /**
   * Per holder, how many live holds (resource subscriptions) keep each of its slots: held slots
   * count in its budget but are never released to make room for its reads.
   */
  private readonly holds = new Map<string, Map<string, number>>();
  /** OpenD's whole quota, from the last Qot_GetSubInfo. */
  private quota: number | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly client: OpenDClient,
    private readonly now: () => number = Date.now,
    /** Slots one holder may hold; default defaultPerHolder(OpenD's quota). */
    private readonly perHolder?: number,
  ) {
    client.onRestore(() => this.serialized(() => this.resubscribeAll()));
  }

  /**
   * Subscribes whatever is not yet subscribed, within `holder`'s budget when given; no request
   * at all when everything already is (and is already the holder's).
   */
  ensure(symbols: readonly ParsedSymbol[], subTypes: readonly number[], holder?: string): Promise<void> {
    const wanted = expand(symbols, subTypes);
    const claimed = holder === undefined ? undefined : this.claims.get(holder);
    if (wanted.every((s) => this.slots.has(slotKey(s.symbol, s.subType)) && (holder === undefined || claimed?.has(slotKey(s.symbol, s.subType))))) {
      if (claimed) for (const s of wanted) touch(claimed, slotKey(s.symbol, s.subType));
      return Promise.resolve();
    }
    return this.serialized(() => this.add(wanted, holder));
  }

  /**
   * Subscribes and claims like `ensure` for `holder`, and keeps the slots from being released to
   * make room for the holder's reads until the returned release is called (then they are claims
   * like any read's, released least recently used first when room is needed).
   */
  hold(symbols: readonly ParsedSymbol[], subTypes: readonly number[], holder: string): Promise<() => void> {
    const keys = expand(symbols, subTypes).map((s) => slotKey(s.symbol, s.subType));
    return this.serialized(async () => {
      await this.add(expand(symbols, subTypes), holder);
      let held = this.holds.get(holder);
      if (!held) this.holds.set(holder, (held = new Map()));
      for (const key of keys) held.set(key, (held.get(key) ?? 0) + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        for (const key of keys) {
          const count = (held.get(key) ?? 1) - 1;
          if (count > 0) held.set(key, count);
          else held.delete(key);
        }
        if (held.size === 0 && this.holds.get(holder) === held) this.holds.delete(holder);
      };
    });
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

  private async add(wanted: Slot[], holder: string | undefined): Promise<void> {
    if (holder !== undefined) await this.makeRoom(holder, wanted);
    await this.subscribeMissing(wanted, holder !== undefined);
    if (holder === undefined) return;
    let claimed = this.claims.get(holder);
    if (!claimed) this.claims.set(holder, (claimed = new Map()));
    for (const s of wanted) {
      const key = slotKey(s.symbol, s.subType);
      claimed.delete(key);
      claimed.set(key, this.slots.get(key)!);
    }
  }

  /** Brings `holder` down to its budget less `wanted`'s new slots, releasing its least recently used. */
  private async makeRoom(holder: string, wanted: readonly Slot[]): Promise<void> {
    if (this.quota === undefined) await this.subInfo();
    const budget = this.perHolder ?? defaultPerHolder(this.quota!);
    if (wanted.length > budget) {
      throw new GatewayError(
        'SUBSCRIPTION_BUDGET',
        `this read needs ${wanted.length} live subscriptions and a key may hold ${budget}: ask for fewer symbols, or use futu_get_snapshot, which needs none`,
        { needed: wanted.length, budget },
      );
    }
    const claimed = this.claims.get(holder) ?? new Map<string, Slot>();
    const wantedKeys = new Set(wanted.map((s) => slotKey(s.symbol, s.subType)));
    const excess = claimed.size + [...wantedKeys].filter((k) => !claimed.has(k)).length - budget;
    if (excess <= 0) return;
    const now = this.now();
    const held = this.holds.get(holder);
    const candidates = [...claimed].filter(([key]) => !wantedKeys.has(key) && !held?.has(key));
    if (candidates.length < excess) {
      throw new GatewayError(
        'SUBSCRIPTION_BUDGET',
        `this key already holds its ${budget} live subscriptions, ${held?.size ?? 0} of them for resource subscriptions: unsubscribe a resource, or use futu_get_snapshot, which needs none`,
        { budget },
      );
    }
    const releasable = candidates.filter(([, slot]) => now - slot.since >= MIN_SUBSCRIPTION_MS);
    if (releasable.length < excess) {
      const freeAt = candidates.map(([, slot]) => slot.since + MIN_SUBSCRIPTION_MS).sort((a, b) => a - b)[excess - 1]!;
      const retryAfter = Math.max(1, Math.ceil((freeAt - now) / 1000));
      throw new GatewayError(
        'SUBSCRIPTION_BUDGET',
        `this key already holds its ${budget} live subscriptions and OpenD keeps each for a minute after subscribing; retry in ${retryAfter} s, or use futu_get_snapshot, which needs none`,
        { budget, retry_after_seconds: retryAfter },
      );
    }
    const released = releasable.slice(0, excess).map(([key]) => key);
    // A slot another holder still uses stays subscribed.
    const unused = released.filter((key) => ![...this.claims].some(([other, c]) => other !== holder && c.has(key))).map((key) => this.slots.get(key)!);
    for (const group of bySubType(unused)) {
      await this.client.request(ProtoId.Qot_Sub, subscribeRequest(group, false));
      for (const s of group) this.forget(slotKey(s.symbol, s.subType));
    }
    for (const key of released) claimed.delete(key);
  }

  private async subInfo(): Promise<RawSubInfo> {
    const info = (await this.client.request(ProtoId.Qot_GetSubInfo, { isReqAllConn: true })) as unknown as RawSubInfo;
    this.quota = info.totalUsedQuota + info.remainQuota;
    return info;
  }

  /** Subscribes the slots not yet held; a holder's read leaves readHeadroom() of the quota free. */
  private async subscribeMissing(wanted: Slot[], forHolder: boolean): Promise<void> {
    const missing = wanted.filter((s) => !this.slots.has(slotKey(s.symbol, s.subType)));
    if (missing.length === 0) return;
    const quota = await this.subInfo();
    const heldAnywhere = new Set<string>();
    for (const conn of quota.connSubInfoList) {
      for (const info of conn.subInfoList) for (const sec of info.securityList) heldAnywhere.add(slotKey(formatSecurity(sec), info.subType));
    }
    // A slot another connection already holds costs nothing more.
    const needed = missing.filter((s) => !heldAnywhere.has(slotKey(s.symbol, s.subType))).length;
    const available = quota.remainQuota - (forHolder ? readHeadroom(this.quota!) : 0);
    if (needed > available) {
      throw new GatewayError(
        'SUBSCRIPTION_QUOTA',
        `subscription quota exhausted: ${needed} more slot(s) needed, ${Math.max(0, available)} left for reads (${quota.totalUsedQuota} in use)`,
        { needed, remaining: Math.max(0, available), used: quota.totalUsedQuota },
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
      for (const s of group) this.forget(slotKey(s.symbol, s.subType));
    }
  }

  private forget(key: string): void {
    this.slots.delete(key);
    for (const claimed of this.claims.values()) claimed.delete(key);
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
        for (const s of group) this.forget(slotKey(s.symbol, s.subType));
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

/** Moves `key` to the most recently used end. */
function touch(claimed: Map<string, Slot>, key: string): void {
  const slot = claimed.get(key);
  if (!slot) return;
  claimed.delete(key);
  claimed.set(key, slot);
}

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
