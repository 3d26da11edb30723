import type { EntityJson } from '@cedar-policy/cedar-wasm/nodejs';
import { MARKET_ALIASES } from '../keys/schema.js';
import { DEFAULT_CALLS_PER_MINUTE, DEFAULT_CANCELS_PER_MINUTE, requireConfirmationOf, type KeyLimits, type KeyRecord } from '../keys/types.js';
import { NAMESPACE } from './actions.js';
import { floorMinorUnits, parseDecimal, toSafeLong } from './money.js';
import { parseHoursWindow } from './hoursWindow.js';
import { AuthzError } from './errors.js';
import { canonicalAccount } from './canonical.js';
import { deepFreeze } from '../shared/deepFreeze.js';

/**
 * KeyRecord → the Futu::ApiKey entity. Every "null = no limit" of keys.json becomes an explicit
 * flag, money limits become minor units, and market aliases (CN, HKCC) expand to the symbol
 * prefixes policies compare (the key store already does this for records it loads).
 */
const cache = new WeakMap<KeyRecord, EntityJson>();
const builtIds = new WeakMap<EntityJson, string>();
let built = 0;

/**
 * Key records are immutable, so the entity is built once per record, and deeply frozen, as every
 * call of the key shares it.
 */
export function principalEntity(key: KeyRecord): EntityJson {
  let entity = cache.get(key);
  if (!entity) {
    entity = deepFreeze(buildEntity(key));
    cache.set(key, entity);
    builtIds.set(entity, `principal#${++built}`);
  }
  return entity;
}

/**
 * A process-unique id of an entity principalEntity built, or undefined for any other object.
 * Such an entity is frozen, so the id stands for its content (decision cache keys use it).
 */
export function builtPrincipalId(entity: EntityJson): string | undefined {
  return builtIds.get(entity);
}

function buildEntity(key: KeyRecord): EntityJson {
  const limits: KeyLimits = key.limits;
  if (limits.hours_window !== null) parseHoursWindow(limits.hours_window);
  return {
    uid: { type: `${NAMESPACE}::ApiKey`, id: key.id },
    attrs: {
      scopes: [...key.scopes],
      marketsUnrestricted: limits.allowed_markets === null,
      markets: normalizedSet(limits.allowed_markets, expandMarket),
      symbolsUnrestricted: limits.allowed_symbols === null,
      symbols: normalizedSet(limits.allowed_symbols, (s) => [s.trim().toUpperCase()]),
      sidesUnrestricted: limits.allowed_trd_sides === null,
      sides: normalizedSet(limits.allowed_trd_sides, (s) => [s]),
      accountsUnrestricted: limits.allowed_acc_ids === null,
      accounts: normalizedSet(limits.allowed_acc_ids, (s) => [canonicalAccount(s)]),
      limitCurrency: limits.limit_currency,
      hasMaxOrderValue: limits.max_order_value !== null,
      maxOrderValue: moneyLimit(limits.max_order_value, 'max_order_value'),
      hasMaxDailyValue: limits.max_daily_value !== null,
      maxDailyValue: moneyLimit(limits.max_daily_value, 'max_daily_value'),
      hasMaxOrdersPerMinute: limits.max_orders_per_minute !== null,
      maxOrdersPerMinute: countLimit(limits.max_orders_per_minute, 'max_orders_per_minute'),
      hasHoursWindow: limits.hours_window !== null,
      hoursWindow: limits.hours_window?.trim() ?? '',
      manageAnyOrder: limits.manage_any_order === true,
      maxCancelsPerMinute: countLimit(limits.max_cancels_per_minute ?? DEFAULT_CANCELS_PER_MINUTE, 'max_cancels_per_minute'),
      maxCallsPerMinute: countLimit(limits.max_calls_per_minute ?? DEFAULT_CALLS_PER_MINUTE, 'max_calls_per_minute'),
      ...confirmationAttrs(key),
    },
    parents: [],
  };
}

/** require_confirmation as policies compare it: a rule name, and the above_value threshold in minor units. */
function confirmationAttrs(key: KeyRecord): { requireConfirmation: string; confirmAboveValue: number } {
  const rule = requireConfirmationOf(key);
  if (typeof rule === 'string') return { requireConfirmation: rule, confirmAboveValue: 0 };
  return { requireConfirmation: 'above_value', confirmAboveValue: moneyLimit(rule.above_value, 'require_confirmation.above_value') };
}

/** null (no restriction) becomes an empty set; the paired *Unrestricted flag carries the meaning. */
function normalizedSet(values: readonly string[] | null, normalize: (v: string) => string[]): string[] {
  return values === null ? [] : [...new Set(values.flatMap(normalize))].sort();
}

function expandMarket(market: string): string[] {
  const upper = market.trim().toUpperCase();
  return [upper, ...(MARKET_ALIASES[upper] ?? [])];
}

/** Major units → minor units, rounded down so a limit is never loosened; null → 0 (unused). */
function moneyLimit(major: number | null, field: string): number {
  return major === null ? 0 : toSafeLong(floorMinorUnits(parseDecimal(major, field)), field);
}

function countLimit(value: number | null, field: string): number {
  if (value === null) return 0;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new AuthzError('INVALID_VALUE', `invalid value: ${field} must be a non-negative integer`);
  }
  return value;
}

/**
 * Whether the key may act on (or read) this account, compared as its Cedar entity compares them
 * (canonical decimal ids). For lookups that must stay inside the key's accounts before Cedar
 * runs; Cedar's `account-not-allowed` forbid remains the rule every call is decided by.
 */
export function keyMayUseAccount(key: KeyRecord, accId: string): boolean {
  const allowed = key.limits.allowed_acc_ids;
  if (allowed === null) return true;
  const wanted = canonicalAccount(accId);
  return allowed.some((a) => canonicalAccount(a) === wanted);
}
