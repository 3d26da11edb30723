import type { MarketCode } from '../gateway/symbol.js';

/**
 * Trading calendars in each market's local time. Simplifications, on purpose: every weekday is a
 * trading day (no holidays), and US time is fixed at UTC-5 (daylight saving time is ignored).
 * Days are counted as whole local days since 1970-01-01; minutes as minutes after local midnight.
 */
export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;

interface MarketHours {
  readonly utcOffsetMinutes: number;
  /** Continuous-trading sessions as [open, close) local minutes. */
  readonly sessions: readonly (readonly [number, number])[];
}

const HOURS: Record<MarketCode, MarketHours> = {
  HK: { utcOffsetMinutes: 8 * 60, sessions: [[570, 720], [780, 960]] },
  US: { utcOffsetMinutes: -5 * 60, sessions: [[570, 960]] },
  SH: { utcOffsetMinutes: 8 * 60, sessions: [[570, 690], [780, 900]] },
  SZ: { utcOffsetMinutes: 8 * 60, sessions: [[570, 690], [780, 900]] },
};

export function utcOffsetMs(market: MarketCode): number {
  return HOURS[market].utcOffsetMinutes * MINUTE_MS;
}

export function sessionsOf(market: MarketCode): readonly (readonly [number, number])[] {
  return HOURS[market].sessions;
}

const minuteTables = new Map<MarketCode, readonly number[]>();

/** Start minute (local) of every trading minute of a day, in order. */
export function tradingMinutes(market: MarketCode): readonly number[] {
  let table = minuteTables.get(market);
  if (!table) {
    table = HOURS[market].sessions.flatMap(([open, close]) => Array.from({ length: close - open }, (_, i) => open + i));
    minuteTables.set(market, table);
  }
  return table;
}

export function localDay(utcMs: number, market: MarketCode): number {
  return Math.floor((utcMs + utcOffsetMs(market)) / DAY_MS);
}

/** Milliseconds since local midnight. */
export function localMsOfDay(utcMs: number, market: MarketCode): number {
  const local = utcMs + utcOffsetMs(market);
  return local - Math.floor(local / DAY_MS) * DAY_MS;
}

export function utcOf(market: MarketCode, day: number, localMinute: number): number {
  return day * DAY_MS + localMinute * MINUTE_MS - utcOffsetMs(market);
}

/** 0 = Monday ... 6 = Sunday (1970-01-01 was a Thursday). */
function weekday(day: number): number {
  return (((day + 3) % 7) + 7) % 7;
}

export function isTradingDay(day: number): boolean {
  return weekday(day) < 5;
}

/** Consecutive numbering of trading days, for series that step once per trading day. */
export function tradingIndex(day: number): number {
  const week = Math.floor((day + 3) / 7);
  return week * 5 + Math.min(weekday(day), 5);
}

export function dayOfTradingIndex(index: number): number {
  const week = Math.floor(index / 5);
  return week * 7 + (index - week * 5) - 3;
}

/** The trading day before `day` (for a weekend day: the Friday before it). */
export function previousTradingDay(day: number): number {
  return dayOfTradingIndex(tradingIndex(day) - 1);
}

/** `day` itself when it trades, otherwise the next trading day. */
export function tradingDayOnOrAfter(day: number): number {
  return dayOfTradingIndex(tradingIndex(day));
}

export function tradingDayOnOrBefore(day: number): number {
  return isTradingDay(day) ? day : previousTradingDay(day);
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** yyyy-MM-dd HH:mm:ss (or with .SSS) in the market's local time. */
export function formatLocal(utcMs: number, market: MarketCode, withMillis = false): string {
  const d = new Date(utcMs + utcOffsetMs(market));
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  const base = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${time}`;
  return withMillis ? `${base}.${pad(d.getUTCMilliseconds(), 3)}` : base;
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?: (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?)?$/;

export interface ParsedLocalTime {
  /** Milliseconds since the Unix epoch, reading the text as the market's local time. */
  utcMs: number;
  hasTime: boolean;
}

/** Parses "yyyy-MM-dd" or "yyyy-MM-dd HH:mm:ss[.SSS]" strictly (no rolling 02-30 into March). */
export function parseLocal(text: string, market: MarketCode): ParsedLocalTime | undefined {
  const m = DATE_TIME.exec(text.trim());
  if (!m) return undefined;
  const [year, month, date, hour = 0, minute = 0, second = 0] = m.slice(1, 7).map((v) => (v === undefined ? undefined : Number(v)));
  const millis = m[7] ? Number(m[7].padEnd(3, '0')) : 0;
  const local = Date.UTC(year!, month! - 1, date!, hour, minute, second, millis);
  const check = new Date(local);
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month! - 1 || check.getUTCDate() !== date) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  return { utcMs: local - utcOffsetMs(market), hasTime: m[4] !== undefined };
}

/** Local day number of a yyyy-MM-dd date. */
export function dayOfDate(date: string): number {
  return Math.floor(Date.parse(`${date}T00:00:00Z`) / DAY_MS);
}
