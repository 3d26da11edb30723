import { createHash, randomUUID } from 'node:crypto';
import { describeError } from '../shared/errors.js';
import { LocalQueue } from '../shared/localQueue.js';
import { log } from '../shared/log.js';
import type { UsageSnapshot } from './builder.js';
import { AuthzError } from './errors.js';
import { currencyChangedError, RESERVATION_TTL_MS, SettleOnce, validValue, type LimitsStore, type RateKind, type Reservation, type ReserveDecision } from './limits.js';
import type { LuaScript, RedisState } from './redisState.js';

/**
 * LimitsStore in Redis, shared by replicas on any number of machines. Per key (a hash of its id):
 *   ledger:{h}           hash: day (UTC day number), committed, currency, ver
 *   ledger:{h}:orders    sorted set: order attempts of the last 60 s (score: Redis time, ms)
 *   ledger:{h}:cancels   sorted set: risk-reducing attempts of the last 60 s
 *   ledger:{h}:res       sorted set: reservations in flight, "id|value" scored by expiry
 *   ledger:{h}:settled:<reservation id>   marker that makes commit/release happen once
 * Every change is one Lua script, so it is atomic across replicas, and every script ages the
 * state by Redis TIME (one clock for all replicas): attempts leave the window after 60 s,
 * reservations after their TTL (a killed replica's reservation stops counting then), the
 * committed total resets when the UTC day changes. Everything carries a TTL.
 *
 * The decision cannot run inside Redis (it is a Cedar evaluation), so the check-and-reserve is
 * optimistic: read the usage and its version, decide, and reserve only if the version is still
 * the same (else decide again on the usage the script returns). Only changes that can raise the
 * usage bump the version; aging, releases and refunds only lower it, and a decision taken on a
 * higher usage than the current one errs on the safe side. Calls of one key queue in this
 * process, so the version is contended only between replicas.
 */
export interface RedisLimitsOptions {
  readonly reservationTtlMs?: number;
}

const DAY_MS = 86_400_000;
/** Attempts to reserve against a usage that keeps changing under other replicas before giving up (denied). */
const MAX_CONFLICTS = 100;

const AGE = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function age(t)
  local today = math.floor(t / ${DAY_MS})
  local day = tonumber(redis.call('HGET', KEYS[1], 'day') or '-1')
  if day < today then redis.call('HSET', KEYS[1], 'day', today, 'committed', 0) end
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', t - 60000)
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', t - 60000)
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', t)
  local committed = tonumber(redis.call('HGET', KEYS[1], 'committed') or '0')
  local inflight = 0
  for _, member in ipairs(redis.call('ZRANGE', KEYS[4], 0, -1)) do
    inflight = inflight + tonumber(string.match(member, '|(%d+)$'))
  end
  if committed == 0 and inflight == 0 then redis.call('HDEL', KEYS[1], 'currency') end
  redis.call('PEXPIRE', KEYS[1], ${2 * DAY_MS})
  return committed, inflight
end
local function usage(status)
  local committed, inflight = age(now_ms())
  return {status, tonumber(redis.call('HGET', KEYS[1], 'ver') or '0'), redis.call('ZCARD', KEYS[2]), redis.call('ZCARD', KEYS[3]),
    committed + inflight, redis.call('HGET', KEYS[1], 'currency') or ''}
end
`;

const USAGE: LuaScript = { name: 'futuLimitsUsage', keys: 4, lua: `${AGE}\nreturn usage('usage')` };

/** ARGV: expected version, rate kind, value, currency, reservation id, TTL ms. */
const RESERVE: LuaScript = {
  name: 'futuLimitsReserve',
  keys: 4,
  lua: `${AGE}
local current = usage('conflict')
if current[2] ~= tonumber(ARGV[1]) then return current end
if current[6] ~= '' and current[6] ~= ARGV[4] then return current end
local t = now_ms()
local window = KEYS[2]
if ARGV[2] == 'cancel' then window = KEYS[3] end
redis.call('ZADD', window, t, ARGV[5])
redis.call('PEXPIRE', window, 60000)
if tonumber(ARGV[3]) > 0 then
  redis.call('ZADD', KEYS[4], t + tonumber(ARGV[6]), ARGV[5] .. '|' .. ARGV[3])
  redis.call('PEXPIRE', KEYS[4], tonumber(ARGV[6]))
  redis.call('HSET', KEYS[1], 'currency', ARGV[4])
end
redis.call('HINCRBY', KEYS[1], 'ver', 1)
return {'ok'}`,
};

/** KEYS[5]: the settled marker. ARGV: "id|value", value, currency, marker TTL ms. */
const COMMIT: LuaScript = {
  name: 'futuLimitsCommit',
  keys: 5,
  lua: `${AGE}
if not redis.call('SET', KEYS[5], '1', 'NX', 'PX', ARGV[4]) then return 0 end
age(now_ms())
-- A lapsed reservation no longer counted: committing it raises the usage.
if redis.call('ZREM', KEYS[4], ARGV[1]) == 0 then redis.call('HINCRBY', KEYS[1], 'ver', 1) end
redis.call('HINCRBY', KEYS[1], 'committed', ARGV[2])
if not redis.call('HGET', KEYS[1], 'currency') then redis.call('HSET', KEYS[1], 'currency', ARGV[3]) end
return 1`,
};

/** KEYS[5]: the settled marker. ARGV: "id|value", marker TTL ms. */
const RELEASE: LuaScript = {
  name: 'futuLimitsRelease',
  keys: 5,
  lua: `if not redis.call('SET', KEYS[5], '1', 'NX', 'PX', ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[4], ARGV[1])
return 1`,
};

/** ARGV: UTC day number, value. */
const REFUND: LuaScript = {
  name: 'futuLimitsRefund',
  keys: 4,
  lua: `${AGE}
local committed = age(now_ms())
if tonumber(redis.call('HGET', KEYS[1], 'day')) ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'committed', math.max(0, committed - tonumber(ARGV[2])))
return 1`,
};

/** ARGV: UTC day number, value, currency. */
const COMMIT_VALUE: LuaScript = {
  name: 'futuLimitsCommitValue',
  keys: 4,
  lua: `${AGE}
age(now_ms())
if tonumber(redis.call('HGET', KEYS[1], 'day')) ~= tonumber(ARGV[1]) then return 0 end
redis.call('HINCRBY', KEYS[1], 'committed', ARGV[2])
if not redis.call('HGET', KEYS[1], 'currency') then redis.call('HSET', KEYS[1], 'currency', ARGV[3]) end
redis.call('HINCRBY', KEYS[1], 'ver', 1)
return 1`,
};

/** ARGV: orders a minute. The slot frees when the attempt that fills the cap leaves the 60 s window. */
const NEXT_ORDER_SLOT: LuaScript = {
  name: 'futuLimitsNextOrderSlot',
  keys: 4,
  lua: `${AGE}
local t = now_ms()
age(t)
local count = redis.call('ZCARD', KEYS[2])
local cap = tonumber(ARGV[1])
if count < cap then return t end
local oldest = redis.call('ZRANGE', KEYS[2], count - cap, count - cap, 'WITHSCORES')
return tonumber(oldest[2]) + 60000`,
};

interface VersionedUsage {
  readonly version: number;
  readonly usage: UsageSnapshot;
  /** '' while nothing is recorded for the day. */
  readonly currency: string;
}

export class RedisLimits implements LimitsStore {
  readonly sendWindowMs: number;
  private readonly ttlMs: number;
  private readonly queue = new LocalQueue();
  private readonly settled = new SettleOnce();
  /** Commits whose script failed: retried (idempotent) before the key's next reservation. */
  private readonly pendingCommits = new Map<string, Reservation[]>();

  constructor(
    private readonly redis: RedisState,
    options: RedisLimitsOptions = {},
  ) {
    this.ttlMs = options.reservationTtlMs ?? RESERVATION_TTL_MS;
    this.sendWindowMs = this.ttlMs / 2;
  }

  decideAndReserve<T>(
    keyId: string,
    currency: string,
    _now: Date,
    decide: (usage: UsageSnapshot) => ReserveDecision<T>,
    rateKind: RateKind = 'order',
  ): Promise<{ outcome: T; reservation: Reservation | null }> {
    return this.queue.run(`key\0${keyId}`, async () => {
      await this.retryPendingCommits(keyId);
      const keys = ledgerKeys(keyId);
      let current = await this.redis.run(async (c) => parseUsage(await this.redis.script(c, USAGE, keys, [])));
      for (let conflicts = 0; conflicts < MAX_CONFLICTS; conflicts++) {
        if (current.currency !== '' && current.currency !== currency) throw currencyChangedError(current.currency, currency);
        const { outcome, reserveValue } = decide(current.usage);
        if (reserveValue === null) return { outcome, reservation: null };
        if (!validValue(reserveValue)) throw new AuthzError('LEDGER_ERROR', 'limits ledger: invalid reservation value');
        const reservation: Reservation = { keyId, id: randomUUID(), currency, value: reserveValue };
        const args = [current.version, rateKind, reserveValue, currency, reservation.id, this.ttlMs];
        const reply = await this.redis.run((c) => this.redis.script(c, RESERVE, keys, args));
        if (Array.isArray(reply) && reply[0] === 'ok') return { outcome, reservation };
        current = parseUsage(reply);
      }
      throw new AuthzError('STATE_STORE_UNAVAILABLE', 'limits ledger: the usage kept changing under other replicas; try again (denied)');
    });
  }

  async commit(reservation: Reservation): Promise<boolean> {
    if (!this.settled.first(reservation)) return true;
    try {
      await this.runCommit(reservation);
      return true;
    } catch (err) {
      log.error('ledger commit failed; will retry before the next operation for this key', { key_id: reservation.keyId, error: describeError(err) });
      const pending = this.pendingCommits.get(reservation.keyId) ?? [];
      this.pendingCommits.set(reservation.keyId, [...pending, reservation]);
      return false;
    }
  }

  async release(reservation: Reservation): Promise<boolean> {
    if (!this.settled.first(reservation)) return true;
    try {
      await this.redis.run((c) => this.redis.script(c, RELEASE, [...ledgerKeys(reservation.keyId), settledKey(reservation)], [member(reservation), 2 * this.ttlMs]));
      return true;
    } catch (err) {
      // The reservation keeps counting until its TTL: over-counting is the safe failure.
      log.error('ledger release failed', { key_id: reservation.keyId, error: describeError(err) });
      return false;
    }
  }

  async refund(keyId: string, value: number, day: string): Promise<void> {
    if (!validValue(value)) throw new AuthzError('LEDGER_ERROR', 'limits ledger: invalid refund value');
    if (value === 0) return;
    await this.redis.run((c) => this.redis.script(c, REFUND, ledgerKeys(keyId), [dayNumber(day), value]));
  }

  async commitValue(keyId: string, currency: string, value: number, day: string): Promise<void> {
    if (!validValue(value)) throw new AuthzError('LEDGER_ERROR', 'limits ledger: invalid commit value');
    if (value === 0) return;
    await this.redis.run((c) => this.redis.script(c, COMMIT_VALUE, ledgerKeys(keyId), [dayNumber(day), value, currency]));
  }

  async usage(keyId: string): Promise<UsageSnapshot> {
    return (await this.redis.run(async (c) => parseUsage(await this.redis.script(c, USAGE, ledgerKeys(keyId), [])))).usage;
  }

  async nextOrderSlot(keyId: string, _now: Date, cap: number): Promise<number> {
    const at = Number(await this.redis.run((c) => this.redis.script(c, NEXT_ORDER_SLOT, ledgerKeys(keyId), [cap])));
    if (!Number.isSafeInteger(at)) throw new AuthzError('STATE_STORE_UNAVAILABLE', 'limits ledger: Redis answered with a malformed order slot (denied)');
    return at;
  }

  async assertAvailable(): Promise<void> {
    await this.redis.run((c) => c.ping());
  }

  private runCommit(reservation: Reservation): Promise<unknown> {
    const { keyId, value, currency } = reservation;
    return this.redis.run((c) => this.redis.script(c, COMMIT, [...ledgerKeys(keyId), settledKey(reservation)], [member(reservation), value, currency, 2 * this.ttlMs]));
  }

  /** The order of a failed commit exists: until it is counted, the key's next reservations are refused. */
  private async retryPendingCommits(keyId: string): Promise<void> {
    const pending = this.pendingCommits.get(keyId);
    if (!pending) return;
    for (const reservation of pending) await this.runCommit(reservation);
    this.pendingCommits.delete(keyId);
  }
}

/** Key ids are free text: Redis keys carry a hash of them (in braces: one Cluster slot per key). */
function ledgerKeys(keyId: string): string[] {
  const base = `ledger:{${createHash('sha256').update(keyId).digest('hex').slice(0, 32)}}`;
  return [base, `${base}:orders`, `${base}:cancels`, `${base}:res`];
}

function settledKey(reservation: Reservation): string {
  return `${ledgerKeys(reservation.keyId)[0]}:settled:${reservation.id}`;
}

function member(reservation: Reservation): string {
  return `${reservation.id}|${reservation.value}`;
}

function dayNumber(day: string): number {
  const ms = Date.parse(`${day}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(ms)) throw new AuthzError('LEDGER_ERROR', `limits ledger: invalid day "${day}"`);
  return ms / DAY_MS;
}

function parseUsage(reply: unknown): VersionedUsage {
  const r = reply as unknown[];
  const [version, ordersBefore, cancelsBefore, dailyValue] = [r[1], r[2], r[3], r[4]].map(Number);
  if (!Array.isArray(reply) || ![version, ordersBefore, cancelsBefore, dailyValue].every((n) => Number.isSafeInteger(n) && n! >= 0) || typeof r[5] !== 'string') {
    throw new AuthzError('STATE_STORE_UNAVAILABLE', 'limits ledger: Redis answered with a malformed usage (denied)');
  }
  return { version: version!, usage: { ordersBefore: ordersBefore!, cancelsBefore: cancelsBefore!, dailyValue: dailyValue! }, currency: r[5] };
}
