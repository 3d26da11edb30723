import type { Message } from '../gateway/proto.js';
import { ProtoId } from '../gateway/protoIds.js';
import { formatSecurity, MARKETS, type MarketCode, type Security } from '../gateway/symbol.js';
import { bookAround, BOOK_LEVELS, brokerQueues, type Book } from './book.js';
import { findListing, LISTINGS, listingBySymbol, PLATE_SET, platesOf, requireListing, requirePlate, type Listing } from './catalog.js';
import { SimError, type Handler, type MarketEngine } from './contract.js';
import { numberOf, requiredNumber, securityListOf, securityOf } from './fields.js';
import { marketClocks, type MarketHours } from './clock.js';
import { HistoryKl } from './historyKl.js';
import { KL_TYPE_OF_SUB_TYPE, kLineMessage, latestBars } from './klines.js';
import { hkFuturesStateAt, marketStateAt } from './marketState.js';
import { PricePath, roundMoney } from './pricePath.js';
import { optionSnapshotOf, researchHandlers } from './research.js';
import { basicQotMessage, brokerS2C, orderBookS2C, snapshotMessage, staticInfoMessage, tickerMessage } from './quoteMessages.js';
import { isDayComplete } from './progress.js';
import { quoteAt, timedTicks, type Quote, type TimedTick } from './quote.js';
import { formatLocal, previousTradingDay, tradingMinutes, utcOf } from './calendar.js';
import { latestTicks, ticksBetween } from './ticks.js';

export interface SimMarketOptions {
  seed: number;
  /** Injected OpenD clock (UTC ms); defaults to Date.now. */
  now?: () => number;
  /** 'always': every market trades continuously whatever `now` says (see clock.ts); default 'real'. */
  marketHours?: MarketHours;
}

const MAX_KL = 1000;
const MAX_TICKERS = 1000;
const MAX_SNAPSHOT = 400;
const SUB_TYPE = { Basic: 1, OrderBook: 2, Ticker: 4, RT: 5, Broker: 14 } as const;
const SORT_FIELD = { Code: 1, CurPrice: 2, ChangeRate: 4, Volume: 10, Turnover: 11 } as const;

/**
 * The simulated market: deterministic prices for the catalogue (a pure function of seed, symbol
 * and time), served through the official quote protos. Quotes follow each market's trading hours;
 * outside them every request answers with the last session's final values.
 */
export class SimMarket implements MarketEngine {
  readonly handlers: ReadonlyMap<number, Handler>;
  /** The OpenD clock. */
  readonly now: () => number;
  /** The instant a market's data stands at: the OpenD clock read through the market's hours. */
  readonly nowIn: (market: MarketCode) => number;
  private readonly historyKl: HistoryKl;

  constructor(private readonly options: SimMarketOptions) {
    this.now = options.now ?? Date.now;
    this.nowIn = marketClocks(this.now, options.marketHours ?? 'real');
    this.historyKl = new HistoryKl(this.now);
    const h = new Map<number, Handler>();
    h.set(ProtoId.Qot_GetBasicQot, (c2s) => ({ basicQotList: this.listingsIn(c2s).map((l) => basicQotMessage(this.quote(l))) }));
    h.set(ProtoId.Qot_GetKL, (c2s) => this.getKl(c2s));
    h.set(ProtoId.Qot_GetRT, (c2s) => this.rtS2C(requireListing(securityOf(c2s.security))));
    h.set(ProtoId.Qot_GetTicker, (c2s) => this.getTicker(c2s));
    h.set(ProtoId.Qot_GetOrderBook, (c2s) => this.getOrderBook(c2s));
    h.set(ProtoId.Qot_GetBroker, (c2s) => this.brokerS2C(requireListing(securityOf(c2s.security))));
    h.set(ProtoId.Qot_RequestHistoryKL, (c2s) => {
      const listing = requireListing(securityOf(c2s.security));
      return this.historyKl.request(c2s, this.pathOf(listing), this.quote(listing).progress);
    });
    h.set(ProtoId.Qot_RequestHistoryKLQuota, (c2s) => this.historyKl.quota(c2s, listingBySymbol));
    h.set(ProtoId.Qot_GetSecuritySnapshot, (c2s) => this.getSnapshot(c2s));
    h.set(ProtoId.Qot_GetStaticInfo, (c2s) => this.getStaticInfo(c2s));
    h.set(ProtoId.Qot_GetPlateSet, (c2s) => this.getPlateSet(c2s));
    h.set(ProtoId.Qot_GetPlateSecurity, (c2s) => this.getPlateSecurity(c2s));
    h.set(ProtoId.Qot_GetMarketState, (c2s) => ({
      marketInfoList: this.listingsIn(c2s).map((l) => ({ security: l.security, name: l.name, marketState: marketStateAt(l.market, this.nowIn(l.market)) })),
    }));
    for (const [id, handler] of researchHandlers(this, options.seed)) h.set(id, handler);
    this.handlers = h;
  }

  knows(sec: Security): boolean {
    return findListing(sec) !== undefined;
  }

  lotSize(sec: Security): number {
    return requireListing(sec).lotSize;
  }

  quoteOf(sec: Security): Quote {
    return this.quote(requireListing(sec));
  }

  bookOf(sec: Security): Book {
    const q = this.quoteOf(sec);
    return bookAround(q.listing, q.path.key, q.price, q.timeMs);
  }

  /** Trades with afterMs < time <= untilMs (never beyond now). */
  ticksBetween(sec: Security, afterMs: number, untilMs: number): TimedTick[] {
    const listing = requireListing(sec);
    return ticksBetween(this.pathOf(listing), afterMs, Math.min(untilMs, this.nowIn(listing.market)));
  }

  /** The latest official close as of `utcMs`: yesterday's while a day is still trading. */
  lastCloseAt(sec: Security, utcMs: number): number {
    const listing = requireListing(sec);
    const q = quoteAt(this.pathOf(listing), utcMs);
    return isDayComplete(listing.market, q.progress) ? q.today.close : q.lastClose;
  }

  pushFor(sec: Security, subType: number): { protoId: number; s2c: Message } | undefined {
    const listing = findListing(sec);
    if (!listing) return undefined;
    switch (subType) {
      case SUB_TYPE.Basic:
        return { protoId: ProtoId.Qot_UpdateBasicQot, s2c: { basicQotList: [basicQotMessage(this.quote(listing))] } };
      case SUB_TYPE.OrderBook:
        return { protoId: ProtoId.Qot_UpdateOrderBook, s2c: this.orderBookS2C(listing, BOOK_LEVELS) };
      case SUB_TYPE.Ticker: {
        // A push carries the newest trade; callers pushing on a timer can skip repeated sequences.
        const q = this.quote(listing);
        const ticks = latestTicks(q.path, q.progress, 1);
        return { protoId: ProtoId.Qot_UpdateTicker, s2c: { security: listing.security, name: listing.name, tickerList: ticks.map((t) => tickerMessage(listing, t)) } };
      }
      case SUB_TYPE.RT: {
        const rt = this.rtS2C(listing);
        return { protoId: ProtoId.Qot_UpdateRT, s2c: { ...rt, rtList: (rt.rtList as Message[]).slice(-1) } };
      }
      case SUB_TYPE.Broker:
        return listing.market === 'HK' ? { protoId: ProtoId.Qot_UpdateBroker, s2c: this.brokerS2C(listing) } : undefined;
      default: {
        const klType = KL_TYPE_OF_SUB_TYPE.get(subType);
        if (klType === undefined) return undefined;
        const q = this.quote(listing);
        const klList = latestBars(q.path, klType, 1, q.progress).map((b) => kLineMessage(b, q.path, listing.market));
        return { protoId: ProtoId.Qot_UpdateKL, s2c: { rehabType: 0, klType, security: listing.security, name: listing.name, klList } };
      }
    }
  }

  marketStates(): Record<'marketHK' | 'marketUS' | 'marketSH' | 'marketSZ' | 'marketHKFuture', number> {
    return {
      marketHK: marketStateAt('HK', this.nowIn('HK')),
      marketUS: marketStateAt('US', this.nowIn('US')),
      marketSH: marketStateAt('SH', this.nowIn('SH')),
      marketSZ: marketStateAt('SZ', this.nowIn('SZ')),
      marketHKFuture: hkFuturesStateAt(this.nowIn('HK')),
    };
  }

  private pathOf(listing: Listing): PricePath {
    return PricePath.of(this.options.seed, listing);
  }

  private quote(listing: Listing): Quote {
    return quoteAt(this.pathOf(listing), this.nowIn(listing.market));
  }

  /** The request's securityList; one unknown code fails the whole request, as on OpenD. */
  private listingsIn(c2s: Message): Listing[] {
    return securityListOf(c2s).map(requireListing);
  }

  private getKl(c2s: Message): Message {
    const listing = requireListing(securityOf(c2s.security));
    const reqNum = requiredNumber(c2s, 'reqNum');
    if (reqNum < 1) throw new SimError('reqNum must be at least 1');
    const q = this.quote(listing);
    const bars = latestBars(q.path, requiredNumber(c2s, 'klType'), Math.min(reqNum, MAX_KL), q.progress);
    return { security: listing.security, name: listing.name, klList: bars.map((b) => kLineMessage(b, q.path, listing.market)) };
  }

  private rtS2C(listing: Listing): Message {
    const q = this.quote(listing);
    const { day, fullMinutes, partial } = q.progress;
    const series = q.path.dayMinutes(day);
    const starts = tradingMinutes(listing.market);
    const rtList: Message[] = [];
    let volume = 0;
    let turnover = 0;
    const point = (minute: number, price: number, v: number, t: number): void => {
      volume += v;
      turnover += t;
      const endMinute = starts[minute]! + 1;
      const utcMs = utcOf(listing.market, day, endMinute);
      rtList.push({
        time: formatLocal(utcMs, listing.market),
        minute: endMinute,
        isBlank: false,
        price,
        lastClosePrice: series.lastClose,
        avgPrice: roundMoney(turnover / volume),
        volume: String(v),
        turnover: roundMoney(t),
        timestamp: utcMs / 1000,
      });
    };
    for (let j = 0; j < fullMinutes; j++) point(j, series.minuteClose[j]!, series.minuteVolume[j]!, series.minuteTurnover[j]!);
    if (partial) {
      const visible = timedTicks(q.path, day, partial.minute).filter((t) => t.utcMs <= this.nowIn(listing.market));
      point(partial.minute, q.price, visible.reduce((n, t) => n + t.volume, 0), visible.reduce((n, t) => n + t.turnover, 0));
    }
    return { security: listing.security, name: listing.name, rtList };
  }

  private getTicker(c2s: Message): Message {
    const listing = requireListing(securityOf(c2s.security));
    const max = requiredNumber(c2s, 'maxRetNum');
    if (max < 1) throw new SimError('maxRetNum must be at least 1');
    const q = this.quote(listing);
    const ticks = latestTicks(q.path, q.progress, Math.min(max, MAX_TICKERS));
    return { security: listing.security, name: listing.name, tickerList: ticks.map((t) => tickerMessage(listing, t)) };
  }

  private getOrderBook(c2s: Message): Message {
    const listing = requireListing(securityOf(c2s.security));
    const num = requiredNumber(c2s, 'num');
    if (num < 1) throw new SimError('num must be at least 1');
    return this.orderBookS2C(listing, Math.min(num, BOOK_LEVELS));
  }

  private orderBookS2C(listing: Listing, levels: number): Message {
    const q = this.quote(listing);
    return orderBookS2C(listing, bookAround(listing, q.path.key, q.price, q.timeMs), levels, q.timeMs);
  }

  private brokerS2C(listing: Listing): Message {
    if (listing.market !== 'HK') throw new SimError(`Broker queues are only available for HK securities: ${listing.symbol}`);
    const q = this.quote(listing);
    const book = bookAround(listing, q.path.key, q.price, q.timeMs);
    return brokerS2C(listing, brokerQueues(book, q.path.key, q.timeMs));
  }

  private getSnapshot(c2s: Message): Message {
    const securities = securityListOf(c2s);
    if (securities.length === 0) throw new SimError('securityList is empty');
    if (securities.length > MAX_SNAPSHOT) throw new SimError(`At most ${MAX_SNAPSHOT} securities per snapshot request`);
    // Catalogue securities, else option contracts; one unknown code fails the whole request, as on OpenD.
    const resolved = securities.map((s) => findListing(s) ?? s);
    return { snapshotList: resolved.map((l) => ('symbol' in l ? this.snapshot(l) : optionSnapshotOf(this, l))) };
  }

  private snapshot(listing: Listing): Message {
    const q = this.quote(listing);
    const path = q.path;
    let high52 = q.today.high;
    let low52 = q.today.low;
    const yearAgo = q.progress.day - 364;
    for (let day = previousTradingDay(q.progress.day); day >= Math.max(yearAgo, path.firstDay); day = previousTradingDay(day)) {
      const bar = path.dayBar(day);
      high52 = Math.max(high52, bar.high);
      low52 = Math.min(low52, bar.low);
    }
    let fiveDayVolume = 0;
    let day = q.progress.day;
    for (let i = 0; i < 5; i++) {
      day = previousTradingDay(day);
      fiveDayVolume += path.dayBar(day).volume;
    }
    const minutesPerDay = tradingMinutes(listing.market).length;
    return snapshotMessage(q, {
      book: bookAround(listing, path.key, q.price, q.timeMs),
      high52,
      low52,
      avgMinuteVolume5d: fiveDayVolume / (5 * minutesPerDay),
      minutesElapsed: Math.max(1, q.progress.fullMinutes + (q.progress.partial ? 1 : 0)),
    });
  }

  private getStaticInfo(c2s: Message): Message {
    const listed = securityListOf(c2s);
    if (listed.length > 0) return { staticInfoList: listed.map((s) => staticInfoMessage(requireListing(s))) };
    const market = numberOf(c2s, 'market');
    if (market === undefined) throw new SimError('market or securityList is required');
    const secType = numberOf(c2s, 'secType') ?? 0;
    const matches = LISTINGS.filter((l) => l.security.market === market && (secType === 0 || secType === l.secType));
    return { staticInfoList: matches.map(staticInfoMessage) };
  }

  private getPlateSet(c2s: Message): Message {
    const market = requiredNumber(c2s, 'market');
    const setType = requiredNumber(c2s, 'plateSetType');
    const setTypes: readonly number[] = Object.values(PLATE_SET);
    if (!setTypes.includes(setType)) throw new SimError(`Unsupported plateSetType ${setType}`);
    if (!Object.values(MARKETS).some((m) => m.qot === market)) throw new SimError(`Unsupported market ${market}`);
    return { plateInfoList: platesOf(market, setType).map((p) => ({ plate: p.security, name: p.name })) };
  }

  private getPlateSecurity(c2s: Message): Message {
    const plate = requirePlate(securityOf(c2s.plate, 'plate'));
    const members = plate.members.map(listingBySymbol);
    const sortField = numberOf(c2s, 'sortField') ?? SORT_FIELD.Code;
    const ascending = c2s.ascend !== false;
    const keyOf = this.sortKey(sortField);
    const sorted = members
      .map((l) => ({ l, key: keyOf(l) }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.l.symbol.localeCompare(b.l.symbol)) * (ascending ? 1 : -1));
    return { staticInfoList: sorted.map(({ l }) => staticInfoMessage(l)) };
  }

  private sortKey(field: number): (l: Listing) => string | number {
    switch (field) {
      case SORT_FIELD.CurPrice:
        return (l) => this.quote(l).price;
      case SORT_FIELD.ChangeRate:
        return (l) => {
          const q = this.quote(l);
          return (q.price - q.lastClose) / q.lastClose;
        };
      case SORT_FIELD.Volume:
        return (l) => this.quote(l).today.volume;
      case SORT_FIELD.Turnover:
        return (l) => this.quote(l).today.turnover;
      default:
        return (l) => formatSecurity(l.security);
    }
  }
}
