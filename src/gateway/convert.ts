import {
  ACC_TYPE,
  CURRENCY,
  KL_TYPE,
  ORDER_STATUS,
  ORDER_TYPE,
  POSITION_SIDE,
  REHAB,
  SECURITY_TYPE,
  SIM_ACC_TYPE,
  TICKER_DIRECTION,
  TRD_ENV,
  TRD_MARKET,
  TRD_SIDE,
} from './enums.js';
import { GatewayError } from './errors.js';
import type { Message } from './proto.js';
import { formatSecurity, marketOfSecMarket, type Security } from './symbol.js';
import type {
  Account,
  BasicQuote,
  BrokerEntry,
  BrokerQueue,
  Fill,
  FillUpdate,
  Funds,
  GlobalState,
  KLine,
  KLineSeries,
  NotifyEvent,
  Order,
  OrderBook,
  OrderUpdate,
  OrderBookLevel,
  Plate,
  Position,
  RTPoint,
  RTSeries,
  Snapshot,
  StaticInfo,
  Tick,
  TickerSeries,
} from './types.js';

/**
 * OpenD S2C messages (as src/gateway/proto.ts decodes them: int64 as decimal strings, repeated
 * fields always arrays) → the typed results of types.ts. The Raw* shapes name only what we read.
 */

/**
 * Copies all but the undefined values, so optional fields are truly absent. (Copying beats
 * `delete`, which would turn every result into a slow dictionary-mode object.)
 */
function defined<T extends object>(obj: T): T {
  const out = {} as T;
  for (const key in obj) if (obj[key] !== undefined) out[key] = obj[key];
  return out;
}

/** int64 counts (volumes, shares) as numbers; ids stay strings and never pass through here. */
const count = (value: string): number => Number(value);
const optCount = (value: string | undefined): number | undefined => (value === undefined ? undefined : Number(value));

interface RawBasicQot {
  security: Security; name?: string; isSuspended: boolean; listTime: string; priceSpread: number; updateTime: string;
  updateTimestamp?: number; highPrice: number; openPrice: number; lowPrice: number; curPrice: number; lastClosePrice: number;
  volume: string; turnover: number; turnoverRate: number; amplitude: number;
}

const basicQuote = (q: RawBasicQot): BasicQuote =>
  defined({
    symbol: formatSecurity(q.security),
    name: q.name,
    isSuspended: q.isSuspended,
    listTime: q.listTime,
    priceSpread: q.priceSpread,
    updateTime: q.updateTime,
    updateTimestamp: q.updateTimestamp,
    price: q.curPrice,
    open: q.openPrice,
    high: q.highPrice,
    low: q.lowPrice,
    lastClose: q.lastClosePrice,
    volume: count(q.volume),
    turnover: q.turnover,
    turnoverRate: q.turnoverRate,
    amplitude: q.amplitude,
  });

export const basicQuotes = (s2c: Message): BasicQuote[] => (s2c as { basicQotList: RawBasicQot[] }).basicQotList.map(basicQuote);

interface RawKLine {
  time: string; isBlank: boolean; timestamp?: number; highPrice?: number; openPrice?: number; lowPrice?: number; closePrice?: number;
  lastClosePrice?: number; volume?: string; turnover?: number; turnoverRate?: number; pe?: number; changeRate?: number;
}

const kline = (k: RawKLine): KLine =>
  defined({
    time: k.time,
    timestamp: k.timestamp,
    isBlank: k.isBlank,
    open: k.openPrice,
    high: k.highPrice,
    low: k.lowPrice,
    close: k.closePrice,
    lastClose: k.lastClosePrice,
    volume: optCount(k.volume),
    turnover: k.turnover,
    turnoverRate: k.turnoverRate,
    pe: k.pe,
    changeRate: k.changeRate,
  });

interface RawKLines {
  security: Security;
  name?: string;
  klList: RawKLine[];
}

/** Qot_GetKL and Qot_RequestHistoryKL answers do not echo the K-line and rehab types: pass them. */
export function klineSeries(s2c: Message, klType: number, rehabType: number): KLineSeries {
  const raw = s2c as unknown as RawKLines;
  return defined({
    symbol: formatSecurity(raw.security),
    name: raw.name,
    klType: KL_TYPE.name(klType),
    rehab: REHAB.name(rehabType),
    klines: raw.klList.map(kline),
  });
}

export const klinePush = (s2c: Message): KLineSeries => klineSeries(s2c, Number(s2c.klType), Number(s2c.rehabType));

/** The paging key of a Qot_RequestHistoryKL answer; undefined on the last page. */
export function nextHistoryKey(s2c: Message): Buffer | undefined {
  const key = s2c.nextReqKey;
  return Buffer.isBuffer(key) && key.length > 0 ? key : undefined;
}

interface RawOrderBook {
  security: Security; name?: string;
  orderBookAskList: { price: number; volume: string; orederCount: number }[];
  orderBookBidList: { price: number; volume: string; orederCount: number }[];
}

const level = (l: RawOrderBook['orderBookAskList'][number]): OrderBookLevel => ({
  price: l.price,
  volume: count(l.volume),
  orderCount: l.orederCount,
});

export function orderBook(s2c: Message): OrderBook {
  const raw = s2c as unknown as RawOrderBook;
  return defined({
    symbol: formatSecurity(raw.security),
    name: raw.name,
    asks: raw.orderBookAskList.map(level),
    bids: raw.orderBookBidList.map(level),
  });
}

interface RawTicker {
  security: Security; name?: string;
  tickerList: { time: string; timestamp?: number; sequence: string; dir: number; price: number; volume: string; turnover: number }[];
}

const tick = (t: RawTicker['tickerList'][number]): Tick =>
  defined({
    time: t.time,
    timestamp: t.timestamp,
    sequence: t.sequence,
    direction: TICKER_DIRECTION.name(t.dir),
    price: t.price,
    volume: count(t.volume),
    turnover: t.turnover,
  });

export function tickerSeries(s2c: Message): TickerSeries {
  const raw = s2c as unknown as RawTicker;
  return defined({ symbol: formatSecurity(raw.security), name: raw.name, ticks: raw.tickerList.map(tick) });
}

interface RawRT {
  security: Security; name?: string;
  rtList: {
    time: string; timestamp?: number; minute: number; isBlank: boolean; price?: number; lastClosePrice?: number; avgPrice?: number;
    volume?: string; turnover?: number;
  }[];
}

const rtPoint = (p: RawRT['rtList'][number]): RTPoint =>
  defined({
    time: p.time,
    timestamp: p.timestamp,
    minute: p.minute,
    isBlank: p.isBlank,
    price: p.price,
    lastClose: p.lastClosePrice,
    avgPrice: p.avgPrice,
    volume: optCount(p.volume),
    turnover: p.turnover,
  });

export function rtSeries(s2c: Message): RTSeries {
  const raw = s2c as unknown as RawRT;
  return defined({ symbol: formatSecurity(raw.security), name: raw.name, points: raw.rtList.map(rtPoint) });
}

interface RawSnapshot {
  basic: {
    security: Security; name?: string; type: number; isSuspend: boolean; listTime: string; lotSize: number; priceSpread: number;
    updateTime: string; highPrice: number; openPrice: number; lowPrice: number; lastClosePrice: number; curPrice: number; volume: string;
    turnover: number; turnoverRate: number; askPrice?: number; bidPrice?: number; askVol?: string; bidVol?: string; amplitude?: number;
    avgPrice?: number; highest52WeeksPrice?: number; lowest52WeeksPrice?: number;
  };
  equityExData?: {
    issuedShares: string; outstandingShares: string; issuedMarketVal: number; outstandingMarketVal: number; netAsset: number; netProfit: number;
    earningsPershare: number; netAssetPershare: number; eyRate: number; peRate: number; pbRate: number; peTTMRate: number;
    dividendTTM?: number; dividendRatioTTM?: number; dividendLFY?: number; dividendLFYRatio?: number;
  };
}

const snapshot = ({ basic: b, equityExData: e }: RawSnapshot): Snapshot =>
  defined({
    symbol: formatSecurity(b.security),
    name: b.name,
    secType: SECURITY_TYPE.name(b.type),
    isSuspended: b.isSuspend,
    listTime: b.listTime,
    lotSize: b.lotSize,
    priceSpread: b.priceSpread,
    updateTime: b.updateTime,
    price: b.curPrice,
    open: b.openPrice,
    high: b.highPrice,
    low: b.lowPrice,
    lastClose: b.lastClosePrice,
    volume: count(b.volume),
    turnover: b.turnover,
    turnoverRate: b.turnoverRate,
    askPrice: b.askPrice,
    bidPrice: b.bidPrice,
    askVolume: optCount(b.askVol),
    bidVolume: optCount(b.bidVol),
    amplitude: b.amplitude,
    avgPrice: b.avgPrice,
    high52Weeks: b.highest52WeeksPrice,
    low52Weeks: b.lowest52WeeksPrice,
    equity: e
      ? defined({
          issuedShares: count(e.issuedShares),
          outstandingShares: count(e.outstandingShares),
          marketCap: e.issuedMarketVal,
          outstandingMarketCap: e.outstandingMarketVal,
          netAsset: e.netAsset,
          netProfit: e.netProfit,
          earningsPerShare: e.earningsPershare,
          netAssetPerShare: e.netAssetPershare,
          earningsYield: e.eyRate,
          peRate: e.peRate,
          pbRate: e.pbRate,
          peTTMRate: e.peTTMRate,
          dividendTTM: e.dividendTTM,
          dividendRatioTTM: e.dividendRatioTTM,
          dividendLFY: e.dividendLFY,
          dividendLFYRatio: e.dividendLFYRatio,
        })
      : undefined,
  });

interface RawStaticInfo {
  basic: { security: Security; id: string; lotSize: number; secType: number; name: string; listTime: string; delisting?: boolean };
}

const staticInfo = ({ basic: b }: RawStaticInfo): StaticInfo =>
  defined({
    symbol: formatSecurity(b.security),
    id: b.id,
    name: b.name,
    secType: SECURITY_TYPE.name(b.secType),
    lotSize: b.lotSize,
    listTime: b.listTime,
    delisted: b.delisting,
  });

interface RawBroker {
  security: Security; name?: string;
  brokerAskList: { id: string; name: string; pos: number }[];
  brokerBidList: { id: string; name: string; pos: number }[];
}

const broker = (b: RawBroker['brokerAskList'][number]): BrokerEntry => ({ id: b.id, name: b.name, position: b.pos });

export function brokerQueue(s2c: Message): BrokerQueue {
  const raw = s2c as unknown as RawBroker;
  return defined({
    symbol: formatSecurity(raw.security),
    name: raw.name,
    asks: raw.brokerAskList.map(broker),
    bids: raw.brokerBidList.map(broker),
  });
}

export const snapshots = (s2c: Message): Snapshot[] => (s2c as { snapshotList: RawSnapshot[] }).snapshotList.map(snapshot);

/** Qot_GetStaticInfo and Qot_GetPlateSecurity answer alike. */
export const staticInfos = (s2c: Message): StaticInfo[] => (s2c as { staticInfoList: RawStaticInfo[] }).staticInfoList.map(staticInfo);

export const plates = (s2c: Message): Plate[] =>
  (s2c as { plateInfoList: { plate: Security; name: string }[] }).plateInfoList.map((p) => ({ symbol: formatSecurity(p.plate), name: p.name }));

interface RawGlobalState {
  marketHK: number; marketUS: number; marketSH: number; marketSZ: number; marketHKFuture: number;
  qotLogined: boolean; trdLogined: boolean; serverVer: number; serverBuildNo: number; time: string;
}

export const globalState = (s2c: Message): GlobalState => fromRawGlobalState(s2c as unknown as RawGlobalState);

const fromRawGlobalState = (s: RawGlobalState): GlobalState => ({
  marketStates: { HK: s.marketHK, US: s.marketUS, SH: s.marketSH, SZ: s.marketSZ, HKFuture: s.marketHKFuture },
  qotLoggedIn: s.qotLogined,
  trdLoggedIn: s.trdLogined,
  serverVer: s.serverVer,
  serverBuildNo: s.serverBuildNo,
  time: Number(s.time),
});

export function notifyEvent(s2c: Message): NotifyEvent {
  const raw = s2c as { type: number; event?: { desc: string } };
  return defined({ type: raw.type, description: raw.event?.desc });
}

// ---- trading ---------------------------------------------------------------------------------

interface RawTrdHeader {
  trdEnv: number;
  accID: string;
  trdMarket: number;
}

/** Orders, fills and positions carry a bare code plus TrdSecMarket (older OpenD: only the header market). */
function tradeSymbol(code: string, secMarket: number | undefined, header: RawTrdHeader): string {
  const market = marketOfSecMarket(secMarket ?? -1) ?? { 1: 'HK', 2: 'US' }[header.trdMarket] ?? 'N/A';
  return `${market}.${code}`;
}

interface RawTrdAcc {
  trdEnv: number; accID: string; trdMarketAuthList: number[]; accType?: number; cardNum?: string; securityFirm?: number; simAccType?: number;
}

const account = (a: RawTrdAcc): Account =>
  defined({
    accId: a.accID,
    env: TRD_ENV.name(a.trdEnv),
    trdMarkets: a.trdMarketAuthList.map((m) => TRD_MARKET.name(m)),
    accType: a.accType === undefined ? undefined : ACC_TYPE.name(a.accType),
    simAccType: a.simAccType === undefined ? undefined : SIM_ACC_TYPE.name(a.simAccType),
    cardNum: a.cardNum,
    securityFirm: a.securityFirm,
  });

interface RawFunds {
  power: number; totalAssets: number; cash: number; marketVal: number; frozenCash: number; debtCash: number; avlWithdrawalCash: number;
  currency?: number;
}

const funds = (f: RawFunds): Funds =>
  defined({
    power: f.power,
    totalAssets: f.totalAssets,
    cash: f.cash,
    marketValue: f.marketVal,
    frozenCash: f.frozenCash,
    debtCash: f.debtCash,
    withdrawableCash: f.avlWithdrawalCash,
    currency: f.currency === undefined ? undefined : CURRENCY.name(f.currency),
  });

interface RawPosition {
  positionID: string; positionSide: number; code: string; name: string; qty: number; canSellQty: number; price: number; costPrice?: number;
  val: number; plVal: number; plRatio?: number; secMarket?: number; td_plVal?: number; currency?: number;
}

const position = (p: RawPosition, header: RawTrdHeader): Position =>
  defined({
    positionId: p.positionID,
    symbol: tradeSymbol(p.code, p.secMarket, header),
    name: p.name,
    side: POSITION_SIDE.name(p.positionSide),
    qty: p.qty,
    canSellQty: p.canSellQty,
    price: p.price,
    costPrice: p.costPrice,
    marketValue: p.val,
    plValue: p.plVal,
    plRatio: p.plRatio,
    todayPlValue: p.td_plVal,
    currency: p.currency === undefined ? undefined : CURRENCY.name(p.currency),
  });

interface RawOrder {
  trdSide: number; orderType: number; orderStatus: number; orderID: string; orderIDEx: string; code: string; name: string; qty: number;
  price?: number; createTime: string; updateTime: string; fillQty?: number; fillAvgPrice?: number; lastErrMsg?: string; secMarket?: number;
  remark?: string; currency?: number;
}

const order = (o: RawOrder, header: RawTrdHeader): Order =>
  defined({
    orderId: o.orderID,
    orderIdEx: o.orderIDEx,
    symbol: tradeSymbol(o.code, o.secMarket, header),
    name: o.name,
    side: TRD_SIDE.name(o.trdSide),
    orderType: ORDER_TYPE.name(o.orderType),
    status: ORDER_STATUS.name(o.orderStatus),
    qty: o.qty,
    price: o.price,
    fillQty: o.fillQty,
    fillAvgPrice: o.fillAvgPrice,
    createTime: o.createTime,
    updateTime: o.updateTime,
    lastErrMsg: o.lastErrMsg || undefined,
    remark: o.remark || undefined,
    currency: o.currency === undefined ? undefined : CURRENCY.name(o.currency),
  });

interface RawFill {
  trdSide: number; fillID: string; fillIDEx: string; orderID?: string; orderIDEx?: string; code: string; name: string; qty: number;
  price: number; createTime: string; counterBrokerID?: number; counterBrokerName?: string; secMarket?: number;
}

const fill = (f: RawFill, header: RawTrdHeader): Fill =>
  defined({
    fillId: f.fillID,
    fillIdEx: f.fillIDEx,
    orderId: f.orderID,
    orderIdEx: f.orderIDEx,
    symbol: tradeSymbol(f.code, f.secMarket, header),
    name: f.name,
    side: TRD_SIDE.name(f.trdSide),
    qty: f.qty,
    price: f.price,
    createTime: f.createTime,
    counterBrokerId: f.counterBrokerID,
    counterBrokerName: f.counterBrokerName || undefined,
  });

export const accounts = (s2c: Message): Account[] => (s2c as { accList: RawTrdAcc[] }).accList.map(account);

/** Trd_GetFunds; OpenD marks `funds` optional, so its absence is a protocol error. */
export function fundsOf(s2c: Message): Funds {
  const raw = s2c as { funds?: RawFunds };
  if (!raw.funds) throw new GatewayError('PROTOCOL_ERROR', 'OpenD returned no funds');
  return funds(raw.funds);
}

export function positions(s2c: Message): Position[] {
  const raw = s2c as { header: RawTrdHeader; positionList: RawPosition[] };
  return raw.positionList.map((p) => position(p, raw.header));
}

/** Trd_GetOrderList and Trd_GetHistoryOrderList answer alike. */
export function orders(s2c: Message): Order[] {
  const raw = s2c as { header: RawTrdHeader; orderList: RawOrder[] };
  return raw.orderList.map((o) => order(o, raw.header));
}

/** Trd_GetOrderFillList and Trd_GetHistoryOrderFillList answer alike. */
export function fills(s2c: Message): Fill[] {
  const raw = s2c as { header: RawTrdHeader; orderFillList: RawFill[] };
  return raw.orderFillList.map((f) => fill(f, raw.header));
}

const pushTarget = (h: RawTrdHeader) => ({ accId: h.accID, env: TRD_ENV.name(h.trdEnv), trdMarket: TRD_MARKET.name(h.trdMarket) });

export function orderUpdate(s2c: Message): OrderUpdate {
  const raw = s2c as { header: RawTrdHeader; order: RawOrder };
  return { ...pushTarget(raw.header), order: order(raw.order, raw.header) };
}

export function fillUpdate(s2c: Message): FillUpdate {
  const raw = s2c as { header: RawTrdHeader; orderFill: RawFill };
  return { ...pushTarget(raw.header), fill: fill(raw.orderFill, raw.header) };
}
