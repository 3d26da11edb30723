import type { Listing } from './catalog.js';
import { childSeed, Rng } from './prng.js';
import { stepPrice } from './tickSize.js';
import { tradingMinutes } from './calendar.js';

/**
 * The simulated order book and HK broker queue around the last trade. The last trade printed on
 * either the bid or the ask; deeper levels step one tick at a time (crossing spread-table bands
 * correctly). Sizes are redrawn every BOOK_REFRESH_MS of trading and frozen outside trading hours.
 */
export const BOOK_LEVELS = 10;
const BOOK_REFRESH_MS = 3000;
const BOOK_SALT = 0x2545f491;

export interface BookLevel {
  readonly price: number;
  /** Shares. */
  readonly volume: number;
  readonly orders: number;
}

export interface Book {
  /** Ascending from the best ask. */
  readonly asks: readonly BookLevel[];
  /** Descending from the best bid. */
  readonly bids: readonly BookLevel[];
}

export function bookAround(listing: Listing, pathKey: number, lastPrice: number, lastTradeMs: number): Book {
  const rng = new Rng(childSeed(pathKey ^ BOOK_SALT, Math.floor(lastTradeMs / BOOK_REFRESH_MS)));
  const market = listing.market;
  const tradedAtAsk = rng.next() < 0.5;
  const bestAsk = tradedAtAsk ? lastPrice : stepPrice(market, lastPrice, 1);
  const bestBid = tradedAtAsk ? stepPrice(market, lastPrice, -1) : lastPrice;
  const typicalLots = Math.max(2, listing.avgVolume / tradingMinutes(market).length / listing.lotSize / 4);
  const level = (price: number, depth: number): BookLevel => {
    const lots = Math.max(1, Math.round(typicalLots * (1 + 0.15 * depth) * Math.exp(0.8 * rng.normal() - 0.32)));
    const orders = Math.max(1, Math.min(lots, Math.round(lots / (1 + rng.next() * 6))));
    return { price, volume: lots * listing.lotSize, orders };
  };
  const asks: BookLevel[] = [];
  const bids: BookLevel[] = [];
  for (let depth = 0; depth < BOOK_LEVELS; depth++) {
    asks.push(level(depth === 0 ? bestAsk : stepPrice(market, asks[depth - 1]!.price, 1), depth));
    const bidPrice = depth === 0 ? bestBid : stepPrice(market, bids[depth - 1]!.price, -1);
    // A price cannot step below the smallest tick; a shallower bid side is what a real book would show.
    if (depth > 0 && bidPrice === bids[depth - 1]!.price) continue;
    bids.push(level(bidPrice, depth));
  }
  return { asks, bids };
}

export interface BrokerEntry {
  readonly id: string;
  readonly name: string;
  readonly pos: number;
}

/** Exchange participants; the ids are illustrative, not the real HKEX broker numbers. */
export const HK_BROKERS: readonly (readonly [number, string])[] = [
  [1451, 'Goldman Sachs (Asia) Securities'],
  [4486, 'Morgan Stanley Hong Kong Securities'],
  [6996, 'UBS Securities Hong Kong'],
  [5338, 'J.P. Morgan Broking (Hong Kong)'],
  [8461, 'HSBC Securities Brokers (Asia)'],
  [6387, 'Citigroup Global Markets Asia'],
  [2843, 'China International Capital Corporation HK Securities'],
  [9056, 'Futu Securities International (Hong Kong)'],
  [7392, 'Huatai Financial Holdings (Hong Kong)'],
  [3440, 'BOCI Securities'],
  [1799, 'Merrill Lynch Far East'],
  [6698, 'Haitong International Securities'],
];

/** Broker queues of the best levels: `pos` is the level (1 = best). */
export function brokerQueues(book: Book, pathKey: number, lastTradeMs: number): { asks: BrokerEntry[]; bids: BrokerEntry[] } {
  const rng = new Rng(childSeed(pathKey ^ BOOK_SALT ^ 0xffff, Math.floor(lastTradeMs / BOOK_REFRESH_MS)));
  const side = (levels: readonly BookLevel[]): BrokerEntry[] =>
    levels.slice(0, 4).flatMap((lvl, i) =>
      Array.from({ length: Math.min(lvl.orders, rng.int(1, 4)) }, () => {
        const [id, name] = HK_BROKERS[rng.int(0, HK_BROKERS.length - 1)]!;
        return { id: String(id), name, pos: i + 1 };
      }),
    );
  return { asks: side(book.asks), bids: side(book.bids) };
}
