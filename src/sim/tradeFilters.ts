import type { Message } from '../gateway/proto.js';
import { TrdMarket, type Account } from './accounts.js';
import { DAY_MS, parseLocal } from './calendar.js';
import type { Listing } from './catalog.js';
import { SimError } from './contract.js';
import { idOf, messageOf } from './fields.js';

export const MAX_HISTORY_RANGE_DAYS = 90;

/** Trd_Common.TrdFilterConditions, parsed. Times are read in the account market's time zone. */
export interface TradeFilter {
  readonly codes?: ReadonlySet<string>;
  readonly ids?: ReadonlySet<string>;
  readonly idExs?: ReadonlySet<string>;
  readonly beginMs?: number;
  readonly endMs?: number;
}

function nonEmptySet<T>(values: T[]): ReadonlySet<T> | undefined {
  return values.length > 0 ? new Set(values) : undefined;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

export function parseFilter(c2s: Message, account: Account, rangeRequired: boolean): TradeFilter {
  const fc = messageOf(c2s, 'filterConditions') ?? {};
  const zone = account.spec.trdMarket === TrdMarket.HK ? 'HK' : account.spec.trdMarket === TrdMarket.US ? 'US' : 'SH';
  const time = (field: 'beginTime' | 'endTime'): number | undefined => {
    const text = fc[field];
    if (typeof text !== 'string' || text === '') {
      if (rangeRequired) throw new SimError(`filterConditions.${field} is required`);
      return undefined;
    }
    const parsed = parseLocal(text, zone);
    if (!parsed) throw new SimError(`Invalid ${field} "${text}": expected yyyy-MM-dd HH:mm:ss`);
    return field === 'endTime' && !parsed.hasTime ? parsed.utcMs + DAY_MS - 1 : parsed.utcMs;
  };
  const beginMs = time('beginTime');
  const endMs = time('endTime');
  // OpenD answers a history query for at most 90 days; longer ranges must be paged by the caller.
  if (rangeRequired && beginMs !== undefined && endMs !== undefined && endMs - beginMs >= MAX_HISTORY_RANGE_DAYS * DAY_MS) {
    throw new SimError(`The time range of a history query cannot exceed ${MAX_HISTORY_RANGE_DAYS} days`);
  }
  return {
    codes: nonEmptySet(strings(fc.codeList)),
    ids: nonEmptySet((Array.isArray(fc.idList) ? fc.idList : []).map(idOf).filter((v): v is string => v !== undefined)),
    idExs: nonEmptySet(strings(fc.orderIDExList)),
    beginMs,
    endMs,
  };
}

/** Codes match bare ("00700") or prefixed ("HK.00700"). */
export function matchesCode(filter: TradeFilter, listing: Listing): boolean {
  return !filter.codes || filter.codes.has(listing.security.code) || filter.codes.has(listing.symbol);
}

export function matchesTime(filter: TradeFilter, ms: number): boolean {
  return (filter.beginMs === undefined || ms >= filter.beginMs) && (filter.endMs === undefined || ms <= filter.endMs);
}
