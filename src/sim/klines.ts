import type { MarketCode } from '../gateway/symbol.js';
import { SimError } from './contract.js';
import { aggregateMinutes, mergeBars, roundMoney, type Bar, type PricePath } from './pricePath.js';
import { barUntilNow, type Progress } from './progress.js';
import { DAY_MS, dayOfTradingIndex, formatLocal, sessionsOf, tradingDayOnOrAfter, tradingIndex, tradingMinutes, utcOf } from './calendar.js';

/**
 * K-lines of every supported KLType, built from the minute series. Intraday bars are cut at
 * session boundaries and labelled with their end time (HK 60-minute bars end 10:30, 11:30, 12:00,
 * 14:00 ...); day bars are labelled with the day; week, month, quarter and year bars with their
 * first trading day. The bar in progress is included, cut at now.
 */
export interface KlBar extends Bar {
  /** The label instant (UTC ms). */
  readonly timeMs: number;
  readonly lastClose: number;
}

type Period = 'day' | 'week' | 'month' | 'quarter' | 'year';
type KlKind = { minutes: number } | { period: Period };

const KL_KINDS: ReadonlyMap<number, KlKind> = new Map<number, KlKind>([
  [1, { minutes: 1 }],
  [10, { minutes: 3 }],
  [6, { minutes: 5 }],
  [12, { minutes: 10 }],
  [7, { minutes: 15 }],
  [8, { minutes: 30 }],
  [9, { minutes: 60 }],
  [2, { period: 'day' }],
  [3, { period: 'week' }],
  [4, { period: 'month' }],
  [11, { period: 'quarter' }],
  [5, { period: 'year' }],
]);

/** SubType of a K-line subscription → the KLType it pushes. */
export const KL_TYPE_OF_SUB_TYPE: ReadonlyMap<number, number> = new Map([
  [6, 2], [7, 6], [8, 7], [9, 8], [10, 9], [11, 1], [12, 3], [13, 4], [15, 11], [16, 5], [17, 10], [18, 12],
]);

export function klKind(klType: number): KlKind {
  const kind = KL_KINDS.get(klType);
  if (!kind) throw new SimError(`Unsupported KLType ${klType}`);
  return kind;
}

interface Bucket {
  readonly from: number;
  readonly to: number;
  readonly endMinute: number;
}

const bucketCache = new Map<string, readonly Bucket[]>();

/** Intraday buckets of `size` minutes, restarting at each session open. */
function buckets(market: MarketCode, size: number): readonly Bucket[] {
  const key = `${market}:${size}`;
  let list = bucketCache.get(key);
  if (!list) {
    const out: Bucket[] = [];
    let index = 0;
    for (const [open, close] of sessionsOf(market)) {
      for (let start = open; start < close; start += size) {
        const end = Math.min(start + size, close);
        out.push({ from: index + (start - open), to: index + (end - open), endMinute: end });
      }
      index += close - open;
    }
    list = out;
    bucketCache.set(key, list);
  }
  return list;
}

function nextTradingDay(day: number): number {
  return dayOfTradingIndex(tradingIndex(day) + 1);
}

/** A key equal for all days of one period. */
function periodKey(day: number, period: Period): number {
  if (period === 'day') return day;
  if (period === 'week') return Math.floor((day + 3) / 7);
  const d = new Date(day * DAY_MS);
  const month = d.getUTCFullYear() * 12 + d.getUTCMonth();
  if (period === 'month') return month;
  if (period === 'quarter') return Math.floor(month / 3);
  return d.getUTCFullYear();
}

/** The first day of the period holding `day` (the calendar start; may not trade). */
export function periodStart(day: number, period: Period): number {
  if (period === 'day') return day;
  if (period === 'week') return Math.floor((day + 3) / 7) * 7 - 3;
  const d = new Date(day * DAY_MS);
  const month = period === 'month' ? d.getUTCMonth() : period === 'quarter' ? d.getUTCMonth() - (d.getUTCMonth() % 3) : 0;
  return Date.UTC(d.getUTCFullYear(), month, 1) / DAY_MS;
}

/** Bars in time order from the first trading day on or after `fromDay` until now. */
export function* barsFrom(path: PricePath, klType: number, fromDay: number, now: Progress): Generator<KlBar> {
  const kind = klKind(klType);
  const market = path.listing.market;
  let day = tradingDayOnOrAfter(Math.max(fromDay, path.firstDay));
  if ('minutes' in kind) {
    for (; day <= now.day; day = nextTradingDay(day)) yield* intradayBars(path, kind.minutes, day, now);
    return;
  }
  let group: { first: number; key: number; lastClose: number; bar: Bar } | undefined;
  for (; day <= now.day; day = nextTradingDay(day)) {
    const dayBar = day === now.day ? barUntilNow(path, now, 0, tradingMinutes(market).length)! : path.dayBar(day);
    const key = periodKey(day, kind.period);
    if (group && group.key !== key) {
      yield toKl(group.bar, utcOf(market, group.first, 0), group.lastClose);
      group = undefined;
    }
    if (!group) group = { first: day, key, lastClose: path.closeAt(tradingIndex(day) - 1), bar: { ...dayBar } };
    else group.bar = mergeBars([group.bar, dayBar])!;
  }
  if (group) yield toKl(group.bar, utcOf(market, group.first, 0), group.lastClose);
}

function* intradayBars(path: PricePath, size: number, day: number, now: Progress): Generator<KlBar> {
  const market = path.listing.market;
  const series = path.dayMinutes(day);
  const today = day === now.day;
  for (const b of buckets(market, size)) {
    const bar = today ? barUntilNow(path, now, b.from, b.to) : aggregateMinutes(series, b.from, b.to);
    if (!bar) return;
    const lastClose = b.from === 0 ? series.lastClose : series.minuteClose[b.from - 1]!;
    yield toKl(bar, utcOf(market, day, b.endMinute), lastClose);
  }
}

function toKl(bar: Bar, timeMs: number, lastClose: number): KlBar {
  return { ...bar, timeMs, lastClose };
}

/** The first trading day from which `count` bars of this type certainly reach back. */
function lookbackStart(path: PricePath, klType: number, count: number, now: Progress): number {
  const kind = klKind(klType);
  const perBar = 'minutes' in kind
    ? 1 / buckets(path.listing.market, kind.minutes).length
    : { day: 1, week: 5, month: 23, quarter: 66, year: 262 }[kind.period];
  const days = Math.ceil(count * perBar) + 1;
  const start = dayOfTradingIndex(Math.max(tradingIndex(now.day) - days, tradingIndex(path.firstDay)));
  return 'period' in kind ? periodStart(start, kind.period) : start;
}

/** The latest `count` bars, the last one being the bar in progress (or the last complete one). */
export function latestBars(path: PricePath, klType: number, count: number, now: Progress): KlBar[] {
  if (count <= 0) return [];
  const bars = [...barsFrom(path, klType, lookbackStart(path, klType, count, now), now)];
  return bars.slice(Math.max(0, bars.length - count));
}

const KL_FIELDS = { High: 1, Open: 2, Low: 4, Close: 8, LastClose: 16, Volume: 32, Turnover: 64, TurnoverRate: 128, PE: 256, ChangeRate: 512 } as const;
const ALL_FIELDS = 1023;

/** Qot_Common.KLine, keeping only the fields in `fields` (a KLFields bitmask). */
export function kLineMessage(bar: KlBar, path: PricePath, market: MarketCode, fields = ALL_FIELDS): Record<string, unknown> {
  const { sharesOutstanding, earningsPerShare } = path.listing;
  const all: [number, string, unknown][] = [
    [KL_FIELDS.High, 'highPrice', bar.high],
    [KL_FIELDS.Open, 'openPrice', bar.open],
    [KL_FIELDS.Low, 'lowPrice', bar.low],
    [KL_FIELDS.Close, 'closePrice', bar.close],
    [KL_FIELDS.LastClose, 'lastClosePrice', bar.lastClose],
    [KL_FIELDS.Volume, 'volume', String(bar.volume)],
    [KL_FIELDS.Turnover, 'turnover', bar.turnover],
    [KL_FIELDS.TurnoverRate, 'turnoverRate', roundMoney((bar.volume / sharesOutstanding) * 100)],
    [KL_FIELDS.PE, 'pe', roundMoney(bar.close / earningsPerShare)],
    [KL_FIELDS.ChangeRate, 'changeRate', roundMoney(((bar.close - bar.lastClose) / bar.lastClose) * 100)],
  ];
  const msg: Record<string, unknown> = { time: formatLocal(bar.timeMs, market), isBlank: false };
  for (const [flag, name, value] of all) if (fields & flag) msg[name] = value;
  msg.timestamp = bar.timeMs / 1000;
  return msg;
}
