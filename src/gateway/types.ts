import type {
  AccTypeName,
  CurrencyName,
  KLTypeName,
  ModifyOpName,
  OrderStatusName,
  OrderTypeName,
  PlateSetTypeName,
  PositionSideName,
  RehabName,
  SecurityTypeName,
  SimAccTypeName,
  SimpleOrderTypeName,
  SubTypeName,
  TickerDirectionName,
  TrdEnvName,
  TrdMarketName,
  TrdSideName,
} from './enums.js';

/**
 * Results and arguments of the typed gateway API (FutuGateway). Conventions, everywhere:
 * - securities are symbol strings `MARKET.CODE` ('HK.00700'); an unknown market prints 'N/A';
 * - 64-bit ids (accounts, orders, fills, positions, connections, users) are decimal strings;
 * - prices, quantities and volumes are numbers; times are OpenD's strings ("YYYY-MM-DD HH:MM:SS",
 *   exchange-local) plus, where OpenD sends one, a Unix timestamp in seconds;
 * - enums are names (see enums.ts); a value this build does not know reads 'UNKNOWN';
 * - optional fields are absent when OpenD did not send them.
 */

export type {
  AccTypeName, CurrencyName, KLTypeName, ModifyOpName, OrderStatusName, OrderTypeName, PlateSetTypeName, PositionSideName,
  RehabName, SecurityTypeName, SimAccTypeName, SimpleOrderTypeName, SubTypeName, TickerDirectionName, TrdEnvName,
  TrdMarketName, TrdSideName,
};

type Unknowable<N extends string> = N | 'UNKNOWN';

/** The link to OpenD as InitConnect established it. */
export interface LinkInfo {
  connId: string;
  loginUserId: string;
  serverVer: number;
  keepAliveIntervalSec: number;
  /** 'none' unless an RSA key is configured; then AES-CBC, or FTAES-ECB if OpenD gave no IV. */
  encryption: 'none' | 'aes-cbc' | 'ftaes-ecb';
}

export interface PingResult {
  /** KeepAlive round trip through OpenD, in milliseconds. */
  rttMs: number;
}

export interface GlobalState {
  /** QotMarketState numbers per market (Qot_Common.QotMarketState). */
  marketStates: { HK: number; US: number; SH: number; SZ: number; HKFuture: number };
  qotLoggedIn: boolean;
  trdLoggedIn: boolean;
  serverVer: number;
  serverBuildNo: number;
  /** OpenD's clock, Unix seconds. */
  time: number;
}

// ---- quotes ----------------------------------------------------------------------------------

export interface BasicQuote {
  symbol: string;
  name?: string;
  isSuspended: boolean;
  listTime: string;
  priceSpread: number;
  /** Time of the last price. */
  updateTime: string;
  updateTimestamp?: number;
  price: number;
  open: number;
  high: number;
  low: number;
  lastClose: number;
  volume: number;
  turnover: number;
  /** Percent (1.5 = 1.5 %). */
  turnoverRate: number;
  /** Percent. */
  amplitude: number;
}

export interface KLine {
  time: string;
  timestamp?: number;
  /** A bar without trades: only `time` is meaningful. */
  isBlank: boolean;
  open?: number;
  high?: number;
  low?: number;
  close?: number;
  lastClose?: number;
  volume?: number;
  turnover?: number;
  turnoverRate?: number;
  pe?: number;
  /** Percent. */
  changeRate?: number;
}

export interface KLineSeries {
  symbol: string;
  name?: string;
  klType: Unknowable<KLTypeName>;
  rehab: Unknowable<RehabName>;
  klines: KLine[];
}

export interface HistoryKLineQuery {
  symbol: string;
  klType: KLTypeName;
  /** "YYYY-MM-DD" (start of day) or "YYYY-MM-DD HH:MM:SS". */
  begin: string;
  /** "YYYY-MM-DD" (end of day) or "YYYY-MM-DD HH:MM:SS". */
  end: string;
  /** Stop after this many bars (1..100000); pages are fetched until done or this is reached. */
  maxCount: number;
  /** Default FORWARD. */
  rehab?: RehabName;
}

export interface OrderBookLevel {
  price: number;
  volume: number;
  orderCount: number;
}

export interface OrderBook {
  symbol: string;
  name?: string;
  /** Best (lowest) ask first. */
  asks: OrderBookLevel[];
  /** Best (highest) bid first. */
  bids: OrderBookLevel[];
}

export interface Tick {
  time: string;
  timestamp?: number;
  /** Exchange sequence number: a 64-bit id. */
  sequence: string;
  direction: Unknowable<TickerDirectionName>;
  price: number;
  volume: number;
  turnover: number;
}

export interface TickerSeries {
  symbol: string;
  name?: string;
  /** Oldest first. */
  ticks: Tick[];
}

export interface RTPoint {
  time: string;
  timestamp?: number;
  /** Minutes since midnight. */
  minute: number;
  isBlank: boolean;
  price?: number;
  lastClose?: number;
  avgPrice?: number;
  volume?: number;
  turnover?: number;
}

export interface RTSeries {
  symbol: string;
  name?: string;
  points: RTPoint[];
}

export interface Snapshot {
  symbol: string;
  name?: string;
  secType: Unknowable<SecurityTypeName>;
  isSuspended: boolean;
  listTime: string;
  lotSize: number;
  priceSpread: number;
  updateTime: string;
  price: number;
  open: number;
  high: number;
  low: number;
  lastClose: number;
  volume: number;
  turnover: number;
  /** Percent. */
  turnoverRate: number;
  askPrice?: number;
  bidPrice?: number;
  askVolume?: number;
  bidVolume?: number;
  /** Percent. */
  amplitude?: number;
  avgPrice?: number;
  high52Weeks?: number;
  low52Weeks?: number;
  /** Stocks only. */
  /** Qot_GetSecuritySnapshot.EquitySnapshotExData; money in the security's currency. */
  equity?: {
    issuedShares: number;
    outstandingShares: number;
    marketCap: number;
    outstandingMarketCap: number;
    netAsset: number;
    netProfit: number;
    earningsPerShare: number;
    netAssetPerShare: number;
    /** Percent. */
    earningsYield: number;
    peRate: number;
    pbRate: number;
    peTTMRate: number;
    dividendTTM?: number;
    /** Percent. */
    dividendRatioTTM?: number;
    dividendLFY?: number;
    /** Percent. */
    dividendLFYRatio?: number;
  };
}

export interface StaticInfo {
  symbol: string;
  /** OpenD's security id: a 64-bit id. */
  id: string;
  name: string;
  secType: Unknowable<SecurityTypeName>;
  lotSize: number;
  listTime: string;
  delisted?: boolean;
}

export type StaticInfoQuery = readonly string[] | { market: 'HK' | 'US' | 'SH' | 'SZ'; secType: SecurityTypeName };

export interface BrokerEntry {
  /** Broker id: a 64-bit id. */
  id: string;
  name: string;
  /** Queue position (price level). */
  position: number;
}

export interface BrokerQueue {
  symbol: string;
  name?: string;
  asks: BrokerEntry[];
  bids: BrokerEntry[];
}

export interface Plate {
  /** e.g. 'HK.BK1001': usable with getPlateSecurities. */
  symbol: string;
  name: string;
}

export interface Subscription {
  symbol: string;
  subTypes: SubTypeName[];
}

export interface SubscriptionInfo {
  /** This gateway's subscriptions. */
  subscriptions: Subscription[];
  /** OpenD-wide subscription slots in use (all connections). */
  usedQuota: number;
  remainingQuota: number;
}

// ---- trading ---------------------------------------------------------------------------------

/** Which account a trade call addresses; `trdMarket` picks the header market for queries. */
export interface AccountRef {
  accId: string;
  env: TrdEnvName;
  trdMarket: TrdMarketName;
}

export interface Account {
  accId: string;
  env: Unknowable<TrdEnvName>;
  /** Markets this account may trade. */
  trdMarkets: Unknowable<TrdMarketName>[];
  accType?: Unknowable<AccTypeName>;
  /** Simulate accounts only. */
  simAccType?: Unknowable<SimAccTypeName>;
  cardNum?: string;
  /** Trd_Common.SecurityFirm number (1 Futu HK, 2 Futu Inc (US), 3 SG, ...). */
  securityFirm?: number;
}

export interface UnlockRequest {
  /** true to unlock real trading, false to lock it again. */
  unlock: boolean;
  /** Lowercase hex MD5 of the trade password: required to unlock; never the password itself. */
  pwdMD5?: string;
  /** Trd_Common.SecurityFirm; OpenD's default (Futu HK) when absent. */
  securityFirm?: number;
}

export interface Funds {
  /** Buying power (long). */
  power: number;
  totalAssets: number;
  cash: number;
  marketValue: number;
  frozenCash: number;
  debtCash: number;
  withdrawableCash: number;
  currency?: Unknowable<CurrencyName>;
}

export interface Position {
  positionId: string;
  symbol: string;
  name: string;
  side: Unknowable<PositionSideName>;
  qty: number;
  canSellQty: number;
  /** Market price. */
  price: number;
  costPrice?: number;
  marketValue: number;
  plValue: number;
  /** Percent. */
  plRatio?: number;
  todayPlValue?: number;
  currency?: Unknowable<CurrencyName>;
}

export interface Order {
  orderId: string;
  orderIdEx: string;
  symbol: string;
  name: string;
  side: Unknowable<TrdSideName>;
  orderType: Unknowable<OrderTypeName>;
  status: Unknowable<OrderStatusName>;
  qty: number;
  price?: number;
  fillQty?: number;
  fillAvgPrice?: number;
  createTime: string;
  updateTime: string;
  lastErrMsg?: string;
  remark?: string;
  currency?: Unknowable<CurrencyName>;
}

export interface Fill {
  fillId: string;
  fillIdEx: string;
  orderId?: string;
  orderIdEx?: string;
  symbol: string;
  name: string;
  side: Unknowable<TrdSideName>;
  qty: number;
  price: number;
  createTime: string;
  counterBrokerId?: number;
  counterBrokerName?: string;
}

export interface PositionFilter {
  /** Only these symbols. */
  symbols?: readonly string[];
}

export interface OrderFilter {
  symbols?: readonly string[];
  orderIds?: readonly string[];
  statuses?: readonly OrderStatusName[];
}

export interface FillFilter {
  symbols?: readonly string[];
}

export interface HistoryRange {
  /** "YYYY-MM-DD" (start of day) or "YYYY-MM-DD HH:MM:SS". */
  begin: string;
  /** "YYYY-MM-DD" (end of day) or "YYYY-MM-DD HH:MM:SS". */
  end: string;
  symbols?: readonly string[];
}

export interface HistoryOrderQuery extends HistoryRange {
  statuses?: readonly OrderStatusName[];
}

export interface OrderRequest {
  symbol: string;
  side: TrdSideName;
  orderType: SimpleOrderTypeName;
  qty: number;
  /** Required except for MARKET orders. */
  price?: number;
  /** Free text stored on the order (at most 64 UTF-8 bytes). */
  remark?: string;
}

export interface PlacedOrder {
  orderId: string;
  orderIdEx?: string;
}

export interface ModifyRequest {
  orderId: string;
  op: ModifyOpName;
  /** Required for 'normal' (the new quantity). */
  qty?: number;
  /** Required for 'normal' (the new price). */
  price?: number;
}

// ---- pushes ----------------------------------------------------------------------------------

export interface OrderUpdate {
  accId: string;
  env: Unknowable<TrdEnvName>;
  trdMarket: Unknowable<TrdMarketName>;
  order: Order;
}

export interface FillUpdate {
  accId: string;
  env: Unknowable<TrdEnvName>;
  trdMarket: Unknowable<TrdMarketName>;
  fill: Fill;
}

/** OpenD's own notices (1003): login state, quote rights, quota changes, ... */
export interface NotifyEvent {
  /** Notify.NotifyType: 1 gateway event, 2 program status, 3 connection status, 4 quote right, 6 API quota, 7 used quota. */
  type: number;
  /** The gateway event's description, when there is one. */
  description?: string;
}

export interface DisconnectInfo {
  reason: string;
}

/** Events of FutuGateway (a typed EventEmitter). */
export interface GatewayEvents {
  connected: [LinkInfo];
  disconnected: [DisconnectInfo];
  /** After a reconnect, once subscriptions and account pushes are restored. */
  reconnected: [LinkInfo];
  quote: [BasicQuote];
  orderBook: [OrderBook];
  kline: [KLineSeries];
  ticker: [TickerSeries];
  rt: [RTSeries];
  broker: [BrokerQueue];
  orderUpdate: [OrderUpdate];
  fill: [FillUpdate];
  notify: [NotifyEvent];
}
