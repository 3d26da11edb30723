import type { RequestOptions } from './client.js';
import { SECURITY_TYPE, TRD_ENV, TRD_MARKET } from './enums.js';
import { GatewayError } from './errors.js';
import type { Message } from './proto.js';
import { ProtoId } from './protoIds.js';
import { formatSecurity, MARKETS, parseSymbol, type MarketCode, type Security } from './symbol.js';
import type { AccountRef } from './types.js';
import { intInRange, parseU64, positiveNumber } from './validate.js';

/**
 * The research reads of OpenD (search, news, F10 fundamentals, capital flow, options, screener,
 * watchlists, calendars) and the two account estimates (max quantities, order fees), typed.
 * Field names follow OpenD's; the MCP tools shape them for a model.
 */
export interface ResearchClient {
  request(protoId: number, c2s: Message, options?: RequestOptions): Promise<Message>;
}

const invalid = (message: string): GatewayError => new GatewayError('INVALID_ARGUMENT', message);

type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const symbolOf = (sec: Raw): string => formatSecurity(sec as Security);
const secTypeName = (value: number): string => SECURITY_TYPE.name(value) as string;

export interface SearchHit { symbol: string; name: string; secType: string; watched: boolean }
export interface NewsItem { title: string; kind: string; source: string; publishedAt: string; symbols: string[]; url?: string }
export interface StatementLine { name: string; value: number; yoy?: number }
export interface StatementReport { period: string; fiscalYear: number; endDate: string; currency: string; lines: StatementLine[] }
export interface ValuationSeries {
  type: 'PE' | 'PB' | 'PS';
  current: number;
  average: number;
  minus1Sd: number;
  plus1Sd: number;
  percentile: number;
  forward?: number;
  history: { date: string; value: number }[];
}
export interface ProfileItem { name: string; value: string }
export interface AnalystConsensus {
  rating?: string;
  analysts?: number;
  targetHigh?: number;
  targetAverage?: number;
  targetLow?: number;
  updated?: string;
  distribution: Record<string, number>;
}
export interface DividendItem { announced: string; statement: string; exDate?: string; recordDate?: string; payDate?: string; progress?: string }
export interface CapitalFlowPoint { time: string; netInflow: number; main?: number; superLarge?: number; large?: number; medium?: number; small?: number }
export interface CapitalDistribution { updated?: string; inflow: Record<'super' | 'big' | 'mid' | 'small', number>; outflow: Record<'super' | 'big' | 'mid' | 'small', number> }
export interface OptionExpiry { date: string; daysLeft: number; cycle?: string }
export interface OptionContract { symbol: string; type: 'CALL' | 'PUT'; strike: number; expiry: string }
export interface OptionQuote { symbol: string; price: number; iv: number; delta: number; gamma: number; vega: number; theta: number; rho: number; openInterest: number; volume: number }
export interface MarketStateInfo { market: MarketCode; state: string }
export interface WatchlistGroup { name: string; system: boolean }
export interface WatchlistMember { symbol: string; name: string; secType: string }
export interface MaxQuantities { cashBuy: number; marginBuy?: number; positionSell: number; sellShort?: number; buyBack?: number }
export interface OrderFee { orderIdEx: string; total: number; items: { name: string; amount: number }[] }

/** Qot_Common.QotMarketState names. */
const MARKET_STATE: Record<number, string> = {
  0: 'NONE', 1: 'AUCTION', 2: 'WAITING_OPEN', 3: 'MORNING', 4: 'REST', 5: 'AFTERNOON', 6: 'CLOSED', 8: 'PRE_MARKET_BEGIN', 9: 'PRE_MARKET_END',
  10: 'AFTER_HOURS_BEGIN', 11: 'AFTER_HOURS_END', 13: 'NIGHT_OPEN', 14: 'NIGHT_END', 15: 'FUTURE_DAY_OPEN', 16: 'FUTURE_DAY_BREAK', 17: 'FUTURE_DAY_CLOSE',
  18: 'FUTURE_DAY_WAIT_OPEN', 19: 'HK_CAS', 20: 'FUTURE_NIGHT_WAIT', 21: 'FUTURE_AFTERNOON', 22: 'FUTURE_SWITCH_DATE', 23: 'FUTURE_OPEN', 24: 'FUTURE_BREAK',
  25: 'FUTURE_BREAK_OVER', 26: 'FUTURE_CLOSE', 27: 'STIB_AFTER_HOURS_WAIT', 28: 'STIB_AFTER_HOURS_BEGIN', 29: 'STIB_AFTER_HOURS_END', 35: 'OVERNIGHT',
};
export const STATEMENT_TYPE = { income: 1, balance_sheet: 2, cash_flow: 3 } as const;
export type StatementName = keyof typeof STATEMENT_TYPE;
const F10_TYPE = { annual: 7, quarterly: 9 } as const;
const VALUATION_TYPE = { PE: 1, PB: 2, PS: 3 } as const;
export type ValuationName = keyof typeof VALUATION_TYPE;
export const VALUATION_RANGE = { '3m': 1, '6m': 2, '1y': 3, '2y': 8, '3y': 4, '5y': 6 } as const;
export type ValuationRange = keyof typeof VALUATION_RANGE;
const RATING: Record<number, string> = { 1: 'SELL', 2: 'UNDERPERFORM', 3: 'HOLD', 4: 'BUY', 5: 'STRONG_BUY' };
const NEWS_KIND: Record<number, string> = { 1: 'news', 2: 'notice', 3: 'rating' };
export const NEWS_KINDS = { all: 0, news: 1, notice: 2, rating: 3 } as const;
const TRADE_DATE_MARKET: Record<MarketCode, number> = { HK: 1, US: 2, SH: 3, SZ: 3 };
/** OpenD answers the state of a market through one of its securities; these trade in every session. */
const MARKET_PROBE: Record<MarketCode, string> = { HK: 'HK.02800', US: 'US.SPY', SH: 'SH.600519', SZ: 'SZ.000001' };
const MAX_FINANCIAL_PAGE = 50;
const MAX_FILTER_PAGE = 200;
const MAX_SNAPSHOT_CODES = 400;

export const SCREEN_FIELDS = {
  price: { kind: 'base', id: 3 },
  market_cap: { kind: 'base', id: 11 },
  pe_ttm: { kind: 'base', id: 13 },
  pb: { kind: 'base', id: 14 },
  change_pct: { kind: 'accumulate', id: 1 },
  turnover: { kind: 'accumulate', id: 4 },
} as const;
export type ScreenField = keyof typeof SCREEN_FIELDS;
export interface ScreenQuery {
  market: MarketCode;
  plate?: string;
  ranges: Partial<Record<ScreenField, { min?: number; max?: number }>>;
  sortBy?: ScreenField;
  descending?: boolean;
  begin: number;
  num: number;
}
export interface ScreenRow { symbol: string; name: string; values: Record<ScreenField, number | undefined> }

const yyyymmdd = (text: string): string => text.replaceAll('/', '-');

export class ResearchApi {
  constructor(
    private readonly client: ResearchClient,
    /** Takes one of OpenD's snapshot requests from the holder's share (see SnapshotBudget). */
    private readonly takeSnapshot: (holder: string | undefined) => void,
  ) {}

  async search(keyword: string, maxCount: number): Promise<SearchHit[]> {
    const s2c = await this.client.request(ProtoId.Qot_GetSearchQuote, { keyword, max_count: intInRange(maxCount, 'max_count', 1, 50) });
    return ((s2c.search_quote_list as Raw[] | undefined) ?? []).flatMap((h) => {
      const market = Object.entries(MARKETS).find(([, m]) => m.qot === h.market)?.[0];
      return market === undefined ? [] : [{ symbol: `${market}.${h.code}`, name: String(h.name ?? ''), secType: secTypeName(h.sec_type), watched: h.is_watched === true }];
    });
  }

  async searchNews(keyword: string, maxCount: number, kind: keyof typeof NEWS_KINDS): Promise<NewsItem[]> {
    const s2c = await this.client.request(ProtoId.Qot_GetSearchNews, { keyword, max_count: intInRange(maxCount, 'max_count', 1, 50), news_sub_type: NEWS_KINDS[kind] });
    return ((s2c.search_news_list as Raw[] | undefined) ?? []).map((n) => ({
      title: String(n.title ?? ''),
      kind: NEWS_KIND[n.news_sub_type as number] ?? 'news',
      source: String(n.source ?? ''),
      publishedAt: /^\d+$/.test(String(n.publish_time)) ? new Date(Number(n.publish_time) * 1000).toISOString().slice(0, 16).replace('T', ' ') + 'Z' : String(n.publish_time ?? ''),
      // OpenD names related securities CODE.MARKET (LITE.US); the rest of this API says MARKET.CODE.
      symbols: ((n.related_securities as string[] | undefined) ?? []).map((s) => s.replace(/^(.+)\.([A-Z]{2})$/, '$2.$1')),
      ...(typeof n.url === 'string' && n.url ? { url: n.url } : {}),
    }));
  }

  /** One page of reports (newest first) and whether more exist. */
  async getFinancials(symbol: string, statement: StatementName, period: keyof typeof F10_TYPE, offset: number, num: number): Promise<{ reports: StatementReport[]; more: boolean }> {
    const c2s = {
      security: parseSymbol(symbol).security,
      statementType: STATEMENT_TYPE[statement],
      financialType: F10_TYPE[period],
      num: intInRange(num, 'num', 1, MAX_FINANCIAL_PAGE),
      ...(offset > 0 ? { nextKey: String(offset) } : {}),
    };
    const s2c = await this.client.request(ProtoId.Qot_GetFinancialsStatements, c2s);
    const names = new Map(((s2c.structureList as Raw[] | undefined) ?? []).map((f) => [String(f.fieldId), String(f.displayName)]));
    const reports = ((s2c.reportList as Raw[] | undefined) ?? []).map((r) => ({
      period: String(r.periodText ?? ''),
      fiscalYear: Number(r.fiscalYear ?? 0),
      endDate: String(r.dateTimeStr ?? ''),
      currency: String(r.currencyCode ?? ''),
      lines: ((r.itemList as Raw[] | undefined) ?? []).map((i) => ({
        name: names.get(String(i.fieldId)) ?? `field ${String(i.fieldId)}`,
        value: Number(i.data ?? 0),
        ...(typeof i.yoy === 'number' ? { yoy: i.yoy } : {}),
      })),
    }));
    return { reports, more: typeof s2c.nextKey === 'string' && s2c.nextKey !== '-1' && s2c.nextKey !== '' };
  }

  async getValuation(symbol: string, type: ValuationName, range: ValuationRange): Promise<ValuationSeries> {
    const s2c = await this.client.request(ProtoId.Qot_GetValuationDetail, {
      security: parseSymbol(symbol).security,
      valuationType: VALUATION_TYPE[type],
      intervalType: VALUATION_RANGE[range],
    });
    const t = (s2c.trend as Raw | undefined) ?? {};
    return {
      type,
      current: Number(t.currentValue ?? 0),
      average: Number(t.averageValue ?? 0),
      minus1Sd: Number(t.avgMinus1Stddev ?? 0),
      plus1Sd: Number(t.avgPlus1Stddev ?? 0),
      percentile: Number(t.valuationPercentile ?? 0),
      ...(typeof t.forwardValue === 'number' ? { forward: t.forwardValue } : {}),
      history: ((t.historicalItems as Raw[] | undefined) ?? []).map((h) => ({ date: String(h.timeStr ?? ''), value: Number(h.value ?? 0) })),
    };
  }

  async getCompanyProfile(symbol: string): Promise<ProfileItem[]> {
    const s2c = await this.client.request(ProtoId.Qot_GetCompanyProfile, { security: parseSymbol(symbol).security });
    return ((s2c.itemList as Raw[] | undefined) ?? []).map((i) => ({ name: String(i.name ?? ''), value: String(i.value ?? '') }));
  }

  async getAnalystConsensus(symbol: string): Promise<AnalystConsensus> {
    const s = await this.client.request(ProtoId.Qot_GetResearchAnalystConsensus, { security: parseSymbol(symbol).security });
    const distribution: Record<string, number> = {};
    for (const [key, label] of [['strongBuy', 'strong_buy'], ['buy', 'buy'], ['hold', 'hold'], ['underperform', 'underperform'], ['sell', 'sell']] as const) {
      if (typeof s[key] === 'number') distribution[label] = s[key];
    }
    const opt = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
    return {
      rating: RATING[s.rating as number],
      analysts: opt(s.total),
      targetHigh: opt(s.highest),
      targetAverage: opt(s.average),
      targetLow: opt(s.lowest),
      updated: typeof s.updateTimeStr === 'string' ? s.updateTimeStr : undefined,
      distribution,
    };
  }

  async getDividends(symbol: string): Promise<DividendItem[]> {
    const s2c = await this.client.request(ProtoId.Qot_GetCorporateActionsDividends, { security: parseSymbol(symbol).security });
    const date = (v: unknown): string | undefined => (typeof v === 'string' && v ? yyyymmdd(v) : undefined);
    return ((s2c.dividendList as Raw[] | undefined) ?? []).map((d) => ({
      announced: date(d.pubDate) ?? '',
      statement: String(d.statement ?? ''),
      exDate: date(d.exDate),
      recordDate: date(d.recordDate),
      payDate: date(d.dividendPayableDate),
      progress: typeof d.process === 'string' ? d.process : undefined,
    }));
  }

  /** Intraday: cumulative net inflow per minute; daily: one point per trading day in [begin, end]. */
  async getCapitalFlow(symbol: string, period: 'intraday' | 'day', begin?: string, end?: string): Promise<CapitalFlowPoint[]> {
    const c2s: Message = { security: parseSymbol(symbol).security, periodType: period === 'intraday' ? 1 : 2 };
    if (period === 'day') Object.assign(c2s, { beginTime: begin, endTime: end });
    const s2c = await this.client.request(ProtoId.Qot_GetCapitalFlow, c2s);
    return ((s2c.flowItemList as Raw[] | undefined) ?? []).map((f) => ({
      time: String(f.time ?? ''),
      netInflow: Number(f.inFlow ?? 0),
      ...(typeof f.mainInFlow === 'number' ? { main: f.mainInFlow } : {}),
      ...(typeof f.superInFlow === 'number' ? { superLarge: f.superInFlow } : {}),
      ...(typeof f.bigInFlow === 'number' ? { large: f.bigInFlow } : {}),
      ...(typeof f.midInFlow === 'number' ? { medium: f.midInFlow } : {}),
      ...(typeof f.smlInFlow === 'number' ? { small: f.smlInFlow } : {}),
    }));
  }

  async getCapitalDistribution(symbol: string): Promise<CapitalDistribution> {
    const s = await this.client.request(ProtoId.Qot_GetCapitalDistribution, { security: parseSymbol(symbol).security });
    const n = (v: unknown): number => (typeof v === 'number' ? v : 0);
    return {
      updated: typeof s.updateTime === 'string' ? s.updateTime : undefined,
      inflow: { super: n(s.capitalInSuper), big: n(s.capitalInBig), mid: n(s.capitalInMid), small: n(s.capitalInSmall) },
      outflow: { super: n(s.capitalOutSuper), big: n(s.capitalOutBig), mid: n(s.capitalOutMid), small: n(s.capitalOutSmall) },
    };
  }

  async getOptionExpirations(symbol: string): Promise<OptionExpiry[]> {
    const s2c = await this.client.request(ProtoId.Qot_GetOptionExpirationDate, { owner: parseSymbol(symbol).security });
    const cycles: Record<number, string> = { 1: 'week', 2: 'month', 3: 'month_end' };
    return ((s2c.dateList as Raw[] | undefined) ?? []).map((d) => ({
      date: String(d.strikeTime ?? '').slice(0, 10),
      daysLeft: Number(d.optionExpiryDateDistance),
      ...(cycles[d.cycle as number] ? { cycle: cycles[d.cycle as number] } : {}),
    }));
  }

  /** Contracts of one expiry (yyyy-MM-dd), by strike. */
  async getOptionChain(symbol: string, expiry: string): Promise<OptionContract[]> {
    const s2c = await this.client.request(ProtoId.Qot_GetOptionChain, { owner: parseSymbol(symbol).security, beginTime: expiry, endTime: expiry });
    const out: OptionContract[] = [];
    for (const chain of (s2c.optionChain as Raw[] | undefined) ?? []) {
      for (const item of (chain.option as Raw[] | undefined) ?? []) {
        for (const info of [item.call, item.put] as (Raw | undefined)[]) {
          const ex = info?.optionExData as Raw | undefined;
          if (!info || !ex) continue;
          out.push({ symbol: symbolOf(info.basic.security), type: ex.type === 1 ? 'CALL' : 'PUT', strike: Number(ex.strikePrice), expiry: String(ex.strikeTime).slice(0, 10) });
        }
      }
    }
    return out;
  }

  /** Price, IV and greeks of option contracts from their snapshots (no subscription needed). */
  async getOptionQuotes(symbols: readonly string[], holder?: string): Promise<OptionQuote[]> {
    const out: OptionQuote[] = [];
    for (let i = 0; i < symbols.length; i += MAX_SNAPSHOT_CODES) {
      const securityList = symbols.slice(i, i + MAX_SNAPSHOT_CODES).map(optionSecurity);
      this.takeSnapshot(holder);
      const s2c = await this.client.request(ProtoId.Qot_GetSecuritySnapshot, { securityList });
      for (const snap of (s2c.snapshotList as Raw[] | undefined) ?? []) {
        const ex = snap.optionExData as Raw | undefined;
        if (!ex) continue;
        out.push({
          symbol: symbolOf(snap.basic.security),
          price: Number(snap.basic.curPrice),
          iv: Number(ex.impliedVolatility),
          delta: Number(ex.delta),
          gamma: Number(ex.gamma),
          vega: Number(ex.vega),
          theta: Number(ex.theta),
          rho: Number(ex.rho),
          openInterest: Number(ex.openInterest),
          volume: Number(snap.basic.volume),
        });
      }
    }
    return out;
  }

  async getMarketStates(markets: readonly MarketCode[]): Promise<MarketStateInfo[]> {
    const s2c = await this.client.request(ProtoId.Qot_GetMarketState, { securityList: markets.map((m) => parseSymbol(MARKET_PROBE[m]).security) });
    const byProbe = new Map(((s2c.marketInfoList as Raw[] | undefined) ?? []).map((i) => [symbolOf(i.security), MARKET_STATE[i.marketState as number] ?? `STATE_${String(i.marketState)}`]));
    return markets.map((m) => ({ market: m, state: byProbe.get(MARKET_PROBE[m]) ?? 'UNKNOWN' }));
  }

  /** Trading days (yyyy-MM-dd) of a market in [begin, end]. */
  async getTradingDays(market: MarketCode, begin: string, end: string): Promise<string[]> {
    const s2c = await this.client.request(ProtoId.Qot_RequestTradeDate, { market: TRADE_DATE_MARKET[market], beginTime: begin, endTime: end });
    return ((s2c.tradeDateList as Raw[] | undefined) ?? []).map((d) => String(d.time).slice(0, 10));
  }

  async screen(query: ScreenQuery): Promise<{ total: number; rows: ScreenRow[] }> {
    const base: Message[] = [];
    const accumulate: Message[] = [];
    const fields = Object.keys(SCREEN_FIELDS) as ScreenField[];
    for (const field of fields) {
      const spec = SCREEN_FIELDS[field];
      const range = query.ranges[field];
      const filter: Message = { fieldName: spec.id, isNoFilter: range === undefined };
      if (range?.min !== undefined) filter.filterMin = range.min;
      if (range?.max !== undefined) filter.filterMax = range.max;
      if (query.sortBy === field) filter.sortDir = query.descending ? 2 : 1;
      if (spec.kind === 'base') base.push(filter);
      else accumulate.push({ ...filter, days: 1 });
    }
    const c2s: Message = {
      begin: intInRange(query.begin, 'begin', 0, 1_000_000),
      num: intInRange(query.num, 'num', 1, MAX_FILTER_PAGE),
      market: MARKETS[query.market].qot,
      baseFilterList: base,
      accumulateFilterList: accumulate,
    };
    if (query.plate !== undefined) c2s.plate = parseSymbol(query.plate).security;
    const s2c = await this.client.request(ProtoId.Qot_StockFilter, c2s);
    const rows = ((s2c.dataList as Raw[] | undefined) ?? []).map((d) => {
      const values = Object.fromEntries(fields.map((f) => [f, undefined])) as Record<ScreenField, number | undefined>;
      for (const [list, kind] of [[d.baseDataList, 'base'], [d.accumulateDataList, 'accumulate']] as const) {
        for (const item of (list as Raw[] | undefined) ?? []) {
          const field = fields.find((f) => SCREEN_FIELDS[f].kind === kind && SCREEN_FIELDS[f].id === item.fieldName);
          if (field) values[field] = Number(item.value);
        }
      }
      return { symbol: symbolOf(d.security), name: String(d.name ?? ''), values };
    });
    return { total: Number(s2c.allCount ?? rows.length), rows };
  }

  async getWatchlistGroups(): Promise<WatchlistGroup[]> {
    const s2c = await this.client.request(ProtoId.Qot_GetUserSecurityGroup, { groupType: 3 });
    return ((s2c.groupList as Raw[] | undefined) ?? []).map((g) => ({ name: String(g.groupName), system: g.groupType === 2 }));
  }

  async getWatchlist(group: string): Promise<WatchlistMember[]> {
    const s2c = await this.client.request(ProtoId.Qot_GetUserSecurity, { groupName: group });
    return ((s2c.staticInfoList as Raw[] | undefined) ?? []).map((i) => ({ symbol: symbolOf(i.basic.security), name: String(i.basic.name ?? ''), secType: secTypeName(i.basic.secType) }));
  }

  /** Whole lots the account could trade of `symbol` at `price`. */
  async getMaxQuantities(acc: AccountRef, symbol: string, price: number, orderType: number): Promise<MaxQuantities> {
    const parsed = parseSymbol(symbol);
    const s2c = await this.client.request(ProtoId.Trd_GetMaxTrdQtys, {
      header: { trdEnv: TRD_ENV.value(acc.env, 'env'), accID: parseU64(acc.accId, 'accId'), trdMarket: TRD_MARKET.value(acc.trdMarket, 'trdMarket') },
      orderType,
      code: parsed.code,
      price: positiveNumber(price, 'price'),
      secMarket: MARKETS[parsed.market].secMarket,
    });
    const q = (s2c.maxTrdQtys as Raw | undefined) ?? {};
    const opt = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
    return { cashBuy: Number(q.maxCashBuy ?? 0), marginBuy: opt(q.maxCashAndMarginBuy), positionSell: Number(q.maxPositionSell ?? 0), sellShort: opt(q.maxSellShort), buyBack: opt(q.maxBuyBack) };
  }

  async getOrderFees(acc: AccountRef, orderIdExs: readonly string[]): Promise<OrderFee[]> {
    if (orderIdExs.length === 0) throw invalid('at least one order is required');
    const s2c = await this.client.request(ProtoId.Trd_GetOrderFee, {
      header: { trdEnv: TRD_ENV.value(acc.env, 'env'), accID: parseU64(acc.accId, 'accId'), trdMarket: TRD_MARKET.value(acc.trdMarket, 'trdMarket') },
      orderIdExList: orderIdExs,
    });
    return ((s2c.orderFeeList as Raw[] | undefined) ?? []).map((f) => ({
      orderIdEx: String(f.orderIDEx),
      total: Number(f.feeAmount ?? 0),
      items: ((f.feeList as Raw[] | undefined) ?? []).map((i) => ({ name: String(i.title ?? ''), amount: Number(i.value ?? 0) })),
    }));
  }
}

/** Option codes are longer than equity symbols (US.AAPL261218C200000), so they skip parseSymbol's length cap. */
function optionSecurity(symbol: string): Security {
  const m = /^US\.([A-Z]{1,6}\d{6}[CP]\d{1,9})$/.exec(symbol);
  if (!m) throw invalid(`invalid option symbol "${symbol.slice(0, 40)}": expected e.g. US.AAPL261218C200000`);
  return { market: MARKETS.US.qot, code: m[1]! };
}
