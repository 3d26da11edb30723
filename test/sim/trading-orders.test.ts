import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from '../../src/gateway/proto.js';
import { ProtoId } from '../../src/gateway/protoIds.js';
import type { Security } from '../../src/gateway/symbol.js';
import type { RequestContext, TradePush } from '../../src/sim/contract.js';
import type { SimMarket } from '../../src/sim/market.js';
import { stepPrice } from '../../src/sim/tickSize.js';
import type { SimTrading } from '../../src/sim/trading.js';
import { APPLE, assertSimError, call, engines, hkt, HK_MORNING, HSBC, LOCKED, market as marketAt, MOUTAI, roundTrip, TENCENT, UNLOCKED } from './market-fixture.js';

type Acc = { trdEnv: number; accID: string; trdMarketAuthList: number[] };
type Order = { orderID: string; orderIDEx: string; orderStatus: number; qty: number; price: number; fillQty: number; fillAvgPrice: number; code: string; trdSide: number; lastErrMsg?: string; updateTime: string };
type Fill = { fillID: string; orderID: string; qty: number; price: number; createTime: string };
type Funds = { cash: number; frozenCash: number; power: number };
type Position = { code: string; qty: number; canSellQty: number };

const ALIBABA = { market: 1, code: '09988' };
const STATUS = { Submitted: 5, FilledPart: 10, FilledAll: 11, CancelledPart: 14, CancelledAll: 15 };

function headerFor(t: SimTrading, env: number, trdMarket: number): Message {
  const acc = call<{ accList: Acc[] }>(t, ProtoId.Trd_GetAccList, { userID: '0' }).accList.find((a) => a.trdEnv === env && a.trdMarketAuthList[0] === trdMarket)!;
  return { trdEnv: acc.trdEnv, accID: acc.accID, trdMarket };
}

let serial = 0;
function place(t: SimTrading, header: Message, order: Message, ctx: RequestContext = LOCKED): { orderID: string; orderIDEx: string } {
  return call(t, ProtoId.Trd_PlaceOrder, { packetID: { connID: LOCKED.connId, serialNo: ++serial }, header, orderType: 1, ...order }, ctx);
}
function modify(t: SimTrading, header: Message, change: Message, ctx: RequestContext = LOCKED): Message {
  return call(t, ProtoId.Trd_ModifyOrder, { packetID: { connID: LOCKED.connId, serialNo: ++serial }, header, ...change }, ctx);
}
const orderById = (t: SimTrading, header: Message, orderID: string): Order =>
  call<{ orderList: Order[] }>(t, ProtoId.Trd_GetOrderList, { header, filterConditions: { idList: [orderID] } }).orderList[0]!;
const funds = (t: SimTrading, header: Message): Funds => call<{ funds: Funds }>(t, ProtoId.Trd_GetFunds, { header }).funds;
const position = (t: SimTrading, header: Message, code: string): Position | undefined =>
  call<{ positionList: Position[] }>(t, ProtoId.Trd_GetPositionList, { header }).positionList.find((p) => p.code === code);

/** Trades in the next `ms` after the clock, read from a second market on the same seed (prices are a pure function). */
function futureTrades(seed: number, at: number, sec: Security, ms: number): { utcMs: number; price: number }[] {
  return marketAt(seed, at + ms).market.ticksBetween(sec, at, at + ms);
}

/** An HK security whose best ask plus one more lot the account can afford (book sizes vary with the seed). */
function affordableTop(market: SimMarket, power: number): { sec: Security; asks: readonly { price: number; volume: number }[]; lot: number } {
  const found = [TENCENT, ALIBABA, HSBC, { market: 1, code: '03690' }, { market: 1, code: '00941' }]
    .map((sec) => ({ sec, asks: market.bookOf(sec).asks, lot: market.lotSize(sec) }))
    .find(({ asks, lot }) => (asks[0]!.volume + lot) * asks[1]!.price < power);
  assert.ok(found, 'precondition: some HK book top is affordable');
  return found;
}

function recorder(t: SimTrading): TradePush[] {
  const pushes: TradePush[] = [];
  t.onPush((p) => pushes.push(p));
  return pushes;
}

describe('placing orders', () => {
  it('fills a limit buy that reaches the ask at the book price and moves cash and position', () => {
    const { trading, market } = engines();
    const header = headerFor(trading, 0, 1);
    const ask = market.bookOf(ALIBABA).asks[0]!;
    assert.ok(ask.volume >= 300, 'precondition: the best ask shows at least 300 shares');
    const before = funds(trading, header);
    const { orderID, orderIDEx } = place(trading, header, { trdSide: 1, code: '09988', qty: 300, price: stepPrice('HK', ask.price, 2) });
    assert.ok(BigInt(orderID) > 2n ** 53n);
    assert.ok(orderIDEx.length > 0);
    const order = orderById(trading, header, orderID);
    assert.equal(order.orderStatus, STATUS.FilledAll);
    assert.equal(order.fillQty, 300);
    assert.equal(order.fillAvgPrice, ask.price);
    const after = funds(trading, header);
    assert.ok(Math.abs(before.cash - after.cash - 300 * ask.price) < 0.01);
    assert.equal(position(trading, header, '09988')!.qty, 800);
    const fills = call<{ orderFillList: Fill[] }>(trading, ProtoId.Trd_GetOrderFillList, { header }).orderFillList;
    assert.deepEqual(fills.map((f) => [f.orderID, f.qty, f.price]), [[orderID, 300, ask.price]]);
    assert.ok(BigInt(fills[0]!.fillID) > 2n ** 53n);
  });

  it('rests a limit order below the market and fills it when later trades reach it', () => {
    const { trading, market, clock } = engines();
    const header = headerFor(trading, 0, 1);
    const trades = futureTrades(42, clock.ms, TENCENT, 2 * 3600_000);
    const low = Math.min(...trades.map((t) => t.price));
    const limit = stepPrice('HK', low, 1);
    assert.ok(limit < market.bookOf(TENCENT).bids[0]!.price, 'precondition: the market trades below the current bid within two hours');
    const pushes = recorder(trading);
    const { orderID } = place(trading, header, { trdSide: 1, code: '00700', qty: 200, price: limit });
    assert.equal(orderById(trading, header, orderID).orderStatus, STATUS.Submitted);
    assert.equal(funds(trading, header).frozenCash, 200 * limit);

    clock.advance(2 * 3600_000);
    const order = orderById(trading, header, orderID);
    assert.equal(order.orderStatus, STATUS.FilledAll);
    assert.equal(order.fillAvgPrice, limit);
    assert.equal(funds(trading, header).frozenCash, 0);
    assert.equal(position(trading, header, '00700')!.qty, 200);
    const firstReach = trades.find((t) => t.price <= limit)!;
    const fills = call<{ orderFillList: Fill[] }>(trading, ProtoId.Trd_GetOrderFillList, { header }).orderFillList;
    assert.equal(fills.reduce((n, f) => n + f.qty, 0), 200);
    assert.ok(fills.every((f) => f.price === limit));
    assert.equal(Date.parse(`${fills[0]!.createTime.replace(' ', 'T')}+08:00`), firstReach.utcMs);
    assert.deepEqual(pushes.map((p) => p.protoId).slice(0, 1), [ProtoId.Trd_UpdateOrder]);
    assert.equal(pushes.at(-1)!.protoId, ProtoId.Trd_UpdateOrderFill);
  });

  it('fills the displayed depth of a large order and rests the remainder (partial fill)', () => {
    const { trading, market } = engines();
    const header = headerFor(trading, 0, 1);
    const { sec, asks, lot } = affordableTop(market, funds(trading, header).power);
    const ask = asks[0]!;
    const qty = ask.volume + lot;
    const { orderID } = place(trading, header, { trdSide: 1, code: sec.code, qty, price: ask.price });
    const order = orderById(trading, header, orderID);
    assert.equal(order.orderStatus, STATUS.FilledPart);
    assert.equal(order.fillQty, ask.volume);
    assert.ok(Math.abs(funds(trading, header).frozenCash - lot * ask.price) < 0.01);
    modify(trading, header, { orderID, modifyOrderOp: 2 });
    const cancelled = orderById(trading, header, orderID);
    assert.equal(cancelled.orderStatus, STATUS.CancelledPart);
    assert.equal(cancelled.fillQty, ask.volume);
    assert.equal(funds(trading, header).frozenCash, 0);
  });

  it('fills a market buy immediately by walking the book', () => {
    const { trading, market } = engines();
    const header = headerFor(trading, 0, 1);
    const { sec, asks, lot } = affordableTop(market, funds(trading, header).power);
    const qty = asks[0]!.volume + lot;
    const { orderID } = place(trading, header, { trdSide: 1, orderType: 2, code: sec.code, qty });
    const order = orderById(trading, header, orderID);
    assert.equal(order.orderStatus, STATUS.FilledAll);
    const expected = (asks[0]!.volume * asks[0]!.price + lot * asks[1]!.price) / qty;
    assert.ok(Math.abs(order.fillAvgPrice - expected) < 0.001);
  });

  it('refuses market orders while the market is closed', () => {
    const { trading } = engines();
    assertSimError(() => place(trading, headerFor(trading, 0, 2), { trdSide: 1, orderType: 2, code: 'AAPL', qty: 1 }), /continuous trading/);
  });
});

describe('order validation', () => {
  it('rejects quantities off the lot size and prices off the tick grid', () => {
    const { trading, market } = engines();
    const header = headerFor(trading, 0, 1);
    const price = market.bookOf(TENCENT).bids[3]!.price;
    assertSimError(() => place(trading, header, { trdSide: 1, code: '00700', qty: 150, price }), /lot size 100/);
    assertSimError(() => place(trading, header, { trdSide: 1, code: '00005', qty: 100, price: 90 }), /lot size 400/);
    assertSimError(() => place(trading, header, { trdSide: 1, code: '00700', qty: 0, price }), /positive/);
    assertSimError(() => place(trading, header, { trdSide: 1, code: '00700', qty: 100, price: price + 0.1 }), /not a valid price step/);
    assertSimError(() => place(trading, header, { trdSide: 1, code: '00700', qty: 100 }), /positive price/);
    assertSimError(() => place(trading, header, { trdSide: 1, code: '99999', qty: 100, price: 10 }), /^Unknown stock HK\.99999$/);
    assertSimError(() => place(trading, header, { trdSide: 1, code: 'AAPL', secMarket: 2, qty: 1, price: 100 }), /cannot trade US\.AAPL/);
    assertSimError(() => place(trading, header, { trdSide: 1, orderType: 10, code: '00700', qty: 100, price }), /orderType/);
    assertSimError(() => place(trading, header, { trdSide: 1, code: '00700', qty: 100, price, timeInForce: 1 }), /DAY orders only/);
    const adjusted = place(trading, header, { trdSide: 1, code: '00700', qty: 100, price: price - 0.1, adjustPrice: true, adjustSideAndLimit: -0.01 });
    assert.equal(orderById(trading, header, adjusted.orderID).price, stepPrice('HK', price, -1));
  });

  it('rejects selling what the account does not hold, except short sales in the US', () => {
    const { trading } = engines();
    const hk = headerFor(trading, 0, 1);
    assertSimError(() => place(trading, hk, { trdSide: 2, code: '00700', qty: 100, price: 500 }), /Insufficient position/);
    assertSimError(() => place(trading, hk, { trdSide: 2, code: '09988', qty: 600, price: 200 }), /Insufficient position/);
    place(trading, hk, { trdSide: 2, code: '09988', qty: 500, price: 200 });
    assert.equal(position(trading, hk, '09988')!.canSellQty, 0);
    assertSimError(() => place(trading, hk, { trdSide: 2, code: '09988', qty: 100, price: 200 }), /Insufficient position/);
    const us = headerFor(trading, 0, 2);
    const { orderID } = place(trading, us, { trdSide: 2, code: 'AAPL', qty: 10, price: 999 });
    assert.equal(orderById(trading, us, orderID).orderStatus, STATUS.Submitted);
  });

  it('rejects orders beyond buying power and A-share prices outside the daily limit', () => {
    const { trading, market } = engines();
    const hk = headerFor(trading, 0, 1);
    assertSimError(() => place(trading, hk, { trdSide: 1, code: '00700', qty: 100_000, price: market.bookOf(TENCENT).bids[5]!.price }), /Insufficient buying power/);
    const cn = headerFor(trading, 0, 3);
    const lastClose = market.quoteOf(MOUTAI).lastClose;
    const tooHigh = Math.round(lastClose * 1.15 * 100) / 100;
    assertSimError(() => place(trading, cn, { trdSide: 1, code: '600519', qty: 100, price: tooHigh }), /limit range/);
  });

  it('requires unlocking before real trading, but not for simulate accounts', () => {
    const { trading, market } = engines();
    const real = headerFor(trading, 1, 1);
    const price = market.bookOf(TENCENT).bids[5]!.price;
    assertSimError(() => place(trading, real, { trdSide: 1, code: '00700', qty: 100, price }), /unlock/);
    const { orderID } = place(trading, real, { trdSide: 1, code: '00700', qty: 100, price }, UNLOCKED);
    assertSimError(() => modify(trading, real, { orderID, modifyOrderOp: 2 }), /unlock/);
    modify(trading, real, { orderID, modifyOrderOp: 2 }, UNLOCKED);
    assert.equal(orderById(trading, real, orderID).orderStatus, STATUS.CancelledAll);
    place(trading, headerFor(trading, 0, 1), { trdSide: 1, code: '00700', qty: 100, price });
  });
});

describe('working orders', () => {
  it('modifies price and quantity, cancels, and refuses changes to finished orders', () => {
    const { trading, market } = engines();
    const header = headerFor(trading, 0, 1);
    const bids = market.bookOf(TENCENT).bids;
    const { orderID, orderIDEx } = place(trading, header, { trdSide: 1, code: '00700', qty: 200, price: bids[8]!.price });
    modify(trading, header, { orderID, modifyOrderOp: 1, qty: 400, price: bids[6]!.price });
    let order = orderById(trading, header, orderID);
    assert.deepEqual([order.orderStatus, order.qty, order.price], [STATUS.Submitted, 400, bids[6]!.price]);
    assert.equal(funds(trading, header).frozenCash, 400 * bids[6]!.price);
    assertSimError(() => modify(trading, header, { orderID, modifyOrderOp: 1, price: bids[6]!.price + 0.1 }), /price step/);
    assertSimError(() => modify(trading, header, { orderID, modifyOrderOp: 1, qty: 450 }), /lot size/);
    assertSimError(() => modify(trading, header, { orderID, modifyOrderOp: 3 }), /Unsupported modifyOrderOp 3/);
    modify(trading, header, { orderID: '0', orderIDEx, modifyOrderOp: 2 });
    order = orderById(trading, header, orderID);
    assert.equal(order.orderStatus, STATUS.CancelledAll);
    assert.equal(funds(trading, header).frozenCash, 0);
    assertSimError(() => modify(trading, header, { orderID, modifyOrderOp: 2 }), /can no longer be modified/);
    assertSimError(() => modify(trading, header, { orderID: '4611686018427387904', modifyOrderOp: 2 }), /Order not found/);
  });

  it('fills a working order once it is repriced through the market', () => {
    const { trading, market } = engines();
    const header = headerFor(trading, 0, 1);
    const book = market.bookOf(ALIBABA);
    const { orderID } = place(trading, header, { trdSide: 1, code: '09988', qty: 100, price: book.bids[4]!.price });
    modify(trading, header, { orderID, modifyOrderOp: 1, price: book.asks[1]!.price });
    const order = orderById(trading, header, orderID);
    assert.equal(order.orderStatus, STATUS.FilledAll);
    assert.equal(order.fillAvgPrice, book.asks[0]!.price);
  });

  it('lapses DAY orders at the close', () => {
    const { trading, market, clock } = engines();
    const header = headerFor(trading, 0, 1);
    const pushes = recorder(trading);
    const { orderID } = place(trading, header, { trdSide: 1, code: '00700', qty: 100, price: stepPrice('HK', market.quoteOf(TENCENT).today.low, -40) });
    clock.ms = hkt(2025, 3, 4, 16, 30);
    trading.advance();
    const order = orderById(trading, header, orderID);
    assert.equal(order.orderStatus, STATUS.CancelledAll);
    assert.match(order.lastErrMsg ?? '', /Expired/);
    assert.equal(order.updateTime, '2025-03-04 16:00:00.000');
    assert.deepEqual(pushes.map((p) => (p.s2c.order as Order).orderStatus), [STATUS.Submitted, STATUS.CancelledAll]);
  });

  it('filters today\'s orders by status, code and ids', () => {
    const { trading, market } = engines();
    const header = headerFor(trading, 0, 1);
    const bid = market.bookOf(TENCENT).bids[6]!.price;
    const resting = place(trading, header, { trdSide: 1, code: '00700', qty: 100, price: bid });
    const filled = place(trading, header, { trdSide: 1, code: '09988', qty: 100, price: stepPrice('HK', market.bookOf(ALIBABA).asks[0]!.price, 1) });
    const list = (c2s: Message): string[] => call<{ orderList: Order[] }>(trading, ProtoId.Trd_GetOrderList, { header, ...c2s }).orderList.map((o) => o.orderID);
    assert.deepEqual(list({}), [resting.orderID, filled.orderID]);
    assert.deepEqual(list({ filterStatusList: [STATUS.Submitted] }), [resting.orderID]);
    assert.deepEqual(list({ filterStatusList: [STATUS.FilledAll] }), [filled.orderID]);
    assert.deepEqual(list({ filterConditions: { codeList: ['09988'] } }), [filled.orderID]);
    assert.deepEqual(list({ filterConditions: { orderIDExList: [resting.orderIDEx] } }), [resting.orderID]);
    assert.deepEqual(list({ filterConditions: { beginTime: '2025-03-04 10:16:00', endTime: '2025-03-04 23:00:00' } }), []);
  });
});

describe('trade pushes', () => {
  it('emits every order change and fill in order, each encodable with its proto', () => {
    const { trading, market } = engines();
    const header = headerFor(trading, 0, 1);
    const pushes = recorder(trading);
    const { sec, asks, lot } = affordableTop(market, funds(trading, header).power);
    const qty = asks[0]!.volume + lot;
    const { orderID } = place(trading, header, { trdSide: 1, code: sec.code, qty, price: asks[1]!.price });
    assert.deepEqual(pushes.map((p) => p.protoId), [ProtoId.Trd_UpdateOrder, ProtoId.Trd_UpdateOrder, ProtoId.Trd_UpdateOrderFill, ProtoId.Trd_UpdateOrder, ProtoId.Trd_UpdateOrderFill]);
    const orders = pushes.filter((p) => p.protoId === ProtoId.Trd_UpdateOrder).map((p) => roundTrip<{ header: Message; order: Order }>(p.protoId, p.s2c));
    assert.deepEqual(orders.map((o) => [o.order.orderStatus, o.order.fillQty]), [[STATUS.Submitted, 0], [STATUS.FilledPart, asks[0]!.volume], [STATUS.FilledAll, qty]]);
    assert.ok(orders.every((o) => o.order.orderID === orderID && o.header.accID === header.accID));
    const fills = pushes.filter((p) => p.protoId === ProtoId.Trd_UpdateOrderFill).map((p) => roundTrip<{ orderFill: Fill }>(p.protoId, p.s2c).orderFill);
    assert.deepEqual(fills.map((f) => [f.qty, f.price, f.orderID]), [[asks[0]!.volume, asks[0]!.price, orderID], [lot, asks[1]!.price, orderID]]);
    assert.ok(pushes.every((p) => p.accID === header.accID));
  });

  it('stays deterministic: the same seed and clock replay the same pushes', () => {
    const run = (): TradePush[] => {
      const { trading, clock } = engines(5);
      const header = headerFor(trading, 0, 1);
      const pushes = recorder(trading);
      const low = Math.min(...futureTrades(5, clock.ms, TENCENT, 3600_000).map((t) => t.price));
      place(trading, header, { trdSide: 1, code: '00700', qty: 300, price: stepPrice('HK', low, 1) });
      place(trading, header, { trdSide: 1, orderType: 2, code: '09988', qty: 100 });
      clock.advance(3600_000);
      trading.advance();
      return pushes;
    };
    const first = run();
    assert.ok(first.length >= 4);
    assert.deepEqual(run(), first);
  });
});

describe('market helpers for trading', () => {
  it('exposes quotes, books, lot sizes and trades to the trading engine', () => {
    const { market } = marketAt();
    const m: SimMarket = market;
    assert.equal(m.lotSize(HSBC), 400);
    assert.equal(m.lotSize(APPLE), 1);
    const q = m.quoteOf(TENCENT);
    assert.ok(q.trading);
    assert.equal(m.quoteOf(APPLE).trading, false);
    const trades = m.ticksBetween(TENCENT, HK_MORNING - 60_000, HK_MORNING + 3600_000);
    assert.ok(trades.length > 0 && trades.every((t) => t.utcMs > HK_MORNING - 60_000 && t.utcMs <= HK_MORNING));
    assert.equal(trades.at(-1)!.price, q.price);
  });
});
