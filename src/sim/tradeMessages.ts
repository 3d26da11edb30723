import type { Message } from '../gateway/proto.js';
import { MARKETS } from '../gateway/symbol.js';
import { SECURITY_FIRM_FUTU_SECURITIES, SIM_ACC_TYPE_STOCK, TRD_ACC_TYPE_MARGIN, TrdEnv, TrdMarket, type Account, type PositionBook } from './accounts.js';
import { formatLocal } from './calendar.js';
import type { Listing } from './catalog.js';
import { roundMoney } from './pricePath.js';
import type { FillState, OrderState } from './orders.js';

/** Builders of the official Trd_Common messages (field names exactly as in Trd_Common.proto). */
const POSITION_SIDE = { Long: 0, Short: 1 } as const;
const ORDER_FILL_STATUS_OK = 0;

export function headerOf(account: Account): Message {
  return { trdEnv: account.spec.trdEnv, accID: account.id, trdMarket: account.spec.trdMarket };
}

export function accMessage(account: Account): Message {
  const msg: Message = {
    trdEnv: account.spec.trdEnv,
    accID: account.id,
    trdMarketAuthList: [account.spec.trdMarket],
    accType: TRD_ACC_TYPE_MARGIN,
    securityFirm: SECURITY_FIRM_FUTU_SECURITIES,
    accStatus: 0,
  };
  if (account.spec.trdEnv === TrdEnv.Simulate) msg.simAccType = SIM_ACC_TYPE_STOCK;
  if (account.spec.cardNum) msg.cardNum = account.spec.cardNum;
  return msg;
}

export interface FundsFigures {
  readonly longMv: number;
  readonly shortMv: number;
  readonly frozenCash: number;
  readonly power: number;
}

export function fundsMessage(account: Account, f: FundsFigures): Message {
  const marketVal = f.longMv + f.shortMv;
  return {
    power: roundMoney(f.power),
    totalAssets: roundMoney(account.cash + marketVal),
    cash: roundMoney(account.cash),
    marketVal: roundMoney(marketVal),
    frozenCash: roundMoney(f.frozenCash),
    debtCash: roundMoney(Math.max(0, -account.cash)),
    avlWithdrawalCash: roundMoney(Math.max(0, account.cash - f.frozenCash)),
    currency: account.spec.currency,
    maxPowerShort: account.spec.trdMarket === TrdMarket.US ? roundMoney(f.power) : 0,
    netCashPower: roundMoney(Math.max(0, account.cash - f.frozenCash)),
    longMv: roundMoney(f.longMv),
    shortMv: roundMoney(f.shortMv),
    securitiesAssets: roundMoney(account.cash + marketVal),
  };
}

export interface PositionFigures {
  readonly price: number;
  readonly lastClose: number;
  /** Quantity held in open sell orders (not sellable again). */
  readonly pendingSell: number;
  readonly today: number;
}

export function positionMessage(account: Account, p: PositionBook, f: PositionFigures): Message {
  const val = p.qty * f.price;
  const plVal = val - p.netCost;
  const todayStats = p.today.day === f.today ? p.today : { buyQty: 0, buyVal: 0, sellQty: 0, sellVal: 0 };
  const openingQty = p.qty - todayStats.buyQty + todayStats.sellQty;
  const tdPl = val - openingQty * f.lastClose - todayStats.buyVal + todayStats.sellVal;
  const msg: Message = {
    positionID: p.positionID,
    positionSide: p.qty < 0 ? POSITION_SIDE.Short : POSITION_SIDE.Long,
    code: p.listing.security.code,
    name: p.listing.name,
    qty: p.qty,
    canSellQty: Math.max(0, p.qty - f.pendingSell),
    price: f.price,
    costPrice: roundMoney(p.avgCost),
    val: roundMoney(val),
    plVal: roundMoney(plVal),
    secMarket: MARKETS[p.listing.market].secMarket,
    td_plVal: roundMoney(tdPl),
    td_trdVal: roundMoney(todayStats.buyVal + todayStats.sellVal),
    td_buyVal: roundMoney(todayStats.buyVal),
    td_buyQty: todayStats.buyQty,
    td_sellVal: roundMoney(todayStats.sellVal),
    td_sellQty: todayStats.sellQty,
    currency: account.spec.currency,
    trdMarket: account.spec.trdMarket,
    averageCostPrice: roundMoney(p.avgCost),
    accID: account.id,
  };
  if (p.qty !== 0) {
    msg.dilutedCostPrice = roundMoney(p.netCost / p.qty);
    if (p.netCost !== 0) msg.plRatio = roundMoney((plVal / Math.abs(p.netCost)) * 100);
    if (p.avgCost !== 0) msg.averagePlRatio = roundMoney(((f.price - p.avgCost) / p.avgCost) * 100 * Math.sign(p.qty));
  }
  return msg;
}

function timeFields(listing: Listing, prefix: 'create' | 'update', ms: number): Message {
  return { [`${prefix}Time`]: formatLocal(ms, listing.market, true), [`${prefix}Timestamp`]: ms / 1000 };
}

export function orderMessage(o: OrderState): Message {
  const msg: Message = {
    trdSide: o.side,
    orderType: o.orderType,
    orderStatus: o.status,
    orderID: o.orderID,
    orderIDEx: o.orderIDEx,
    code: o.listing.security.code,
    name: o.listing.name,
    qty: o.qty,
    price: o.price,
    ...timeFields(o.listing, 'create', o.createMs),
    ...timeFields(o.listing, 'update', o.updateMs),
    fillQty: o.fillQty,
    fillAvgPrice: o.fillQty === 0 ? 0 : roundMoney(o.fillValue / o.fillQty),
    secMarket: MARKETS[o.listing.market].secMarket,
    timeInForce: o.timeInForce,
    fillOutsideRTH: false,
    currency: o.account.spec.currency,
    trdMarket: o.account.spec.trdMarket,
  };
  if (o.lastErrMsg) msg.lastErrMsg = o.lastErrMsg;
  if (o.remark !== undefined) msg.remark = o.remark;
  return msg;
}

export function fillMessage(f: FillState): Message {
  const { order } = f;
  const msg: Message = {
    trdSide: order.side,
    fillID: f.fillID,
    fillIDEx: f.fillIDEx,
    orderID: order.orderID,
    orderIDEx: order.orderIDEx,
    code: order.listing.security.code,
    name: order.listing.name,
    qty: f.qty,
    price: f.price,
    ...timeFields(order.listing, 'create', f.timeMs),
    updateTimestamp: f.timeMs / 1000,
    secMarket: MARKETS[order.listing.market].secMarket,
    status: ORDER_FILL_STATUS_OK,
    trdMarket: order.account.spec.trdMarket,
  };
  if (f.counterBroker) {
    msg.counterBrokerID = f.counterBroker[0];
    msg.counterBrokerName = f.counterBroker[1];
  }
  return msg;
}
