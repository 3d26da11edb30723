import type { Message } from '../gateway/proto.js';
import type { Book, BookLevel, BrokerEntry } from './book.js';
import type { Listing } from './catalog.js';
import { roundMoney } from './pricePath.js';
import type { Quote, TimedTick } from './quote.js';
import { dayOfDate, DAY_MS, formatLocal, utcOffsetMs } from './calendar.js';
import { tickUp } from './tickSize.js';

/** Builders of the official quote messages (field names exactly as in the Qot_*.proto files). */
const SECURITY_STATUS_NORMAL = 1;
const TICKER_TYPE_AUTOMATCH = 1;

const seconds = (utcMs: number): number => utcMs / 1000;
const percent = (part: number, whole: number): number => (whole === 0 ? 0 : roundMoney((part / whole) * 100));

function listTimestamp(listing: Listing): number {
  return seconds(dayOfDate(listing.listDate) * DAY_MS - utcOffsetMs(listing.market));
}

const LFY_DIVIDEND_SHARE = 0.94;

export function basicQotMessage(q: Quote): Message {
  const { listing, today } = q;
  return {
    security: listing.security,
    name: listing.name,
    isSuspended: false,
    listTime: listing.listDate,
    priceSpread: tickUp(listing.market, q.price),
    updateTime: formatLocal(q.timeMs, listing.market),
    highPrice: today.high,
    openPrice: today.open,
    lowPrice: today.low,
    curPrice: q.price,
    lastClosePrice: q.lastClose,
    volume: String(today.volume),
    turnover: today.turnover,
    turnoverRate: percent(today.volume, listing.sharesOutstanding),
    amplitude: percent(today.high - today.low, q.lastClose),
    darkStatus: 0,
    listTimestamp: listTimestamp(listing),
    updateTimestamp: seconds(q.timeMs),
    secStatus: SECURITY_STATUS_NORMAL,
  };
}

function levelMessage(level: BookLevel): Message {
  return { price: level.price, volume: String(level.volume), orederCount: level.orders };
}

/** S2C of Qot_GetOrderBook and Qot_UpdateOrderBook. */
export function orderBookS2C(listing: Listing, book: Book, levels: number, timeMs: number): Message {
  const s2c: Message = {
    security: listing.security,
    name: listing.name,
    orderBookAskList: book.asks.slice(0, levels).map(levelMessage),
    orderBookBidList: book.bids.slice(0, levels).map(levelMessage),
  };
  // Futu fills the server receive times for HK only.
  if (listing.market === 'HK') {
    const time = formatLocal(timeMs, 'HK', true);
    Object.assign(s2c, { svrRecvTimeBid: time, svrRecvTimeBidTimestamp: seconds(timeMs), svrRecvTimeAsk: time, svrRecvTimeAskTimestamp: seconds(timeMs) });
  }
  return s2c;
}

/** S2C of Qot_GetBroker and Qot_UpdateBroker. */
export function brokerS2C(listing: Listing, queues: { asks: BrokerEntry[]; bids: BrokerEntry[] }): Message {
  return { security: listing.security, name: listing.name, brokerAskList: queues.asks, brokerBidList: queues.bids };
}

export function tickerMessage(listing: Listing, t: TimedTick): Message {
  return {
    time: formatLocal(t.utcMs, listing.market, true),
    sequence: t.sequence,
    dir: t.dir,
    price: t.price,
    volume: String(t.volume),
    turnover: t.turnover,
    type: TICKER_TYPE_AUTOMATCH,
    timestamp: seconds(t.utcMs),
  };
}

export function staticInfoMessage(listing: Listing): Message {
  return {
    basic: {
      security: listing.security,
      id: listing.staticId,
      lotSize: listing.lotSize,
      secType: listing.secType,
      name: listing.name,
      listTime: listing.listDate,
      delisting: false,
      listTimestamp: listTimestamp(listing),
      exchType: listing.exchType,
    },
  };
}

export interface SnapshotExtras {
  readonly book: Book;
  readonly high52: number;
  readonly low52: number;
  /** Average volume per minute over the previous five trading days. */
  readonly avgMinuteVolume5d: number;
  readonly minutesElapsed: number;
}

export function snapshotMessage(q: Quote, extras: SnapshotExtras): Message {
  const { listing, today } = q;
  const bestAsk = extras.book.asks[0];
  const bestBid = extras.book.bids[0];
  const askVol = extras.book.asks.reduce((n, l) => n + l.volume, 0);
  const bidVol = extras.book.bids.reduce((n, l) => n + l.volume, 0);
  const basic: Message = {
    security: listing.security,
    name: listing.name,
    type: listing.secType,
    isSuspend: false,
    listTime: listing.listDate,
    lotSize: listing.lotSize,
    priceSpread: tickUp(listing.market, q.price),
    updateTime: formatLocal(q.timeMs, listing.market),
    highPrice: today.high,
    openPrice: today.open,
    lowPrice: today.low,
    lastClosePrice: q.lastClose,
    curPrice: q.price,
    volume: String(today.volume),
    turnover: today.turnover,
    turnoverRate: percent(today.volume, listing.sharesOutstanding),
    listTimestamp: listTimestamp(listing),
    updateTimestamp: seconds(q.timeMs),
    askPrice: bestAsk?.price ?? q.price,
    bidPrice: bestBid?.price ?? q.price,
    askVol: String(bestAsk?.volume ?? 0),
    bidVol: String(bestBid?.volume ?? 0),
    amplitude: percent(today.high - today.low, q.lastClose),
    avgPrice: today.volume === 0 ? q.price : roundMoney(today.turnover / today.volume),
    bidAskRatio: percent(bidVol - askVol, bidVol + askVol),
    volumeRatio: extras.avgMinuteVolume5d === 0 ? 0 : roundMoney(today.volume / extras.minutesElapsed / extras.avgMinuteVolume5d),
    highest52WeeksPrice: extras.high52,
    lowest52WeeksPrice: extras.low52,
    secStatus: SECURITY_STATUS_NORMAL,
  };
  const shares = listing.sharesOutstanding;
  const equityExData: Message = {
    issuedShares: String(shares),
    issuedMarketVal: roundMoney(shares * q.price),
    netAsset: roundMoney(shares * listing.bookValuePerShare),
    netProfit: roundMoney(shares * listing.earningsPerShare),
    earningsPershare: listing.earningsPerShare,
    outstandingShares: String(shares),
    outstandingMarketVal: roundMoney(shares * q.price),
    netAssetPershare: listing.bookValuePerShare,
    eyRate: percent(listing.earningsPerShare, q.price),
    peRate: roundMoney(q.price / listing.earningsPerShare),
    pbRate: roundMoney(q.price / listing.bookValuePerShare),
    peTTMRate: roundMoney(q.price / listing.earningsPerShare),
    dividendTTM: listing.dividendPerShare,
    dividendRatioTTM: percent(listing.dividendPerShare, q.price),
    // Last fiscal year's payout: a little below the trailing twelve months, as dividends grow.
    dividendLFY: roundMoney(listing.dividendPerShare * LFY_DIVIDEND_SHARE),
    dividendLFYRatio: percent(listing.dividendPerShare * LFY_DIVIDEND_SHARE, q.price),
  };
  return { basic, equityExData };
}
