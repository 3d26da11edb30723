import type { Book } from './book.js';
import type { TimedTick } from './quote.js';
import { OrderType, TrdSide } from './orders.js';

/**
 * How orders meet the simulated market. On arrival a marketable order walks the book level by
 * level (the book is not depleted by our own fills: each arrival sees the displayed depth). A
 * resting limit order then fills against later trades: a trade through the limit sweeps it
 * completely, a trade at the limit fills up to that trade's size. Fills are at the limit price.
 */
export interface MatchFill {
  readonly qty: number;
  readonly price: number;
}

export function walkBook(book: Book, side: number, orderType: number, qty: number, limit: number): MatchFill[] {
  const levels = side === TrdSide.Buy ? book.asks : book.bids;
  const fills: MatchFill[] = [];
  let left = qty;
  for (const level of levels) {
    if (left <= 0) break;
    const crosses = orderType === OrderType.Market || (side === TrdSide.Buy ? level.price <= limit : level.price >= limit);
    if (!crosses) break;
    const take = Math.min(left, level.volume);
    fills.push({ qty: take, price: level.price });
    left -= take;
  }
  return fills;
}

/** The quantity a trade fills on a resting limit order with `left` to go (0 if it does not reach it). */
export function fillFromTrade(side: number, limit: number, left: number, tick: TimedTick): number {
  const through = side === TrdSide.Buy ? tick.price < limit : tick.price > limit;
  if (through) return left;
  return tick.price === limit ? Math.min(left, tick.volume) : 0;
}
