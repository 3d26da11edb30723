/**
 * The research tools (issue 18) over real HTTP against the embedded simulator: every result
 * validates against the outputSchema the server listed and fits its budget, the data is what the
 * simulator holds (statements add up, the screener filters, greeks are sane, pages page), and a
 * key's symbol, market and account limits apply to every one of them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_SCOPES, assertMatchesOutputSchema, E2eRun, expectRefusal, READ, type HttpServerProcess, type McpTestClient } from './helpers.js';

type Structured = Record<string, unknown>;
type Row = Record<string, unknown>;
const rows = (value: unknown): Row[] => value as Row[];
const size = (value: unknown): number => JSON.stringify(value).length;

/** A typical call of each research tool, and the chars its whole result may cost a model. */
const TYPICAL: ReadonlyArray<readonly [string, Record<string, unknown>, number]> = [
  ['futu_search', { query: 'Tencent' }, 2_000],
  ['futu_get_market_state', {}, 6_000],
  ['futu_get_financials', { symbol: 'US.AAPL' }, 6_000],
  ['futu_get_valuation', { symbol: 'US.AAPL' }, 6_000],
  ['futu_get_company_profile', { symbol: 'US.AAPL' }, 2_000],
  ['futu_get_analyst_consensus', { symbol: 'US.AAPL' }, 2_000],
  ['futu_get_dividends', { symbol: 'HK.00700' }, 4_000],
  ['futu_search_news', { query: 'Apple' }, 5_000],
  ['futu_get_capital_flow', { symbol: 'HK.00700' }, 8_000],
  ['futu_get_capital_distribution', { symbol: 'HK.00700' }, 2_000],
  ['futu_get_option_expirations', { symbol: 'US.AAPL' }, 2_000],
  ['futu_get_option_chain', { symbol: 'US.AAPL' }, 12_000],
  ['futu_stock_filter', { market: 'US' }, 8_000],
  ['futu_list_watchlists', {}, 4_000],
  ['futu_get_max_trade_qty', { symbol: 'HK.00700' }, 2_000],
  ['futu_get_order_fee', {}, 12_000],
];

/** The largest page or series a call may ask for stays affordable too. */
const LARGEST: ReadonlyArray<readonly [string, Record<string, unknown>, number]> = [
  ['futu_get_option_chain', { symbol: 'US.SPY', page_size: 100 }, 30_000],
  ['futu_stock_filter', { market: 'US', page_size: 100 }, 12_000],
  ['futu_get_capital_flow', { symbol: 'US.AAPL', num: 400 }, 40_000],
  ['futu_get_financials', { symbol: 'HK.00700', statement: 'balance_sheet', period: 'quarterly', page_size: 12 }, 12_000],
  ['futu_get_valuation', { symbol: 'US.AAPL', range: '5y' }, 12_000],
  ['futu_get_order_fee', { page_size: 100, begin: '2026-09-05', end: '2026-12-03' }, 60_000],
];

describe('research tools over HTTP', () => {
  const run = new E2eRun('research');
  let http: HttpServerProcess;
  let keys: Record<string, string>;
  let full: McpTestClient;
  let listed: Map<string, Parameters<typeof assertMatchesOutputSchema>[0]>;
  let accountIds: string[];
  let simHk: string;

  /** A successful call whose structured content matches the listed outputSchema. */
  const ok = async (client: McpTestClient, tool: string, args: Record<string, unknown>): Promise<Structured> =>
    assertMatchesOutputSchema(listed.get(tool)!, await client.callTool(tool, args));

  before(async () => {
    const keysFile = run.path('keys.json');
    keys = await run.genKeys(keysFile, [
      { id: 'full', scopes: ALL_SCOPES },
      { id: 'tencent-only', scopes: READ, flags: ['--allowed-symbols', 'HK.00700'] },
      { id: 'hk-only', scopes: READ, flags: ['--allowed-markets', 'HK'] },
    ]);
    http = await run.startHttp({ name: 'research-http', keysFile });
    full = await run.connectHttp('v2', http.url, keys.full!);
    listed = new Map((await full.listTools()).map((t) => [t.name, t]));
    const accounts = rows((await ok(full, 'futu_list_accounts', {})).accounts);
    accountIds = accounts.map((a) => a.acc_id as string);
    simHk = accounts.find((a) => a.env === 'simulate' && (a.trd_markets as string[]).includes('HK'))!.acc_id as string;
    keys['one-account'] = await run.genKey(keysFile, 'one-account', READ, ['--allowed-acc-ids', simHk]);
    await http.hup();
  });
  after(() => run.dispose());

  it('every research tool answers with schema-valid structured content within its budget', async () => {
    for (const [tool, args, budget] of [...TYPICAL, ...LARGEST]) {
      const result = await full.callTool(tool, args);
      assertMatchesOutputSchema(listed.get(tool)!, result);
      assert.ok(size(result) <= budget, `${tool} ${JSON.stringify(args)} costs ${size(result)} chars (budget ${budget})`);
    }
    assert.deepEqual(TYPICAL.map(([tool]) => tool).filter((t) => !listed.has(t)), [], 'every research tool is listed');
  });

  it('statements add up and valuation agrees with the snapshot', async () => {
    const income = await ok(full, 'futu_get_financials', { symbol: 'US.AAPL', period: 'quarterly', page_size: 4 });
    for (const report of rows(income.reports)) {
      const l = report.lines as Record<string, number>;
      assert.equal(l.gross_profit, l.revenue! - l.cost_of_revenue!, report.period as string);
      assert.equal(l.net_income, l.pretax_income! - l.income_tax!, report.period as string);
    }
    const older = await ok(full, 'futu_get_financials', { symbol: 'US.AAPL', period: 'quarterly', page_size: 4, page: 2 });
    assert.equal(income.has_more, true);
    assert.notDeepEqual(rows(older.reports).map((r) => r.period), rows(income.reports).map((r) => r.period));
    const sheet = rows((await ok(full, 'futu_get_financials', { symbol: 'HK.00005', statement: 'balance_sheet' })).reports)[0]!.lines as Record<string, number>;
    assert.equal(sheet.total_assets, sheet.total_liabilities! + sheet.shareholders_equity!);

    const snapshot = rows((await ok(full, 'futu_get_snapshot', { symbol: 'US.AAPL' })).snapshots)[0]!;
    const valuation = await ok(full, 'futu_get_valuation', { symbol: 'US.AAPL', metrics: ['pe', 'pb'] });
    const stats = valuation.stats as Record<string, { current: number; percentile: number }>;
    assert.equal(stats.pe!.current, snapshot.pe_ttm);
    assert.equal(stats.pb!.current, snapshot.pb);
    assert.ok(stats.pe!.percentile >= 0 && stats.pe!.percentile <= 100);
    assert.equal(rows(valuation.history).length, 12);
  });

  it('the screener really filters, sorts and pages', async () => {
    const everything = await ok(full, 'futu_stock_filter', { market: 'US', page_size: 100 });
    const cheap = await ok(full, 'futu_stock_filter', { market: 'US', max: { pe_ttm: 25 }, min: { market_cap: 1e11 }, sort_by: 'pe_ttm', sort_dir: 'asc', page_size: 100 });
    const expected = rows(everything.stocks).filter((s) => (s.pe_ttm as number) <= 25 && (s.market_cap as number) >= 1e11).map((s) => s.symbol).sort();
    assert.ok(expected.length > 0 && expected.length < (everything.total as number), 'the ranges split the market');
    assert.deepEqual(rows(cheap.stocks).map((s) => s.symbol).sort(), expected);
    const pes = rows(cheap.stocks).map((s) => s.pe_ttm as number);
    assert.deepEqual(pes, [...pes].sort((a, b) => a - b));
    const page1 = await ok(full, 'futu_stock_filter', { market: 'US', page_size: 5 });
    const page2 = await ok(full, 'futu_stock_filter', { market: 'US', page_size: 5, page: 2 });
    assert.deepEqual([page1.has_more, page1.total], [true, everything.total]);
    assert.deepEqual([...rows(page1.stocks), ...rows(page2.stocks)].map((s) => s.symbol), rows(everything.stocks).slice(0, 10).map((s) => s.symbol));
    const result = await full.callTool('futu_stock_filter', { market: 'US', plate: 'HK.BK1910' });
    assert.equal(result.isError, true);
  });

  it('the option chain is around the spot with sane greeks, and pages by strike', async () => {
    const chain = await ok(full, 'futu_get_option_chain', { symbol: 'US.AAPL', page_size: 100 });
    const contracts = rows(chain.contracts);
    const spot = chain.underlying_price as number;
    const strikes = contracts.map((c) => c.strike as number);
    assert.ok(Math.min(...strikes) < spot && Math.max(...strikes) > spot);
    for (const c of contracts) {
      if (c.type === 'CALL') assert.ok((c.delta as number) >= 0 && (c.delta as number) <= 1, `${c.symbol as string} delta ${c.delta as number}`);
      else assert.ok((c.delta as number) >= -1 && (c.delta as number) <= 0, `${c.symbol as string} delta ${c.delta as number}`);
    }
    const monthly = rows((await ok(full, 'futu_get_option_expirations', { symbol: 'US.AAPL' })).expirations).find((e) => e.cycle === 'month')!;
    const puts = await ok(full, 'futu_get_option_chain', { symbol: 'US.AAPL', expiry: monthly.date, type: 'put', strike_min: spot * 0.95, strike_max: spot * 1.05 });
    assert.ok(rows(puts.contracts).length > 0);
    for (const p of rows(puts.contracts)) {
      assert.equal(p.type, 'PUT');
      assert.ok((p.delta as number) > -1 && (p.delta as number) < 0, `near-the-money put delta ${p.delta as number}`);
      assert.ok((p.strike as number) >= spot * 0.95 && (p.strike as number) <= spot * 1.05);
    }
    const first = await ok(full, 'futu_get_option_chain', { symbol: 'US.AAPL', page_size: 10 });
    const second = await ok(full, 'futu_get_option_chain', { symbol: 'US.AAPL', page_size: 10, page: 2 });
    assert.deepEqual([...rows(first.contracts), ...rows(second.contracts)].map((c) => c.symbol), contracts.slice(0, 20).map((c) => c.symbol));
  });

  it('capital flow and distribution agree; watchlists, search and news answer from the simulator', async () => {
    const flow = rows((await ok(full, 'futu_get_capital_flow', { symbol: 'HK.00700', num: 400 })).points);
    const distribution = await ok(full, 'futu_get_capital_distribution', { symbol: 'HK.00700' });
    assert.ok(Math.abs((flow.at(-1)!.net_inflow as number) - (distribution.net_total as number)) < 1, 'the last intraday point is the day\'s net');
    const daily = rows((await ok(full, 'futu_get_capital_flow', { symbol: 'HK.00700', period: 'day', begin: '2026-11-23', end: '2026-12-02' })).points);
    assert.deepEqual(daily.map((d) => d.time), ['2026-11-23', '2026-11-24', '2026-11-25', '2026-11-26', '2026-11-27', '2026-11-30', '2026-12-01', '2026-12-02']);
    const groups = rows((await ok(full, 'futu_list_watchlists', { group: 'tech' })).groups);
    assert.deepEqual(groups.map((g) => g.name), ['Tech']);
    assert.ok(rows(groups[0]!.securities).some((s) => s.symbol === 'US.NVDA'));
    assert.deepEqual(rows((await ok(full, 'futu_search', { query: '腾讯' })).results).map((r) => r.symbol), ['HK.00700']);
    const news = rows((await ok(full, 'futu_search_news', { query: 'NVIDIA', kind: 'news' })).news);
    assert.ok(news.length > 0 && news.every((n) => n.kind === 'news' && (n.symbols as string[]).includes('US.NVDA')));
    const states = rows((await ok(full, 'futu_get_market_state', { markets: ['HK', 'US'], begin: '2026-12-03', end: '2026-12-09' })).markets);
    assert.deepEqual(states.map((m) => m.trading_days), [['2026-12-03', '2026-12-04', '2026-12-07', '2026-12-08', '2026-12-09'], ['2026-12-03', '2026-12-04', '2026-12-07', '2026-12-08', '2026-12-09']]);
  });

  it('a key limited to HK.00700 reads HK.00700 only, and none of the tools that list other securities', async () => {
    const client = await run.connectHttp('v2', http.url, keys['tencent-only']!);
    await ok(client, 'futu_get_financials', { symbol: 'hk.700' });
    await ok(client, 'futu_get_capital_flow', { symbol: 'HK.00700', num: 5 });
    for (const [tool, args] of [
      ['futu_get_financials', { symbol: 'US.AAPL' }],
      ['futu_get_valuation', { symbol: 'US.AAPL' }],
      ['futu_get_option_chain', { symbol: 'US.AAPL' }],
      ['futu_get_dividends', { symbol: 'HK.00005' }],
    ] as const) {
      const symbol = (args as { symbol: string }).symbol;
      await expectRefusal(client, http, {
        tool, args, code: 'LIMIT_EXCEEDED', message: `limit check failed: symbol ${symbol} not allowed`, keyId: 'tencent-only', policies: ['symbol-not-allowed'], limitReason: 'symbol',
      });
    }
    for (const [tool, args] of [['futu_search', { query: 'apple' }], ['futu_search_news', { query: 'apple' }], ['futu_stock_filter', { market: 'HK' }], ['futu_list_watchlists', {}]] as const) {
      await expectRefusal(client, http, {
        tool,
        args,
        code: 'LIMIT_EXCEEDED',
        message: 'limit check failed: a key limited to symbols cannot call tools that list other securities (search, news search, screener, watchlists)',
        keyId: 'tencent-only',
        policies: ['listing-with-symbol-allowlist'],
        limitReason: 'symbol',
      });
    }
    await expectRefusal(client, http, {
      tool: 'futu_get_max_trade_qty', args: { symbol: 'US.AAPL' }, code: 'LIMIT_EXCEEDED', message: 'limit check failed: symbol US.AAPL not allowed', keyId: 'tencent-only', limitReason: 'symbol',
    });
  });

  it('a key limited to HK screens and reads HK only', async () => {
    const client = await run.connectHttp('v2', http.url, keys['hk-only']!);
    const hk = await ok(client, 'futu_stock_filter', { market: 'HK' });
    assert.ok(rows(hk.stocks).every((s) => (s.symbol as string).startsWith('HK.')));
    await ok(client, 'futu_search', { query: 'bank' });
    for (const [tool, args, market] of [
      ['futu_stock_filter', { market: 'US' }, 'US'],
      ['futu_get_option_expirations', { symbol: 'US.AAPL' }, 'US'],
      ['futu_get_capital_distribution', { symbol: 'SH.600519' }, 'SH'],
      ['futu_get_max_trade_qty', { symbol: 'US.AAPL' }, 'US'],
    ] as const) {
      await expectRefusal(client, http, { tool, args, code: 'LIMIT_EXCEEDED', message: `limit check failed: market ${market} not allowed`, keyId: 'hk-only', limitReason: 'market' });
    }
  });

  it('a key limited to one account estimates and reads fees of that account only, and never names another', async () => {
    const client = await run.connectHttp('v2', http.url, keys['one-account']!);
    const others = accountIds.filter((id) => id !== simHk);
    const max = await ok(client, 'futu_get_max_trade_qty', { symbol: 'HK.00700', price: 400 });
    assert.deepEqual(rows(max.accounts).map((a) => a.acc_id), [simHk]);
    assert.equal(rows(max.accounts)[0]!.cash_buy, 2500, 'HKD 1,000,000 buys 25 lots of 100 at 400');
    const fees = await ok(client, 'futu_get_order_fee', { page_size: 100 });
    assert.ok(rows(fees.orders).length > 0 && rows(fees.orders).every((o) => o.acc_id === simHk));
    for (const o of rows(fees.orders)) {
      const items = o.fees as Record<string, number>;
      assert.ok(Math.abs((o.fee_total as number) - Object.values(items).reduce((a, b) => a + b, 0)) < 0.005, `order ${o.order_id as string}`);
    }
    const everyone = await ok(full, 'futu_get_order_fee', { page_size: 100 });
    assert.ok(new Set(rows(everyone.orders).map((o) => o.acc_id)).size > 1, 'the full key reads fees of every account');
    for (const response of [max, fees]) for (const id of others) assert.ok(!JSON.stringify(response).includes(id), `account ${id} leaked`);
    await expectRefusal(client, http, {
      tool: 'futu_get_order_fee', args: { acc_id: others[0]! }, code: 'LIMIT_EXCEEDED', message: `limit check failed: account ${others[0]!} not allowed`, keyId: 'one-account', limitReason: 'account',
    });
    await expectRefusal(client, http, {
      tool: 'futu_get_max_trade_qty', args: { symbol: 'HK.00700', acc_id: others[0]! }, code: 'LIMIT_EXCEEDED', message: `limit check failed: account ${others[0]!} not allowed`, keyId: 'one-account', limitReason: 'account',
    });
  });

  it('leaves verifiable audit chains and no secret in audit files or logs', async () => {
    await run.assertCleanFinish();
  });
});
