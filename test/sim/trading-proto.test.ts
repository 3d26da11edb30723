import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from '../../src/gateway/proto.js';
import { ProtoId } from '../../src/gateway/protoIds.js';
import { call, engines, et, raw, roundTrip, UNLOCKED } from './market-fixture.js';

type Acc = { trdEnv: number; accID: string; trdMarketAuthList: number[] };

describe('trade protos', () => {
  it('round-trips every handler\'s answer for every account through the official protos', () => {
    for (const at of [undefined, et(2025, 3, 4, 11)]) {
      const { trading, market } = engines(42, at);
      const accounts = call<{ accList: Acc[] }>(trading, ProtoId.Trd_GetAccList, { userID: '0' }).accList;
      const seen = new Set<number>([ProtoId.Trd_GetAccList]);
      let serialNo = 0;
      const check = (protoId: number, c2s: Message): Message => {
        seen.add(protoId);
        return roundTrip(protoId, raw(trading, protoId, c2s, UNLOCKED));
      };
      for (const acc of accounts) {
        const header = { trdEnv: acc.trdEnv, accID: acc.accID, trdMarket: acc.trdMarketAuthList[0]! };
        const range = { beginTime: '2024-12-10 00:00:00', endTime: '2025-03-05 00:00:00' };
        check(ProtoId.Trd_GetFunds, { header });
        const positions = check(ProtoId.Trd_GetPositionList, { header }) as { positionList: { code: string; secMarket: number }[] };
        const held = positions.positionList[0]!;
        const sec = { market: held.secMarket === 1 ? 1 : held.secMarket === 2 ? 11 : held.secMarket === 31 ? 21 : 22, code: held.code };
        const bid = market.bookOf(sec).bids[2]!.price;
        const placed = check(ProtoId.Trd_PlaceOrder, {
          packetID: { connID: '1', serialNo: ++serialNo }, header, trdSide: 1, orderType: 1, code: held.code, secMarket: held.secMarket, qty: market.lotSize(sec), price: bid, remark: 'demo',
        }) as { orderID: string };
        check(ProtoId.Trd_ModifyOrder, { packetID: { connID: '1', serialNo: ++serialNo }, header, orderID: placed.orderID, modifyOrderOp: 2 });
        check(ProtoId.Trd_GetOrderList, { header });
        check(ProtoId.Trd_GetOrderFillList, { header });
        check(ProtoId.Trd_GetHistoryOrderList, { header, filterConditions: range });
        check(ProtoId.Trd_GetHistoryOrderFillList, { header, filterConditions: range });
        check(ProtoId.Trd_GetMaxTrdQtys, { header, orderType: 1, code: held.code, secMarket: held.secMarket, price: bid });
        const fees = check(ProtoId.Trd_GetOrderFee, { header, orderIdExList: [(placed as { orderIDEx?: string }).orderIDEx ?? ''] }) as { orderFeeList: unknown[] };
        assert.equal(fees.orderFeeList.length, 1, 'the fee of the order just placed (nothing filled: no items)');
      }
      assert.deepEqual([...seen].sort(), [...trading.handlers.keys()].sort());
    }
  });

  it('keeps uint64 ids exact in place and modify answers', () => {
    const { trading, market } = engines();
    const acc = call<{ accList: Acc[] }>(trading, ProtoId.Trd_GetAccList, { userID: '0' }).accList.find((a) => a.trdEnv === 0 && a.trdMarketAuthList[0] === 1)!;
    const header = { trdEnv: 0, accID: acc.accID, trdMarket: 1 };
    const price = market.bookOf({ market: 1, code: '00700' }).bids[4]!.price;
    const rawPlaced = raw(trading, ProtoId.Trd_PlaceOrder, { packetID: { connID: '1', serialNo: 1 }, header, trdSide: 1, orderType: 1, code: '00700', qty: 100, price });
    const placed = roundTrip<{ header: { accID: string }; orderID: string }>(ProtoId.Trd_PlaceOrder, rawPlaced);
    assert.equal(placed.orderID, rawPlaced.orderID);
    assert.equal(placed.header.accID, acc.accID);
    const modified = call<{ orderID: string }>(trading, ProtoId.Trd_ModifyOrder, { packetID: { connID: '1', serialNo: 2 }, header, orderID: placed.orderID, modifyOrderOp: 2 });
    assert.equal(modified.orderID, placed.orderID);
  });
});
