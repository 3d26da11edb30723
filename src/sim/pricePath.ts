import type { Listing } from './catalog.js';
import { childSeed, hash32, Rng } from './prng.js';
import { dayOfDate, tradingDayOnOrAfter, tradingIndex, tradingMinutes } from './calendar.js';
import { cleanPrice, snapPrice, tickDown, tickUp } from './tickSize.js';

/**
 * The deterministic price history of one security: every value is a pure function of (seed,
 * symbol, day, minute), so any bar can be computed alone.
 *
 * Daily closes: the log price is pinned at anchors every BLOCK trading days (drawn around the
 * listing's base price) and follows a Brownian bridge between them. A close therefore costs at most
 * one block of draws, stays near realistic levels for decades, and still moves like a random walk.
 * Intraday: a bridge from the day's open to its close, one step per trading minute; each minute is
 * made of a few ticks (first = minute open, last = minute close, the extremes among them), and the
 * minute's volume and turnover are the sums over its ticks, so ticks, minutes and days agree.
 */
const BLOCK = 256;
const ANCHOR_SPREAD = 0.22;
const GAP_SHARE = 0.25;
const INTRADAY_SHARE = 0.8;
const MIN_TICKS = 4;
const EXTRA_TICKS: Record<Listing['market'], number> = { US: 10, HK: 8, SH: 5, SZ: 5 };
const SALT = { anchor: 0x1b873593, block: 0x27d4eb2f, day: 0x165667b1, tick: 0x3c6ef372, time: 0x5bd1e995 } as const;
const MINUTE_CACHE = 64;
const DAY_CACHE = 50_000;
const SHARED_PATHS = 64;

const MAX_TICKS = MIN_TICKS + Math.max(...Object.values(EXTRA_TICKS));
const scratchPrices = new Float64Array(MAX_TICKS);
const scratchLots = new Float64Array(MAX_TICKS);
const scratchWeights = new Float64Array(MAX_TICKS);
const scratchRng = new Rng(0);

/** A Map used as an LRU cache: Maps iterate in insertion order, so a hit is moved to the end. */
function cached<K, V>(map: Map<K, V>, key: K, capacity: number, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) value = make();
  else map.delete(key);
  map.set(key, value);
  if (map.size > capacity) map.delete(map.keys().next().value!);
  return value;
}

export interface DaySeries {
  readonly day: number;
  readonly lastClose: number;
  readonly open: number;
  readonly close: number;
  readonly minuteOpen: Float64Array;
  readonly minuteHigh: Float64Array;
  readonly minuteLow: Float64Array;
  readonly minuteClose: Float64Array;
  readonly minuteVolume: Float64Array;
  readonly minuteTurnover: Float64Array;
}

export interface Bar {
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  turnover: number;
}

export interface DayBar extends Bar {
  readonly day: number;
  readonly lastClose: number;
}

export interface TickPoint {
  /** Milliseconds after the start of its minute. */
  readonly offsetMs: number;
  readonly price: number;
  readonly volume: number;
  readonly turnover: number;
}

export const roundMoney = (value: number): number => Math.round(value * 1000) / 1000;

const shared = new Map<string, PricePath>();

export class PricePath {
  readonly firstDay: number;
  /** Seed of this path's random streams; other per-security randomness (books) derives from it. */
  readonly key: number;
  private readonly blocks = new Map<number, Float64Array>();
  private readonly series = new Map<number, DaySeries>();
  private readonly dayBars = new Map<number, DayBar>();

  constructor(
    seed: number,
    readonly listing: Listing,
  ) {
    this.key = hash32(`${seed}|${listing.symbol}`);
    this.firstDay = tradingDayOnOrAfter(dayOfDate(listing.listDate));
  }

  /**
   * The path of (seed, listing), shared by every engine in the process: paths are pure functions,
   * so sharing only shares the caches. The few most recent are kept.
   */
  static of(seed: number, listing: Listing): PricePath {
    return cached(shared, `${seed}|${listing.symbol}`, SHARED_PATHS, () => new PricePath(seed, listing));
  }

  /** Close of a trading day (by trading index), on the tick grid. */
  closeAt(index: number): number {
    const block = Math.floor(index / BLOCK);
    return snapPrice(this.listing.market, Math.exp(this.blockLogs(block)[index - block * BLOCK]!));
  }

  closeOfDay(day: number): number {
    return this.closeAt(tradingIndex(day));
  }

  /** Minute-by-minute series of a trading day (cached; recent days are reused heavily). */
  dayMinutes(day: number): DaySeries {
    return cached(this.series, day, MINUTE_CACHE, () => this.buildDay(day));
  }

  /** The whole day's bar (of a complete day: today's bar in progress comes from progress.ts). */
  dayBar(day: number): DayBar {
    return cached(this.dayBars, day, DAY_CACHE, () => {
      const s = this.dayMinutes(day);
      return { day, lastClose: s.lastClose, ...aggregateMinutes(s, 0, s.minuteClose.length)! };
    });
  }

  /** The ticks of one minute of a day, in time order. */
  ticksOf(day: number, minute: number): TickPoint[] {
    const s = this.dayMinutes(day);
    const count = this.fillTicks(day, minute, s.minuteOpen[minute]!, s.minuteHigh[minute]!, s.minuteLow[minute]!, s.minuteClose[minute]!, s.minuteVolume[minute]!);
    const times = new Rng(childSeed(this.key ^ SALT.time, day * 1000 + minute));
    const offsets = Array.from({ length: count }, () => Math.floor(times.next() * 60_000)).sort((a, b) => a - b);
    // The opening trade of the day happens at the open, so the session is never open without a price.
    if (minute === 0) offsets[0] = 0;
    const lot = this.listing.lotSize;
    return offsets.map((offsetMs, i) => {
      const price = scratchPrices[i]!;
      const volume = scratchLots[i]! * lot;
      return { offsetMs, price, volume, turnover: roundMoney(price * volume) };
    });
  }

  private blockLogs(block: number): Float64Array {
    let logs = this.blocks.get(block);
    if (!logs) {
      const from = this.anchor(block);
      const to = this.anchor(block + 1);
      const rng = new Rng(childSeed(this.key ^ SALT.block, block));
      logs = bridge(from, to, BLOCK, this.listing.dailyVol, rng);
      this.blocks.set(block, logs);
    }
    return logs;
  }

  private anchor(block: number): number {
    const rng = new Rng(childSeed(this.key ^ SALT.anchor, block));
    return Math.log(this.listing.basePrice) + ANCHOR_SPREAD * rng.normal();
  }

  private buildDay(day: number): DaySeries {
    const market = this.listing.market;
    const index = tradingIndex(day);
    const lastClose = this.closeAt(index - 1);
    const close = this.closeAt(index);
    const rng = new Rng(childSeed(this.key ^ SALT.day, day));
    const vol = this.listing.dailyVol;
    const open = snapPrice(market, lastClose * Math.exp(GAP_SHARE * vol * rng.normal()));
    const minutes = tradingMinutes(market).length;
    const stepVol = (vol * INTRADAY_SHARE) / Math.sqrt(minutes);
    const path = bridge(Math.log(open), Math.log(close), minutes, stepVol, rng);

    // One allocation per day: typed-array backing stores are what garbage collection pays for.
    const store = new Float64Array(minutes * 6);
    const column = (i: number): Float64Array => store.subarray(i * minutes, (i + 1) * minutes);
    const s: DaySeries = {
      day,
      lastClose,
      open,
      close,
      minuteOpen: column(0),
      minuteHigh: column(1),
      minuteLow: column(2),
      minuteClose: column(3),
      minuteVolume: column(4),
      minuteTurnover: column(5),
    };
    const dayVolume = this.listing.avgVolume * Math.exp(0.35 * rng.normal() - 0.06);
    const weights = Array.from({ length: minutes }, (_, j) => 0.6 + 3.2 * (j / (minutes - 1) - 0.5) ** 2);
    const weightSum = weights.reduce((a, b) => a + b, 0);
    let previous = open;
    for (let j = 0; j < minutes; j++) {
      const c = j === minutes - 1 ? close : snapPrice(market, Math.exp(path[j + 1]!));
      const o = previous;
      // Wicks beyond the open/close range: exponential, about 0.4 of a minute's volatility on average.
      const h = Math.max(o, c, snapPrice(market, Math.max(o, c) * (1 - Math.log(1 - rng.next()) * stepVol * 0.4)));
      const l = Math.min(o, c, snapPrice(market, Math.min(o, c) * (1 + Math.log(1 - rng.next()) * stepVol * 0.4)));
      const shares = (dayVolume * weights[j]!) / weightSum * Math.exp(0.5 * rng.normal() - 0.125);
      const lots = Math.max(MIN_TICKS, Math.round(shares / this.listing.lotSize));
      s.minuteOpen[j] = o;
      s.minuteHigh[j] = h;
      s.minuteLow[j] = l;
      s.minuteClose[j] = c;
      s.minuteVolume[j] = lots * this.listing.lotSize;
      const ticks = this.fillTicks(day, j, o, h, l, c, lots * this.listing.lotSize);
      let turnover = 0;
      for (let i = 0; i < ticks; i++) turnover += roundMoney(scratchPrices[i]! * scratchLots[i]! * this.listing.lotSize);
      s.minuteTurnover[j] = roundMoney(turnover);
      previous = c;
    }
    return s;
  }

  /**
   * Writes the prices and lot counts of a minute's ticks into the scratch arrays and returns how
   * many there are: the first trades at o, the last at c, and two in between at h and l.
   * Called for every minute of every day generated, hence no allocation.
   */
  private fillTicks(day: number, minute: number, o: number, h: number, l: number, c: number, volume: number): number {
    const rng = scratchRng.reseed(childSeed(this.key ^ SALT.tick, day * 1000 + minute));
    const totalLots = Math.round(volume / this.listing.lotSize);
    const count = Math.min(totalLots, MIN_TICKS + rng.int(0, EXTRA_TICKS[this.listing.market]));
    const market = this.listing.market;
    const step = tickUp(market, l);
    // Within one spread-table band the grid is l + k * step: much cheaper than snapping each price.
    const oneBand = tickDown(market, h) === step;
    for (let i = 0; i < count; i++) {
      const offset = rng.next() * (h - l);
      scratchPrices[i] = oneBand ? cleanPrice(l + Math.round(offset / step) * step) : snapPrice(market, l + offset);
    }
    const highAt = rng.int(1, count - 2);
    scratchPrices[0] = o;
    scratchPrices[count - 1] = c;
    scratchPrices[highAt] = h;
    scratchPrices[highAt === 1 ? 2 : 1] = l;
    let weightSum = 0;
    for (let i = 0; i < count; i++) weightSum += scratchWeights[i] = 0.2 + rng.next();
    const spare = totalLots - count;
    let assigned = 0;
    for (let i = 0; i < count; i++) assigned += scratchLots[i] = 1 + Math.floor((spare * scratchWeights[i]!) / weightSum);
    scratchLots[count - 1]! += totalLots - assigned;
    return count;
  }
}

/** Log-price path of `steps` steps from `from` to `to` (inclusive) with the given step volatility. */
function bridge(from: number, to: number, steps: number, stepVol: number, rng: Rng): Float64Array {
  const walk = new Float64Array(steps + 1);
  for (let j = 1; j <= steps; j++) walk[j] = walk[j - 1]! + stepVol * rng.normal();
  const drift = walk[steps]! - (to - from);
  for (let j = 0; j <= steps; j++) walk[j] = from + walk[j]! - (j / steps) * drift;
  return walk;
}

/** OHLCV of minutes [from, to) of a day; undefined when the range is empty. */
export function aggregateMinutes(s: DaySeries, from: number, to: number): Bar | undefined {
  if (to <= from) return undefined;
  const bar: Bar = { open: s.minuteOpen[from]!, high: -Infinity, low: Infinity, close: s.minuteClose[to - 1]!, volume: 0, turnover: 0 };
  for (let j = from; j < to; j++) {
    bar.high = Math.max(bar.high, s.minuteHigh[j]!);
    bar.low = Math.min(bar.low, s.minuteLow[j]!);
    bar.volume += s.minuteVolume[j]!;
    bar.turnover += s.minuteTurnover[j]!;
  }
  bar.turnover = roundMoney(bar.turnover);
  return bar;
}

export function aggregateTicks(ticks: readonly TickPoint[]): Bar | undefined {
  if (ticks.length === 0) return undefined;
  const bar: Bar = { open: ticks[0]!.price, high: -Infinity, low: Infinity, close: ticks[ticks.length - 1]!.price, volume: 0, turnover: 0 };
  for (const t of ticks) {
    bar.high = Math.max(bar.high, t.price);
    bar.low = Math.min(bar.low, t.price);
    bar.volume += t.volume;
    bar.turnover += t.turnover;
  }
  bar.turnover = roundMoney(bar.turnover);
  return bar;
}

/** Combines consecutive bars (any may be missing). */
export function mergeBars(bars: readonly (Bar | undefined)[]): Bar | undefined {
  let out: Bar | undefined;
  for (const b of bars) {
    if (!b) continue;
    if (!out) out = { ...b };
    else {
      out.high = Math.max(out.high, b.high);
      out.low = Math.min(out.low, b.low);
      out.close = b.close;
      out.volume += b.volume;
      out.turnover = roundMoney(out.turnover + b.turnover);
    }
  }
  return out;
}
