import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProtoId } from '../../src/gateway/protoIds.js';
import { LISTINGS, listingBySymbol, SECURITY_TYPE_TRUST } from '../../src/sim/catalog.js';
import { APPLE, assertSimError, call, engines, et, HK_MORNING, HSBC, market, raw, TENCENT, UNLOCKED } from './market-fixture.js';

/** The research protos of the simulator: data that is consistent with itself and with the quotes. */

type Item = { fieldId: string; data: number };
type Report = { fiscalYear: number; financialType: number; periodText: string; itemList: Item[] };
type Statements = { structureList: { fieldId: string; displayName: string }[]; reportList: Report[]; nextKey: string };

/** Line name → value of a report. */
function lines(s: Statements, r: Report): Map<string, number> {
  const names = new Map(s.structureList.map((f) => [f.fieldId, f.displayName]));
  return new Map(r.itemList.map((i) => [names.get(i.fieldId)!, i.data]));
}

function statements(statementType: number, financialType: number, sec = APPLE, num = 50) {
  const { market: m } = market();
  return call<Statements>(m, ProtoId.Qot_GetFinancialsStatements, { security: sec, statementType, financialType, num });
}

describe('the simulated catalogue', () => {
  it('has at least 30 securities, ETFs among them, and US option underlyings', () => {
    assert.ok(LISTINGS.length >= 30, `${LISTINGS.length} securities`);
    assert.deepEqual(LISTINGS.filter((l) => l.secType === SECURITY_TYPE_TRUST).map((l) => l.symbol).sort(), ['HK.02800', 'US.QQQ', 'US.SPY']);
    const { market: m } = market();
    for (const code of ['AAPL', 'TSLA', 'NVDA', 'SPY']) {
      const dates = call<{ dateList: unknown[] }>(m, ProtoId.Qot_GetOptionExpirationDate, { owner: { market: 11, code } }).dateList;
      assert.ok(dates.length >= 4, code);
    }
    assertSimError(() => raw(m, ProtoId.Qot_GetOptionExpirationDate, { owner: TENCENT }), /No options/);
  });
});

describe('financial statements', () => {
  it('income lines add up in every period, and quarters add up to their year', () => {
    const annual = statements(1, 7);
    const quarterly = statements(1, 9);
    for (const s of [annual, quarterly]) {
      for (const r of s.reportList) {
        const l = lines(s, r);
        assert.equal(l.get('Gross profit'), l.get('Revenue')! - l.get('Cost of revenue')!, r.periodText);
        assert.equal(l.get('Operating income'), l.get('Gross profit')! - l.get('Operating expenses')!, r.periodText);
        assert.equal(l.get('Pretax income'), l.get('Operating income')! + l.get('Other income')!, r.periodText);
        assert.equal(l.get('Net income'), l.get('Pretax income')! - l.get('Income tax')!, r.periodText);
        assert.ok(l.get('Revenue')! > l.get('Net income')! && l.get('Net income')! > 0, r.periodText);
      }
    }
    for (const year of annual.reportList) {
      const quarters = quarterly.reportList.filter((q) => q.fiscalYear === year.fiscalYear);
      if (quarters.length === 0) continue;
      assert.equal(quarters.length, 4);
      for (const [name, value] of lines(annual, year)) {
        if (name === 'Diluted EPS') continue;
        assert.equal(quarters.reduce((sum, q) => sum + lines(quarterly, q).get(name)!, 0), value, `${year.periodText} ${name}`);
      }
    }
  });

  it('anchors the latest year on the snapshot: net income = EPS × shares, equity = book value × shares', () => {
    const apple = listingBySymbol('US.AAPL');
    const income = statements(1, 7);
    const latest = lines(income, income.reportList[0]!);
    assert.equal(latest.get('Net income'), Math.round(apple.earningsPerShare * apple.sharesOutstanding));
    assert.equal(latest.get('Diluted EPS'), apple.earningsPerShare);
    const balance = statements(2, 7);
    const sheet = lines(balance, balance.reportList[0]!);
    assert.equal(sheet.get("Shareholders' equity"), Math.round(apple.bookValuePerShare * apple.sharesOutstanding));
  });

  it('balance sheets balance and cash flows add up', () => {
    const balance = statements(2, 10, HSBC);
    for (const r of balance.reportList) {
      const l = lines(balance, r);
      assert.equal(l.get('Total current assets'), l.get('Cash and equivalents')! + l.get('Other current assets')!);
      assert.equal(l.get('Total assets'), l.get('Total current assets')! + l.get('Non-current assets')!);
      assert.equal(l.get('Total liabilities'), l.get('Current liabilities')! + l.get('Non-current liabilities')!);
      assert.equal(l.get('Total assets'), l.get('Total liabilities')! + l.get("Shareholders' equity")!, r.periodText);
      assert.equal(l.get('Total liabilities and equity'), l.get('Total assets'));
    }
    const cash = statements(3, 10, TENCENT);
    for (const r of cash.reportList) {
      const l = lines(cash, r);
      assert.equal(l.get('Investing cash flow'), l.get('Capital expenditure')! + l.get('Other investing')!);
      assert.equal(l.get('Net change in cash'), l.get('Operating cash flow')! + l.get('Investing cash flow')! + l.get('Financing cash flow')!);
      assert.equal(l.get('Free cash flow'), l.get('Operating cash flow')! + l.get('Capital expenditure')!);
    }
  });

  it('pages with nextKey until "-1"', () => {
    const { market: m } = market();
    const first = call<Statements>(m, ProtoId.Qot_GetFinancialsStatements, { security: APPLE, statementType: 1, financialType: 7, num: 3 });
    assert.deepEqual(first.reportList.map((r) => r.fiscalYear), [2024, 2023, 2022], 'FY2024 is out two months after the year end');
    const rest = call<Statements>(m, ProtoId.Qot_GetFinancialsStatements, { security: APPLE, statementType: 1, financialType: 7, num: 3, nextKey: first.nextKey });
    assert.deepEqual(rest.reportList.map((r) => r.fiscalYear), [2021, 2020]);
    assert.equal(rest.nextKey, '-1');
  });
});

describe('valuation', () => {
  it('is price over the per-share figures, with a percentile of its own history', () => {
    const { market: m } = market();
    const apple = listingBySymbol('US.AAPL');
    type Trend = { currentValue: number; averageValue: number; valuationPercentile: number; historicalItems: { value: number; timeStr: string }[] };
    const snap = call<{ snapshotList: { basic: { curPrice: number }; equityExData: { peTTMRate: number; pbRate: number } }[] }>(m, ProtoId.Qot_GetSecuritySnapshot, { securityList: [APPLE] }).snapshotList[0]!;
    const pe = call<{ trend: Trend }>(m, ProtoId.Qot_GetValuationDetail, { security: APPLE, valuationType: 1, intervalType: 3 }).trend;
    assert.equal(pe.currentValue, snap.equityExData.peTTMRate);
    assert.ok(Math.abs(pe.currentValue - snap.basic.curPrice / apple.earningsPerShare) < 0.001);
    const pb = call<{ trend: Trend }>(m, ProtoId.Qot_GetValuationDetail, { security: APPLE, valuationType: 2, intervalType: 3 }).trend;
    assert.equal(pb.currentValue, snap.equityExData.pbRate);
    assert.equal(pe.historicalItems.length, 12);
    const below = pe.historicalItems.filter((h) => h.value <= pe.currentValue).length;
    assert.ok(Math.abs(pe.valuationPercentile - (below / 12) * 100) < 0.01);
    const mean = pe.historicalItems.reduce((a, h) => a + h.value, 0) / 12;
    assert.ok(Math.abs(pe.averageValue - mean) < 0.01);
  });
});

describe('options', () => {
  type Greeks = { delta: number; gamma: number; vega: number; theta: number; impliedVolatility: number; strikePrice: number; type: number; openInterest: number };
  type Snap = { basic: { curPrice: number; security: { code: string } }; optionExData: Greeks };

  it('lists a chain around the spot whose Black-Scholes greeks are sane, and put-call parity holds', () => {
    const at = et(2025, 3, 4, 11);
    const { market: m } = market(42, at);
    const spot = m.quoteOf(APPLE).price;
    const dates = call<{ dateList: { strikeTime: string; optionExpiryDateDistance: number; cycle: number }[] }>(m, ProtoId.Qot_GetOptionExpirationDate, { owner: APPLE }).dateList;
    assert.deepEqual(dates.slice(0, 2).map((d) => [d.strikeTime, d.optionExpiryDateDistance]), [['2025-03-07', 3], ['2025-03-14', 10]], 'weekly Fridays');
    // The first monthly expiry (third Friday of April), far enough out that no delta rounds to 0 or 1.
    const expiry = dates.find((d) => d.cycle === 2)!;
    assert.equal(expiry.strikeTime, '2025-04-18');
    type Chain = { optionChain: { strikeTime: string; option: { call: { basic: { security: { market: number; code: string } } }; put: { basic: { security: { market: number; code: string } } } }[] }[] };
    const chain = call<Chain>(m, ProtoId.Qot_GetOptionChain, { owner: APPLE, beginTime: expiry.strikeTime, endTime: expiry.strikeTime }).optionChain;
    assert.equal(chain.length, 1);
    const items = chain[0]!.option;
    assert.equal(items.length, 21);
    const codes = items.flatMap((i) => [i.call.basic.security, i.put.basic.security]);
    const snaps = call<{ snapshotList: Snap[] }>(m, ProtoId.Qot_GetSecuritySnapshot, { securityList: codes }).snapshotList;
    const strikes = [...new Set(snaps.map((s) => s.optionExData.strikePrice))];
    assert.ok(Math.min(...strikes) < spot && Math.max(...strikes) > spot, 'strikes straddle the spot');
    let previousCallDelta = 1;
    for (const s of snaps) {
      const g = s.optionExData;
      if (g.type === 1) {
        assert.ok(g.delta > 0 && g.delta < 1, `call delta ${g.delta}`);
        assert.ok(g.delta <= previousCallDelta, 'call delta falls as the strike rises');
        previousCallDelta = g.delta;
      } else {
        assert.ok(g.delta > -1 && g.delta < 0, `put delta ${g.delta}`);
      }
      // Without dividends a call always loses value with time; a deep in-the-money European put may gain.
      assert.ok(g.gamma >= 0 && g.vega >= 0 && (g.type === 2 || g.theta < 0), s.basic.security.code);
      assert.ok(g.impliedVolatility > 5 && g.impliedVolatility < 200);
    }
    // Near the money both prices are well above a cent: C - P = S - K e^{-rT}.
    const atm = strikes.reduce((best, k) => (Math.abs(k - spot) < Math.abs(best - spot) ? k : best));
    const callPx = snaps.find((s) => s.optionExData.type === 1 && s.optionExData.strikePrice === atm)!.basic.curPrice;
    const putPx = snaps.find((s) => s.optionExData.type === 2 && s.optionExData.strikePrice === atm)!.basic.curPrice;
    const years = (Date.UTC(2025, 3, 18, 21) - at) / (365 * 86_400_000);
    assert.ok(Math.abs(callPx - putPx - (spot - atm * Math.exp(-0.04 * years))) < 0.05, `parity at ${atm}`);
  });

  it('refuses a chain longer than 30 days and codes it does not list', () => {
    const { market: m } = market();
    assertSimError(() => raw(m, ProtoId.Qot_GetOptionChain, { owner: APPLE, beginTime: '2025-03-01', endTime: '2025-04-15' }), /30 days/);
    assertSimError(() => raw(m, ProtoId.Qot_GetSecuritySnapshot, { securityList: [{ market: 11, code: 'ZZZZ250307C100000' }] }), /Unknown stock/);
  });
});

describe('capital flow', () => {
  it('intraday flow is the running net of the day\'s ticks, and matches the distribution by order size', () => {
    const { market: m } = market();
    const flow = call<{ flowItemList: { inFlow: number; time: string }[] }>(m, ProtoId.Qot_GetCapitalFlow, { security: TENCENT, periodType: 1 }).flowItemList;
    const q = m.quoteOf(TENCENT);
    assert.equal(flow.length, q.progress.fullMinutes + (q.progress.partial ? 1 : 0));
    const ticks = m.ticksBetween(TENCENT, 0, HK_MORNING).filter((t) => t.utcMs >= Date.UTC(2025, 2, 4, 1, 30));
    const net = ticks.reduce((sum, t) => sum + (t.dir === 1 ? t.turnover : -t.turnover), 0);
    assert.ok(Math.abs(flow.at(-1)!.inFlow - net) < 1, `${flow.at(-1)!.inFlow} vs ${net}`);
    type Dist = Record<string, number>;
    const d = call<Dist>(m, ProtoId.Qot_GetCapitalDistribution, { security: TENCENT });
    const inflow = d.capitalInSuper! + d.capitalInBig! + d.capitalInMid! + d.capitalInSmall!;
    const outflow = d.capitalOutSuper! + d.capitalOutBig! + d.capitalOutMid! + d.capitalOutSmall!;
    assert.ok(Math.abs(inflow - outflow - net) < 1);
    assert.ok(Math.abs(inflow + outflow - q.today.turnover) < 1, 'every trade of the day is counted once');
  });

  it('daily flow splits each day\'s net by order size', () => {
    const { market: m } = market();
    type Day = { inFlow: number; mainInFlow: number; superInFlow: number; bigInFlow: number; midInFlow: number; smlInFlow: number; time: string };
    const days = call<{ flowItemList: Day[] }>(m, ProtoId.Qot_GetCapitalFlow, { security: TENCENT, periodType: 2, beginTime: '2025-02-24', endTime: '2025-03-04' }).flowItemList;
    assert.deepEqual(days.map((d) => d.time), ['2025-02-24', '2025-02-25', '2025-02-26', '2025-02-27', '2025-02-28', '2025-03-03', '2025-03-04']);
    for (const d of days) {
      assert.ok(Math.abs(d.mainInFlow - d.superInFlow - d.bigInFlow) < 0.01);
      assert.ok(Math.abs(d.inFlow - d.mainInFlow - d.midInFlow - d.smlInFlow) < 0.01);
    }
  });
});

describe('screener', () => {
  type Row = { security: { market: number; code: string }; baseDataList: { fieldName: number; value: number }[] };
  const screen = (c2s: Record<string, unknown>) => call<{ allCount: number; lastPage: boolean; dataList: Row[] }>(market().market, ProtoId.Qot_StockFilter, { begin: 0, num: 200, ...c2s });

  it('keeps exactly the securities inside every range, sorted as asked', () => {
    const { market: m } = market();
    const pe = (code: string, mk: number): number => m.quoteOf({ market: mk, code }).price / LISTINGS.find((l) => l.security.code === code && l.security.market === mk)!.earningsPerShare;
    const all = screen({ market: 11, baseFilterList: [{ fieldName: 13, isNoFilter: true }] });
    assert.equal(all.allCount, LISTINGS.filter((l) => l.market === 'US').length);
    const cheap = screen({ market: 11, baseFilterList: [{ fieldName: 13, filterMax: 25, isNoFilter: false, sortDir: 1 }] });
    const expected = LISTINGS.filter((l) => l.market === 'US' && pe(l.security.code, 11) <= 25).map((l) => l.security.code).sort();
    assert.ok(expected.length > 0 && expected.length < all.allCount, 'the range splits the market');
    assert.deepEqual(cheap.dataList.map((r) => r.security.code).sort(), expected);
    const values = cheap.dataList.map((r) => r.baseDataList[0]!.value);
    assert.deepEqual(values, [...values].sort((a, b) => a - b));
    assert.ok(values.every((v) => v <= 25));
  });

  it('combines ranges, pages, screens a plate, and treats SH and SZ as one A-share market', () => {
    const both = screen({ market: 1, baseFilterList: [{ fieldName: 3, filterMin: 50, isNoFilter: false }, { fieldName: 11, filterMin: 1e12, isNoFilter: false }] });
    assert.ok(both.dataList.every((r) => r.baseDataList[0]!.value >= 50 && r.baseDataList[1]!.value >= 1e12));
    const paged = call<{ allCount: number; lastPage: boolean; dataList: Row[] }>(market().market, ProtoId.Qot_StockFilter, { begin: 2, num: 2, market: 1 });
    assert.equal(paged.dataList.length, 2);
    assert.equal(paged.lastPage, false);
    const plate = screen({ market: 1, plate: { market: 1, code: 'BK1910' } });
    assert.deepEqual(plate.dataList.map((r) => r.security.code).sort(), ['00700', '03690', '09988']);
    const cn = screen({ market: 22 });
    assert.deepEqual(new Set(cn.dataList.map((r) => r.security.market)), new Set([21, 22]));
  });
});

describe('watchlists, search, news, dividends and calendars', () => {
  it('serves the user\'s groups and their securities', () => {
    const { market: m } = market();
    const groups = call<{ groupList: { groupName: string; groupType: number }[] }>(m, ProtoId.Qot_GetUserSecurityGroup, { groupType: 1 }).groupList;
    assert.deepEqual(groups.map((g) => g.groupName), ['Tech', 'Dividends']);
    const tech = call<{ staticInfoList: { basic: { security: { code: string } } }[] }>(m, ProtoId.Qot_GetUserSecurity, { groupName: 'Tech' }).staticInfoList;
    assert.ok(tech.some((s) => s.basic.security.code === '00700'));
    assertSimError(() => raw(m, ProtoId.Qot_GetUserSecurity, { groupName: 'Nope' }), /Unknown group/);
  });

  it('finds securities by code, English or Chinese name', () => {
    const { market: m } = market();
    const find = (keyword: string) => call<{ search_quote_list: { code: string }[] }>(m, ProtoId.Qot_GetSearchQuote, { keyword }).search_quote_list.map((s) => s.code);
    assert.deepEqual(find('腾讯'), ['00700']);
    assert.deepEqual(find('700'), ['00700']);
    assert.ok(find('bank').includes('000001'));
  });

  it('dates news, dividends and trading days on the simulator clock', () => {
    const { market: m } = market();
    type News = { publish_time: string; related_securities: string[] };
    const news = call<{ search_news_list: News[] }>(m, ProtoId.Qot_GetSearchNews, { keyword: 'Tencent' }).search_news_list;
    assert.ok(news.length > 0 && news.every((n) => Number(n.publish_time) * 1000 <= HK_MORNING + 86_400_000 && n.related_securities.includes('00700.HK')));
    const dividends = call<{ dividendList: { pubDate: string; statement: string }[] }>(m, ProtoId.Qot_GetCorporateActionsDividends, { security: TENCENT }).dividendList;
    assert.equal(dividends[0]!.pubDate, '2025/02/15');
    assert.match(dividends[0]!.statement, /^Final dividend HKD 2\.7000 per share$/);
    const days = call<{ tradeDateList: { time: string }[] }>(m, ProtoId.Qot_RequestTradeDate, { market: 1, beginTime: '2025-03-01', endTime: '2025-03-09' }).tradeDateList;
    assert.deepEqual(days.map((d) => d.time), ['2025-03-03', '2025-03-04', '2025-03-05', '2025-03-06', '2025-03-07']);
  });
});

describe('account estimates', () => {
  it('max quantities follow cash, buying power and the position, in whole lots', () => {
    const { trading } = engines();
    type Acc = { trdEnv: number; accID: string; trdMarketAuthList: number[] };
    const acc = call<{ accList: Acc[] }>(trading, ProtoId.Trd_GetAccList, { userID: '0' }).accList.find((a) => a.trdEnv === 1 && a.trdMarketAuthList[0] === 1)!;
    const header = { trdEnv: 1, accID: acc.accID, trdMarket: 1 };
    type Max = { maxTrdQtys: { maxCashBuy: number; maxCashAndMarginBuy: number; maxPositionSell: number; maxSellShort: number } };
    const max = call<Max>(trading, ProtoId.Trd_GetMaxTrdQtys, { header, orderType: 1, code: '00700', secMarket: 1, price: 400 }).maxTrdQtys;
    assert.equal(max.maxCashBuy, 1200, 'HKD 500,000 buys 12 lots of 100 at 400');
    assert.ok(max.maxCashAndMarginBuy > max.maxCashBuy && max.maxCashAndMarginBuy % 100 === 0);
    assert.equal(max.maxPositionSell, 1000, 'the seeded position');
    assert.equal(max.maxSellShort, 0, 'no short selling in HK');
    // An open buy holds cash: 300 shares at 399 leave 500,000 - 119,700 for cash buys.
    call(trading, ProtoId.Trd_PlaceOrder, { packetID: { connID: '1', serialNo: 1 }, header, trdSide: 1, orderType: 1, code: '00700', secMarket: 1, qty: 300, price: 300 }, UNLOCKED);
    const after = call<Max>(trading, ProtoId.Trd_GetMaxTrdQtys, { header, orderType: 1, code: '00700', secMarket: 1, price: 400 }).maxTrdQtys;
    assert.equal(after.maxCashBuy, 1000);
    assertSimError(() => raw(trading, ProtoId.Trd_GetMaxTrdQtys, { header, orderType: 1, code: 'AAPL', secMarket: 2, price: 200 }), /cannot trade/);
  });

  it('order fees itemize a filled order and charge nothing unfilled', () => {
    const { trading } = engines();
    type Acc = { trdEnv: number; accID: string; trdMarketAuthList: number[] };
    const acc = call<{ accList: Acc[] }>(trading, ProtoId.Trd_GetAccList, { userID: '0' }).accList.find((a) => a.trdEnv === 1 && a.trdMarketAuthList[0] === 1)!;
    const header = { trdEnv: 1, accID: acc.accID, trdMarket: 1 };
    type Order = { orderIDEx: string; fillQty: number; fillAvgPrice: number; orderStatus: number };
    const orders = call<{ orderList: Order[] }>(trading, ProtoId.Trd_GetHistoryOrderList, { header, filterConditions: { beginTime: '2024-12-10 00:00:00', endTime: '2025-03-04 00:00:00' } }).orderList;
    const filled = orders.find((o) => o.fillQty > 0)!;
    const unfilled = orders.find((o) => o.fillQty === 0)!;
    type Fee = { orderIDEx: string; feeAmount: number; feeList: { title: string; value: number }[] };
    const fees = call<{ orderFeeList: Fee[] }>(trading, ProtoId.Trd_GetOrderFee, { header, orderIdExList: [filled.orderIDEx, unfilled.orderIDEx] }).orderFeeList;
    const [f, u] = fees;
    assert.equal(f!.orderIDEx, filled.orderIDEx);
    assert.ok(Math.abs(f!.feeAmount - f!.feeList.reduce((s, i) => s + i.value, 0)) < 0.005, 'the total is the sum of the items');
    assert.ok(f!.feeList.some((i) => i.title === 'Stamp duty' && i.value === Math.ceil(filled.fillQty * filled.fillAvgPrice * 0.001)));
    assert.deepEqual([u!.feeAmount, u!.feeList], [0, []]);
  });
});

describe('determinism', () => {
  it('answers the same for the same seed and clock', () => {
    const a = raw(market().market, ProtoId.Qot_GetResearchAnalystConsensus, { security: APPLE });
    const b = raw(market().market, ProtoId.Qot_GetResearchAnalystConsensus, { security: APPLE });
    assert.deepEqual(a, b);
    const c = raw(market(7).market, ProtoId.Qot_GetResearchAnalystConsensus, { security: APPLE });
    assert.notDeepEqual(a, c);
    const d = a as { buy: number; hold: number; sell: number };
    assert.equal(d.buy + d.hold + d.sell, 100);
  });
});
