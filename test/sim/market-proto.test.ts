import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from '../../src/gateway/proto.js';
import { ProtoId } from '../../src/gateway/protoIds.js';
import { APPLE, call, et, HSBC, market, MOUTAI, PING_AN, raw, roundTrip, TENCENT } from './market-fixture.js';

/** Every answer must survive the official proto with its required fields (decodeResponse checks them). */
const REQUESTS: [number, Message][] = [
  [ProtoId.Qot_GetBasicQot, { securityList: [TENCENT, APPLE, MOUTAI, PING_AN] }],
  [ProtoId.Qot_GetKL, { rehabType: 1, klType: 7, security: HSBC, reqNum: 20 }],
  [ProtoId.Qot_GetKL, { rehabType: 0, klType: 4, security: APPLE, reqNum: 12 }],
  [ProtoId.Qot_RequestHistoryKL, { rehabType: 0, klType: 1, security: TENCENT, beginTime: '2025-02-27', endTime: '2025-02-28', maxAckKLNum: 50 }],
  [ProtoId.Qot_RequestHistoryKLQuota, { bGetDetail: true }],
  [ProtoId.Qot_GetRT, { security: MOUTAI }],
  [ProtoId.Qot_GetTicker, { security: PING_AN, maxRetNum: 30 }],
  [ProtoId.Qot_GetOrderBook, { security: TENCENT, num: 10 }],
  [ProtoId.Qot_GetOrderBook, { security: APPLE, num: 3 }],
  [ProtoId.Qot_GetBroker, { security: TENCENT }],
  [ProtoId.Qot_GetSecuritySnapshot, { securityList: [TENCENT, APPLE, MOUTAI] }],
  [ProtoId.Qot_GetStaticInfo, { market: 1, secType: 3 }],
  [ProtoId.Qot_GetPlateSet, { market: 21, plateSetType: 0 }],
  [ProtoId.Qot_GetPlateSecurity, { plate: { market: 1, code: 'BK1033' } }],
  [ProtoId.Qot_GetMarketState, { securityList: [TENCENT, APPLE] }],
  [ProtoId.Qot_GetSearchQuote, { keyword: 'tencent', max_count: 5 }],
  [ProtoId.Qot_GetSearchNews, { keyword: 'apple', max_count: 5, news_sub_type: 0 }],
  [ProtoId.Qot_GetFinancialsStatements, { security: APPLE, statementType: 1, financialType: 10, num: 6 }],
  [ProtoId.Qot_GetFinancialsStatements, { security: HSBC, statementType: 2, financialType: 9, num: 4, nextKey: '4' }],
  [ProtoId.Qot_GetFinancialsStatements, { security: MOUTAI, statementType: 3, financialType: 7 }],
  [ProtoId.Qot_GetValuationDetail, { security: TENCENT, valuationType: 1, intervalType: 3 }],
  [ProtoId.Qot_GetValuationDetail, { security: APPLE, valuationType: 3, intervalType: 6 }],
  [ProtoId.Qot_GetCompanyProfile, { security: PING_AN }],
  [ProtoId.Qot_GetResearchAnalystConsensus, { security: APPLE }],
  [ProtoId.Qot_GetCorporateActionsDividends, { security: TENCENT }],
  [ProtoId.Qot_GetCapitalFlow, { security: TENCENT, periodType: 1 }],
  [ProtoId.Qot_GetCapitalFlow, { security: APPLE, periodType: 2, beginTime: '2025-02-20', endTime: '2025-03-07' }],
  [ProtoId.Qot_GetCapitalDistribution, { security: PING_AN }],
  [ProtoId.Qot_GetOptionExpirationDate, { owner: APPLE }],
  [ProtoId.Qot_GetOptionChain, { owner: APPLE, beginTime: '2025-03-01', endTime: '2025-03-30' }],
  [ProtoId.Qot_StockFilter, { begin: 0, num: 10, market: 1, baseFilterList: [{ fieldName: 13, filterMax: 30, isNoFilter: false, sortDir: 2 }], accumulateFilterList: [{ fieldName: 1, days: 5, isNoFilter: true }] }],
  [ProtoId.Qot_GetUserSecurityGroup, { groupType: 3 }],
  [ProtoId.Qot_GetUserSecurity, { groupName: 'Tech' }],
  [ProtoId.Qot_RequestTradeDate, { market: 2, beginTime: '2025-03-01', endTime: '2025-03-31' }],
];

describe('quote protos', () => {
  it('round-trips every handler\'s answer through the official protos, while trading and after hours', () => {
    for (const at of [undefined, et(2025, 3, 8, 12)]) {
      const { market: m } = market(42, at);
      for (const [protoId, c2s] of REQUESTS) {
        const original = raw(m, protoId, c2s);
        const decoded = roundTrip<Message>(protoId, original);
        assert.ok(Object.keys(decoded).length > 0, `empty answer for ${protoId}`);
      }
    }
  });

  it('covers every quote proto the engine declares', () => {
    const { market: m } = market();
    assert.deepEqual([...m.handlers.keys()].sort(), [...new Set(REQUESTS.map(([id]) => id))].sort());
  });

  it('keeps 64-bit values exact across the wire', () => {
    const { market: m } = market();
    type Ticker = { sequence: string; volume: string };
    const original = raw(m, ProtoId.Qot_GetTicker, { security: APPLE, maxRetNum: 5 }) as { tickerList: Ticker[] };
    const decoded = call<{ tickerList: Ticker[] }>(m, ProtoId.Qot_GetTicker, { security: APPLE, maxRetNum: 5 });
    assert.deepEqual(decoded.tickerList.map((t) => t.sequence), original.tickerList.map((t) => t.sequence));
    type Info = { basic: { id: string } };
    const info = call<{ staticInfoList: Info[] }>(m, ProtoId.Qot_GetStaticInfo, { securityList: [TENCENT] }).staticInfoList[0]!;
    assert.match(info.basic.id, /^\d+$/);
  });
});

describe('pushes', () => {
  it('builds the push of each subscription type with the right protoId and S2C', () => {
    const { market: m } = market();
    const expected: [number, number][] = [
      [1, ProtoId.Qot_UpdateBasicQot],
      [2, ProtoId.Qot_UpdateOrderBook],
      [4, ProtoId.Qot_UpdateTicker],
      [5, ProtoId.Qot_UpdateRT],
      [6, ProtoId.Qot_UpdateKL],
      [11, ProtoId.Qot_UpdateKL],
      [14, ProtoId.Qot_UpdateBroker],
    ];
    for (const [subType, protoId] of expected) {
      const push = m.pushFor(TENCENT, subType);
      assert.ok(push, `no push for subType ${subType}`);
      assert.equal(push.protoId, protoId);
      roundTrip(protoId, push.s2c);
    }
    const kl = m.pushFor(TENCENT, 11)!.s2c as { klType: number; klList: { time: string }[] };
    assert.equal(kl.klType, 1);
    assert.deepEqual(kl.klList.map((k) => k.time), ['2025-03-04 10:16:00']);
    const day = m.pushFor(TENCENT, 6)!.s2c as { klType: number };
    assert.equal(day.klType, 2);
  });

  it('pushes the same picture as the matching request', () => {
    const { market: m } = market();
    const basic = call<{ basicQotList: unknown[] }>(m, ProtoId.Qot_GetBasicQot, { securityList: [TENCENT] });
    assert.deepEqual(roundTrip(ProtoId.Qot_UpdateBasicQot, m.pushFor(TENCENT, 1)!.s2c), basic);
    const book = call(m, ProtoId.Qot_GetOrderBook, { security: TENCENT, num: 10 });
    assert.deepEqual(roundTrip(ProtoId.Qot_UpdateOrderBook, m.pushFor(TENCENT, 2)!.s2c), book);
    const ticks = call<{ tickerList: unknown[] }>(m, ProtoId.Qot_GetTicker, { security: TENCENT, maxRetNum: 1 });
    assert.deepEqual((roundTrip(ProtoId.Qot_UpdateTicker, m.pushFor(TENCENT, 4)!.s2c) as { tickerList: unknown[] }).tickerList, ticks.tickerList);
  });

  it('has nothing to push for unknown securities or unsupported types', () => {
    const { market: m } = market();
    assert.equal(m.pushFor({ market: 1, code: '99999' }, 1), undefined);
    assert.equal(m.pushFor(TENCENT, 22), undefined);
    assert.equal(m.pushFor(TENCENT, 3), undefined);
  });
});
