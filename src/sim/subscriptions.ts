import type { Message } from '../gateway/proto.js';
import { ProtoId } from '../gateway/protoIds.js';
import { formatSecurity, type Security } from '../gateway/symbol.js';
import { describeError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { SimError, type MarketEngine } from './contract.js';

/**
 * Quote subscriptions as OpenD keeps them: one slot per (security × SubType), a quota shared by
 * the whole OpenD, no unsubscribing within a minute of subscribing, per-connection push
 * registration, and the quote requests that are served only for subscribed slots.
 */
export interface Subscriber {
  readonly connId: string;
  push(protoId: number, s2c: Message): void;
}

const UNSUBSCRIBE_AFTER_MS = 60_000;

const SUB_TYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'Basic', 2: 'OrderBook', 4: 'Ticker', 5: 'RT', 6: 'KL_Day', 7: 'KL_5Min', 8: 'KL_15Min', 9: 'KL_30Min',
  10: 'KL_60Min', 11: 'KL_1Min', 12: 'KL_Week', 13: 'KL_Month', 14: 'Broker', 15: 'KL_Qurater', 16: 'KL_Year',
  17: 'KL_3Min', 18: 'KL_10Min', 19: 'KL_120Min', 20: 'KL_180Min', 21: 'KL_240Min', 22: 'OrderBook_Odd',
};

/** Qot_Common.KLType → the SubType a Qot_GetKL of that period needs. */
const KL_SUB_TYPES: Readonly<Record<number, number>> = {
  1: 11, 2: 6, 3: 12, 4: 13, 5: 16, 6: 7, 7: 8, 8: 9, 9: 10, 10: 17, 11: 15, 12: 18, 13: 19, 14: 20, 15: 21,
};

const SINGLE_SECURITY_SUB_TYPES: ReadonlyMap<number, number> = new Map([
  [ProtoId.Qot_GetOrderBook, 2],
  [ProtoId.Qot_GetTicker, 4],
  [ProtoId.Qot_GetRT, 5],
  [ProtoId.Qot_GetBroker, 14],
]);

interface Slot {
  readonly key: string;
  readonly security: Security;
  readonly subType: number;
}

interface Subscription extends Slot {
  readonly since: number;
  pushing: boolean;
}

const subTypeName = (subType: number): string => SUB_TYPE_NAMES[subType] ?? String(subType);
const describeSlot = (s: Slot): string => `${formatSecurity(s.security)} ${subTypeName(s.subType)}`;

function toSlot(raw: unknown, subType: number): Slot {
  const { market, code } = (raw ?? {}) as Partial<Security>;
  const security = { market: market ?? 0, code: code ?? '' };
  return { key: `${security.market}|${security.code}|${subType}`, security, subType };
}

/** Every (security × subType) a request names, deduplicated. */
function slotsOf(securities: unknown, subTypes: unknown): Slot[] {
  const secs = Array.isArray(securities) ? securities : [];
  const types = Array.isArray(subTypes) ? (subTypes as number[]) : [];
  if (secs.length === 0 || types.length === 0) throw new SimError('securityList and subTypeList must not be empty');
  const unknown = types.find((t) => SUB_TYPE_NAMES[t] === undefined);
  if (unknown !== undefined) throw new SimError(`unknown subType ${unknown}`);
  const slots = new Map<string, Slot>();
  for (const sec of secs) for (const t of types) {
    const slot = toSlot(sec, t);
    slots.set(slot.key, slot);
  }
  return [...slots.values()];
}

/** The slots a quote request reads from; empty when it needs no subscription. */
function slotsRequiredBy(protoId: number, c2s: Message): Slot[] {
  if (protoId === ProtoId.Qot_GetBasicQot) {
    return (Array.isArray(c2s.securityList) ? c2s.securityList : []).map((sec) => toSlot(sec, 1));
  }
  if (protoId === ProtoId.Qot_GetKL) {
    const subType = KL_SUB_TYPES[c2s.klType as number];
    if (subType === undefined) throw new SimError(`unknown klType ${String(c2s.klType)}`);
    return [toSlot(c2s.security, subType)];
  }
  const subType = SINGLE_SECURITY_SUB_TYPES.get(protoId);
  return subType === undefined ? [] : [toSlot(c2s.security, subType)];
}

export class SubscriptionBook {
  private readonly byOwner = new Map<Subscriber, Map<string, Subscription>>();
  /** Slots of closed connections inside their first minute: OpenD frees a slot only after that minute. */
  private readonly lingering = new Map<string, number>();

  constructor(
    private readonly quota: number,
    private readonly market: MarketEngine,
    private readonly now: () => number,
  ) {}

  /** Qot_Sub (3001). */
  subscribe(owner: Subscriber, c2s: Message): Message {
    if (c2s.isUnsubAll === true) {
      this.unsubscribe(owner, [...this.held(owner).values()]);
      return {};
    }
    const slots = slotsOf(c2s.securityList, c2s.subTypeList);
    const push = c2s.isRegOrUnRegPush as boolean | undefined;
    if (c2s.isSubOrUnSub !== true) {
      this.unsubscribe(owner, slots);
      return {};
    }
    const unknown = slots.find((s) => !this.market.knows(s.security));
    if (unknown) throw new SimError(`Unknown stock ${formatSecurity(unknown.security)}`);
    const fresh = slots.filter((s) => !this.isHeldAnywhere(s.key));
    const used = this.usedQuota();
    if (used + fresh.length > this.quota) {
      throw new SimError(`subscription quota exceeded: ${used} of ${this.quota} slots used, this request needs ${fresh.length} more`);
    }
    const held = this.held(owner);
    if (!this.byOwner.has(owner)) this.byOwner.set(owner, held);
    const since = this.now();
    for (const slot of slots) {
      const existing = held.get(slot.key);
      if (existing) {
        if (push !== undefined) existing.pushing = push;
      } else {
        held.set(slot.key, { ...slot, since, pushing: push === true });
      }
    }
    if (push === true && c2s.isFirstPush === true) this.firstPush(owner, slots);
    return {};
  }

  /** Qot_RegQotPush (3002): only for slots this connection has subscribed. */
  registerPush(owner: Subscriber, c2s: Message): Message {
    const slots = slotsOf(c2s.securityList, c2s.subTypeList);
    const held = this.held(owner);
    const missing = slots.find((s) => !held.has(s.key));
    if (missing) throw this.notSubscribed(missing);
    const on = c2s.isRegOrUnReg === true;
    for (const slot of slots) held.get(slot.key)!.pushing = on;
    if (on && c2s.isFirstPush === true) this.firstPush(owner, slots);
    return {};
  }

  /** Qot_GetSubInfo (3003). */
  info(owner: Subscriber, c2s: Message): Message {
    const owners = c2s.isReqAllConn === true ? new Set([owner, ...this.byOwner.keys()]) : [owner];
    const used = this.usedQuota();
    return {
      connSubInfoList: [...owners].map((o) => this.connSubInfo(o, o === owner)),
      totalUsedQuota: used,
      remainQuota: Math.max(0, this.quota - used),
    };
  }

  /** Throws the OpenD "not subscribed" error when a quote request reads a slot the connection lacks. */
  requireSubscribed(owner: Subscriber, protoId: number, c2s: Message): void {
    const held = this.held(owner);
    const missing = slotsRequiredBy(protoId, c2s).find((s) => !held.has(s.key));
    if (missing) throw this.notSubscribed(missing);
  }

  /** The connection closed: its slots free up, except those still inside their first minute. */
  release(owner: Subscriber): void {
    const now = this.now();
    for (const sub of this.held(owner).values()) {
      const freeAt = sub.since + UNSUBSCRIBE_AFTER_MS;
      if (freeAt > now) this.lingering.set(sub.key, Math.max(freeAt, this.lingering.get(sub.key) ?? 0));
    }
    this.byOwner.delete(owner);
  }

  /** OpenD restarted: no subscriptions survive it. */
  restart(): void {
    this.byOwner.clear();
    this.lingering.clear();
  }

  private usedQuota(): number {
    const now = this.now();
    const slots = new Set<string>();
    for (const [key, freeAt] of this.lingering) {
      if (freeAt > now) slots.add(key);
      else this.lingering.delete(key);
    }
    for (const held of this.byOwner.values()) for (const key of held.keys()) slots.add(key);
    return slots.size;
  }

  /** One round of pushes to every connection for every slot it registered pushes for. */
  pushAll(): void {
    for (const [owner, held] of this.byOwner) {
      this.pushSlots(owner, [...held.values()].filter((s) => s.pushing));
    }
  }

  private firstPush(owner: Subscriber, slots: Slot[]): void {
    // After the response: a client expects the answer to its Qot_Sub before the data it asked for.
    queueMicrotask(() => {
      if (this.byOwner.has(owner)) this.pushSlots(owner, slots);
    });
  }

  private pushSlots(owner: Subscriber, slots: Slot[]): void {
    for (const slot of slots) {
      try {
        const push = this.market.pushFor(slot.security, slot.subType);
        if (push) owner.push(push.protoId, push.s2c);
      } catch (err) {
        log.error('sim: market push failed', { slot: describeSlot(slot), error: describeError(err) });
      }
    }
  }

  private unsubscribe(owner: Subscriber, slots: Slot[]): void {
    const held = this.held(owner);
    const subs = slots.map((s) => held.get(s.key)).filter((s): s is Subscription => s !== undefined);
    const now = this.now();
    const tooSoon = subs.filter((s) => now - s.since < UNSUBSCRIBE_AFTER_MS);
    if (tooSoon.length > 0) {
      const possibleAt = Math.max(...tooSoon.map((s) => s.since)) + UNSUBSCRIBE_AFTER_MS;
      throw new SimError(
        `cannot unsubscribe ${describeSlot(tooSoon[0]!)} yet: OpenD allows unsubscribing 60 s after subscribing; ` +
          `possible in ${Math.ceil((possibleAt - now) / 1000)} s (at ${new Date(possibleAt).toISOString()})`,
      );
    }
    for (const sub of subs) held.delete(sub.key);
  }

  private connSubInfo(owner: Subscriber, isOwn: boolean): Message {
    const byType = new Map<number, Security[]>();
    const held = this.held(owner);
    for (const sub of held.values()) {
      const list = byType.get(sub.subType) ?? [];
      list.push(sub.security);
      byType.set(sub.subType, list);
    }
    return {
      subInfoList: [...byType].map(([subType, securityList]) => ({ subType, securityList })),
      usedQuota: held.size,
      isOwnConnData: isOwn,
    };
  }

  private held(owner: Subscriber): Map<string, Subscription> {
    return this.byOwner.get(owner) ?? new Map<string, Subscription>();
  }

  private isHeldAnywhere(key: string): boolean {
    if ((this.lingering.get(key) ?? 0) > this.now()) return true;
    for (const held of this.byOwner.values()) if (held.has(key)) return true;
    return false;
  }

  private notSubscribed(slot: Slot): SimError {
    return new SimError(`${formatSecurity(slot.security)} is not subscribed to ${subTypeName(slot.subType)} (SubType ${slot.subType}); subscribe with Qot_Sub first`);
  }
}
