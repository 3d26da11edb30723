import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from '../../src/gateway/proto.js';
import { ProtoId } from '../../src/gateway/protoIds.js';
import type { SimTrading } from '../../src/sim/trading.js';
import { assertSimError, call, engines, raw } from './market-fixture.js';

type Acc = { trdEnv: number; accID: string; trdMarketAuthList: number[]; accType: number; securityFirm: number; simAccType?: number };
type Funds = { power: number; totalAssets: number; cash: number; marketVal: number; frozenCash: number; debtCash: number; avlWithdrawalCash: number; currency: number };
type Position = { code: string; qty: number; price: number; val: number; plVal: number; costPrice: number; canSellQty: number; secMarket: number; positionID: string };

const accounts = (t: SimTrading): Acc[] => call<{ accList: Acc[] }>(t, ProtoId.Trd_GetAccList, { userID: '0' }).accList;
const headerOf = (a: Acc): Message => ({ trdEnv: a.trdEnv, accID: a.accID, trdMarket: a.trdMarketAuthList[0]! });
const find = (t: SimTrading, env: number, trdMarket: number): Acc => accounts(t).find((a) => a.trdEnv === env && a.trdMarketAuthList[0] === trdMarket)!;

describe('accounts', () => {
  it('lists real and simulate accounts whose uint64 ids exceed 2^53 and survive the wire', () => {
    const { trading } = engines();
    const list = accounts(trading);
    assert.deepEqual(list.map((a) => [a.trdEnv, a.trdMarketAuthList]), [[1, [1]], [1, [2]], [0, [1]], [0, [2]], [0, [3]]]);
    for (const acc of list) {
      assert.match(acc.accID, /^\d+$/);
      assert.ok(BigInt(acc.accID) > 2n ** 53n && BigInt(acc.accID) < 2n ** 64n);
      assert.equal(acc.securityFirm, 1);
      assert.equal(acc.simAccType, acc.trdEnv === 0 ? 1 : undefined);
    }
    assert.deepEqual(trading.accountIds(), list.map((a) => a.accID));
    assert.deepEqual(accounts(engines(42).trading), list);
    assert.notDeepEqual(accounts(engines(43).trading).map((a) => a.accID), list.map((a) => a.accID));
    assert.deepEqual(call<{ accList: Acc[] }>(trading, ProtoId.Trd_GetAccList, { userID: '0', trdCategory: 2 }).accList, []);
  });

  it('starts with seeded holdings valued at the market price', () => {
    const { trading, market } = engines();
    const realHk = find(trading, 1, 1);
    const positions = call<{ positionList: Position[] }>(trading, ProtoId.Trd_GetPositionList, { header: headerOf(realHk) }).positionList;
    const tencent = positions.find((p) => p.code === '00700')!;
    assert.equal(tencent.qty, 1000);
    assert.equal(tencent.canSellQty, 1000);
    assert.equal(tencent.secMarket, 1);
    assert.equal(tencent.price, market.quoteOf({ market: 1, code: '00700' }).price);
    assert.equal(tencent.val, tencent.qty * tencent.price);
    assert.ok(Math.abs(tencent.plVal - (tencent.price - tencent.costPrice) * tencent.qty) < 0.01);
    assert.ok(BigInt(tencent.positionID) > 2n ** 53n);
    const realUs = call<{ positionList: Position[] }>(trading, ProtoId.Trd_GetPositionList, { header: headerOf(find(trading, 1, 2)) }).positionList;
    assert.equal(realUs.find((p) => p.code === 'AAPL')!.qty, 50);
    const filtered = call<{ positionList: Position[] }>(trading, ProtoId.Trd_GetPositionList, {
      header: headerOf(realHk), filterConditions: { codeList: ['HK.00005'] },
    }).positionList;
    assert.deepEqual(filtered.map((p) => p.code), ['00005']);
  });

  it('reports funds whose totals add up', () => {
    const { trading } = engines();
    for (const acc of accounts(trading)) {
      const { funds } = call<{ funds: Funds }>(trading, ProtoId.Trd_GetFunds, { header: headerOf(acc) });
      const positions = call<{ positionList: Position[] }>(trading, ProtoId.Trd_GetPositionList, { header: headerOf(acc) }).positionList;
      assert.ok(Math.abs(funds.marketVal - positions.reduce((n, p) => n + p.val, 0)) < 0.01);
      assert.ok(Math.abs(funds.totalAssets - (funds.cash + funds.marketVal)) < 0.01);
      assert.equal(funds.frozenCash, 0);
      assert.equal(funds.debtCash, 0);
      assert.equal(funds.avlWithdrawalCash, funds.cash);
      assert.ok(funds.power > funds.cash);
      assert.equal(funds.currency, acc.trdMarketAuthList[0] === 1 ? 1 : acc.trdMarketAuthList[0] === 2 ? 2 : 3);
    }
    const simHk = call<{ funds: Funds }>(trading, ProtoId.Trd_GetFunds, { header: headerOf(find(trading, 0, 1)) }).funds;
    assert.equal(simHk.cash, 1_000_000);
  });

  it('records the seeded purchases, and weeks of round trips that leave the holdings as seeded, in the history', () => {
    const { trading } = engines();
    const header = headerOf(find(trading, 1, 1));
    type Order = { code: string; orderStatus: number; qty: number; fillQty: number; trdSide: number };
    type Fill = { code: string; qty: number; trdSide: number };
    const history = (beginTime: string, endTime: string) => ({
      orders: call<{ orderList: Order[] }>(trading, ProtoId.Trd_GetHistoryOrderList, { header, filterConditions: { beginTime, endTime } }).orderList,
      fills: call<{ orderFillList: Fill[] }>(trading, ProtoId.Trd_GetHistoryOrderFillList, { header, filterConditions: { beginTime, endTime } }).orderFillList,
    });
    // The clock is 2025-03-04: HK.00700 was bought 120 days before, HK.00005 300 days before.
    const tencent = history('2024-10-20 00:00:00', '2024-11-20 23:59:59');
    assert.deepEqual(tencent.orders.filter((o) => o.code === '00700').map((o) => [o.orderStatus, o.qty, o.fillQty]), [[11, 1000, 1000]]);
    const hsbc = history('2024-04-20 00:00:00', '2024-05-20 23:59:59');
    assert.deepEqual(hsbc.orders.filter((o) => o.code === '00005').map((o) => [o.orderStatus, o.qty, o.fillQty]), [[11, 2000, 2000]]);

    const recent = history('2024-12-05 00:00:00', '2025-03-03 23:59:59');
    assert.ok(recent.fills.length >= 12, `${recent.fills.length} fills in the last 90 days`);
    assert.ok(recent.orders.every((o) => o.code !== '00700' && o.code !== '00005'), 'round trips stay out of the holdings');
    assert.ok(recent.orders.some((o) => o.orderStatus === 15 && o.fillQty === 0), 'a cancelled order too');
    const net = new Map<string, number>();
    for (const f of recent.fills) net.set(f.code, (net.get(f.code) ?? 0) + (f.trdSide === 1 ? f.qty : -f.qty));
    assert.ok([...net.values()].every((n) => n === 0), `every round trip is sold again: ${JSON.stringify([...net])}`);

    assert.deepEqual(call<{ orderList: Order[] }>(trading, ProtoId.Trd_GetOrderList, { header }).orderList, []);
    assertSimError(() => raw(trading, ProtoId.Trd_GetHistoryOrderList, { header, filterConditions: {} }), /beginTime is required/);
    assertSimError(
      () => raw(trading, ProtoId.Trd_GetHistoryOrderList, { header, filterConditions: { beginTime: '2024-12-01 00:00:00', endTime: '2025-03-03 00:00:00' } }),
      /cannot exceed 90 days/,
    );
  });

  it('rejects a header whose account, environment or market does not match', () => {
    const { trading } = engines();
    const simHk = find(trading, 0, 1);
    assertSimError(() => raw(trading, ProtoId.Trd_GetFunds, { header: { trdEnv: 0, accID: '123456789012345678', trdMarket: 1 } }), /Nonexistent account/);
    assertSimError(() => raw(trading, ProtoId.Trd_GetFunds, { header: { ...headerOf(simHk), trdEnv: 1 } }), /simulate account/);
    assertSimError(() => raw(trading, ProtoId.Trd_GetFunds, { header: { ...headerOf(simHk), trdMarket: 2 } }), /trdMarket 2/);
  });
});
