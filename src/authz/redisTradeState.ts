import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '../shared/errors.js';
import { LocalQueue } from '../shared/localQueue.js';
import { log } from '../shared/log.js';
import { AuthzError } from './errors.js';
import {
  CONFIRMATION_RETENTION_MS,
  isConfirmationId,
  isOpenConfirmation,
  parseConfirmation,
  parseHalt,
  parseHumanEvent,
  type Confirmation,
  type ConfirmationState,
  type Halt,
  type HumanEvent,
} from './humanState.js';
import type { LuaScript, RedisState } from './redisState.js';
import {
  assertIntentId,
  HUMAN_EVENTS_PER_DRAIN,
  IDEMPOTENCY_WINDOW_MS,
  IntentHolds,
  isSettled,
  isUnresolved,
  parseIntent,
  parseOwner,
  type ConfirmationTransition,
  type OrderIntent,
  type OrderOwner,
  type OrderRef,
  type TradeStateStore,
} from './tradeState.js';

/**
 * TradeStateStore in Redis, shared by replicas on any number of machines:
 *   lock:<hash>      a lock: the holder's token, with a TTL the holder renews while it works
 *   owner:<hash>     one write-once record per order placed through futu-mcp (30 days)
 *   intent:<id>      one record per intent, stamped with the replica that wrote it (its holder)
 *   intents:open     sorted set of the intents not yet settled (claimed, sending, unknown)
 *   confirmation:<id> one record per confirmation a human was asked for; it lives its approval
 *                    lifetime plus a day (so a late retry hears "expired", not "unknown") on
 *                    Redis's clock, and every answer is a compare-and-set in one script
 *   confirmations:open sorted set of the confirmations not yet answered or used, by expiry
 *   halts            hash of the halts in force (field: the key id as JSON, null for all keys);
 *                    no TTL: a kill switch lasts until futucli resume
 *   human-events     list of what humans did (futucli approve / reject / halt / resume), oldest
 *                    first, until a server audits it (a week at most); human-events:malformed
 *                    what could not be read
 * A killed replica's locks lapse after their TTL; its heartbeat (RedisState) lapses too, and then
 * its claimed/sending intents are unresolved: the reconciler of any replica looks them up. A
 * live replica's own intent is unresolved once no call holds it (its outcome could not be
 * written, e.g. Redis went away mid-call): its own reconciler settles it.
 * Settled intents are kept for the idempotency window, unsettled ones for a week at most.
 */
export interface RedisTradeStateOptions {
  /** How long a lock outlives a holder that stopped renewing it (default 10 s). */
  readonly lockTtlMs?: number;
  readonly lockTimeoutMs?: number;
}

const OWNER_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;
const UNSETTLED_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
const OPEN_INDEX = 'intents:open';
const HALTS = 'halts';
const OPEN_CONFIRMATIONS = 'confirmations:open';
const HUMAN_EVENTS = 'human-events';
/** Queued human events outlive a week with no server running only if nobody audits them: bounded like everything else. */
const HUMAN_EVENT_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
/** Answers racing on one confirmation: each lost compare-and-set reads the record again. */
const MAX_CONFIRMATION_RACES = 20;

/** ARGV: the record as read, the record to write. 1: written; 0: gone; otherwise the record as it now stands. */
const TRANSITION: LuaScript = {
  name: 'futuConfirmationTransition',
  keys: 1,
  lua: `local current = redis.call('GET', KEYS[1])
if not current then return 0 end
if current ~= ARGV[1] then return current end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1`,
};

/** ARGV: confirmation JSON, id, expiresAt, TTL ms. 1: created; 0: the id exists. */
const CREATE_CONFIRMATION: LuaScript = {
  name: 'futuConfirmationCreate',
  keys: 2,
  lua: `if not redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[4], 'NX') then return 0 end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1`,
};

/** The open confirmations due by Redis's clock: one clock for every replica. */
const DUE_CONFIRMATIONS: LuaScript = {
  name: 'futuConfirmationsDue',
  keys: 1,
  lua: `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)`,
};

/** ARGV: field, the resume event JSON. 1: lifted (and queued); 0: none was in force. */
const CLEAR_HALT: LuaScript = {
  name: 'futuHaltClear',
  keys: 2,
  lua: `if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ${HUMAN_EVENT_RETENTION_MS})
return 1`,
};

/** ARGV: intent JSON, id, createdAt, TTL ms. Returns the existing intent, or nil once created. */
const CLAIM: LuaScript = {
  name: 'futuIntentClaim',
  keys: 2,
  lua: `local existing = redis.call('GET', KEYS[1])
if existing then return existing end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return false`,
};

/** ARGV: intent JSON, id, createdAt, TTL ms, '1' when settled. */
const PUT: LuaScript = {
  name: 'futuIntentPut',
  keys: 2,
  lua: `redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[4])
if ARGV[5] == '1' then
  redis.call('ZREM', KEYS[2], ARGV[2])
else
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ${UNSETTLED_RETENTION_MS})
end
return 1`,
};

const DROP: LuaScript = {
  name: 'futuIntentDrop',
  keys: 2,
  lua: `redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1`,
};

/** ARGV: token, TTL ms. */
const RENEW_LOCK: LuaScript = {
  name: 'futuLockRenew',
  keys: 1,
  lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`,
};

const RELEASE_LOCK: LuaScript = {
  name: 'futuLockRelease',
  keys: 1,
  lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
};

export class RedisTradeState implements TradeStateStore {
  private readonly lockTtlMs: number;
  private readonly lockTimeoutMs: number;
  private readonly queue = new LocalQueue();
  private readonly holds = new IntentHolds();

  constructor(
    private readonly redis: RedisState,
    options: RedisTradeStateOptions = {},
  ) {
    this.lockTtlMs = options.lockTtlMs ?? 10_000;
    this.lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
  }

  async withLock<T>(name: string, work: () => Promise<T>): Promise<T> {
    return this.queue.run(name, async () => {
      const key = `lock:${digest(name)}`;
      const token = `${this.redis.replicaId}:${randomUUID()}`;
      await this.acquire(key, token);
      // Renewed while the work runs: only a holder that stopped (killed, cut off) lets it lapse.
      const renew = setInterval(() => {
        this.redis.run((c) => this.redis.script(c, RENEW_LOCK, [key], [token, this.lockTtlMs])).catch(() => undefined);
      }, this.lockTtlMs / 3);
      renew.unref();
      try {
        return await work();
      } finally {
        clearInterval(renew);
        // Not released (Redis down): it lapses after its TTL.
        await this.redis.run((c) => this.redis.script(c, RELEASE_LOCK, [key], [token])).catch((err: unknown) => log.warn('could not release a trade lock; it lapses by itself', { error: describeError(err) }));
      }
    });
  }

  async ownerOf(order: OrderRef): Promise<OrderOwner | undefined> {
    const text = await this.redis.run((c) => c.get(ownerKey(order)));
    return text === null ? undefined : parsed(() => parseOwner(text));
  }

  async recordOwner(order: OrderRef, owner: OrderOwner): Promise<void> {
    const created = await this.redis.run((c) => c.set(ownerKey(order), JSON.stringify(owner), 'PX', OWNER_RETENTION_MS, 'NX'));
    if (created === 'OK') return;
    const existing = await this.ownerOf(order);
    if (existing?.keyId !== owner.keyId || existing.tag !== owner.tag) throw new AuthzError('STATE_STORE_UNAVAILABLE', `trade state: order ${order.orderId} already has another owner (denied)`);
  }

  async claimIntent(intent: OrderIntent): Promise<{ readonly claimed: true } | { readonly claimed: false; readonly existing: OrderIntent }> {
    assertIntentId(intent.id);
    const existing = await this.redis.run((c) =>
      this.redis.script(c, CLAIM, [intentKey(intent.id), OPEN_INDEX], [this.serialize(intent), intent.id, intent.createdAt, UNSETTLED_RETENTION_MS]),
    );
    if (existing === null || existing === undefined) return { claimed: true };
    return { claimed: false, existing: parsed(() => parseIntent(String(existing), intent.id)) };
  }

  async getIntent(id: string): Promise<OrderIntent | undefined> {
    assertIntentId(id);
    const text = await this.redis.run((c) => c.get(intentKey(id)));
    return text === null ? undefined : parsed(() => parseIntent(text, id));
  }

  async putIntent(intent: OrderIntent): Promise<void> {
    assertIntentId(intent.id);
    const settled = isSettled(intent);
    const ttl = settled ? IDEMPOTENCY_WINDOW_MS : UNSETTLED_RETENTION_MS;
    await this.redis.run((c) => this.redis.script(c, PUT, [intentKey(intent.id), OPEN_INDEX], [this.serialize(intent), intent.id, intent.createdAt, ttl, settled ? '1' : '0']));
  }

  async dropIntent(id: string): Promise<void> {
    assertIntentId(id);
    await this.redis.run((c) => this.redis.script(c, DROP, [intentKey(id), OPEN_INDEX], [id]));
  }

  async unresolvedIntents(): Promise<OrderIntent[]> {
    const open = await this.openIntents();
    const unresolved: OrderIntent[] = [];
    for (const intent of open) if (await this.isUnresolved(intent)) unresolved.push(intent);
    return unresolved;
  }

  async isUnresolved(intent: OrderIntent): Promise<boolean> {
    const inFlight = intent.state === 'claimed' || intent.state === 'sending';
    // Ours while a call holds it; another replica's while its heartbeat is current.
    const alive = inFlight && (intent.holder === this.redis.replicaId ? this.holds.has(intent.id) : await this.redis.isAlive(intent.holder));
    return isUnresolved(intent, () => alive);
  }

  holdIntent<T>(id: string, work: () => Promise<T>): Promise<T> {
    return this.holds.during(id, work);
  }

  /** Expiry does the rest: this drops index entries whose intent expired. */
  async prune(): Promise<void> {
    await this.openIntents();
  }

  async createConfirmation(confirmation: Confirmation): Promise<void> {
    if (!isConfirmationId(confirmation.id)) throw new AuthzError('STATE_STORE_UNAVAILABLE', 'trade state: malformed confirmation id');
    const ttl = Math.max(0, confirmation.expiresAt - confirmation.createdAt) + CONFIRMATION_RETENTION_MS;
    const created = await this.redis.run((c) =>
      this.redis.script(c, CREATE_CONFIRMATION, [confirmationKey(confirmation.id), OPEN_CONFIRMATIONS], [JSON.stringify(confirmation), confirmation.id, confirmation.expiresAt, ttl]),
    );
    if (created !== 1) throw new AuthzError('STATE_STORE_UNAVAILABLE', 'trade state unavailable (denied): a confirmation with this id exists');
  }

  async getConfirmation(id: string): Promise<Confirmation | undefined> {
    return (await this.readConfirmation(id))?.record;
  }

  async transitionConfirmation(id: string, from: ConfirmationState, next: (current: Confirmation) => Confirmation): Promise<ConfirmationTransition | undefined> {
    let read = await this.readConfirmation(id);
    for (let races = 0; read && races < MAX_CONFIRMATION_RACES; races++) {
      if (read.record.state !== from) return { changed: false, current: read.record };
      const changed: Confirmation = { ...next(read.record), id: read.record.id, version: 1 };
      const reply = await this.redis.run((c) => this.redis.script(c, TRANSITION, [confirmationKey(id)], [read!.text, JSON.stringify(changed)]));
      if (reply === 1) return { changed: true, current: changed };
      if (reply === 0) return undefined;
      const text = String(reply);
      read = { text, record: parsed(() => parseConfirmation(text, id)) };
    }
    if (!read) return undefined;
    throw new AuthzError('STATE_STORE_UNAVAILABLE', 'trade state: a confirmation kept changing under other replicas (denied)');
  }

  async now(): Promise<number> {
    const [seconds, micros] = await this.redis.run((c) => c.time());
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  async confirmationsDue(): Promise<Confirmation[]> {
    const ids = (await this.redis.run((c) => this.redis.script(c, DUE_CONFIRMATIONS, [OPEN_CONFIRMATIONS], []))) as string[];
    return this.readIndexed(OPEN_CONFIRMATIONS, ids, confirmationKey, (text, id) => {
      // One that cannot be read is never acted on, so it leaves the index like a settled one.
      const record = readable(() => parseConfirmation(text, id));
      return record && isOpenConfirmation(record) ? record : undefined;
    });
  }

  async halts(): Promise<Halt[]> {
    const all = await this.redis.run((c) => c.hgetall(HALTS));
    return Object.values(all).map((text) => parsed(() => parseHalt(JSON.parse(text) as Partial<Halt>)));
  }

  async setHalt(halt: Halt): Promise<void> {
    const event: HumanEvent = { kind: 'halt', at: halt.since, keyId: halt.keyId, reason: halt.reason };
    const replies = await this.redis.run((c) => c.multi().hset(HALTS, JSON.stringify(halt.keyId), JSON.stringify(halt)).rpush(HUMAN_EVENTS, JSON.stringify(event)).pexpire(HUMAN_EVENTS, HUMAN_EVENT_RETENTION_MS).exec());
    const failed = replies?.find(([err]) => err !== null)?.[0];
    if (!replies || failed) throw new AuthzError('STATE_STORE_UNAVAILABLE', `trade state unavailable: the halt was not stored (${failed ? describeError(failed) : 'transaction aborted'})`);
  }

  async clearHalt(keyId: string | null): Promise<boolean> {
    const event: HumanEvent = { kind: 'resume', at: await this.now(), keyId };
    return (await this.redis.run((c) => this.redis.script(c, CLEAR_HALT, [HALTS, HUMAN_EVENTS], [JSON.stringify(keyId), JSON.stringify(event)]))) === 1;
  }

  async recordHumanEvent(event: HumanEvent): Promise<void> {
    await this.pushEvent(HUMAN_EVENTS, JSON.stringify(event));
  }

  private async pushEvent(list: string, text: string): Promise<void> {
    await this.redis.run((c) => c.multi().rpush(list, text).pexpire(list, HUMAN_EVENT_RETENTION_MS).exec());
  }

  async drainHumanEvents(audit: (events: readonly HumanEvent[]) => Promise<void>, max = HUMAN_EVENTS_PER_DRAIN): Promise<number> {
    return this.withLock('human-events', async () => {
      const texts = await this.redis.run((c) => c.lrange(HUMAN_EVENTS, 0, max - 1));
      const events: HumanEvent[] = [];
      for (const text of texts) {
        const event = readable(() => parseHumanEvent(text));
        if (event) events.push(event);
        else {
          // Never audited as something it may not be: set aside for a human to look at.
          log.warn('a queued human event is malformed; moved to human-events:malformed');
          await this.pushEvent(`${HUMAN_EVENTS}:malformed`, text);
        }
      }
      if (events.length > 0) await audit(events);
      if (texts.length > 0) await this.redis.run((c) => c.ltrim(HUMAN_EVENTS, texts.length, -1));
      return events.length;
    });
  }

  private async readConfirmation(id: string): Promise<{ text: string; record: Confirmation } | undefined> {
    if (!isConfirmationId(id)) return undefined;
    const text = await this.redis.run((c) => c.get(confirmationKey(id)));
    return text === null ? undefined : { text, record: parsed(() => parseConfirmation(text, id)) };
  }

  private async openIntents(): Promise<OrderIntent[]> {
    const ids = await this.redis.run((c) => c.zrange(OPEN_INDEX, 0, -1));
    return this.readIndexed(OPEN_INDEX, ids, intentKey, (text, id) => parsed(() => parseIntent(text, id)));
  }

  /** The records a sorted-set index names, in one MGET; ids whose record is gone or that `keep` turns down leave the index. */
  private async readIndexed<T>(index: string, ids: readonly string[], keyOf: (id: string) => string, keep: (text: string, id: string) => T | undefined): Promise<T[]> {
    if (ids.length === 0) return [];
    const texts = await this.redis.run((c) => c.mget(ids.map(keyOf)));
    const kept: T[] = [];
    const dropped: string[] = [];
    ids.forEach((id, i) => {
      const text = texts[i];
      const record = text === null || text === undefined ? undefined : keep(text, id);
      if (record === undefined) dropped.push(id);
      else kept.push(record);
    });
    if (dropped.length > 0) await this.redis.run((c) => c.zrem(index, ...dropped));
    return kept;
  }

  private async acquire(key: string, token: string): Promise<void> {
    const deadline = Date.now() + this.lockTimeoutMs;
    for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
      const taken = await this.redis.run((c) => c.set(key, token, 'PX', this.lockTtlMs, 'NX'));
      if (taken === 'OK') return;
      if (Date.now() > deadline) throw new AuthzError('STATE_STORE_UNAVAILABLE', 'trade state: a lock stayed busy too long (denied)');
      await sleep(wait);
    }
  }

  /** The replica that writes an intent holds it: its heartbeat says whether the intent still runs. */
  private serialize(intent: OrderIntent): string {
    return JSON.stringify({ ...intent, holder: this.redis.replicaId });
  }
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

function ownerKey(order: OrderRef): string {
  return `owner:${digest(`${order.env}\0${order.accId}\0${order.orderId}`)}`;
}

function confirmationKey(id: string): string {
  return `confirmation:${id}`;
}

function intentKey(id: string): string {
  return `intent:${id}`;
}

/** The record, or undefined when it cannot be read (for sweeps that skip what they must not act on). */
function readable<T>(parse: () => T): T | undefined {
  try {
    return parse();
  } catch {
    return undefined;
  }
}

/** A record we cannot read is one we must not act on. */
function parsed<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new AuthzError('STATE_STORE_UNAVAILABLE', `trade state unavailable (denied): ${describeError(err)}`);
  }
}
