/**
 * The official Python SDK against the simulator, for the research calls of issue 18: each request
 * is packed the way futu-api's pack_req packs it, sent over TCP by a raw protobuf client, and the
 * answer is checked for every field the SDK's unpack reads (Python protobuf would not fail on a
 * missing optional field, it would silently read 0 or "": so each one is asserted present).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProtoId } from '../../src/gateway/protoIds.js';
import { testClient, testSimulator } from '../helpers/rawClient.js';

/** Tuesday 2026-12-01 10:30 in New York (simulated UTC-5): every market has a session behind it. */
const NOW = Date.UTC(2026, 11, 1, 15, 30);
type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function has(obj: Any, fields: readonly string[], what: string): void {
  for (const f of fields) assert.ok(obj[f] !== undefined && obj[f] !== null, `${what}.${f} is read by the SDK and must be sent`);
}

async function client(t: Parameters<typeof testSimulator>[0] & { after: (fn: () => void) => void }) {
  const h = await testSimulator(t, { now: () => NOW });
  return testClient(t, h.port);
}

test('get_market_state: marketInfoList security, name and marketState', async (t) => {
  const c = await client(t);
  const s2c = await c.call<Any>(ProtoId.Qot_GetMarketState, { securityList: [{ market: 1, code: '00700' }, { market: 11, code: 'AAPL' }] });
  assert.equal(s2c.marketInfoList.length, 2);
  for (const info of s2c.marketInfoList) has(info, ['security', 'name', 'marketState'], 'marketInfo');
  assert.deepEqual(s2c.marketInfoList.map((i: Any) => i.marketState), [6, 5], 'HK closed at 23:30 HKT, US in regular hours');
});

test('get_capital_flow: intraday and daily items with every size class the SDK reads', async (t) => {
  const c = await client(t);
  const intraday = await c.call<Any>(ProtoId.Qot_GetCapitalFlow, { security: { market: 11, code: 'AAPL' }, periodType: 1 });
  assert.equal(intraday.flowItemList.length, 61, 'one item per minute since the 09:30 open: 60 complete and the one under way');
  for (const item of intraday.flowItemList) has(item, ['inFlow', 'time', 'timestamp'], 'flowItem');
  has(intraday, ['lastValidTime', 'lastValidTimestamp'], 's2c');
  const daily = await c.call<Any>(ProtoId.Qot_GetCapitalFlow, { security: { market: 1, code: '00700' }, periodType: 2, beginTime: '2026-11-23', endTime: '2026-11-27' });
  assert.equal(daily.flowItemList.length, 5);
  for (const item of daily.flowItemList) has(item, ['inFlow', 'time', 'timestamp', 'mainInFlow', 'superInFlow', 'bigInFlow', 'midInFlow', 'smlInFlow'], 'flowItem');
});

test('get_option_chain: call and put static info with the option fields the SDK tabulates', async (t) => {
  const c = await client(t);
  // The SDK sends a 30-day window by default (start = today, end = today + 30).
  const s2c = await c.call<Any>(ProtoId.Qot_GetOptionChain, { owner: { market: 11, code: 'AAPL' }, beginTime: '2026-12-01', endTime: '2026-12-31', type: 0, condition: 0 });
  assert.deepEqual(s2c.optionChain.map((ch: Any) => ch.strikeTime), ['2026-12-04', '2026-12-11', '2026-12-18', '2026-12-25'], 'the weekly expiries of the window');
  for (const chain of s2c.optionChain) {
    has(chain, ['strikeTime', 'strikeTimestamp'], 'optionChain');
    for (const item of chain.option) {
      for (const side of [item.call, item.put]) {
        has(side.basic, ['security', 'id', 'lotSize', 'secType', 'name', 'listTime', 'exchType'], 'basic');
        has(side.optionExData, ['type', 'owner', 'strikeTime', 'strikePrice', 'suspend', 'market', 'strikeTimestamp', 'expirationCycle'], 'optionExData');
        assert.equal(side.basic.secType, 8);
        assert.deepEqual(side.optionExData.owner, { market: 11, code: 'AAPL' });
      }
    }
  }
  const putsOnly = await c.call<Any>(ProtoId.Qot_GetOptionChain, { owner: { market: 11, code: 'AAPL' }, beginTime: '2026-12-01', endTime: '2026-12-05', type: 2 });
  assert.ok(putsOnly.optionChain[0].option.every((i: Any) => i.call === undefined && i.put.optionExData.type === 2));
});

test('get_stock_filter: lastPage, allCount and each stock\'s requested data', async (t) => {
  const c = await client(t);
  const s2c = await c.call<Any>(ProtoId.Qot_StockFilter, {
    begin: 0,
    num: 200,
    market: 11,
    baseFilterList: [{ fieldName: 3, filterMin: 100, filterMax: 1000, isNoFilter: false, sortDir: 2 }],
    accumulateFilterList: [{ fieldName: 1, days: 5, isNoFilter: true }],
  });
  has(s2c, ['lastPage', 'allCount'], 's2c');
  assert.equal(s2c.lastPage, true);
  assert.equal(s2c.dataList.length, s2c.allCount);
  for (const stock of s2c.dataList) {
    has(stock, ['security', 'name'], 'stock');
    assert.equal(stock.baseDataList[0].fieldName, 3);
    assert.ok(stock.baseDataList[0].value >= 100 && stock.baseDataList[0].value <= 1000);
    has(stock.accumulateDataList[0], ['fieldName', 'value', 'days'], 'accumulateData');
  }
  const prices = s2c.dataList.map((s: Any) => s.baseDataList[0].value);
  assert.deepEqual(prices, [...prices].sort((a: number, b: number) => b - a));
});

test('get_user_security: the group\'s static info', async (t) => {
  const c = await client(t);
  const groups = await c.call<Any>(ProtoId.Qot_GetUserSecurityGroup, { groupType: 3 });
  for (const g of groups.groupList) has(g, ['groupName', 'groupType'], 'group');
  const s2c = await c.call<Any>(ProtoId.Qot_GetUserSecurity, { groupName: 'Dividends' });
  assert.ok(s2c.staticInfoList.length > 0);
  for (const info of s2c.staticInfoList) has(info.basic, ['security', 'id', 'lotSize', 'secType', 'name', 'listTime', 'delisting', 'listTimestamp', 'exchType'], 'basic');
  const failure = await c.request(ProtoId.Qot_GetUserSecurity, { groupName: 'no such group' });
  assert.notEqual(failure.retType, 0);
});

test('acctradinginfo_query: maxTrdQtys of the account in its header', async (t) => {
  const c = await client(t);
  const accounts = await c.call<Any>(ProtoId.Trd_GetAccList, { userID: 0, needGeneralSecAccount: true });
  const us = accounts.accList.find((a: Any) => a.trdEnv === 0 && a.trdMarketAuthList.includes(2));
  const header = { trdEnv: 0, accID: us.accID, trdMarket: 2 };
  const s2c = await c.call<Any>(ProtoId.Trd_GetMaxTrdQtys, { header, orderType: 1, code: 'MSFT', price: 400, adjustPrice: false, adjustSideAndLimit: 0, secMarket: 2 });
  assert.deepEqual(s2c.header, header);
  has(s2c.maxTrdQtys, ['maxCashBuy', 'maxCashAndMarginBuy', 'maxPositionSell', 'maxSellShort', 'maxBuyBack'], 'maxTrdQtys');
  assert.equal(s2c.maxTrdQtys.maxPositionSell, 20, 'the seeded MSFT position');
  assert.equal(s2c.maxTrdQtys.maxCashBuy, 2500, 'USD 1,000,000 of cash at 400');
  assert.ok(s2c.maxTrdQtys.maxCashAndMarginBuy > s2c.maxTrdQtys.maxCashBuy && s2c.maxTrdQtys.maxSellShort > 0);
});
