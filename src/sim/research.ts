import type { Message } from '../gateway/proto.js';
import { ProtoId } from '../gateway/protoIds.js';
import { formatSecurity, MARKETS, type MarketCode, type Security } from '../gateway/symbol.js';
import { DAY_MS, dayOfDate, formatLocal, isTradingDay, localDay, previousTradingDay, tradingMinutes, utcOf } from './calendar.js';
import { LISTINGS, listingBySymbol, requireListing, requirePlate, type Listing } from './catalog.js';
import { SimError, type Handler } from './contract.js';
import { messageOf, numberOf, requiredNumber, securityOf, stringOf } from './fields.js';
import {
  currencyOf,
  F10,
  growthOf,
  reportsOf,
  revenuePerShare,
  STATEMENT,
  STATEMENT_LINES,
  VALUATION,
  VALUATION_MONTHS,
  valuationHistory,
} from './fundamentals.js';
import { chainItems, expiries, expiryMessage, optionSnapshot, parseOption, requireOptionUnderlying } from './options.js';
import { PricePath, roundMoney } from './pricePath.js';
import { Rng } from './prng.js';
import type { Quote, TimedTick } from './quote.js';
import { staticInfoMessage } from './quoteMessages.js';

/** What the research protos need from the market engine. */
export interface ResearchMarket {
  quoteOf(sec: Security): Quote;
  nowIn(market: MarketCode): number;
  ticksBetween(sec: Security, afterMs: number, untilMs: number): TimedTick[];
}

/** Local names searchable like OpenD's (which matches Chinese names too). */
const LOCAL_NAMES: Readonly<Record<string, string>> = {
  'HK.00700': '腾讯控股', 'HK.09988': '阿里巴巴-W', 'HK.03690': '美团-W', 'HK.00005': '汇丰控股', 'HK.00941': '中国移动', 'HK.02800': '盈富基金',
  'HK.01299': '友邦保险', 'HK.02318': '中国平安', 'HK.00388': '香港交易所', 'HK.01810': '小米集团-W', 'HK.00883': '中国海洋石油',
  'US.AAPL': '苹果', 'US.TSLA': '特斯拉', 'US.NVDA': '英伟达', 'US.MSFT': '微软', 'US.GOOG': '谷歌-C', 'US.AMZN': '亚马逊', 'US.META': 'Meta Platforms',
  'SH.600519': '贵州茅台', 'SZ.000001': '平安银行', 'SH.601318': '中国平安', 'SH.600036': '招商银行', 'SZ.300750': '宁德时代', 'SZ.000858': '五粮液',
};

/** The user's watchlist groups: two custom ones and the system groups by market. */
const CUSTOM_GROUPS: readonly (readonly [string, readonly string[]])[] = [
  ['Tech', ['HK.00700', 'HK.09988', 'US.AAPL', 'US.NVDA', 'US.MSFT', 'US.AMD']],
  ['Dividends', ['HK.00005', 'HK.00941', 'HK.00883', 'US.KO', 'US.XOM', 'SH.600036']],
];
const GROUP_TYPE = { Custom: 1, System: 2, All: 3 } as const;

function watchlistGroups(): { name: string; type: number; members: string[] }[] {
  const custom = CUSTOM_GROUPS.map(([name, members]) => ({ name, type: GROUP_TYPE.Custom, members: [...members] }));
  const all = [...new Set(custom.flatMap((g) => g.members))];
  const byMarket = (label: string, markets: string[]) => ({ name: label, type: GROUP_TYPE.System, members: all.filter((s) => markets.includes(s.slice(0, 2))) });
  return [...custom, { name: 'All', type: GROUP_TYPE.System, members: all }, byMarket('HK', ['HK']), byMarket('US', ['US']), byMarket('CN', ['SH', 'SZ'])];
}

const STOCK_FIELD = { CurPrice: 3, VolumeRatio: 8, MarketVal: 11, PeTTM: 13, PbRate: 14 } as const;
const ACCUMULATE_FIELD = { ChangeRate: 1, Volume: 3, Turnover: 4 } as const;
const SORT_DIR = { None: 0, Ascend: 1, Descend: 2 } as const;
const MAX_FILTER_PAGE = 200;
const PERIOD = { Intraday: 1, Day: 2 } as const;
const MAX_FLOW_DAYS = 30;
const TRADE_DATE_MARKETS: Record<number, MarketCode> = { 1: 'HK', 2: 'US', 3: 'SH' };
const MAX_TRADE_DATE_SPAN = 366;
const NEWS_TYPE = { All: 0, News: 1, Notice: 2, Rating: 3 } as const;

const dateOf = (day: number): string => new Date(day * DAY_MS).toISOString().slice(0, 10);

function requiredDay(c2s: Message, field: string): number {
  const text = stringOf(c2s, field);
  if (!text || !/^\d{4}-\d{2}-\d{2}/.test(text)) throw new SimError(`${field} must be yyyy-MM-dd`);
  return dayOfDate(text.slice(0, 10));
}

/** Order-size classes of a trade, by its value against the security's typical trade. */
function sizeClass(listing: Listing, turnover: number): 'super' | 'big' | 'mid' | 'small' {
  const typical = (listing.avgVolume * listing.basePrice) / (tradingMinutes(listing.market).length * 20);
  return turnover >= 4 * typical ? 'super' : turnover >= 1.5 * typical ? 'big' : turnover >= 0.5 * typical ? 'mid' : 'small';
}

interface FlowTotals {
  readonly inflow: Record<'super' | 'big' | 'mid' | 'small', number>;
  readonly outflow: Record<'super' | 'big' | 'mid' | 'small', number>;
}

/** Buyer-initiated trades are inflow, seller-initiated ones outflow, by order-size class. */
function flowOf(listing: Listing, ticks: readonly TimedTick[]): FlowTotals {
  const inflow = { super: 0, big: 0, mid: 0, small: 0 };
  const outflow = { super: 0, big: 0, mid: 0, small: 0 };
  for (const t of ticks) (t.dir === 1 ? inflow : outflow)[sizeClass(listing, t.turnover)] += t.turnover;
  return { inflow, outflow };
}

const net = (f: FlowTotals, k: keyof FlowTotals['inflow']): number => roundMoney(f.inflow[k] - f.outflow[k]);

/** The research protos: search, news, fundamentals, capital flow, options, screener, watchlists, calendars. */
export function researchHandlers(market: ResearchMarket, seed: number): Map<number, Handler> {
  const pathOf = (l: Listing): PricePath => PricePath.of(seed, l);
  const h = new Map<number, Handler>();

  h.set(ProtoId.Qot_GetSearchQuote, (c2s) => {
    const keyword = (stringOf(c2s, 'keyword') ?? '').trim().toLowerCase();
    if (!keyword) throw new SimError('keyword is required');
    const max = Math.min(numberOf(c2s, 'max_count') ?? 10, 50);
    const hits = LISTINGS.filter((l) =>
      [l.security.code, l.symbol, l.name, LOCAL_NAMES[l.symbol] ?? ''].some((text) => text.toLowerCase().includes(keyword)),
    );
    return { search_quote_list: hits.slice(0, max).map((l) => ({ market: l.security.market, code: l.security.code, name: l.name, sec_type: l.secType, is_watched: watchlistGroups().some((g) => g.type === GROUP_TYPE.Custom && g.members.includes(l.symbol)) })) };
  });

  h.set(ProtoId.Qot_GetSearchNews, (c2s) => {
    const keyword = (stringOf(c2s, 'keyword') ?? '').trim().toLowerCase();
    if (!keyword) throw new SimError('keyword is required');
    const max = Math.min(numberOf(c2s, 'max_count') ?? 10, 50);
    const type = numberOf(c2s, 'news_sub_type') ?? NEWS_TYPE.All;
    const hits = LISTINGS.filter((l) => [l.security.code, l.symbol, l.name, LOCAL_NAMES[l.symbol] ?? '', l.sector].some((t) => t.toLowerCase().includes(keyword)));
    const items = hits.flatMap((l) => newsOf(l, pathOf(l), market.quoteOf(l.security)));
    return {
      search_news_list: items
        .filter((n) => type === NEWS_TYPE.All || n.news_sub_type === type)
        .sort((a, b) => b.utcMs - a.utcMs)
        .slice(0, max)
        .map(({ utcMs: _, ...n }) => n),
    };
  });

  h.set(ProtoId.Qot_GetFinancialsStatements, (c2s) => {
    const listing = requireListing(securityOf(c2s.security));
    const statement = numberOf(c2s, 'statementType') ?? STATEMENT.Income;
    if (!STATEMENT_LINES[statement]) throw new SimError(`Unsupported statementType ${statement}`);
    const type = numberOf(c2s, 'financialType') ?? F10.QuarterlyAnnual;
    const { annual, quarterly } = reportsOf(listing, seed, statement, market.nowIn(listing.market));
    const reports = type === F10.Annual ? annual : type === F10.Quarterly ? quarterly : type === F10.QuarterlyAnnual ? [...annual, ...quarterly] : undefined;
    if (!reports) throw new SimError(`Unsupported financialType ${type}`);
    const num = numberOf(c2s, 'num') ?? 10;
    if (num < 1 || num > 50) throw new SimError('num must be 1 to 50');
    const key = stringOf(c2s, 'nextKey');
    const start = key ? Number(key) : 0;
    if (!Number.isInteger(start) || start < 0) throw new SimError(`invalid nextKey ${key}`);
    const page = reports.slice(start, start + num);
    const currency = currencyOf(listing);
    return {
      structureList: STATEMENT_LINES[statement]!.map(([fieldId, displayName]) => ({ fieldId: String(fieldId), displayName })),
      reportList: page.map((r) => ({
        dateTime: String(Date.parse(`${r.endDate}T00:00:00Z`) / 1000),
        dateTimeStr: r.endDate,
        fiscalYear: r.fiscalYear,
        financialType: r.type,
        periodText: r.periodText,
        itemList: [...r.lines].map(([fieldId, data]) => ({ fieldId: String(fieldId), data })),
        currencyCode: currency,
        currencyInfo: currency,
        accountingStandards: listing.market === 'US' ? 'US GAAP' : 'IFRS',
        auditorReport: 'Unqualified opinion',
      })),
      nextKey: start + num >= reports.length ? '-1' : String(start + num),
    };
  });

  h.set(ProtoId.Qot_GetValuationDetail, (c2s) => {
    const listing = requireListing(securityOf(c2s.security));
    const type = numberOf(c2s, 'valuationType') || VALUATION.PE;
    const perShare = type === VALUATION.PE ? listing.earningsPerShare : type === VALUATION.PB ? listing.bookValuePerShare : type === VALUATION.PS ? revenuePerShare(listing, seed) : undefined;
    if (perShare === undefined) throw new SimError(`Unsupported valuationType ${type}`);
    if (perShare <= 0) throw new SimError(`No valuation of type ${type} for ${listing.symbol}`);
    const months = VALUATION_MONTHS[numberOf(c2s, 'intervalType') ?? 4];
    if (months === undefined) throw new SimError(`Unsupported intervalType ${String(c2s.intervalType)}`);
    const now = market.nowIn(listing.market);
    const history = valuationHistory(pathOf(listing), perShare, now, months);
    const current = roundMoney(market.quoteOf(listing.security).price / perShare);
    const values = history.map((p) => p.value);
    const mean = values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
    const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / Math.max(1, values.length));
    const percentile = values.length === 0 ? 50 : (values.filter((v) => v <= current).length / values.length) * 100;
    const trend: Message = {
      currentValue: current,
      averageValue: roundMoney(mean),
      avgMinus1Stddev: roundMoney(mean - sd),
      avgPlus1Stddev: roundMoney(mean + sd),
      valuationPercentile: roundMoney(percentile),
      historicalItems: history.map((p) => ({ value: p.value, time: String(Date.parse(`${p.date}T00:00:00Z`) / 1000), timeStr: p.date })),
    };
    if (type !== VALUATION.PB) trend.forwardValue = roundMoney(current / (1 + growthOf(listing, seed)));
    return { valuationType: type, lastUpdateTime: String(Math.floor(now / 1000)), trend };
  });

  h.set(ProtoId.Qot_GetCompanyProfile, (c2s) => {
    const listing = requireListing(securityOf(c2s.security));
    const rng = Rng.of(seed, 'profile', listing.symbol);
    const employees = Math.round((listing.sharesOutstanding * listing.basePrice) / (2e6 + rng.next() * 6e6) / 100) * 100;
    const kind = listing.secType === 4 ? 'an exchange-traded fund tracking a broad index' : `a ${listing.sector.toLowerCase()} company`;
    return {
      itemList: [
        ['Company name', listing.name],
        ['Business', `${listing.name} is ${kind} listed in ${listing.market === 'US' ? 'the United States' : listing.market === 'HK' ? 'Hong Kong' : 'mainland China'}.`],
        ['Sector', listing.sector],
        ['Listing date', listing.listDate],
        ['Exchange', { 1: 'HKEX Main Board', 4: 'NYSE', 5: 'NASDAQ', 7: 'NYSE American', 14: 'Shanghai Stock Exchange', 15: 'Shenzhen Stock Exchange' }[listing.exchType] ?? 'Unknown'],
        ['Employees', listing.secType === 4 ? '0' : String(Math.max(100, employees))],
        ['Currency', currencyOf(listing)],
      ].map(([name, value]) => ({ name, value, fieldType: 0 })),
    };
  });

  h.set(ProtoId.Qot_GetResearchAnalystConsensus, (c2s) => {
    const listing = requireListing(securityOf(c2s.security));
    const rng = Rng.of(seed, 'consensus', listing.symbol);
    const price = market.quoteOf(listing.security).price;
    const average = roundMoney(price * (0.97 + rng.next() * 0.3));
    const buy = Math.round(35 + rng.next() * 45);
    const sell = Math.round(rng.next() * 10);
    const hold = 100 - buy - sell;
    const rating = buy >= 60 ? 4 : buy >= 40 ? 3 : 2;
    return {
      highest: roundMoney(average * 1.25),
      average,
      lowest: roundMoney(average * 0.72),
      rating,
      total: 8 + Math.floor(rng.next() * 40),
      updateTime: String(Math.floor(market.nowIn(listing.market) / 1000)),
      updateTimeStr: dateOf(localDay(market.nowIn(listing.market), listing.market)),
      buy,
      hold,
      sell,
    };
  });

  h.set(ProtoId.Qot_GetCorporateActionsDividends, (c2s) => {
    const listing = requireListing(securityOf(c2s.security));
    return { dividendList: dividendsOf(listing, localDay(market.nowIn(listing.market), listing.market)) };
  });

  h.set(ProtoId.Qot_GetCapitalFlow, (c2s) => {
    const listing = requireListing(securityOf(c2s.security));
    const period = numberOf(c2s, 'periodType') ?? PERIOD.Intraday;
    const q = market.quoteOf(listing.security);
    const minutes = tradingMinutes(listing.market);
    const dayStart = (day: number): number => utcOf(listing.market, day, minutes[0]!) - 1;
    if (period === PERIOD.Intraday) {
      const ticks = market.ticksBetween(listing.security, dayStart(q.progress.day), Number.MAX_SAFE_INTEGER);
      const items: Message[] = [];
      let cumulative = 0;
      let next = 0;
      const visibleMinutes = q.progress.fullMinutes + (q.progress.partial ? 1 : 0);
      for (let m = 0; m < visibleMinutes; m++) {
        const end = utcOf(listing.market, q.progress.day, minutes[m]! + 1);
        while (next < ticks.length && ticks[next]!.utcMs < end) {
          const t = ticks[next++]!;
          cumulative += t.dir === 1 ? t.turnover : -t.turnover;
        }
        const at = utcOf(listing.market, q.progress.day, minutes[m]!);
        items.push({ inFlow: roundMoney(cumulative), time: formatMinute(at, listing.market), timestamp: at / 1000 });
      }
      const last = ticks.at(-1);
      return { flowItemList: items, lastValidTime: last ? formatMinute(last.utcMs, listing.market) : undefined, lastValidTimestamp: last ? last.utcMs / 1000 : undefined };
    }
    if (period !== PERIOD.Day) throw new SimError(`Unsupported periodType ${period}`);
    const begin = requiredDay(c2s, 'beginTime');
    const end = Math.min(requiredDay(c2s, 'endTime'), q.progress.day);
    if (end < begin) throw new SimError('endTime is before beginTime');
    const items: Message[] = [];
    for (let day = end; day >= begin && items.length < MAX_FLOW_DAYS; day = previousTradingDay(day)) {
      if (!isTradingDay(day) || day < pathOf(listing).firstDay) continue;
      const f = flowOf(listing, market.ticksBetween(listing.security, dayStart(day), dayStart(day) + DAY_MS / 2));
      const main = roundMoney(net(f, 'super') + net(f, 'big'));
      items.unshift({
        inFlow: roundMoney(main + net(f, 'mid') + net(f, 'small')),
        time: dateOf(day),
        timestamp: utcOf(listing.market, day, 0) / 1000,
        mainInFlow: main,
        superInFlow: net(f, 'super'),
        bigInFlow: net(f, 'big'),
        midInFlow: net(f, 'mid'),
        smlInFlow: net(f, 'small'),
      });
    }
    return { flowItemList: items };
  });

  h.set(ProtoId.Qot_GetCapitalDistribution, (c2s) => {
    const listing = requireListing(securityOf(c2s.security));
    const q = market.quoteOf(listing.security);
    const ticks = market.ticksBetween(listing.security, utcOf(listing.market, q.progress.day, tradingMinutes(listing.market)[0]!) - 1, Number.MAX_SAFE_INTEGER);
    const f = flowOf(listing, ticks);
    const last = ticks.at(-1);
    return {
      capitalInSuper: roundMoney(f.inflow.super),
      capitalInBig: roundMoney(f.inflow.big),
      capitalInMid: roundMoney(f.inflow.mid),
      capitalInSmall: roundMoney(f.inflow.small),
      capitalOutSuper: roundMoney(f.outflow.super),
      capitalOutBig: roundMoney(f.outflow.big),
      capitalOutMid: roundMoney(f.outflow.mid),
      capitalOutSmall: roundMoney(f.outflow.small),
      updateTime: last ? formatMinute(last.utcMs, listing.market) : undefined,
      updateTimestamp: last ? last.utcMs / 1000 : undefined,
    };
  });

  h.set(ProtoId.Qot_GetOptionExpirationDate, (c2s) => {
    const listing = requireListing(securityOf(c2s.owner, 'owner'));
    requireOptionUnderlying(listing);
    const today = localDay(market.nowIn('US'), 'US');
    return { dateList: expiries(today).map((e) => expiryMessage(e.day, e.cycle, today)) };
  });

  h.set(ProtoId.Qot_GetOptionChain, (c2s) => {
    const listing = requireListing(securityOf(c2s.owner, 'owner'));
    requireOptionUnderlying(listing);
    const begin = requiredDay(c2s, 'beginTime');
    const end = requiredDay(c2s, 'endTime');
    if (end < begin) throw new SimError('endTime is before beginTime');
    if (end - begin > 30) throw new SimError('The time span between beginTime and endTime is at most 30 days');
    const type = numberOf(c2s, 'type') ?? 0;
    const today = localDay(market.nowIn('US'), 'US');
    const spot = market.quoteOf(listing.security).price;
    return {
      optionChain: expiries(today)
        .filter((e) => e.day >= begin && e.day <= end)
        .map((e) => ({ strikeTime: dateOf(e.day), strikeTimestamp: utcOf('US', e.day, 16 * 60) / 1000, option: chainItems(listing, e.day, e.cycle, spot, type) })),
    };
  });

  h.set(ProtoId.Qot_StockFilter, (c2s) => stockFilter(c2s, market, pathOf));

  h.set(ProtoId.Qot_GetUserSecurityGroup, (c2s) => {
    const type = requiredNumber(c2s, 'groupType');
    if (!Object.values(GROUP_TYPE).includes(type as 1)) throw new SimError(`Unsupported groupType ${type}`);
    return { groupList: watchlistGroups().filter((g) => type === GROUP_TYPE.All || g.type === type).map((g) => ({ groupName: g.name, groupType: g.type })) };
  });

  h.set(ProtoId.Qot_GetUserSecurity, (c2s) => {
    const name = stringOf(c2s, 'groupName');
    const group = watchlistGroups().find((g) => g.name === name);
    if (!group) throw new SimError(`Unknown group ${String(name)}`);
    return { staticInfoList: group.members.map((s) => staticInfoMessage(listingBySymbol(s))) };
  });

  h.set(ProtoId.Qot_RequestTradeDate, (c2s) => {
    const marketCode = TRADE_DATE_MARKETS[requiredNumber(c2s, 'market')];
    if (!marketCode) throw new SimError(`Unsupported market ${String(c2s.market)}`);
    const begin = requiredDay(c2s, 'beginTime');
    const end = requiredDay(c2s, 'endTime');
    if (end < begin) throw new SimError('endTime is before beginTime');
    if (end - begin > MAX_TRADE_DATE_SPAN) throw new SimError(`The range is at most ${MAX_TRADE_DATE_SPAN} days`);
    const list: Message[] = [];
    for (let day = begin; day <= end; day++) {
      if (isTradingDay(day)) list.push({ time: dateOf(day), timestamp: utcOf(marketCode, day, 0) / 1000, tradeDateType: 0 });
    }
    return { tradeDateList: list };
  });

  return h;
}

/** Snapshots of option contracts: the market engine's snapshot handler asks here for codes it does not list. */
export function optionSnapshotOf(market: ResearchMarket, sec: Security): Message {
  const contract = parseOption(sec);
  if (!contract) throw new SimError(`Unknown stock ${formatSecurity(sec)}`);
  return optionSnapshot(contract, market.quoteOf(contract.underlying.security), market.nowIn('US'));
}

/** yyyy-MM-dd HH:mm, the market's local time. */
function formatMinute(utcMs: number, market: MarketCode): string {
  return formatLocal(utcMs, market).slice(0, 16);
}

interface NewsItem extends Message {
  title: string;
  news_sub_type: number;
  source: string;
  publish_time: string;
  utcMs: number;
}

/** A week of headlines per security, built from its own daily moves. */
function newsOf(listing: Listing, path: PricePath, q: Quote): NewsItem[] {
  const items: NewsItem[] = [];
  let day = q.progress.day;
  for (let i = 0; i < 5; i++, day = previousTradingDay(day)) {
    if (day < path.firstDay) break;
    const bar = path.dayBar(day);
    const change = ((bar.close - bar.lastClose) / bar.lastClose) * 100;
    const at = utcOf(listing.market, day, 17 * 60 + i);
    const rng = Rng.of('news', listing.symbol, day);
    const related = [`${listing.security.code}.${listing.market}`];
    items.push({
      title: `${listing.name} ${change >= 0 ? 'rises' : 'falls'} ${Math.abs(change).toFixed(1)}% to close at ${bar.close.toFixed(2)}`,
      news_sub_type: NEWS_TYPE.News, source: 'futu-sim Newswire', publish_time: String(Math.floor(at / 1000)), view_count: String(rng.int(200, 20000)), related_securities: related, utcMs: at,
    });
    if (i === 1) {
      items.push({
        title: `Analyst ${rng.next() < 0.6 ? 'raises' : 'cuts'} ${listing.name} price target`,
        news_sub_type: NEWS_TYPE.Rating, source: 'futu-sim Research', publish_time: String(Math.floor((at + 3600_000) / 1000)), view_count: String(rng.int(100, 5000)), related_securities: related, utcMs: at + 3600_000,
      });
    }
    if (i === 3) {
      items.push({
        title: `${listing.name}: announcement of board meeting date`,
        news_sub_type: NEWS_TYPE.Notice, source: 'Exchange filing', publish_time: String(Math.floor((at + 7200_000) / 1000)), view_count: String(rng.int(50, 2000)), related_securities: related, utcMs: at + 7200_000,
      });
    }
  }
  return items;
}

/** Dividend history: US quarterly, others an interim and a final a year, newest first. */
function dividendsOf(listing: Listing, today: number): Message[] {
  if (listing.dividendPerShare <= 0) return [];
  const currency = currencyOf(listing);
  const perYear = listing.market === 'US' ? 4 : 2;
  const out: Message[] = [];
  const d = new Date(today * DAY_MS);
  const slash = (day: number): string => dateOf(day).replaceAll('-', '/');
  for (let back = 0; back < 3 * perYear; back++) {
    const monthsAgo = back * (12 / perYear) + 1;
    const pub = Math.floor(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - monthsAgo, 15) / DAY_MS);
    const share = perYear === 4 ? 1 / 4 : back % 2 === 0 ? 0.6 : 0.4;
    const amount = (listing.dividendPerShare * share) / 1.06 ** Math.floor(back / perYear);
    const label = perYear === 4 ? 'Quarterly dividend' : back % 2 === 0 ? 'Final dividend' : 'Interim dividend';
    out.push({
      pubDate: slash(pub),
      statement: `${label} ${currency} ${amount.toFixed(4)} per share`,
      process: 'Implemented',
      recordDate: slash(pub + 21),
      exDate: slash(pub + 20),
      dividendPayableDate: slash(pub + 35),
    });
  }
  return out;
}

interface Range {
  readonly field: number;
  readonly min?: number;
  readonly max?: number;
  readonly active: boolean;
  readonly sortDir: number;
  readonly days?: number;
}

function rangesOf(list: unknown): Range[] {
  return (Array.isArray(list) ? (list as Message[]) : []).map((f) => ({
    field: requiredNumber(f, 'fieldName'),
    min: numberOf(f, 'filterMin'),
    max: numberOf(f, 'filterMax'),
    active: f.isNoFilter === false,
    sortDir: numberOf(f, 'sortDir') ?? SORT_DIR.None,
    days: numberOf(f, 'days'),
  }));
}

/** Qot_StockFilter over the catalogue: every requested range really filters, the first sorted field orders. */
function stockFilter(c2s: Message, market: ResearchMarket, pathOf: (l: Listing) => PricePath): Message {
  const begin = requiredNumber(c2s, 'begin');
  const num = requiredNumber(c2s, 'num');
  if (begin < 0 || num < 1 || num > MAX_FILTER_PAGE) throw new SimError(`num must be 1 to ${MAX_FILTER_PAGE} and begin at least 0`);
  const qotMarket = requiredNumber(c2s, 'market');
  const cn = qotMarket === MARKETS.SH.qot || qotMarket === MARKETS.SZ.qot;
  if (!Object.values(MARKETS).some((m) => m.qot === qotMarket)) throw new SimError(`Unsupported market ${qotMarket}`);
  const plateSec = messageOf(c2s, 'plate');
  const members = plateSec ? new Set(requirePlate(securityOf(plateSec, 'plate')).members) : undefined;
  const base = rangesOf(c2s.baseFilterList);
  const accumulate = rangesOf(c2s.accumulateFilterList);
  for (const r of base) if (!Object.values(STOCK_FIELD).includes(r.field as 3)) throw new SimError(`Unsupported StockField ${r.field}`);
  for (const r of accumulate) {
    if (!Object.values(ACCUMULATE_FIELD).includes(r.field as 1)) throw new SimError(`Unsupported AccumulateField ${r.field}`);
    if (r.days === undefined || r.days < 1 || r.days > 250) throw new SimError('days must be 1 to 250');
  }
  const baseValue = (l: Listing, field: number): number => {
    const q = market.quoteOf(l.security);
    switch (field) {
      case STOCK_FIELD.CurPrice: return q.price;
      case STOCK_FIELD.MarketVal: return roundMoney(q.price * l.sharesOutstanding);
      case STOCK_FIELD.PeTTM: return roundMoney(q.price / l.earningsPerShare);
      case STOCK_FIELD.PbRate: return roundMoney(q.price / l.bookValuePerShare);
      default: return roundMoney(q.today.volume / Math.max(1, l.avgVolume * ((q.progress.fullMinutes + 1) / tradingMinutes(l.market).length)));
    }
  };
  const accumulateValue = (l: Listing, field: number, days: number): number => {
    const q = market.quoteOf(l.security);
    const path = pathOf(l);
    if (field === ACCUMULATE_FIELD.ChangeRate) {
      let day = q.progress.day;
      for (let i = 1; i < days; i++) day = previousTradingDay(day);
      const reference = path.dayMinutes(day).lastClose;
      return roundMoney(((q.price - reference) / reference) * 100);
    }
    let total = field === ACCUMULATE_FIELD.Volume ? q.today.volume : q.today.turnover;
    let day = q.progress.day;
    for (let i = 1; i < days; i++) {
      day = previousTradingDay(day);
      const bar = path.dayBar(day);
      total += field === ACCUMULATE_FIELD.Volume ? bar.volume : bar.turnover;
    }
    return roundMoney(total / days);
  };
  const rows = LISTINGS.filter((l) => (cn ? l.market === 'SH' || l.market === 'SZ' : l.security.market === qotMarket) && (!members || members.has(l.symbol))).map((l) => ({
    l,
    base: base.map((r) => baseValue(l, r.field)),
    accumulate: accumulate.map((r) => accumulateValue(l, r.field, r.days!)),
  }));
  const inRange = (r: Range, v: number): boolean => !r.active || ((r.min === undefined || v >= r.min) && (r.max === undefined || v <= r.max));
  const kept = rows.filter((row) => base.every((r, i) => inRange(r, row.base[i]!)) && accumulate.every((r, i) => inRange(r, row.accumulate[i]!)));
  const sortBy = [...base.map((r, i) => ({ r, get: (row: (typeof rows)[number]) => row.base[i]! })), ...accumulate.map((r, i) => ({ r, get: (row: (typeof rows)[number]) => row.accumulate[i]! }))].find((s) => s.r.sortDir !== SORT_DIR.None);
  kept.sort((a, b) => (sortBy ? (sortBy.get(a) - sortBy.get(b)) * (sortBy.r.sortDir === SORT_DIR.Descend ? -1 : 1) : 0) || a.l.symbol.localeCompare(b.l.symbol));
  const page = kept.slice(begin, begin + num);
  return {
    lastPage: begin + num >= kept.length,
    allCount: kept.length,
    dataList: page.map((row) => ({
      security: row.l.security,
      name: row.l.name,
      baseDataList: base.map((r, i) => ({ fieldName: r.field, value: row.base[i]! })),
      accumulateDataList: accumulate.map((r, i) => ({ fieldName: r.field, value: row.accumulate[i]!, days: r.days! })),
    })),
  };
}

