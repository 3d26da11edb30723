import type { MarketCode } from '../gateway/symbol.js';
import type { Listing } from './catalog.js';
import { aggregateMinutes, aggregateTicks, mergeBars, type Bar, type PricePath, type TickPoint } from './pricePath.js';
import { isTradingDay, localDay, localMsOfDay, MINUTE_MS, previousTradingDay, tradingMinutes, utcOf } from './calendar.js';

/**
 * Where a market's trading day stands at an instant: the session day whose data is current (today
 * once it has opened, otherwise the previous trading day), how many of its trading minutes are
 * complete, and the minute in progress, if any.
 */
export interface Progress {
  readonly day: number;
  readonly fullMinutes: number;
  readonly partial?: { readonly minute: number; readonly offsetMs: number };
}

export function progressAt(market: MarketCode, nowMs: number): Progress {
  const minutes = tradingMinutes(market);
  const today = localDay(nowMs, market);
  const msOfDay = localMsOfDay(nowMs, market);
  if (!isTradingDay(today) || msOfDay < minutes[0]! * MINUTE_MS) {
    return { day: previousTradingDay(today), fullMinutes: minutes.length };
  }
  let full = 0;
  while (full < minutes.length && (minutes[full]! + 1) * MINUTE_MS <= msOfDay) full++;
  const current = minutes[full];
  if (current !== undefined && current * MINUTE_MS <= msOfDay) {
    return { day: today, fullMinutes: full, partial: { minute: full, offsetMs: msOfDay - current * MINUTE_MS } };
  }
  return { day: today, fullMinutes: full };
}

export function isDayComplete(market: MarketCode, p: Progress): boolean {
  return p.fullMinutes === tradingMinutes(market).length;
}

/** Ticks of the minute in progress that have happened by now. */
function visibleTicks(path: PricePath, p: Progress): TickPoint[] {
  if (!p.partial) return [];
  const { minute, offsetMs } = p.partial;
  return path.ticksOf(p.day, minute).filter((t) => t.offsetMs <= offsetMs);
}

/** The bar of minutes [from, to) of the progress day, cut at now. */
export function barUntilNow(path: PricePath, p: Progress, from: number, to: number): Bar | undefined {
  const s = path.dayMinutes(p.day);
  const complete = aggregateMinutes(s, from, Math.min(to, p.fullMinutes));
  const partial = p.partial && p.partial.minute >= from && p.partial.minute < to ? aggregateTicks(visibleTicks(path, p)) : undefined;
  return mergeBars([complete, partial]);
}

export interface LastTrade {
  readonly price: number;
  readonly utcMs: number;
}

/** The latest trade by now: in the minute in progress, or the last tick of the last complete minute. */
export function lastTrade(path: PricePath, p: Progress, listing: Listing): LastTrade {
  const minutes = tradingMinutes(listing.market);
  const ticks = visibleTicks(path, p);
  let minute = p.partial?.minute ?? p.fullMinutes - 1;
  let tick = ticks[ticks.length - 1];
  if (!tick) {
    minute = p.fullMinutes - 1;
    const all = path.ticksOf(p.day, minute);
    tick = all[all.length - 1]!;
  }
  return { price: tick.price, utcMs: utcOf(listing.market, p.day, minutes[minute]!) + tick.offsetMs };
}

/** Whether `market` is in continuous trading at `nowMs`: orders can fill and market orders are accepted. */
export function isContinuousTrading(market: MarketCode, nowMs: number): boolean {
  return progressAt(market, nowMs).partial !== undefined;
}
