/**
 * The analyst's desk (seed 000) as an LLM client runs it, over stdio and HTTP, with v1 and v2
 * clients: the read-only key sees only the tools it may call, every account read works without
 * arguments, history is there, results fit a model's budget, a reload that changes the key's
 * scopes tells the client to list again, and a key restricted to one account never sees another
 * account's id in any response.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { updateKeysFile } from '../../src/keys/file.js';
import type { KeyRecord } from '../../src/keys/types.js';
import { ALL_SCOPES, CLIENT_FLAVORS, E2eRun, READ, SIM, textOf, waitFor, type HttpServerProcess, type McpTestClient, type ToolCallResult } from './helpers.js';

const TRADE_TOOLS = ['futu_place_order', 'futu_modify_order', 'futu_cancel_order', 'futu_unlock_trade'];

type Row = Record<string, unknown>;
const rowsOf = (result: ToolCallResult, field: string): Row[] => (result.structuredContent?.[field] ?? []) as Row[];
const size = (value: unknown): number => JSON.stringify(value).length;

/** A client that counts its calls and refuses to go on after an error, as the seed's model should never need one. */
function counted(client: McpTestClient) {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    async call(name: string, args: Record<string, unknown> = {}): Promise<ToolCallResult> {
      calls += 1;
      const result = await client.callTool(name, args);
      assert.notEqual(result.isError, true, `${name} ${JSON.stringify(args)}: ${JSON.stringify(result.content)}`);
      return result;
    },
  };
}

/** Seed 000's two read conversations, call by call, with no argument learned from an error. */
async function seedConversation(client: McpTestClient): Promise<void> {
  const listed = (await client.listTools()).map((t) => t.name);
  for (const name of TRADE_TOOLS) assert.ok(!listed.includes(name), `${name} is not listed to a read-only key`);
  assert.ok(listed.includes('futu_get_history_deals') && listed.includes('futu_get_snapshot'));

  // "Show me the latest quotes for Tencent and Apple, and walk me through today's market."
  const market = counted(client);
  const quotes = await market.call('futu_get_quote', { symbols: ['HK.700', 'US.AAPL'] });
  assert.deepEqual(rowsOf(quotes, 'quotes').map((q) => q.symbol), ['HK.00700', 'US.AAPL']);
  const snapshot = await market.call('futu_get_snapshot', { symbols: ['HK.00700', 'US.AAPL'] });
  for (const s of rowsOf(snapshot, 'snapshots')) {
    for (const field of ['eps', 'nav_per_share', 'net_profit', 'dividend_ttm', 'dividend_yield_ttm', 'pe_ttm', 'pb', 'market_cap']) {
      assert.ok(typeof s[field] === 'number' && (s[field] as number) > 0, `${String(s.symbol)} ${field}`);
    }
  }
  const kline = await market.call('futu_get_kline', { symbol: 'HK.00700', kl_type: 'daily', num: 20 });
  assert.equal(rowsOf(kline, 'bars').length, 20);
  assert.equal(market.calls, 3);

  // "What do I hold, what traded today, and what did I trade last month?"
  const book = counted(client);
  const positions = await book.call('futu_get_positions');
  assert.deepEqual(new Set(rowsOf(positions, 'positions').map((p) => p.env)), new Set(['real', 'simulate']), 'holdings of every account');
  assert.equal(rowsOf(positions, 'positions')[0]!.env, 'real', 'real accounts first');
  await book.call('futu_get_deals');
  const history = await book.call('futu_get_history_deals');
  assert.ok(rowsOf(history, 'deals').length > 0, 'last month traded');
  assert.match(textOf(history).split('\n')[1]!, /^acc_id,env,trd_market,time,symbol/);
  assert.ok(book.calls <= 3);

  // "Place a buy order for 100 shares of Tencent." Unlisted, and still refused by scope.
  const refused = await client.callTool('futu_place_order', { symbol: 'HK.00700', side: 'BUY', qty: 100, price: 350, env: 'real' });
  assert.equal(refused.isError, true);
  assert.equal(textOf(refused), 'error (MISSING_SCOPE): missing scope trade:real');
}

describe('the analyst desk over stdio', () => {
  const run = new E2eRun('analyst-stdio');
  let keysFile: string;
  let keys: Record<string, string>;

  before(async () => {
    keysFile = run.path('keys.json');
    keys = await run.genKeys(keysFile, [
      { id: 'claude-analyst', scopes: READ },
      ...CLIENT_FLAVORS.map((flavor) => ({ id: `grower-${flavor}`, scopes: READ })),
    ]);
  });
  after(() => run.dispose());

  for (const flavor of CLIENT_FLAVORS) {
    it(`${flavor}: seed 000 in 3 + 3 calls, with server instructions and only the key's tools listed`, async () => {
      const client = await run.connectStdio(flavor, { name: `analyst-${flavor}`, keysFile, apiKey: keys['claude-analyst'] });
      assert.match(client.instructions ?? '', /MARKET\.CODE/);
      assert.match(client.instructions ?? '', /every account this key may use/);
      assert.deepEqual((client.capabilities?.tools as Row | undefined)?.listChanged, true);
      await seedConversation(client);
    });

    it(`${flavor}: a reload that changes the key's scopes sends tools/list_changed, and the list follows`, async () => {
      const id = `grower-${flavor}`;
      const client = await run.connectStdio(flavor, { name: `grower-${flavor}`, keysFile, apiKey: keys[id] });
      assert.ok(!(await client.listTools()).some((t) => t.name === 'futu_place_order'));

      await client.hup();
      await client.listTools();
      assert.deepEqual(client.notifications(), [], 'a reload that changes nothing for this key sends nothing');

      updateKeysFile(keysFile, (records) => records.map((r) => (r.id === id ? { ...r, scopes: SIM as KeyRecord['scopes'] } : r)));
      await client.hup();
      await waitFor('tools/list_changed', () => client.notifications().includes('notifications/tools/list_changed'));
      const names = (await client.listTools()).map((t) => t.name);
      assert.ok(names.includes('futu_place_order') && !names.includes('futu_unlock_trade'), names.join(','));
    });
  }

  it('leaves verifiable audit chains and no secret in audit files or logs', async () => {
    await run.assertCleanFinish();
  });
});

describe('the analyst desk over HTTP', () => {
  const run = new E2eRun('analyst-http');
  let keys: Record<string, string>;
  let http: HttpServerProcess;
  let accountIds: string[];
  let simHk: string;

  before(async () => {
    const keysFile = run.path('keys.json');
    keys = await run.genKeys(keysFile, [
      { id: 'claude-analyst', scopes: READ },
      { id: 'full', scopes: ALL_SCOPES },
    ]);
    http = await run.startHttp({ name: 'analyst-http', keysFile });
    const full = await run.connectHttp('v2', http.url, keys.full!);
    const accounts = rowsOf(await full.callTool('futu_list_accounts'), 'accounts');
    accountIds = accounts.map((a) => a.acc_id as string);
    simHk = accounts.find((a) => a.env === 'simulate' && (a.trd_markets as string[]).includes('HK'))!.acc_id as string;
    keys.desk = await run.genKey(keysFile, 'desk', SIM, ['--allowed-acc-ids', simHk]);
    await http.hup();
  });
  after(() => run.dispose());

  for (const flavor of CLIENT_FLAVORS) {
    it(`${flavor}: seed 000 over a session of the read-only key`, async () => {
      await seedConversation(await run.connectHttp(flavor, http.url, keys['claude-analyst']!));
    });
  }

  it('results and tools/list fit a model\'s budget', async () => {
    const full = await run.connectHttp('v2', http.url, keys.full!);
    const tools = await full.listTools();
    assert.equal(tools.length, 39, 'the full key sees every tool');
    const perTool = size({ tools }) / tools.length;
    assert.ok(perTool <= 1500, `tools/list costs ${Math.round(perTool)} chars per tool`);
    const bars100 = await full.callTool('futu_get_kline', { symbol: 'HK.00700', kl_type: 'day', num: 100 });
    assert.equal(rowsOf(bars100, 'bars').length, 100);
    assert.ok(size(bars100) <= 12_000, `100 daily bars cost ${size(bars100)} chars`);
    const bars1000 = await full.callTool('futu_get_kline', { symbol: 'HK.00700', kl_type: 'day', num: 1000 });
    assert.equal(rowsOf(bars1000, 'bars').length, 1000);
    assert.ok(size(bars1000) <= 110_000, `1,000 daily bars cost ${size(bars1000)} chars`);
  });

  it('a key restricted to one account never sees another account\'s id, in any response of a full sweep', async () => {
    const desk = await run.connectHttp('v2', http.url, keys.desk!);
    const listed = await desk.listTools();
    assert.ok(!listed.some((t) => t.name === 'futu_unlock_trade'));
    const others = accountIds.filter((id) => id !== simHk);
    assert.equal(others.length, 4);
    const sweep: Array<[string, Record<string, unknown>]> = [
      ['futu_get_limits', {}],
      ['futu_ping', {}],
      ['futu_get_quote', { symbols: ['HK.00700', 'US.AAPL', 'HK.99999'] }],
      ['futu_get_snapshot', { symbol: 'HK.00700' }],
      ['futu_get_kline', { symbol: 'HK.00700', num: 5 }],
      ['futu_get_orderbook', { symbol: 'HK.00700' }],
      ['futu_get_ticker', { symbol: 'HK.00700', num: 5 }],
      ['futu_get_rt', { symbol: 'HK.00700', num: 5 }],
      ['futu_get_static', { symbol: 'HK.00700' }],
      ['futu_get_broker', { symbol: 'HK.00700' }],
      ['futu_list_plates', { market: 'HK' }],
      ['futu_plate_stocks', { plate: 'HK.BK1910' }],
      ['futu_search', { query: 'tencent' }],
      ['futu_get_market_state', {}],
      ['futu_get_financials', { symbol: 'HK.00700' }],
      ['futu_get_valuation', { symbol: 'HK.00700' }],
      ['futu_get_company_profile', { symbol: 'HK.00700' }],
      ['futu_get_analyst_consensus', { symbol: 'HK.00700' }],
      ['futu_get_dividends', { symbol: 'HK.00700' }],
      ['futu_search_news', { query: 'tencent' }],
      ['futu_get_capital_flow', { symbol: 'HK.00700', num: 5 }],
      ['futu_get_capital_distribution', { symbol: 'HK.00700' }],
      ['futu_get_option_expirations', { symbol: 'US.AAPL' }],
      ['futu_get_option_chain', { symbol: 'US.AAPL', page_size: 5 }],
      ['futu_stock_filter', { market: 'HK' }],
      ['futu_list_watchlists', {}],
      ['futu_list_accounts', {}],
      ['futu_list_accounts', { env: 'real' }],
    ];
    for (const tool of ['futu_get_funds', 'futu_get_positions', 'futu_get_orders', 'futu_get_deals', 'futu_get_history_orders', 'futu_get_history_deals', 'futu_get_order_fee']) {
      for (const args of [{}, { env: 'real' }, { env: 'simulate' }, { market: 'US' }, { market: 'HK' }]) sweep.push([tool, args]);
    }
    for (const args of [{}, { env: 'real' }, { env: 'simulate' }]) sweep.push(['futu_get_max_trade_qty', { symbol: 'HK.00700', ...args }], ['futu_get_max_trade_qty', { symbol: 'US.AAPL', ...args }]);
    sweep.push(
      ['futu_place_order', { symbol: 'HK.00700', side: 'BUY', qty: 100, price: 300 }],
      ['futu_place_order', { symbol: 'HK.00700', side: 'BUY', qty: 100, price: 300, env: 'real' }],
      ['futu_cancel_order', { order_id: '12345' }],
      ['futu_modify_order', { order_id: '12345', price: 301 }],
      ['futu_unlock_trade', {}],
    );
    assert.ok(listed.every((t) => sweep.some(([name]) => name === t.name)), 'the sweep calls every listed tool');
    let answered = 0;
    for (const [name, args] of sweep) {
      const result = await desk.callTool(name, args);
      const seen = JSON.stringify(result);
      for (const id of others) assert.ok(!seen.includes(id), `${name} ${JSON.stringify(args)} names account ${id}: ${seen.slice(0, 400)}`);
      if (result.isError !== true) answered += 1;
    }
    assert.ok(answered >= 20, `${answered} calls answered`);
    const funds = await desk.callTool('futu_get_funds');
    assert.deepEqual(rowsOf(funds, 'funds').map((f) => f.acc_id), [simHk]);
  });

  it('leaves verifiable audit chains and no secret in audit files, logs or /metrics', async () => {
    await http.metrics();
    await run.assertCleanFinish();
  });
});
