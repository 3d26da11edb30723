import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from '../../src/gateway/proto.js';
import { ProtoId } from '../../src/gateway/protoIds.js';
import { isOnTick, stepPrice, tickUp } from '../../src/sim/tickSize.js';
import { APPLE, assertSimError, call, et, hkt, HSBC, HK_MORNING, market, MOUTAI, raw, TENCENT, UNKNOWN } from './market-fixture.js';

type Basic = { curPrice: number; highPrice: number; lowPrice: number; openPrice: number; lastClosePrice: number; volume: string; priceSpread: number; updateTime: string; updateTimestamp: number };
type Level = { price: number; volume: string; orederCount: number };
type BookS2C = { orderBookAskList: Level[]; orderBookBidList: Level[] };
type Ticker = { time: string; sequence: string; price: number; volume: string; dir: number; timestamp: number };
type StaticInfo = { basic: { security: { market: number; code: string }; lotSize: number; name: string; listTime: string; id: string } };

const basic = (m: ReturnType<typeof market>['market'], sec = TENCENT): Basic =>
  call<{ basicQotList: Basic[] }>(m, ProtoId.Qot_GetBasicQot, { securityList: [sec] }).basicQotList[0]!;

describe('quotes', () => {
  it('reports a quote consistent with today\'s bar and yesterday\'s close', () => {
    const { market: m } = market();
    const q = basic(m);
    const [yesterday, today] = call<{ klList: { closePrice: number; highPrice: number; lowPrice: number; volume: string }[] }>(m, ProtoId.Qot_GetKL, {
      rehabType: 0, klType: 2, security: TENCENT, reqNum: 2,
    }).klList;
    assert.equal(q.lastClosePrice, yesterday!.closePrice);
    assert.equal(q.curPrice, today!.closePrice);
    assert.equal(q.highPrice, today!.highPrice);
    assert.equal(q.lowPrice, today!.lowPrice);
    assert.equal(q.volume, today!.volume);
    assert.ok(q.lowPrice <= q.curPrice && q.curPrice <= q.highPrice);
    assert.equal(q.priceSpread, tickUp('HK', q.curPrice));
    assert.ok(q.updateTimestamp * 1000 <= HK_MORNING && q.updateTime.startsWith('2025-03-04 10:15:'));
  });

  it('moves while the market trades and freezes at the close outside trading hours', () => {
    const { market: m, clock } = market();
    const morning = basic(m);
    clock.advance(30 * 60_000);
    assert.notDeepEqual(basic(m), morning);
    clock.ms = hkt(2025, 3, 4, 16, 30);
    const afterClose = basic(m);
    clock.ms = hkt(2025, 3, 5, 8, 0);
    assert.deepEqual(basic(m), afterClose);
    assert.ok(afterClose.updateTime.startsWith('2025-03-04 15:59:'));
    clock.ms = hkt(2025, 3, 5, 9, 30, 1);
    assert.equal(basic(m).lastClosePrice, afterClose.curPrice);
  });

  it('uses the previous session on weekends and before the open', () => {
    const { market: m } = market(42, hkt(2025, 3, 8, 12));
    const friday = call<{ klList: { time: string; closePrice: number }[] }>(m, ProtoId.Qot_GetKL, { rehabType: 0, klType: 2, security: TENCENT, reqNum: 1 }).klList[0]!;
    assert.equal(friday.time, '2025-03-07 00:00:00');
    assert.equal(basic(m).curPrice, friday.closePrice);
  });

  it('serves an order book of num levels, asks ascending above bids, touching the last price', () => {
    const { market: m } = market();
    for (const sec of [TENCENT, HSBC, MOUTAI]) {
      const marketCode = sec.market === 1 ? 'HK' : 'SH';
      const q = basic(m, sec);
      const book = call<BookS2C>(m, ProtoId.Qot_GetOrderBook, { security: sec, num: 5 });
      const asks = book.orderBookAskList;
      const bids = book.orderBookBidList;
      assert.equal(asks.length, 5);
      assert.equal(bids.length, 5);
      for (let i = 1; i < 5; i++) {
        assert.equal(asks[i]!.price, stepPrice(marketCode, asks[i - 1]!.price, 1));
        assert.equal(bids[i]!.price, stepPrice(marketCode, bids[i - 1]!.price, -1));
      }
      assert.equal(asks[0]!.price, stepPrice(marketCode, bids[0]!.price, 1));
      assert.ok(asks[0]!.price === q.curPrice || bids[0]!.price === q.curPrice);
      const lot = sec === HSBC ? 400 : 100;
      for (const level of [...asks, ...bids]) {
        assert.ok(isOnTick(marketCode, level.price));
        assert.equal(Number(level.volume) % lot, 0);
        assert.ok(level.orederCount >= 1 && level.orederCount <= Number(level.volume) / lot);
      }
    }
    assert.equal(call<BookS2C>(m, ProtoId.Qot_GetOrderBook, { security: TENCENT, num: 50 }).orderBookAskList.length, 10);
  });

  it('lists the latest ticks with increasing 64-bit sequences up to now', () => {
    const { market: m } = market();
    const { tickerList } = call<{ tickerList: Ticker[] }>(m, ProtoId.Qot_GetTicker, { security: TENCENT, maxRetNum: 50 });
    assert.equal(tickerList.length, 50);
    for (let i = 1; i < tickerList.length; i++) assert.ok(BigInt(tickerList[i]!.sequence) > BigInt(tickerList[i - 1]!.sequence));
    assert.ok(BigInt(tickerList[0]!.sequence) > 2n ** 53n);
    assert.ok(tickerList.every((t) => t.timestamp * 1000 <= HK_MORNING && [1, 2].includes(t.dir)));
    assert.equal(tickerList.at(-1)!.price, basic(m).curPrice);
    assert.equal(call<{ tickerList: Ticker[] }>(m, ProtoId.Qot_GetTicker, { security: TENCENT, maxRetNum: 5000 }).tickerList.length, 1000);
  });

  it('builds the intraday time-share series up to the current minute', () => {
    const { market: m } = market();
    type Point = { time: string; minute: number; price: number; volume: string; turnover: number; avgPrice: number; lastClosePrice: number };
    const { rtList } = call<{ rtList: Point[] }>(m, ProtoId.Qot_GetRT, { security: TENCENT });
    assert.equal(rtList.length, 46);
    assert.equal(rtList[0]!.time, '2025-03-04 09:31:00');
    assert.equal(rtList[0]!.minute, 9 * 60 + 31);
    const q = basic(m);
    assert.equal(rtList.at(-1)!.price, q.curPrice);
    assert.ok(rtList.every((p) => p.lastClosePrice === q.lastClosePrice));
    assert.equal(rtList.reduce((n, p) => n + Number(p.volume), 0), Number(q.volume));
    const last = rtList.at(-1)!;
    const turnover = rtList.reduce((n, p) => n + p.turnover, 0);
    assert.ok(Math.abs(last.avgPrice - turnover / Number(q.volume)) < 0.001);
  });

  it('answers every security request for an unknown code the way OpenD does', () => {
    const { market: m } = market();
    const requests: [number, Message][] = [
      [ProtoId.Qot_GetBasicQot, { securityList: [TENCENT, UNKNOWN] }],
      [ProtoId.Qot_GetKL, { rehabType: 0, klType: 2, security: UNKNOWN, reqNum: 10 }],
      [ProtoId.Qot_GetRT, { security: UNKNOWN }],
      [ProtoId.Qot_GetTicker, { security: UNKNOWN, maxRetNum: 10 }],
      [ProtoId.Qot_GetOrderBook, { security: UNKNOWN, num: 10 }],
      [ProtoId.Qot_GetBroker, { security: UNKNOWN }],
      [ProtoId.Qot_RequestHistoryKL, { rehabType: 0, klType: 2, security: UNKNOWN, beginTime: '2025-01-01', endTime: '2025-02-01' }],
      [ProtoId.Qot_GetSecuritySnapshot, { securityList: [UNKNOWN] }],
      [ProtoId.Qot_GetStaticInfo, { securityList: [UNKNOWN] }],
      [ProtoId.Qot_GetMarketState, { securityList: [UNKNOWN] }],
    ];
    for (const [protoId, c2s] of requests) assertSimError(() => raw(m, protoId, c2s), /^Unknown stock HK\.99999$/);
    assert.equal(m.knows(UNKNOWN), false);
    assert.equal(m.knows(TENCENT), true);
  });

  it('serves HK broker queues and refuses them elsewhere', () => {
    const { market: m } = market();
    type Broker = { id: string; name: string; pos: number };
    const queues = call<{ brokerAskList: Broker[]; brokerBidList: Broker[] }>(m, ProtoId.Qot_GetBroker, { security: TENCENT });
    assert.ok(queues.brokerAskList.length > 0 && queues.brokerBidList.length > 0);
    assert.ok([...queues.brokerAskList, ...queues.brokerBidList].every((b) => b.pos >= 1 && b.name.length > 0 && /^\d+$/.test(b.id)));
    assertSimError(() => raw(m, ProtoId.Qot_GetBroker, { security: APPLE }), /HK/);
    assert.equal(m.pushFor(APPLE, 14), undefined);
  });

  it('snapshots include the 52-week range and equity data', () => {
    const { market: m } = market();
    type Snap = { basic: { curPrice: number; highest52WeeksPrice: number; lowest52WeeksPrice: number; lotSize: number; askPrice: number; bidPrice: number }; equityExData: { peRate: number; issuedMarketVal: number } };
    const [snap] = call<{ snapshotList: Snap[] }>(m, ProtoId.Qot_GetSecuritySnapshot, { securityList: [HSBC] }).snapshotList;
    const year = call<{ klList: { highPrice: number; lowPrice: number; time: string }[] }>(m, ProtoId.Qot_RequestHistoryKL, {
      rehabType: 0, klType: 2, security: HSBC, beginTime: '2024-03-05', endTime: '2025-03-04',
    }).klList;
    assert.equal(snap!.basic.highest52WeeksPrice, Math.max(...year.map((k) => k.highPrice)));
    assert.equal(snap!.basic.lowest52WeeksPrice, Math.min(...year.map((k) => k.lowPrice)));
    assert.equal(snap!.basic.lotSize, 400);
    assert.ok(snap!.basic.askPrice > snap!.basic.bidPrice);
    assert.ok(Math.abs(snap!.equityExData.issuedMarketVal - 17.5e9 * snap!.basic.curPrice) < 1);
    assertSimError(() => raw(m, ProtoId.Qot_GetSecuritySnapshot, { securityList: Array.from({ length: 401 }, () => TENCENT) }), /400/);
  });
});

describe('reference data', () => {
  it('gives static info by security list or by market', () => {
    const { market: m } = market();
    const hsbc = call<{ staticInfoList: StaticInfo[] }>(m, ProtoId.Qot_GetStaticInfo, { securityList: [HSBC] }).staticInfoList[0]!;
    assert.equal(hsbc.basic.lotSize, 400);
    assert.equal(hsbc.basic.name, 'HSBC Holdings');
    assert.equal(hsbc.basic.listTime, '1991-07-29');
    const us = call<{ staticInfoList: StaticInfo[] }>(m, ProtoId.Qot_GetStaticInfo, { market: 11, secType: 3 }).staticInfoList;
    assert.deepEqual(us.map((s) => s.basic.security.code).sort(), ['AAPL', 'AMD', 'AMZN', 'GOOG', 'JPM', 'KO', 'META', 'MSFT', 'NVDA', 'TSLA', 'XOM']);
    assert.ok(us.every((s) => s.basic.lotSize === 1));
    const etfs = call<{ staticInfoList: StaticInfo[] }>(m, ProtoId.Qot_GetStaticInfo, { market: 11, secType: 4 }).staticInfoList;
    assert.deepEqual(etfs.map((s) => s.basic.security.code).sort(), ['QQQ', 'SPY']);
    assert.deepEqual(call<{ staticInfoList: StaticInfo[] }>(m, ProtoId.Qot_GetStaticInfo, { market: 11, secType: 5 }).staticInfoList, []);
    const tencent = call<{ staticInfoList: StaticInfo[] }>(m, ProtoId.Qot_GetStaticInfo, { securityList: [TENCENT, MOUTAI] }).staticInfoList;
    assert.deepEqual(tencent.map((s) => [s.basic.name, s.basic.lotSize, s.basic.listTime]), [['Tencent Holdings', 100, '2004-06-16'], ['Kweichow Moutai', 100, '2001-08-27']]);
  });

  it('lists plates per market and set type, with constituents', () => {
    const { market: m } = market();
    type PlateS2C = { plateInfoList: { plate: { market: number; code: string }; name: string }[] };
    const hkIndustry = call<PlateS2C>(m, ProtoId.Qot_GetPlateSet, { market: 1, plateSetType: 1 }).plateInfoList;
    assert.ok(hkIndustry.some((p) => p.plate.code === 'LIST1059' && p.name === 'Internet Services'));
    assert.ok(hkIndustry.every((p) => p.plate.market === 1));
    assert.deepEqual(call<PlateS2C>(m, ProtoId.Qot_GetPlateSet, { market: 1, plateSetType: 2 }).plateInfoList, []);
    assert.ok(call<PlateS2C>(m, ProtoId.Qot_GetPlateSet, { market: 22, plateSetType: 1 }).plateInfoList.some((p) => p.name === 'Liquor'));
    assert.ok(call<PlateS2C>(m, ProtoId.Qot_GetPlateSet, { market: 11, plateSetType: 0 }).plateInfoList.some((p) => p.name === 'Semiconductors'));
    assertSimError(() => raw(m, ProtoId.Qot_GetPlateSet, { market: 1, plateSetType: 4 }), /plateSetType/);

    const members = (c2s: Message): string[] =>
      call<{ staticInfoList: StaticInfo[] }>(m, ProtoId.Qot_GetPlateSecurity, c2s).staticInfoList.map((s) => s.basic.security.code);
    assert.deepEqual(members({ plate: { market: 1, code: 'BK1910' } }), ['00700', '03690', '09988']);
    const byPrice = members({ plate: { market: 11, code: 'BK2994' }, sortField: 2, ascend: false });
    const prices = byPrice.map((code) => basic(m, { market: 11, code }).curPrice);
    assert.deepEqual(prices, [...prices].sort((a, b) => b - a));
    assertSimError(() => raw(m, ProtoId.Qot_GetPlateSecurity, { plate: { market: 1, code: 'BK0000' } }), /Unknown plate HK\.BK0000/);
  });
});

describe('market states', () => {
  const states = (at: number): Record<string, number> => market(42, at).market.marketStates();

  it('follows each market\'s local trading hours', () => {
    assert.deepEqual(states(HK_MORNING), { marketHK: 3, marketUS: 11, marketSH: 3, marketSZ: 3, marketHKFuture: 15 });
    assert.deepEqual(states(hkt(2025, 3, 4, 12, 30)), { marketHK: 4, marketUS: 11, marketSH: 4, marketSZ: 4, marketHKFuture: 16 });
    assert.equal(states(hkt(2025, 3, 4, 14)).marketSH, 5);
    assert.equal(states(hkt(2025, 3, 4, 15, 30)).marketSH, 6);
    assert.equal(states(hkt(2025, 3, 4, 16, 5)).marketHK, 19);
    assert.equal(states(et(2025, 3, 4, 10)).marketUS, 5);
    assert.equal(states(et(2025, 3, 4, 7)).marketUS, 8);
    assert.equal(states(et(2025, 3, 4, 17)).marketUS, 10);
    assert.deepEqual(states(hkt(2025, 3, 8, 20)), { marketHK: 6, marketUS: 6, marketSH: 6, marketSZ: 6, marketHKFuture: 6 });
  });

  it('answers Qot_GetMarketState per security', () => {
    const { market: m } = market();
    const { marketInfoList } = call<{ marketInfoList: { security: { code: string }; name: string; marketState: number }[] }>(m, ProtoId.Qot_GetMarketState, {
      securityList: [TENCENT, APPLE],
    });
    assert.deepEqual(marketInfoList.map((i) => [i.security.code, i.name, i.marketState]), [['00700', 'Tencent Holdings', 3], ['AAPL', 'Apple Inc.', 11]]);
  });
});
