import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { guardListeners, OpenDClient, type OpenDClientOptions, type RequestOptions } from './client.js';
import * as convert from './convert.js';
import {
  KL_TYPE,
  MODIFY_OP,
  ORDER_STATUS,
  PLATE_SET_TYPE,
  REHAB,
  SECURITY_TYPE,
  SIMPLE_ORDER_TYPE,
  SUB_TYPE,
  TRD_ENV,
  TRD_MARKET,
  TRD_SIDE,
  type KLTypeName,
  type PlateSetTypeName,
  type RehabName,
  type SubTypeName,
} from './enums.js';
import { GatewayError } from './errors.js';
import type { Message } from './proto.js';
import { ProtoId } from './protoIds.js';
import { ResearchApi } from './research.js';
import { SnapshotBudget, WritePacer, type WritePacerOptions } from './pacing.js';
import { SubscriptionManager } from './subscriptions.js';
import { MARKETS, parseSymbol, trdMarketFor, type MarketCode, type ParsedSymbol } from './symbol.js';
import type {
  Account,
  AccountRef,
  BasicQuote,
  BrokerQueue,
  Fill,
  FillFilter,
  Funds,
  GatewayEvents,
  GlobalState,
  HistoryKLineQuery,
  HistoryOrderQuery,
  HistoryRange,
  KLineSeries,
  LinkInfo,
  ModifyRequest,
  Order,
  OrderBook,
  OrderFilter,
  OrderRequest,
  PingResult,
  PlacedOrder,
  Plate,
  Position,
  PositionFilter,
  RTSeries,
  Snapshot,
  StaticInfo,
  StaticInfoQuery,
  SubscriptionInfo,
  TickerSeries,
  UnlockRequest,
} from './types.js';
import { intInRange, md5Hex, nonEmpty, parseU64, positiveNumber, timeBound } from './validate.js';

export interface FutuGatewayOptions extends OpenDClientOptions {
  /** Clock for the one-minute unsubscribe rule; default Date.now. */
  now?: () => number;
  /** OpenD's frequency limits on trade writes (see pacing.ts); tests drive the clock or the wait budget. */
  pacing?: WritePacerOptions;
  /** Live subscriptions one holder (API key) may hold; default a share of OpenD's quota (see subscriptions.ts). */
  subscriptionsPerHolder?: number;
}

/** Who a subscribing read is for: its subscriptions count against that holder's budget. */
export interface ReadOptions {
  readonly holder?: string;
}

/** OpenD's documented per-request caps. */
const MAX_SNAPSHOT_CODES = 400;
const MAX_KLINES = 1000;
const MAX_HISTORY_PAGE = 1000;
const MAX_HISTORY_KLINES = 100_000;
const MAX_ORDER_BOOK_LEVELS = 10;
const MAX_TICKS = 1000;
export const MAX_REMARK_BYTES = 64;
const QUOTE_MARKETS: readonly MarketCode[] = ['HK', 'US', 'SH', 'SZ'];

const invalid = (message: string): GatewayError => new GatewayError('INVALID_ARGUMENT', message);

/**
 * The typed OpenD API the MCP tools use. It owns one OpenDClient (reconnecting, fail-fast) and
 * keeps what must survive a reconnect: quote subscriptions and the account-push list. Quote
 * reads that OpenD serves from subscriptions subscribe on first use. Pushes arrive as typed
 * events (see GatewayEvents).
 *
 * Trade unlock is deliberately not restored after a reconnect: unlock is OpenD-wide and survives
 * a dropped link for as long as OpenD runs, and after an OpenD restart a fresh unlock by the
 * caller is the safer posture than keeping a password-equivalent digest in memory.
 */
export class FutuGateway extends EventEmitter<GatewayEvents> {
  readonly client: OpenDClient;
  private readonly subscriptions: SubscriptionManager;
  private readonly pacer: WritePacer;
  private readonly snapshotBudget = new SnapshotBudget();
  private accountPushIds: readonly string[] = [];
  /** Research reads (fundamentals, options, screener, watchlists, calendars) and account estimates. */
  readonly research: ResearchApi;

  constructor(options: FutuGatewayOptions = {}) {
    super();
    const { now, pacing, subscriptionsPerHolder, ...clientOptions } = options;
    this.client = new OpenDClient(clientOptions);
    this.pacer = new WritePacer(pacing);
    this.research = new ResearchApi(this.client, (holder) => this.snapshotBudget.take(holder));
    // Restore order as py-futu-api: quote subscriptions, then account pushes.
    this.subscriptions = new SubscriptionManager(this.client, now, subscriptionsPerHolder);
    this.client.onRestore(() => this.restoreAccountPush());
    this.client.on('connected', (info) => guardListeners('connected', () => this.emit('connected', info)));
    this.client.on('disconnected', (info) => guardListeners('disconnected', () => this.emit('disconnected', info)));
    this.client.on('reconnected', (info) => guardListeners('reconnected', () => this.emit('reconnected', info)));
    this.client.on('push', (protoId, s2c) => this.dispatchPush(protoId, s2c));
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  /** Resolves once connected; rejects with the first failure (reconnecting continues in the background). */
  connect(): Promise<LinkInfo> {
    return this.client.connect();
  }

  /** Connects in the background without waiting. */
  start(): void {
    this.client.start();
  }

  close(): Promise<void> {
    return this.client.close();
  }

  get isConnected(): boolean {
    return this.client.isConnected;
  }

  get link(): LinkInfo | undefined {
    return this.client.link;
  }

  /** KeepAlive round trip. */
  async ping(): Promise<PingResult> {
    const started = performance.now();
    await this.client.request(ProtoId.KeepAlive, { time: Math.floor(Date.now() / 1000) });
    return { rttMs: Math.round((performance.now() - started) * 1000) / 1000 };
  }

  async getGlobalState(): Promise<GlobalState> {
    return convert.globalState(await this.client.request(ProtoId.GetGlobalState, { userID: '0' }));
  }

  // ---- subscriptions -----------------------------------------------------------------------

  /** Subscribes every symbol × subType not yet subscribed; SUBSCRIPTION_QUOTA if OpenD's quota would not cover them. */
  async subscribe(symbols: readonly string[], subTypes: readonly SubTypeName[]): Promise<void> {
    await this.subscriptions.subscribe(symbols, subTypes);
  }

  /** UNSUBSCRIBE_TOO_SOON (details.retry_after_seconds) within a minute of subscribing. */
  async unsubscribe(symbols: readonly string[], subTypes: readonly SubTypeName[]): Promise<void> {
    await this.subscriptions.unsubscribe(symbols, subTypes);
  }

  getSubscriptions(): Promise<SubscriptionInfo> {
    return this.subscriptions.info();
  }

  // ---- quotes ------------------------------------------------------------------------------

  async getBasicQuotes(symbols: readonly string[], read: ReadOptions = {}): Promise<BasicQuote[]> {
    const parsed = parseSymbols(symbols);
    await this.subscriptions.ensure(parsed, [SUB_TYPE.value('QUOTE', 'subType')], read.holder);
    const s2c = await this.client.request(ProtoId.Qot_GetBasicQot, { securityList: parsed.map((p) => p.security) });
    return convert.basicQuotes(s2c);
  }

  /**
   * Keeps `symbol`'s QUOTE or ORDER_BOOK subscription, and its pushes, for `holder` (a live
   * resource subscription) until the returned release; counts in the holder's budget.
   */
  async holdSubscription(symbol: string, subType: 'QUOTE' | 'ORDER_BOOK', holder: string): Promise<() => void> {
    return this.subscriptions.hold([parseSymbol(symbol)], [SUB_TYPE.value(subType, 'subType')], holder);
  }

  /** The latest `num` bars (1..1000) from OpenD's live cache; subscribes the K-line type. */
  async getKLines(symbol: string, klType: KLTypeName, num: number, rehab: RehabName = 'FORWARD', read: ReadOptions = {}): Promise<KLineSeries> {
    const parsed = parseSymbol(symbol);
    const klTypeValue = KL_TYPE.value(klType, 'klType');
    const rehabType = REHAB.value(rehab, 'rehab');
    const reqNum = intInRange(num, 'num', 1, MAX_KLINES);
    await this.subscriptions.ensure([parsed], [SUB_TYPE.value(klType, 'klType')], read.holder);
    const s2c = await this.client.request(ProtoId.Qot_GetKL, { rehabType, klType: klTypeValue, security: parsed.security, reqNum });
    return convert.klineSeries(s2c, klTypeValue, rehabType);
  }

  /** Historical bars in [begin, end], fetched page by page until done or `maxCount` bars. */
  async requestHistoryKLines(query: HistoryKLineQuery): Promise<KLineSeries> {
    const parsed = parseSymbol(query.symbol);
    const klType = KL_TYPE.value(query.klType, 'klType');
    const rehabType = REHAB.value(query.rehab ?? 'FORWARD', 'rehab');
    const maxCount = intInRange(query.maxCount, 'maxCount', 1, MAX_HISTORY_KLINES);
    const base = { rehabType, klType, security: parsed.security, beginTime: timeBound(query.begin, 'begin'), endTime: timeBound(query.end, 'end') };
    let series: KLineSeries | undefined;
    let nextReqKey: Buffer | undefined;
    do {
      const maxAckKLNum = Math.min(MAX_HISTORY_PAGE, maxCount - (series?.klines.length ?? 0));
      const s2c = await this.client.request(ProtoId.Qot_RequestHistoryKL, { ...base, maxAckKLNum, nextReqKey });
      const page = convert.klineSeries(s2c, klType, rehabType);
      if (series) series.klines.push(...page.klines);
      else series = page;
      // An empty page with a key would loop forever; treat it as the end.
      nextReqKey = page.klines.length > 0 ? convert.nextHistoryKey(s2c) : undefined;
    } while (nextReqKey && series.klines.length < maxCount);
    series.klines.length = Math.min(series.klines.length, maxCount);
    return series;
  }

  /** `levels` per side (1..10); subscribes ORDER_BOOK. */
  async getOrderBook(symbol: string, levels: number, read: ReadOptions = {}): Promise<OrderBook> {
    const parsed = parseSymbol(symbol);
    const num = intInRange(levels, 'levels', 1, MAX_ORDER_BOOK_LEVELS);
    await this.subscriptions.ensure([parsed], [SUB_TYPE.value('ORDER_BOOK', 'subType')], read.holder);
    return convert.orderBook(await this.client.request(ProtoId.Qot_GetOrderBook, { security: parsed.security, num }));
  }

  /** The latest `count` trades (1..1000); subscribes TICKER. */
  async getTicker(symbol: string, count: number, read: ReadOptions = {}): Promise<TickerSeries> {
    const parsed = parseSymbol(symbol);
    const maxRetNum = intInRange(count, 'count', 1, MAX_TICKS);
    await this.subscriptions.ensure([parsed], [SUB_TYPE.value('TICKER', 'subType')], read.holder);
    return convert.tickerSeries(await this.client.request(ProtoId.Qot_GetTicker, { security: parsed.security, maxRetNum }));
  }

  /** Today's intraday (time-share) points; subscribes RT_DATA. */
  async getRT(symbol: string, read: ReadOptions = {}): Promise<RTSeries> {
    const parsed = parseSymbol(symbol);
    await this.subscriptions.ensure([parsed], [SUB_TYPE.value('RT_DATA', 'subType')], read.holder);
    return convert.rtSeries(await this.client.request(ProtoId.Qot_GetRT, { security: parsed.security }));
  }

  /**
   * No subscription needed; sent in chunks of 400 symbols, OpenD's per-request cap, within
   * OpenD's request rate (a holder's reads leave room for the server's own: see SnapshotBudget).
   */
  async getSnapshots(symbols: readonly string[], read: ReadOptions = {}): Promise<Snapshot[]> {
    const parsed = parseSymbols(symbols);
    const result: Snapshot[] = [];
    for (let i = 0; i < parsed.length; i += MAX_SNAPSHOT_CODES) {
      const securityList = parsed.slice(i, i + MAX_SNAPSHOT_CODES).map((p) => p.security);
      this.snapshotBudget.take(read.holder);
      result.push(...convert.snapshots(await this.client.request(ProtoId.Qot_GetSecuritySnapshot, { securityList })));
    }
    return result;
  }

  /** Static info for given symbols, or for every security of one type in a market. */
  async getStaticInfo(query: StaticInfoQuery): Promise<StaticInfo[]> {
    const c2s: Message = isSymbolList(query)
      ? { securityList: parseSymbols(query).map((p) => p.security) }
      : { market: quoteMarket(query.market), secType: SECURITY_TYPE.value(query.secType, 'secType') };
    return convert.staticInfos(await this.client.request(ProtoId.Qot_GetStaticInfo, c2s));
  }

  /** HK only (OpenD has broker queues for HK securities alone); subscribes BROKER. */
  async getBrokerQueue(symbol: string, read: ReadOptions = {}): Promise<BrokerQueue> {
    const parsed = parseSymbol(symbol);
    if (parsed.market !== 'HK') throw invalid(`broker queues exist for HK securities only, not ${symbol}`);
    await this.subscriptions.ensure([parsed], [SUB_TYPE.value('BROKER', 'subType')], read.holder);
    return convert.brokerQueue(await this.client.request(ProtoId.Qot_GetBroker, { security: parsed.security }));
  }

  async getPlateSet(market: MarketCode, plateSetType: PlateSetTypeName): Promise<Plate[]> {
    const c2s = { market: quoteMarket(market), plateSetType: PLATE_SET_TYPE.value(plateSetType, 'plateSetType') };
    return convert.plates(await this.client.request(ProtoId.Qot_GetPlateSet, c2s));
  }

  /** Constituents of a plate, e.g. 'HK.BK1001' from getPlateSet. */
  async getPlateSecurities(plateSymbol: string): Promise<StaticInfo[]> {
    const plate = parseSymbol(plateSymbol).security;
    return convert.staticInfos(await this.client.request(ProtoId.Qot_GetPlateSecurity, { plate }));
  }

  // ---- trading -----------------------------------------------------------------------------

  async getAccounts(): Promise<Account[]> {
    return convert.accounts(await this.client.request(ProtoId.Trd_GetAccList, { userID: '0', needGeneralSecAccount: true }));
  }

  /** Unlock takes the MD5 digest of the trade password only; lock needs nothing. */
  async unlockTrade(request: UnlockRequest): Promise<void> {
    if (typeof request.unlock !== 'boolean') throw invalid('unlock must be true or false');
    const c2s: Message = { unlock: request.unlock };
    if (request.unlock || request.pwdMD5 !== undefined) {
      if (request.pwdMD5 === undefined) throw invalid('pwdMD5 is required to unlock trading');
      c2s.pwdMD5 = md5Hex(request.pwdMD5);
    }
    if (request.securityFirm !== undefined) c2s.securityFirm = intInRange(request.securityFirm, 'securityFirm', 1, 0x7fffffff);
    await this.pacer.paced('unlock', '', () => this.client.request(ProtoId.Trd_UnlockTrade, c2s));
  }

  /**
   * Runs `work` with a place taken in OpenD's write window for one order write to `acc`
   * ('place', or 'modify' for modify and cancel), or refuses at once with GATEWAY_RATE_LIMITED
   * (see WritePacer.withAdmission): what the trade path decides and records comes after.
   */
  withWriteAdmission<T>(operation: 'place' | 'modify', acc: Pick<AccountRef, 'accId'>, work: () => Promise<T>): Promise<T> {
    return this.pacer.withAdmission(operation, acc.accId, work);
  }

  async getFunds(acc: AccountRef): Promise<Funds> {
    return convert.fundsOf(await this.client.request(ProtoId.Trd_GetFunds, { header: trdHeader(acc) }));
  }

  async getPositions(acc: AccountRef, filter: PositionFilter = {}): Promise<Position[]> {
    const symbols = optionalSymbols(filter.symbols);
    const c2s: Message = { header: trdHeader(acc), filterConditions: codeFilter(symbols) };
    return keepSymbols(convert.positions(await this.client.request(ProtoId.Trd_GetPositionList, c2s)), symbols);
  }

  /** Today's orders. */
  async getOrders(acc: AccountRef, filter: OrderFilter = {}): Promise<Order[]> {
    const symbols = optionalSymbols(filter.symbols);
    const idList = (filter.orderIds ?? []).map((id) => parseU64(id, 'orderId'));
    const c2s: Message = {
      header: trdHeader(acc),
      filterConditions: { ...codeFilter(symbols), idList },
      filterStatusList: statusValues(filter.statuses),
    };
    return keepSymbols(convert.orders(await this.client.request(ProtoId.Trd_GetOrderList, c2s)), symbols);
  }

  /** Today's fills. */
  async getFills(acc: AccountRef, filter: FillFilter = {}): Promise<Fill[]> {
    const symbols = optionalSymbols(filter.symbols);
    const c2s: Message = { header: trdHeader(acc), filterConditions: codeFilter(symbols) };
    return keepSymbols(convert.fills(await this.client.request(ProtoId.Trd_GetOrderFillList, c2s)), symbols);
  }

  async getHistoryOrders(acc: AccountRef, query: HistoryOrderQuery): Promise<Order[]> {
    const symbols = optionalSymbols(query.symbols);
    const c2s: Message = { header: trdHeader(acc), filterConditions: rangeFilter(query, symbols), filterStatusList: statusValues(query.statuses) };
    return keepSymbols(convert.orders(await this.client.request(ProtoId.Trd_GetHistoryOrderList, c2s)), symbols);
  }

  async getHistoryFills(acc: AccountRef, query: HistoryRange): Promise<Fill[]> {
    const symbols = optionalSymbols(query.symbols);
    const c2s: Message = { header: trdHeader(acc), filterConditions: rangeFilter(query, symbols) };
    return keepSymbols(convert.fills(await this.client.request(ProtoId.Trd_GetHistoryOrderFillList, c2s)), symbols);
  }

  /**
   * Places an order. The header market follows the symbol (A-shares: CN in simulate, HKCC for
   * real); PacketID carries this link's connID and the packet's own serial.
   */
  async placeOrder(acc: AccountRef, request: OrderRequest): Promise<PlacedOrder> {
    const parsed = parseSymbol(request.symbol);
    const header = { ...trdHeader(acc), trdMarket: trdMarketFor(parsed.market, acc.env) };
    const c2s: Message = {
      header,
      trdSide: TRD_SIDE.value(request.side, 'side'),
      orderType: SIMPLE_ORDER_TYPE.value(request.orderType, 'orderType'),
      code: parsed.code,
      qty: positiveNumber(request.qty, 'qty'),
      secMarket: MARKETS[parsed.market].secMarket,
    };
    if (request.orderType !== 'MARKET' || request.price !== undefined) c2s.price = positiveNumber(request.price, 'price');
    if (request.remark !== undefined) c2s.remark = remark(request.remark);
    const s2c = await this.pacer.paced('place', acc.accId, () => this.client.request(ProtoId.Trd_PlaceOrder, c2s, TRADE_WRITE));
    const orderIdEx = typeof s2c.orderIDEx === 'string' && s2c.orderIDEx !== '' ? s2c.orderIDEx : undefined;
    if (typeof s2c.orderID !== 'string') {
      // Never report failure for an order OpenD accepted: a caller might place it again.
      throw new GatewayError('PROTOCOL_ERROR', 'OpenD accepted the order but returned no order id', { orderIdEx });
    }
    return orderIdEx ? { orderId: s2c.orderID, orderIdEx } : { orderId: s2c.orderID };
  }

  /** 'normal' changes qty and price (both required); 'cancel' cancels. */
  async modifyOrder(acc: AccountRef, request: ModifyRequest): Promise<PlacedOrder> {
    const c2s: Message = {
      header: trdHeader(acc),
      orderID: parseU64(request.orderId, 'orderId'),
      modifyOrderOp: MODIFY_OP.value(request.op, 'op'),
    };
    if (request.op === 'normal') {
      c2s.qty = positiveNumber(request.qty, 'qty');
      c2s.price = positiveNumber(request.price, 'price');
    }
    const s2c = await this.pacer.paced('modify', acc.accId, () => this.client.request(ProtoId.Trd_ModifyOrder, c2s, TRADE_WRITE));
    const orderIdEx = typeof s2c.orderIDEx === 'string' && s2c.orderIDEx !== '' ? s2c.orderIDEx : undefined;
    return orderIdEx ? { orderId: String(s2c.orderID), orderIdEx } : { orderId: String(s2c.orderID) };
  }

  /** Order and fill pushes for exactly these accounts (a full list, as OpenD wants); restored after reconnects. */
  async subscribeAccountPush(accIds: readonly string[]): Promise<void> {
    const ids = [...new Set(accIds.map((id) => parseU64(id, 'accId')))];
    await this.client.request(ProtoId.Trd_SubAccPush, { accIDList: ids });
    this.accountPushIds = ids;
  }

  private async restoreAccountPush(): Promise<void> {
    if (this.accountPushIds.length === 0) return;
    await this.client.request(ProtoId.Trd_SubAccPush, { accIDList: this.accountPushIds });
  }

  private dispatchPush(protoId: number, s2c: Message): void {
    switch (protoId) {
      case ProtoId.Qot_UpdateBasicQot:
        for (const quote of convert.basicQuotes(s2c)) guardListeners('quote', () => this.emit('quote', quote));
        return;
      case ProtoId.Qot_UpdateOrderBook:
        return guardListeners('orderBook', () => this.emit('orderBook', convert.orderBook(s2c)));
      case ProtoId.Qot_UpdateKL:
        return guardListeners('kline', () => this.emit('kline', convert.klinePush(s2c)));
      case ProtoId.Qot_UpdateTicker:
        return guardListeners('ticker', () => this.emit('ticker', convert.tickerSeries(s2c)));
      case ProtoId.Qot_UpdateRT:
        return guardListeners('rt', () => this.emit('rt', convert.rtSeries(s2c)));
      case ProtoId.Qot_UpdateBroker:
        return guardListeners('broker', () => this.emit('broker', convert.brokerQueue(s2c)));
      case ProtoId.Trd_UpdateOrder:
        return guardListeners('orderUpdate', () => this.emit('orderUpdate', convert.orderUpdate(s2c)));
      case ProtoId.Trd_UpdateOrderFill:
        return guardListeners('fill', () => this.emit('fill', convert.fillUpdate(s2c)));
      case ProtoId.Notify:
        return guardListeners('notify', () => this.emit('notify', convert.notifyEvent(s2c)));
    }
  }
}

const TRADE_WRITE: RequestOptions = { withPacketId: true };

function trdHeader(acc: AccountRef): Message {
  return {
    trdEnv: TRD_ENV.value(acc.env, 'env'),
    accID: parseU64(acc.accId, 'accId'),
    trdMarket: TRD_MARKET.value(acc.trdMarket, 'trdMarket'),
  };
}

function parseSymbols(symbols: readonly string[]): ParsedSymbol[] {
  return nonEmpty(symbols, 'symbols').map(parseSymbol);
}

function optionalSymbols(symbols: readonly string[] | undefined): ParsedSymbol[] | undefined {
  return symbols === undefined ? undefined : symbols.map(parseSymbol);
}

function isSymbolList(query: StaticInfoQuery): query is readonly string[] {
  return Array.isArray(query);
}

function quoteMarket(market: string): number {
  if (!QUOTE_MARKETS.includes(market as MarketCode)) throw invalid(`invalid market "${String(market).slice(0, 20)}": expected one of ${QUOTE_MARKETS.join(', ')}`);
  return MARKETS[market as MarketCode].qot;
}

/** OpenD filters trade lists by bare code, so equal codes in two markets both match: filter again by symbol. */
function codeFilter(symbols: ParsedSymbol[] | undefined): Message {
  return symbols ? { codeList: [...new Set(symbols.map((p) => p.code))] } : {};
}

function keepSymbols<T extends { symbol: string }>(items: T[], symbols: ParsedSymbol[] | undefined): T[] {
  if (!symbols) return items;
  const wanted = new Set(symbols.map((p) => `${p.market}.${p.code}`));
  return items.filter((item) => wanted.has(item.symbol));
}

function rangeFilter(range: HistoryRange, symbols: ParsedSymbol[] | undefined): Message {
  return { ...codeFilter(symbols), beginTime: timeBound(range.begin, 'begin'), endTime: timeBound(range.end, 'end') };
}

function statusValues(statuses: readonly string[] | undefined): number[] {
  return (statuses ?? []).map((s) => ORDER_STATUS.value(s, 'order status'));
}

function remark(text: string): string {
  if (typeof text !== 'string' || Buffer.byteLength(text, 'utf8') > MAX_REMARK_BYTES) {
    throw invalid(`remark must be a string of at most ${MAX_REMARK_BYTES} UTF-8 bytes`);
  }
  return text;
}
