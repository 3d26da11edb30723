/**
 * Every one of the 39 tools, end to end, over a real stdio child process and over real HTTP, with
 * the v1 and the v2 SDK client: a successful result whose structuredContent matches the outputSchema
 * the server listed, a simulate order placed, modified and cancelled, and each call audited and
 * counted once. Plus: stdout of a stdio server carries nothing but JSON-RPC frames.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  ALL_SCOPES,
  assertMatchesOutputSchema,
  CLIENT_FLAVORS,
  E2eRun,
  FUTU_MCP,
  readAudit,
  sample,
  trade,
  TRADE_PWD,
  waitFor,
  type HttpServerProcess,
  type McpTestClient,
} from './helpers.js';
import { childEnv } from '../helpers/futucli.js';

const TOOL_NAMES = [
  'futu_get_limits', 'futu_ping', 'futu_get_quote', 'futu_get_snapshot', 'futu_get_kline', 'futu_get_orderbook', 'futu_get_ticker', 'futu_get_rt',
  'futu_get_static', 'futu_get_broker', 'futu_list_plates', 'futu_plate_stocks',
  'futu_search', 'futu_get_market_state', 'futu_get_financials', 'futu_get_valuation', 'futu_get_company_profile', 'futu_get_analyst_consensus', 'futu_get_dividends', 'futu_search_news', 'futu_get_capital_flow', 'futu_get_capital_distribution', 'futu_get_option_expirations', 'futu_get_option_chain', 'futu_stock_filter', 'futu_list_watchlists',
  'futu_list_accounts', 'futu_get_funds',
  'futu_get_positions', 'futu_get_orders', 'futu_get_deals', 'futu_get_history_orders', 'futu_get_history_deals', 'futu_get_max_trade_qty', 'futu_get_order_fee', 'futu_place_order', 'futu_modify_order', 'futu_cancel_order',
  'futu_unlock_trade',
];

/** The tools that send an order write (or unlock) to OpenD. */
const TRADE_WRITES = new Set(['futu_place_order', 'futu_modify_order', 'futu_cancel_order', 'futu_unlock_trade']);

type Structured = Record<string, unknown>;
type Row = Record<string, unknown>;

/**
 * Calls all 39 tools (the trade tools as place → modify → cancel of one simulate order) and checks
 * each result against its listed outputSchema and against what the simulator holds. Returns how
 * many times each tool was called.
 */
async function exerciseEveryTool(client: McpTestClient): Promise<Map<string, number>> {
  const listed = await client.listTools();
  assert.deepEqual(listed.map((t) => t.name), TOOL_NAMES);
  const tools = new Map(listed.map((t) => [t.name, t]));
  const calls = new Map<string, number>();
  const call = async (name: string, args: Record<string, unknown>): Promise<Structured> => {
    calls.set(name, (calls.get(name) ?? 0) + 1);
    const result = TRADE_WRITES.has(name) ? await trade(client, name, args) : await client.callTool(name, args);
    return assertMatchesOutputSchema(tools.get(name)!, result);
  };
  const rows = (value: unknown): Row[] => value as Row[];

  const limits = await call('futu_get_limits', {});
  assert.equal(limits.halted, false);
  assert.equal(limits.require_confirmation, 'never', 'the full key was made with --require-confirmation never');

  const ping = await call('futu_ping', {});
  assert.equal(ping.quote_logged_in, true);
  assert.equal(ping.trade_logged_in, true);

  const quote = await call('futu_get_quote', { symbols: ['HK.00700', 'US.AAPL'] });
  assert.deepEqual(rows(quote.quotes).map((q) => q.symbol), ['HK.00700', 'US.AAPL']);
  assert.equal(rows(quote.quotes)[0]!.name, 'Tencent Holdings');
  assert.ok((rows(quote.quotes)[0]!.price as number) > 0);

  const snapshot = await call('futu_get_snapshot', { symbol: 'HK.00700' });
  assert.equal(rows(snapshot.snapshots)[0]!.symbol, 'HK.00700');

  const kline = await call('futu_get_kline', { symbol: 'HK.00700', kl_type: 'day', num: 5 });
  assert.equal(kline.kl_type, 'day');
  assert.equal(rows(kline.bars).length, 5);

  const book = await call('futu_get_orderbook', { symbol: 'HK.00700', num: 3 });
  assert.equal(rows(book.bids).length, 3);
  assert.equal(rows(book.asks).length, 3);
  assert.ok((rows(book.bids)[0]!.price as number) < (rows(book.asks)[0]!.price as number));

  const ticker = await call('futu_get_ticker', { symbol: 'HK.00700', num: 4 });
  assert.equal(rows(ticker.ticks).length, 4);

  const rt = await call('futu_get_rt', { symbol: 'US.AAPL' });
  assert.equal(rt.symbol, 'US.AAPL');
  assert.ok(rows(rt.points).length > 0);

  const statics = await call('futu_get_static', { symbols: ['HK.00700'] });
  assert.equal(rows(statics.securities)[0]!.lot_size, 100);

  const broker = await call('futu_get_broker', { symbol: 'HK.00700' });
  assert.ok(rows(broker.bids).length > 0);

  const plates = await call('futu_list_plates', { market: 'HK', plate_type: 'all' });
  assert.ok(rows(plates.plates).some((p) => p.plate === 'HK.BK1910'));

  const members = await call('futu_plate_stocks', { plate: 'HK.BK1910' });
  assert.ok(rows(members.stocks).some((s) => s.symbol === 'HK.00700'));

  // The research tools (test/e2e/research.test.ts checks their data in depth).
  assert.ok(rows((await call('futu_search', { query: 'tencent' })).results).some((r) => r.symbol === 'HK.00700'));
  assert.equal(rows((await call('futu_get_market_state', { markets: ['HK'] })).markets)[0]!.market, 'HK');
  assert.ok(rows((await call('futu_get_financials', { symbol: 'US.AAPL' })).reports).length > 0);
  assert.ok(((await call('futu_get_valuation', { symbol: 'US.AAPL', metrics: ['pe'] })).stats as Structured).pe);
  assert.equal((await call('futu_get_company_profile', { symbol: 'HK.00700' })).symbol, 'HK.00700');
  assert.ok((await call('futu_get_analyst_consensus', { symbol: 'HK.00700' })).rating);
  assert.ok(rows((await call('futu_get_dividends', { symbol: 'HK.00700' })).dividends).length > 0);
  assert.ok(rows((await call('futu_search_news', { query: 'Apple' })).news).length > 0);
  assert.equal((await call('futu_get_capital_flow', { symbol: 'HK.00700', num: 5 })).period, 'intraday');
  assert.equal((await call('futu_get_capital_distribution', { symbol: 'HK.00700' })).symbol, 'HK.00700');
  assert.ok(rows((await call('futu_get_option_expirations', { symbol: 'US.AAPL' })).expirations).length > 0);
  assert.ok(rows((await call('futu_get_option_chain', { symbol: 'US.AAPL', page_size: 4 })).contracts).length === 4);
  assert.ok(rows((await call('futu_stock_filter', { market: 'HK', page_size: 3 })).stocks).length === 3);
  assert.ok(rows((await call('futu_list_watchlists', {})).groups).length > 0);

  const accounts = await call('futu_list_accounts', {});
  const simHk = rows(accounts.accounts).find((a) => a.env === 'simulate' && (a.trd_markets as string[]).includes('HK'));
  assert.ok(simHk, 'a simulate HK account is listed');
  const accId = simHk.acc_id as string;
  assert.match(accId, /^\d+$/);

  const funds = await call('futu_get_funds', { acc_id: accId });
  assert.deepEqual(rows(funds.funds).map((f) => [f.acc_id, f.currency]), [[accId, 'HKD']]);

  const positions = await call('futu_get_positions', { market: 'HK' });
  assert.deepEqual(rows(positions.positions).map((p) => `${p.env} ${p.symbol}`).sort(), ['real HK.00005', 'real HK.00700', 'simulate HK.09988']);

  const deals = await call('futu_get_deals', { market: 'HK', env: 'simulate' });
  assert.ok(rows(deals.deals).every((d) => d.acc_id === accId));

  const pastOrders = await call('futu_get_history_orders', { env: 'simulate', market: 'HK' });
  assert.ok(rows(pastOrders.orders).length > 0 && rows(pastOrders.orders).every((o) => o.acc_id === accId));
  const pastDeals = await call('futu_get_history_deals', {});
  assert.ok(new Set(rows(pastDeals.deals).map((d) => d.env)).size === 2, 'fills of real and simulate accounts');

  assert.ok(rows((await call('futu_get_max_trade_qty', { symbol: 'HK.00700', acc_id: accId })).accounts)[0]!.cash_buy as number > 0);
  assert.ok(rows((await call('futu_get_order_fee', { env: 'simulate', market: 'HK' })).orders).length > 0);

  const unlocked = await call('futu_unlock_trade', { unlock: true });
  assert.equal(unlocked.unlocked, true, 'the server unlocked with the password from FUTU_TRADE_PWD');

  // A simulate order, end to end: 100 Tencent far below the market so it stays working.
  const placed = await call('futu_place_order', { symbol: 'HK.00700', side: 'BUY', order_type: 'LIMIT', qty: 100, price: 300 });
  assert.equal(placed.env, 'simulate');
  assert.equal(placed.acc_id, accId);
  assert.equal(placed.status, 'SUBMITTED');
  const orderId = placed.order_id as string;
  assert.match(orderId, /^\d+$/);

  const modified = await call('futu_modify_order', { order_id: orderId, qty: 200, price: 301 });
  assert.equal(modified.order_id, orderId);
  assert.equal(modified.qty, 200);
  assert.equal(modified.price, 301);

  const cancelled = await call('futu_cancel_order', { order_id: orderId });
  assert.equal(cancelled.order_id, orderId);
  assert.equal(cancelled.status, 'CANCELLED_ALL');

  const orders = await call('futu_get_orders', { acc_id: accId, symbol: 'HK.00700' });
  const order = rows(orders.orders).find((o) => o.order_id === orderId);
  assert.ok(order, 'the order is listed');
  assert.equal(order.status, 'CANCELLED_ALL');
  assert.equal(order.qty, 200);
  assert.equal(order.price, 301);

  assert.deepEqual([...calls.keys()].sort(), [...TOOL_NAMES].sort(), 'every tool was called');
  return calls;
}

describe('all 39 tools end to end', () => {
  const run = new E2eRun('tools');
  let keysFile: string;
  let key: string;
  let http: HttpServerProcess;
  const httpSessions = new Set<string>();
  const httpCalls = new Map<string, number>();

  before(async () => {
    keysFile = run.path('keys.json');
    key = await run.genKey(keysFile, 'full', ALL_SCOPES, ['--expires', '30d', '--require-confirmation', 'never']);
    http = await run.startHttp({ name: 'http', keysFile });
  });
  after(() => run.dispose());

  for (const flavor of CLIENT_FLAVORS) {
    it(`stdio, ${flavor} client: every tool succeeds with schema-valid structured content`, async () => {
      const client = await run.connectStdio(flavor, { name: `stdio-${flavor}`, keysFile, apiKey: key });
      const calls = await exerciseEveryTool(client);
      await client.close();

      // Logs went to stderr as JSON lines (stdout was the protocol, or the client would have failed).
      const logLines = client.stderr().split('\n').filter((l) => l !== '');
      assert.ok(logLines.every((l) => typeof (JSON.parse(l) as { msg: unknown }).msg === 'string'), 'stderr holds JSON log lines only');
      assert.ok(logLines.some((l) => l.includes('"transport":"stdio"') && l.includes('"msg":"futu-mcp ready"')));

      // One result record per call, for this key, over stdio, in call order; intents before each trade.
      const records = readAudit(client.auditLog);
      const results = records.filter((r) => r.event === 'tool_call');
      assert.equal(results.length, [...calls.values()].reduce((a, b) => a + b, 0));
      for (const r of results) {
        assert.equal(r.key_id, 'full');
        assert.equal(r.transport, 'stdio');
        assert.equal(r.outcome, 'success');
        assert.equal(r.decision, 'allow');
        assert.equal(r.session_id, null);
        assert.match(r.args_hash as string, /^[0-9a-f]{16}$/);
      }
      const intents = records.filter((r) => r.event === 'tool_intent').map((r) => r.tool);
      assert.deepEqual(intents, ['futu_unlock_trade', 'futu_place_order', 'futu_modify_order', 'futu_cancel_order']);
      for (const tool of intents) {
        const intent = records.findIndex((r) => r.event === 'tool_intent' && r.tool === tool);
        const result = records.findIndex((r) => r.event === 'tool_call' && r.tool === tool);
        assert.ok(intent < result, `${tool}: the intent is recorded before the result`);
      }
      const place = results.find((r) => r.tool === 'futu_place_order')!;
      assert.equal(place.scope, 'trade:simulate');
      assert.deepEqual(place.policies, ['permit-trade-simulate']);
    });

    it(`HTTP, ${flavor} client: every tool succeeds with schema-valid structured content`, async () => {
      const client = await run.connectHttp(flavor, http.url, key);
      assert.ok(client.sessionId);
      httpSessions.add(client.sessionId);
      for (const [tool, n] of await exerciseEveryTool(client)) httpCalls.set(tool, (httpCalls.get(tool) ?? 0) + n);
    });
  }

  it('HTTP: every call was audited under its session and counted in /metrics', async () => {
    const results = readAudit(http.auditLog).filter((r) => r.event === 'tool_call');
    assert.equal(results.length, [...httpCalls.values()].reduce((a, b) => a + b, 0));
    for (const r of results) {
      assert.equal(r.key_id, 'full');
      assert.equal(r.transport, 'http');
      assert.equal(r.outcome, 'success');
      assert.ok(httpSessions.has(r.session_id as string), `session ${String(r.session_id)} is one of the clients'`);
    }
    assert.equal(new Set(results.map((r) => r.session_id)).size, 2);

    const metrics = await http.metrics();
    for (const [tool, n] of httpCalls) {
      assert.equal(sample(metrics, 'futu_mcp_tool_calls_total', { tool, outcome: 'success' }), n, tool);
      assert.equal(sample(metrics, 'futu_mcp_tool_calls_total', { tool, outcome: 'reject' }), 0, tool);
    }
    const total = [...httpCalls.values()].reduce((a, b) => a + b, 0);
    assert.equal(sample(metrics, 'futu_auth_events_total', { iface: 'mcp', outcome: 'allow', key_id: 'full' }), total);
    assert.equal(sample(metrics, 'futu_gateway_up', {}), 1);
  });

  it('stdio: stdout carries only JSON-RPC frames while logs go to stderr', async (t) => {
    const child = spawn(
      process.execPath,
      [FUTU_MCP, '--gateway', 'sim', '--keys-file', keysFile, '--state-dir', run.path('raw.state'), '--audit-log', run.path('raw.audit.jsonl')],
      { env: childEnv({ FUTU_MCP_API_KEY: key, FUTU_TRADE_PWD: TRADE_PWD, FUTU_LOG_LEVEL: 'debug' }), stdio: ['pipe', 'pipe', 'pipe'] },
    );
    run.auditFiles.add(run.path('raw.audit.jsonl'));
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    t.after(() => void (child.exitCode === null && child.kill('SIGKILL')));
    run.watchLog('raw stdio server stdout', () => stdout);
    run.watchLog('raw stdio server stderr', () => stderr);
    const frames = () => stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
    const send = (m: object) => child.stdin.write(JSON.stringify(m) + '\n');
    const response = (id: number) => waitFor(`response ${id}`, () => frames().find((f) => f.id === id));

    send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '0' } } });
    await response(1);
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    await waitFor('the gateway connection', () => stderr.includes('"msg":"connected to OpenD"'));
    send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'futu_get_quote', arguments: { symbol: 'HK.00700' } } });
    send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'futu_unlock_trade', arguments: {} } });
    send({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'futu_nope', arguments: {} } });
    const [quote, unlock, unknown] = await Promise.all([response(2), response(3), response(4)]);
    child.stdin.end();
    assert.equal(await exited, 0);

    // Every stdout line is a JSON-RPC 2.0 message; every stderr line is a JSON log record.
    for (const frame of frames()) assert.equal(frame.jsonrpc, '2.0');
    assert.deepEqual(frames().map((f) => f.id as number).sort(), [1, 2, 3, 4], 'one response per request, nothing else');
    assert.equal(((quote.result as Row).structuredContent as { quotes: Row[] }).quotes[0]!.symbol, 'HK.00700');
    assert.equal(((unlock.result as Row).structuredContent as Row).unlocked, true);
    assert.equal((unknown.result as Row).isError, true);
    const logs = stderr.split('\n').filter((l) => l !== '');
    assert.ok(logs.length >= 4);
    for (const line of logs) assert.equal(typeof (JSON.parse(line) as Row).msg, 'string', line);
    assert.ok(logs.some((l) => l.includes('"msg":"sim: trading unlocked"')), 'the log shows the unlock reached the simulator');
  });

  it('leaves verifiable audit chains and no secret in audit files, logs or /metrics', async () => {
    await http.metrics();
    await run.assertCleanFinish();
  });
});
