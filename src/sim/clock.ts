import type { MarketCode } from '../gateway/symbol.js';
import { isTradingDay, localDay, localMsOfDay, MINUTE_MS, sessionsOf, dayOfTradingIndex, tradingIndex, tradingMinutes, utcOf } from './calendar.js';

/**
 * The simulator's clocks. The OpenD clock (`now`) drives frequency limits, the subscription
 * minute and what OpenD reports as its time; it may start at a chosen instant and then runs in
 * real time, so tests never depend on the wall clock. Each market reads the OpenD clock through
 * its hours: 'real' uses it as is; 'always' maps it onto that market's trading timeline so the
 * market is in continuous trading at every instant, time running at real speed inside sessions
 * and skipping breaks, closes and weekends.
 */
export type MarketHours = 'real' | 'always';
export const MARKET_HOURS: readonly MarketHours[] = ['real', 'always'];

const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/**
 * An ISO-8601 instant with a date, a time and an explicit offset (`2026-12-03T10:00:00+08:00`,
 * `…Z`); undefined for anything else, including impossible dates such as 02-30.
 */
export function parseInstant(text: string): number | undefined {
  const m = ISO_INSTANT.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second = 0, offsetHours = 0, offsetMinutes = 0] = m.slice(1).map((v) => (v === undefined ? undefined : Number(v)));
  if (hour! > 23 || minute! > 59 || second > 59 || offsetHours > 14 || offsetMinutes > 59) return undefined;
  const date = new Date(Date.UTC(year!, month! - 1, day!));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month! - 1 || date.getUTCDate() !== day) return undefined;
  return Date.parse(text);
}

/** A clock that reads `startMs` now and then advances with `wall`. */
export function runningClock(startMs: number, wall: () => number = Date.now): () => number {
  const wallAtStart = wall();
  return () => startMs + (wall() - wallAtStart);
}

/** Milliseconds of continuous trading from the epoch to `utcMs`, counting only session time. */
function tradingMsAt(market: MarketCode, utcMs: number): number {
  const dayMs = tradingMinutes(market).length * MINUTE_MS;
  const day = localDay(utcMs, market);
  // A weekend's trading index is the next Monday's: the timeline stands still until it opens.
  if (!isTradingDay(day)) return tradingIndex(day) * dayMs;
  const msOfDay = localMsOfDay(utcMs, market);
  let elapsed = 0;
  for (const [open, close] of sessionsOf(market)) elapsed += Math.min(Math.max(msOfDay - open * MINUTE_MS, 0), (close - open) * MINUTE_MS);
  return tradingIndex(day) * dayMs + elapsed;
}

/** The in-session instant `tradingMs` into the trading timeline (a close maps to the next open). */
function instantAtTradingMs(market: MarketCode, tradingMs: number): number {
  const dayMs = tradingMinutes(market).length * MINUTE_MS;
  const index = Math.floor(tradingMs / dayMs);
  const intoDay = tradingMs - index * dayMs;
  const minute = Math.floor(intoDay / MINUTE_MS);
  return utcOf(market, dayOfTradingIndex(index), tradingMinutes(market)[minute]!) + (intoDay - minute * MINUTE_MS);
}

/** Per-market clocks over the OpenD clock `now`; with 'always' anchored where `now` stands at the call. */
export function marketClocks(now: () => number, hours: MarketHours): (market: MarketCode) => number {
  if (hours === 'real') return () => now();
  const anchor = now();
  const anchors = new Map<MarketCode, number>();
  return (market) => {
    let base = anchors.get(market);
    if (base === undefined) {
      base = tradingMsAt(market, anchor);
      anchors.set(market, base);
    }
    return instantAtTradingMs(market, base + (now() - anchor));
  };
}
