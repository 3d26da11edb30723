import type { Listing } from './catalog.js';
import type { Bar, PricePath } from './pricePath.js';
import { barUntilNow, lastTrade, progressAt, type Progress } from './progress.js';
import { tradingMinutes, utcOf } from './calendar.js';

/** A security's state at an instant: today's bar so far and the last trade. */
export interface Quote {
  readonly listing: Listing;
  readonly path: PricePath;
  readonly progress: Progress;
  /** The session day's bar up to now (the whole day once it has closed). */
  readonly today: Bar;
  readonly lastClose: number;
  readonly price: number;
  /** When the last trade happened (UTC ms). */
  readonly timeMs: number;
  /** Whether continuous trading is under way now. */
  readonly trading: boolean;
}

export function quoteAt(path: PricePath, nowMs: number): Quote {
  const listing = path.listing;
  const progress = progressAt(listing.market, nowMs);
  const today = barUntilNow(path, progress, 0, tradingMinutes(listing.market).length)!;
  const last = lastTrade(path, progress, listing);
  return {
    listing,
    path,
    progress,
    today,
    lastClose: path.dayMinutes(progress.day).lastClose,
    price: last.price,
    timeMs: last.utcMs,
    trading: progress.partial !== undefined,
  };
}

export interface TimedTick {
  readonly utcMs: number;
  readonly price: number;
  readonly volume: number;
  readonly turnover: number;
  /** Qot_Common.TickerDirection: 1 buyer-initiated (up), 2 seller-initiated (down). */
  readonly dir: number;
  /** Ticker.sequence: unique and increasing; above 2^53, so it exercises 64-bit handling. */
  readonly sequence: string;
}

/**
 * The ticks of one minute with absolute times. A trade above the previous price was initiated by
 * a buyer, below by a seller; at an unchanged price the side follows the parity of the lot count,
 * a deterministic stand-in for the order flow we do not model.
 */
export function timedTicks(path: PricePath, day: number, minute: number): TimedTick[] {
  const listing = path.listing;
  const start = utcOf(listing.market, day, tradingMinutes(listing.market)[minute]!);
  let previous = path.dayMinutes(day).minuteOpen[minute]!;
  return path.ticksOf(day, minute).map((t, i) => {
    const dir = t.price > previous ? 1 : t.price < previous ? 2 : (t.volume / listing.lotSize) % 2 === 0 ? 1 : 2;
    previous = t.price;
    const utcMs = start + t.offsetMs;
    return { utcMs, price: t.price, volume: t.volume, turnover: t.turnover, dir, sequence: (BigInt(utcMs) * 10_000n + BigInt(i)).toString() };
  });
}
