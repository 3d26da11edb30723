import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { z } from 'zod';
import { Authorizer } from '../../src/authz/authorizer.js';
import { AuthzEngine } from '../../src/authz/engine.js';
import { LimitsLedger } from '../../src/authz/ledger.js';
import { defaultPolicyPaths } from '../../src/authz/policySet.js';
import type { CallTarget, NonTradeAction } from '../../src/authz/builder.js';
import { AccountDirectory } from '../../src/gateway/accounts.js';
import type { Account, AccountRef } from '../../src/gateway/types.js';
import { NO_LIMITS, type KeyRecord } from '../../src/keys/types.js';
import { cancelOrder } from '../../src/mcp/tools/cancel_order.js';
import { getBroker } from '../../src/mcp/tools/get_broker.js';
import { getDeals } from '../../src/mcp/tools/get_deals.js';
import { getFunds } from '../../src/mcp/tools/get_funds.js';
import { getHistoryDeals } from '../../src/mcp/tools/get_history_deals.js';
import { getHistoryOrders } from '../../src/mcp/tools/get_history_orders.js';
import { getKline } from '../../src/mcp/tools/get_kline.js';
import { getOrderbook } from '../../src/mcp/tools/get_orderbook.js';
import { getOrders } from '../../src/mcp/tools/get_orders.js';
import { getPositions } from '../../src/mcp/tools/get_positions.js';
import { getQuote } from '../../src/mcp/tools/get_quote.js';
import { getRt } from '../../src/mcp/tools/get_rt.js';
import { getSnapshot } from '../../src/mcp/tools/get_snapshot.js';
import { getStatic } from '../../src/mcp/tools/get_static.js';
import { getTicker } from '../../src/mcp/tools/get_ticker.js';
import type { AuthzPlan, FutuTool, ToolContext } from '../../src/mcp/tools/kit.js';
import { listAccounts } from '../../src/mcp/tools/list_accounts.js';
import { listPlates } from '../../src/mcp/tools/list_plates.js';
import { modifyOrder } from '../../src/mcp/tools/modify_order.js';
import { ping } from '../../src/mcp/tools/ping.js';
import { placeOrder } from '../../src/mcp/tools/place_order.js';
import { plateStocks } from '../../src/mcp/tools/plate_stocks.js';
import { unlockTrade } from '../../src/mcp/tools/unlock_trade.js';
import { clockFrom, HK_TRADING_HOURS, startRig, TRADE_PWD_MD5, type Rig } from '../gateway/setup.js';

/** Every tool, run the way the pipeline runs it, against a simulated OpenD over a real FutuGateway. */

const API_KEY = 'fc_per_call_key_that_must_never_be_echoed';

let rig: Rig;
let ctx: ToolContext;
let accounts: Account[];

function contextFor(overrides: Partial<ToolContext> = {}): ToolContext {
  return {
    gateway: rig.gateway,
    accounts: new AccountDirectory(rig.gateway),
    signal: new AbortController().signal,
    keyId: 'test-key',
    tradePasswordMd5: async () => TRADE_PWD_MD5,
    accountAllowed: () => true,
    // As the pipeline gives a new order's execute: the tag its remark carries.
    orderTag: 'fmcp:test0000:0123456789abcdef0123456789abcdef',
    ...overrides,
  };
}

const json = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

/** parse → authz → execute → output parse, with the checks every call must pass. */
async function call<I extends z.ZodObject, O extends z.ZodObject>(tool: FutuTool<I, O>, raw: z.input<I>, context: ToolContext = ctx) {
  const args = tool.input.parse(raw);
  const plan = await tool.authz(args, context);
  // As the pipeline does: execute acts on the plan that was authorized.
  const returned = await tool.execute(args, { ...context, authorized: plan });
  const result = tool.output.parse(returned) as z.output<O>;
  assert.deepEqual(json(result), json(returned), `${tool.name}: its output schema drops fields execute returns`);
  const summary = tool.summarize?.(result) ?? '';
  assert.ok(summary.length > 0 && !summary.includes('\n'), `${tool.name} summary must be one line: ${JSON.stringify(summary)}`);
  const text = tool.render?.(result) ?? JSON.stringify(result);
  return { plan, result, summary, text };
}

function callTarget(plan: AuthzPlan, action: NonTradeAction): CallTarget {
  assert.equal(plan.kind, 'call');
  assert.ok(plan.kind === 'call');
  assert.equal(plan.action, action);
  return plan.target;
}

function tradePlan(plan: AuthzPlan) {
  assert.ok(plan.kind === 'trade', `expected a trade plan, got ${plan.kind}`);
  return plan;
}

function refOf(env: 'simulate' | 'real', market: 'HK' | 'US' | 'CN'): AccountRef {
  const found = accounts.find((a) => a.env === env && a.trdMarkets.includes(market));
  assert.ok(found, `a ${env} ${market} account`);
  return { accId: found.accId, env, trdMarket: market };
}

/** OpenD spaces order writes on one account (modify: 40 ms); this keeps the tests inside that rule. */
const pace = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 60));

async function lastPrice(symbol: string): Promise<number> {
  const [quote] = await rig.gateway.getBasicQuotes([symbol]);
  assert.ok(quote);
  return quote.price;
}

/** A price on HK.00700's 0.2 tick, `factor` times the last price: below it, a buy rests. */
const hkPrice = (last: number, factor: number): number => Math.round(last * factor * 5) / 5;

const runningClock = clockFrom(HK_TRADING_HOURS);
/** Set while a test compares two reads of the current minute: the simulated clock stands still. */
let pinnedAt: number | undefined;

before(async () => {
  rig = await startRig(undefined, { sim: { now: () => pinnedAt ?? runningClock() } });
  ctx = contextFor();
  accounts = await rig.gateway.getAccounts();
});
after(() => rig.close());

describe('quote tools', () => {
  it('futu_ping reports the round trip and the login state', async () => {
    const { plan, result } = await call(ping, {});
    assert.equal(plan.kind, 'call');
    assert.ok(result.rtt_ms >= 0);
    assert.equal(result.quote_logged_in, true);
    assert.equal(result.trade_logged_in, true);
    assert.ok(result.opend_version > 0);
  });

  it('futu_get_quote authorizes every symbol and derives change and change_rate from the previous close', async () => {
    const { plan, result, summary } = await call(getQuote, { symbols: ['HK.00700', 'US.AAPL'] });
    assert.deepEqual(callTarget(plan, 'futu_get_quote').symbols, ['HK.00700', 'US.AAPL']);
    assert.deepEqual(result.quotes.map((q) => [q.symbol, q.currency]).sort(), [['HK.00700', 'HKD'], ['US.AAPL', 'USD']]);
    for (const q of result.quotes) {
      assert.ok(q.price > 0 && q.last_close > 0 && q.low <= q.high);
      assert.ok(q.change !== undefined && Math.abs(q.change - (q.price - q.last_close)) < 1e-4, `${q.symbol} change ${q.change}`);
      const percent = ((q.price - q.last_close) / q.last_close) * 100;
      assert.ok(q.change_rate !== undefined && Math.abs(q.change_rate - percent) <= 0.005 + 1e-9, `${q.symbol} change_rate ${q.change_rate} vs ${percent}`);
      assert.equal(q.change_rate, Number(q.change_rate.toFixed(2)));
    }
    assert.match(summary, /^HK\.00700 Tencent Holdings \d+\.\d{2,4} HKD \([+-]\d+\.\d{2}%\); US\.AAPL Apple Inc\. \d+\.\d{2,4} USD \([+-]\d+\.\d{2}%\)$/);
  });

  it('futu_get_quote takes a single symbol too', async () => {
    const { plan, result } = await call(getQuote, { symbol: 'SH.600519' });
    assert.deepEqual(callTarget(plan, 'futu_get_quote').symbols, ['SH.600519']);
    assert.deepEqual(result.quotes.map((q) => [q.symbol, q.currency]), [['SH.600519', 'CNY']]);
  });

  it('futu_get_snapshot adds lot size, bid/ask and valuation', async () => {
    const { plan, result } = await call(getSnapshot, { symbols: ['HK.00700', 'HK.00005'] });
    assert.deepEqual(callTarget(plan, 'futu_get_snapshot').symbols, ['HK.00700', 'HK.00005']);
    const bySymbol = new Map(result.snapshots.map((s) => [s.symbol, s]));
    assert.equal(bySymbol.get('HK.00700')?.lot_size, 100);
    assert.equal(bySymbol.get('HK.00005')?.lot_size, 400);
    for (const s of result.snapshots) {
      assert.equal(s.sec_type, 'STOCK');
      assert.ok(s.market_cap !== undefined && s.market_cap > 0, `${s.symbol} market cap`);
      assert.ok(s.bid_price !== undefined && s.ask_price !== undefined && s.bid_price < s.ask_price, `${s.symbol} bid < ask`);
      assert.ok(s.change_rate !== undefined);
    }
  });

  it('futu_get_kline returns the latest bars, oldest first, with a friendly period name', async () => {
    const { plan, result } = await call(getKline, { symbol: 'HK.00700', num: 20 });
    assert.deepEqual(callTarget(plan, 'futu_get_kline').symbols, ['HK.00700']);
    assert.equal(result.kl_type, 'day');
    assert.equal(result.rehab, 'forward');
    assert.equal(result.bars.length, 20);
    assert.equal(result.truncated, false);
    assert.deepEqual(result.columns, ['time', 'open', 'high', 'low', 'close', 'volume']);
    for (const [time, open, high, low, close] of result.bars) assert.ok(low <= Math.min(open, close) && Math.max(open, close) <= high, time);
    const times = result.bars.map((b) => b[0]);
    assert.ok(times.every((t) => /^\d{4}-\d{2}-\d{2}$/.test(t)), 'day bars carry the date only');
    assert.deepEqual([...times].sort(), times);

    const hourly = await call(getKline, { symbol: 'HK.00700', kl_type: 'K_60M', num: 5 });
    assert.equal(hourly.result.kl_type, '60m');
    assert.equal(hourly.result.bars.length, 5);
    assert.ok(hourly.result.bars.every((b) => /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/.test(b[0])), 'intraday bars carry the minute');
  });

  it('futu_get_kline with begin/end reads history, and says when num cut the range short', async () => {
    const { result } = await call(getKline, { symbol: 'HK.00700', begin: '2026-10-05', end: '2026-10-30' });
    assert.ok(result.bars.length >= 15 && result.bars.length <= 20, `${result.bars.length} October trading days`);
    assert.ok(result.bars.every((b) => b[0] >= '2026-10-05' && b[0] <= '2026-10-30'));
    assert.equal(result.truncated, false);

    const cut = await call(getKline, { symbol: 'HK.00700', begin: '2026-10-05', end: '2026-10-30', num: 5 });
    assert.deepEqual(cut.result.bars, result.bars.slice(0, 5));
    assert.equal(cut.result.truncated, true);
    assert.match(cut.summary, /5 bars .*\(truncated: more bars in range\)$/);

    const open = await call(getKline, { symbol: 'HK.00700', begin: '2026-11-02' });
    assert.ok(open.result.bars.length > 0 && open.result.bars[0]![0] >= '2026-11-02');
  });

  it('futu_get_orderbook returns the best levels on each side', async () => {
    const { plan, result } = await call(getOrderbook, { symbol: 'HK.00700', num: 5 });
    assert.deepEqual(callTarget(plan, 'futu_get_orderbook').symbols, ['HK.00700']);
    assert.ok(result.bids.length > 0 && result.bids.length <= 5 && result.asks.length > 0 && result.asks.length <= 5);
    assert.ok(result.bids[0]!.price < result.asks[0]!.price);
    assert.deepEqual(result.bids.map((l) => l.price), [...result.bids.map((l) => l.price)].sort((a, b) => b - a));
    assert.deepEqual(result.asks.map((l) => l.price), [...result.asks.map((l) => l.price)].sort((a, b) => a - b));
  });

  it('futu_get_ticker and futu_get_rt return today\'s trades and minutes', async (t) => {
    // rt and its num=3 view must see the same minutes, however slowly the machine runs.
    pinnedAt = runningClock();
    t.after(() => (pinnedAt = undefined));
    const ticker = await call(getTicker, { symbol: 'HK.00700', num: 10 });
    assert.deepEqual(callTarget(ticker.plan, 'futu_get_ticker').symbols, ['HK.00700']);
    assert.ok(ticker.result.ticks.length > 0 && ticker.result.ticks.length <= 10);
    assert.deepEqual(ticker.result.columns, ['time', 'price', 'volume', 'direction']);
    assert.ok(ticker.result.ticks.every(([time, price, volume, direction]) => /^\d{2}:\d{2}:\d{2}$/.test(time) && price > 0 && volume > 0 && ['BUY', 'SELL', 'NEUTRAL'].includes(direction)));
    assert.equal(ticker.result.date, '2026-11-18');

    const rt = await call(getRt, { symbol: 'HK.00700' });
    assert.deepEqual(callTarget(rt.plan, 'futu_get_rt').symbols, ['HK.00700']);
    assert.equal(rt.result.date, '2026-11-18');
    assert.ok(rt.result.points.length > 0 && rt.result.points.length <= 60, 'the latest 60 minutes by default');
    assert.ok(rt.result.points.every(([time, price]) => /^\d{2}:\d{2}$/.test(time) && price > 0));
    const times = rt.result.points.map((p) => p[0]);
    assert.deepEqual([...times].sort(), times);
    const few = await call(getRt, { symbol: 'HK.00700', num: 3 });
    assert.deepEqual(few.result.points, rt.result.points.slice(-3), 'num keeps the latest minutes');
    assert.equal(few.result.total_minutes, rt.result.total_minutes);
    assert.match(few.text, /^time,price,avg_price,volume$/m);
    assert.ok(rt.result.last_close !== undefined && rt.result.last_close > 0);
  });

  it('futu_get_static and futu_plate_stocks describe securities; futu_list_plates finds plates by name', async () => {
    const info = await call(getStatic, { symbols: ['HK.00700', 'US.AAPL'] });
    assert.deepEqual(callTarget(info.plan, 'futu_get_static').symbols, ['HK.00700', 'US.AAPL']);
    assert.deepEqual(info.result.securities.map((s) => [s.symbol, s.lot_size]).sort(), [['HK.00700', 100], ['US.AAPL', 1]]);

    const plates = await call(listPlates, { market: 'HK', plate_type: 'industry' });
    assert.equal(callTarget(plates.plan, 'futu_list_plates').market, 'HK');
    assert.ok(plates.result.plates.some((p) => p.plate === 'HK.LIST1036' && p.name === 'Banks'));
    assert.ok(!plates.result.plates.some((p) => p.plate === 'HK.BK1910'), 'an index plate is not an industry');
    const banks = await call(listPlates, { market: 'HK', name_contains: 'bank' });
    assert.deepEqual(banks.result.plates, [{ plate: 'HK.LIST1036', name: 'Banks' }]);

    const members = await call(plateStocks, { plate: 'HK.BK1910' });
    assert.deepEqual(callTarget(members.plan, 'futu_plate_stocks').symbols, ['HK.BK1910']);
    assert.ok(members.result.stocks.some((s) => s.symbol === 'HK.00700' && s.name === 'Tencent Holdings'));
  });

  it('futu_get_broker lists the brokers queued on each side of an HK security', async () => {
    const { plan, result } = await call(getBroker, { symbol: 'HK.00700' });
    assert.deepEqual(callTarget(plan, 'futu_get_broker').symbols, ['HK.00700']);
    assert.ok(result.bids.length > 0 && result.asks.length > 0);
    assert.ok([...result.bids, ...result.asks].every((b) => /^\d+$/.test(b.broker_id) && b.broker_name.length > 0));
  });
});

describe('account tools', () => {
  it('futu_list_accounts lists ids as strings, filters by env, and leaves card numbers out', async () => {
    const all = await call(listAccounts, {});
    assert.equal(all.result.accounts.length, accounts.length);
    assert.ok(all.result.accounts.every((a) => /^\d+$/.test(a.acc_id) && BigInt(a.acc_id) > 2n ** 53n));
    assert.doesNotMatch(JSON.stringify(all.result), /card/i);
    assert.ok(!accounts.some((a) => a.cardNum !== undefined && JSON.stringify(all.result).includes(a.cardNum)));

    const simulate = await call(listAccounts, { env: 'simulate' });
    assert.deepEqual(simulate.result.accounts.map((a) => a.env), ['simulate', 'simulate', 'simulate']);
    assert.equal(simulate.plan.kind, 'call');

    const first = all.result.accounts[0]!.acc_id;
    const limited = await call(listAccounts, {}, contextFor({ accountAllowed: (accId) => accId === first }));
    assert.deepEqual(limited.result.accounts.map((a) => a.acc_id), [first], 'accounts outside the key\'s allowed_acc_ids are not listed');
  });

  it('futu_get_funds reads every account by default, real first, each row labelled and each account authorized', async () => {
    const { plan, result, summary, text } = await call(getFunds, {});
    const target = callTarget(plan, 'futu_get_funds');
    const expected = [...accounts].sort((a, b) => (a.env === b.env ? 0 : a.env === 'real' ? -1 : 1));
    assert.deepEqual(target.accounts, expected.map((a) => ({ account: a.accId, env: a.env })));
    assert.deepEqual(result.funds.map((f) => [f.acc_id, f.env]), expected.map((a) => [a.accId, a.env]));
    assert.ok(result.funds.every((f) => f.total_assets > 0 && f.buying_power > 0 && f.currency !== undefined));
    assert.match(summary, /^real \d+ HK: total [\d,]+\.\d{2} HKD/);
    assert.match(text, /^acc_id,env,trd_market,currency,total_assets,/m);

    const hk = await call(getFunds, { market: 'hk' });
    assert.deepEqual(hk.result.funds.map((f) => [f.env, f.trd_market]), [['real', 'HK'], ['simulate', 'HK']]);
    const realUS = refOf('real', 'US');
    const one = await call(getFunds, { acc_id: realUS.accId });
    assert.deepEqual(callTarget(one.plan, 'futu_get_funds').accounts, [{ account: realUS.accId, env: 'real' }]);
    assert.deepEqual(one.result.funds.map((f) => [f.acc_id, f.currency]), [[realUS.accId, 'USD']]);
  });

  it('a key restricted to one account reads only that account, and no error names another', async () => {
    const simHK = refOf('simulate', 'HK');
    const restricted = contextFor({ accountAllowed: (accId) => accId === simHK.accId });
    const { plan, result } = await call(getFunds, {}, restricted);
    assert.deepEqual(callTarget(plan, 'futu_get_funds').accounts, [{ account: simHK.accId, env: 'simulate' }]);
    assert.deepEqual(result.funds.map((f) => f.acc_id), [simHK.accId]);
    for (const args of [{ env: 'real' }, { market: 'US' }, { acc_id: refOf('real', 'HK').accId }]) {
      await assert.rejects(getFunds.authz(getFunds.input.parse(args), restricted), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'INVALID_ARGUMENT');
        const others = accounts.filter((a) => a.accId !== simHK.accId && !JSON.stringify(args).includes(a.accId));
        for (const a of others) assert.ok(!err.message.includes(a.accId), err.message);
        return true;
      });
    }
  });

  it('a wrong env for an acc_id is refused', async () => {
    const realHK = refOf('real', 'HK');
    await assert.rejects(getPositions.authz(getPositions.input.parse({ acc_id: realHK.accId, env: 'simulate' }), ctx), /is a real account but env is "simulate"/);
  });

  it('futu_get_positions narrows to the symbol\'s market and reports P/L', async () => {
    const { plan, result, text } = await call(getPositions, { symbol: 'hk.9988' });
    assert.deepEqual(callTarget(plan, 'futu_get_positions').accounts?.map((a) => a.account), [refOf('real', 'HK').accId, refOf('simulate', 'HK').accId]);
    assert.deepEqual(result.positions.map((p) => [p.env, p.symbol, p.qty, p.side]), [['simulate', 'HK.09988', 500, 'LONG']]);
    const [p] = result.positions;
    assert.ok(p && p.cost_price !== undefined && p.pl_ratio !== undefined);
    assert.ok(Math.abs(p.market_value - p.qty * p.price) < 0.01);
    assert.match(text, /^acc_id,env,trd_market,symbol,name,side,qty,/m);

    const all = await call(getPositions, {});
    assert.deepEqual(
      all.result.positions.map((x) => `${x.env} ${x.symbol}`).sort(),
      ['real HK.00005', 'real HK.00700', 'real US.AAPL', 'real US.NVDA', 'simulate HK.09988', 'simulate SH.600519', 'simulate US.MSFT'],
    );
    assert.ok(all.result.positions.findIndex((x) => x.env === 'simulate') > all.result.positions.findLastIndex((x) => x.env === 'real'), 'real accounts first');
  });

  it('futu_get_history_deals reads the last 30 days of every account by default, paging OpenD\'s 90-day window for longer ranges', async () => {
    const { plan, result, summary } = await call(getHistoryDeals, {});
    assert.equal(callTarget(plan, 'futu_get_history_deals').accounts?.length, accounts.length);
    assert.deepEqual([result.begin, result.end], ['2026-10-19', '2026-11-18']);
    assert.ok(result.deals.length > 0 && result.deals.every((d) => d.time >= '2026-10-19' && d.time <= '2026-11-18 23:59:59.999'));
    assert.ok(new Set(result.deals.map((d) => d.acc_id)).size >= 3, 'fills of several accounts');
    const times = result.deals.map((d) => d.time);
    assert.deepEqual(times, [...times].sort().reverse(), 'newest first');
    assert.match(summary, /fills 2026-10-19 … 2026-11-18 in 2 real \+ 3 simulate accounts/);

    // HK.00700 was bought 120 days before the clock: a 200-day range takes three OpenD windows.
    const long = await call(getHistoryDeals, { symbol: 'HK.700', env: 'real', begin: '2026-05-02', end: '2026-11-18' });
    assert.deepEqual(long.result.deals.map((d) => [d.env, d.symbol, d.side, d.qty]), [['real', 'HK.00700', 'BUY', 1000]]);
    await assert.rejects(getHistoryDeals.execute(getHistoryDeals.input.parse({ begin: '2025-01-01', end: '2026-11-18' }), { ...ctx, authorized: plan }), /at most 366 days/);
    assert.equal(getHistoryDeals.input.safeParse({ begin: '2026-02-30' }).success, false);
  });

  it('futu_get_history_orders filters by status and cuts at limit, newest first', async () => {
    const filled = await call(getHistoryOrders, { status: ['filled_all'], env: 'simulate' });
    assert.ok(filled.result.orders.length > 0 && filled.result.orders.every((o) => o.status === 'FILLED_ALL' && o.env === 'simulate'));
    const cancelled = await call(getHistoryOrders, { status: ['CANCELLED_ALL'] });
    assert.ok(cancelled.result.orders.length > 0 && cancelled.result.orders.every((o) => o.filled_qty === 0));
    const cut = await call(getHistoryOrders, { limit: 2 });
    assert.equal(cut.result.orders.length, 2);
    assert.equal(cut.result.truncated, true);
    assert.match(cut.summary, /\(truncated: more exist\)/);
  });
});

describe('trade tools', () => {
  let simHK: AccountRef;
  let last: number;
  let orderId: string;

  before(async () => {
    simHK = refOf('simulate', 'HK');
    last = await lastPrice('HK.00700');
  });

  it('futu_place_order resolves the simulate HK account, authorizes the exact terms, and never echoes api_key', async () => {
    const price = hkPrice(last, 0.9);
    const { plan, result, summary } = await call(placeOrder, { symbol: 'HK.00700', side: 'BUY', qty: 100, price, api_key: API_KEY });
    const trade = tradePlan(plan);
    assert.equal(trade.env, 'simulate');
    assert.deepEqual(trade.account, simHK);
    assert.deepEqual(trade.terms, { action: 'futu_place_order', symbol: 'HK.00700', side: 'BUY', orderType: 'LIMIT', qty: 100, price });
    assert.match(result.order_id, /^\d+$/);
    assert.deepEqual(
      [result.acc_id, result.env, result.symbol, result.side, result.order_type, result.qty, result.price, result.status, result.filled_qty],
      [simHK.accId, 'simulate', 'HK.00700', 'BUY', 'LIMIT', 100, price, 'SUBMITTED', 0],
    );
    assert.match(result.next, /futu_get_orders/);
    assert.match(summary, new RegExp(`^Placed order ${result.order_id} \\(simulate acc ${simHK.accId}\\): BUY 100 HK\\.00700 LIMIT @ [\\d.]+ — SUBMITTED$`));
    assert.ok(!JSON.stringify({ plan, result, summary }).includes(API_KEY));
    orderId = result.order_id;
  });

  it('futu_get_orders shows the working order and filters by status', async () => {
    const { result } = await call(getOrders, { market: 'HK' });
    const order = result.orders.find((o) => o.order_id === orderId);
    assert.ok(order);
    assert.deepEqual([order.symbol, order.side, order.order_type, order.status, order.qty, order.filled_qty], ['HK.00700', 'BUY', 'LIMIT', 'SUBMITTED', 100, 0]);
    assert.equal(order.avg_fill_price, undefined);
    const working = await call(getOrders, { acc_id: simHK.accId, status: ['SUBMITTED', 'FILLED_PART'] });
    assert.ok(working.result.orders.some((o) => o.order_id === orderId));
    const done = await call(getOrders, { acc_id: simHK.accId, status: ['FILLED_ALL'] });
    assert.ok(!done.result.orders.some((o) => o.order_id === orderId));
  });

  it('futu_modify_order finds the order without acc_id and authorizes against it as the gateway reports it', async () => {
    const oldPrice = hkPrice(last, 0.9);
    const newPrice = hkPrice(last, 0.88);
    await pace();
    const { plan, result } = await call(modifyOrder, { order_id: orderId, price: newPrice, api_key: API_KEY });
    const trade = tradePlan(plan);
    assert.deepEqual(trade.account, simHK);
    assert.deepEqual(trade.terms, { action: 'futu_modify_order', existing: { orderId, symbol: 'HK.00700', side: 'BUY', qty: 100, price: oldPrice }, price: newPrice });
    assert.deepEqual([result.order_id, result.qty, result.price, result.status], [orderId, 100, newPrice, 'SUBMITTED']);
    assert.ok(!JSON.stringify({ plan, result }).includes(API_KEY));

    await pace();
    const bigger = await call(modifyOrder, { order_id: orderId, qty: 200, acc_id: simHK.accId });
    assert.deepEqual(tradePlan(bigger.plan).terms, { action: 'futu_modify_order', existing: { orderId, symbol: 'HK.00700', side: 'BUY', qty: 100, price: newPrice }, qty: 200 });
    assert.deepEqual([bigger.result.qty, bigger.result.price], [200, newPrice]);
  });

  it('futu_cancel_order cancels the order; a second cancel is refused before authorization', async () => {
    await pace();
    const { plan, result, summary } = await call(cancelOrder, { order_id: orderId });
    const trade = tradePlan(plan);
    assert.deepEqual(trade.account, simHK);
    assert.deepEqual(trade.terms, { action: 'futu_cancel_order', existing: { orderId, symbol: 'HK.00700', side: 'BUY', qty: 200, price: hkPrice(last, 0.88) } });
    assert.equal(result.status, 'CANCELLED_ALL');
    assert.match(summary, /^Cancelled order \d+ .* — CANCELLED_ALL$/);
    await assert.rejects(cancelOrder.authz(cancelOrder.input.parse({ order_id: orderId }), ctx), /is CANCELLED_ALL: it can no longer be modified or cancelled/);
  });

  it('an order is looked up only in the accounts the key may use: another account\'s order stays unknown', async () => {
    const elsewhere = contextFor({ accountAllowed: (accId) => accId !== simHK.accId });
    // The order exists in simHK (cancelled above): a key without that account must not learn it.
    await assert.rejects(cancelOrder.authz(cancelOrder.input.parse({ order_id: orderId }), elsewhere), new RegExp(`order ${orderId} not found in any simulate account this key may use`));
    await assert.rejects(cancelOrder.authz(cancelOrder.input.parse({ order_id: orderId }), ctx), /is CANCELLED_ALL/);
  });

  it('an unknown order, or an account of the wrong market or env, is refused with a clear message', async () => {
    await assert.rejects(
      modifyOrder.authz(modifyOrder.input.parse({ order_id: '42', price: 300, acc_id: simHK.accId }), ctx),
      new RegExp(`order 42 not found in acc_id ${simHK.accId}`),
    );
    await assert.rejects(cancelOrder.authz(cancelOrder.input.parse({ order_id: '42' }), ctx), /order 42 not found in any simulate account/);
    await assert.rejects(cancelOrder.authz(cancelOrder.input.parse({ order_id: orderId, env: 'real' }), ctx), /order \d+ not found in any real account/);
    const simUS = refOf('simulate', 'US');
    await assert.rejects(
      placeOrder.authz(placeOrder.input.parse({ symbol: 'HK.00700', side: 'BUY', qty: 100, price: 300, acc_id: simUS.accId }), ctx),
      /cannot trade HK/,
    );
    await assert.rejects(
      placeOrder.authz(placeOrder.input.parse({ symbol: 'HK.00700', side: 'BUY', qty: 100, price: 300, acc_id: simHK.accId, env: 'real' }), ctx),
      /is a simulate account but env is "real"/,
    );
  });

  it('a MARKET order fills, and its fill shows in futu_get_deals and futu_get_positions', async () => {
    await pace();
    const { plan, result } = await call(placeOrder, { symbol: 'HK.00700', side: 'BUY', qty: 100, order_type: 'MARKET' });
    assert.deepEqual(tradePlan(plan).terms, { action: 'futu_place_order', symbol: 'HK.00700', side: 'BUY', orderType: 'MARKET', qty: 100 });
    assert.equal(result.order_type, 'MARKET');
    assert.equal(result.status, 'FILLED_ALL');
    assert.equal(result.filled_qty, 100);
    assert.ok(result.avg_fill_price !== undefined && result.avg_fill_price > 0);

    const deals = await call(getDeals, { symbol: 'HK.00700', env: 'simulate' });
    assert.deepEqual(callTarget(deals.plan, 'futu_get_deals').accounts, [{ account: simHK.accId, env: 'simulate' }]);
    const fills = deals.result.deals.filter((d) => d.order_id === result.order_id);
    assert.equal(fills.reduce((n, d) => n + d.qty, 0), 100);
    assert.ok(fills.every((d) => /^\d+$/.test(d.deal_id) && d.side === 'BUY' && d.price > 0));

    const positions = await call(getPositions, { symbol: 'HK.00700' });
    assert.deepEqual(positions.result.positions.map((p) => [p.env, p.symbol, p.qty]), [['real', 'HK.00700', 1000], ['simulate', 'HK.00700', 100]]);
  });

  it('real orders need futu_unlock_trade, whose password comes from the server, never the arguments', async () => {
    const realHK = refOf('real', 'HK');
    const order = { symbol: 'HK.00700', side: 'BUY', qty: 100, price: hkPrice(last, 0.9), env: 'real' } as const;
    const args = placeOrder.input.parse(order);
    const realPlan = await placeOrder.authz(args, ctx);
    assert.deepEqual(tradePlan(realPlan).account, realHK);
    await assert.rejects(placeOrder.execute(args, { ...ctx, authorized: realPlan }), /unlock/i);

    const unlock = unlockTrade.input.parse({});
    assert.deepEqual(await unlockTrade.authz(unlock, ctx), { kind: 'unlock', unlocking: true });
    await assert.rejects(unlockTrade.execute(unlock, contextFor({ tradePasswordMd5: undefined })), { code: 'TRADE_PASSWORD_UNAVAILABLE' });
    await assert.rejects(unlockTrade.execute(unlock, contextFor({ tradePasswordMd5: async () => 'f'.repeat(32) })), /password/);

    const unlocked = await call(unlockTrade, {});
    assert.equal(unlocked.result.unlocked, true);
    assert.match(unlocked.result.note, /OpenD restarts/);

    await pace();
    const placed = await call(placeOrder, order);
    assert.deepEqual([placed.result.env, placed.result.acc_id, placed.result.status], ['real', realHK.accId, 'SUBMITTED']);
    await pace();
    const cancelled = await call(cancelOrder, { order_id: placed.result.order_id, env: 'real' });
    assert.deepEqual(tradePlan(cancelled.plan).account, realHK);
    assert.equal(cancelled.result.status, 'CANCELLED_ALL');

    const locked = await call(unlockTrade, { unlock: false });
    assert.equal(locked.result.unlocked, false);
    await pace();
    await assert.rejects(placeOrder.execute(args, { ...ctx, authorized: realPlan }), /unlock/i);
  });
});

describe('plans as the shipped Cedar policies see them', () => {
  let stateDir: string;
  let authorizer: Authorizer;
  const key: KeyRecord = {
    id: 'tools-test-key',
    hash: '0'.repeat(64),
    scopes: ['qot:read', 'acc:read', 'trade:simulate'],
    limits: {
      ...NO_LIMITS,
      allowed_symbols: ['HK.00700'],
      max_order_value: 10_000,
    },
    allowed_machines: null,
    created_at: null,
    expires_at: null,
    note: null,
  };
  const caller = () => ({ key, now: new Date(), machineBound: true, withinCallRate: true });

  before(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'futu-tools-ledger-'));
    authorizer = new Authorizer({ engine: AuthzEngine.load(defaultPolicyPaths()), ledger: new LimitsLedger({ stateDir }) });
  });
  after(() => rmSync(stateDir, { recursive: true, force: true }));

  async function decideCall(plan: AuthzPlan) {
    assert.ok(plan.kind === 'call');
    return authorizer.authorizeCall({ ...caller(), action: plan.action, target: plan.target });
  }

  it('a quote call is checked symbol by symbol', async () => {
    const allowed = await decideCall(await getQuote.authz(getQuote.input.parse({ symbol: 'HK.00700' }), ctx));
    assert.equal(allowed.allowed, true, allowed.message);
    const denied = await decideCall(await getQuote.authz(getQuote.input.parse({ symbols: ['HK.00700', 'US.AAPL'] }), ctx));
    assert.equal(denied.allowed, false);
    assert.match(denied.message, /US\.AAPL/);
  });

  it('account reads and trades are valid requests for the policies', async () => {
    const funds = await decideCall(await getFunds.authz(getFunds.input.parse({ market: 'HK' }), ctx));
    assert.equal(funds.allowed, true, funds.message);

    const preview = async (raw: z.input<typeof placeOrder.input>) => {
      const plan = tradePlan(await placeOrder.authz(placeOrder.input.parse(raw), ctx));
      return authorizer.previewTrade({ ...caller(), env: plan.env, account: plan.account.accId, terms: plan.terms });
    };
    const small = await preview({ symbol: 'HK.00700', side: 'BUY', qty: 10, price: 300 });
    assert.equal(small.allowed, true, small.message);
    const large = await preview({ symbol: 'HK.00700', side: 'BUY', qty: 100, price: 300 });
    assert.equal(large.allowed, false);
    assert.equal(large.code, 'LIMIT_EXCEEDED');
  });
});

describe('execute acts only on what was authorized', () => {
  it('a trade tool refuses to run without its authorized plan, or with another tool\'s plan', async () => {
    const args = placeOrder.input.parse({ symbol: 'HK.00700', side: 'BUY', qty: 100, price: 300 });
    await assert.rejects(placeOrder.execute(args, ctx), /without its authorized plan/);
    const cancelPlan: AuthzPlan = {
      kind: 'trade',
      env: 'simulate',
      account: refOf('simulate', 'HK'),
      terms: { action: 'futu_cancel_order', existing: { symbol: 'HK.00700', side: 'BUY', qty: 100, price: 300 } },
    };
    await assert.rejects(placeOrder.execute(args, { ...ctx, authorized: cancelPlan }), /without its authorized plan/);
  });

  it('place_order sends to the authorized account, not to one resolved again from the arguments', async () => {
    const realArgs = placeOrder.input.parse({ symbol: 'US.AAPL', side: 'BUY', qty: 1, price: 1, env: 'real' });
    const realPlan = await placeOrder.authz(realArgs, ctx);
    assert.deepEqual(tradePlan(realPlan).account, refOf('real', 'US'));
    // Arguments that would resolve to the simulate account, with the (locked) real account's plan:
    // OpenD's unlock refusal proves the order went where the decision said.
    const simulateArgs = placeOrder.input.parse({ symbol: 'US.AAPL', side: 'BUY', qty: 1, price: 1, env: 'simulate' });
    await pace();
    await assert.rejects(placeOrder.execute(simulateArgs, { ...ctx, authorized: realPlan }), /unlock/i);
  });
});
