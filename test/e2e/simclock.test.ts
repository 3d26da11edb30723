/**
 * The embedded simulator's clock from futu-mcp's command line: `--sim-clock` puts it on a
 * Saturday, where markets are closed (a MARKET order is refused, a BUY at the ask rests), and
 * `--sim-market-hours always` keeps them trading (the same BUY fills). Bad values stop futu-mcp.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { E2eRun, FUTU_MCP, SIM, textOf, trade, tradeOk, type McpTestClient } from './helpers.js';

const SATURDAY = '2026-12-05T10:00:00+08:00';

async function askOf(client: McpTestClient, symbol: string): Promise<number> {
  const book = (await client.callTool('futu_get_orderbook', { symbol, num: 1 })).structuredContent as { asks: Array<{ price: number }> };
  return book.asks[0]!.price;
}

async function statusOf(client: McpTestClient, orderId: string): Promise<string | undefined> {
  const listed = (await client.callTool('futu_get_orders', { market: 'HK' })).structuredContent as { orders: Array<{ order_id: string; status: string }> };
  return listed.orders.find((o) => o.order_id === orderId)?.status;
}

describe('futu-mcp --sim-clock / --sim-market-hours', () => {
  const run = new E2eRun('simclock');
  let keysFile: string;
  let keys: Record<string, string>;

  before(async () => {
    keysFile = run.path('keys.json');
    keys = await run.genKeys(keysFile, [{ id: 'trader', scopes: SIM }]);
  });
  after(() => run.dispose());

  it('on a Saturday the markets are closed: a MARKET order is refused and a BUY at the ask rests', async () => {
    const http = await run.startHttp({ name: 'saturday', keysFile, extraArgs: ['--sim-clock', SATURDAY] });
    const trader = await run.connectHttp('v2', http.url, keys.trader!);
    const refused = await trade(trader, 'futu_place_order', { symbol: 'HK.00700', side: 'BUY', order_type: 'MARKET', qty: 100 });
    assert.equal(refused.isError, true);
    assert.match(textOf(refused), /HK\.00700 is not trading now/);

    const ask = await askOf(trader, 'HK.00700');
    const placed = await tradeOk(trader, 'futu_place_order', { symbol: 'HK.00700', side: 'BUY', order_type: 'LIMIT', qty: 100, price: ask });
    assert.equal(placed.status, 'SUBMITTED');
    assert.equal(await statusOf(trader, placed.order_id as string), 'SUBMITTED', 'nothing trades on a Saturday');
    await tradeOk(trader, 'futu_cancel_order', { order_id: placed.order_id });
    await http.stop();
  });

  it('with --sim-market-hours always the same Saturday trades: a BUY at the ask fills', async () => {
    const http = await run.startHttp({ name: 'always', keysFile, extraArgs: ['--sim-clock', SATURDAY, '--sim-market-hours', 'always'] });
    const trader = await run.connectHttp('v2', http.url, keys.trader!);
    const ask = await askOf(trader, 'HK.00700');
    const placed = await tradeOk(trader, 'futu_place_order', { symbol: 'HK.00700', side: 'BUY', order_type: 'LIMIT', qty: 100, price: ask });
    assert.equal(await statusOf(trader, placed.order_id as string), 'FILLED_ALL');
    await http.stop();
  });

  it('refuses a malformed --sim-clock, an unknown --sim-market-hours, and sim options without --gateway sim', async () => {
    const cases: Array<{ args: string[]; message: RegExp }> = [
      { args: ['--gateway', 'sim', '--sim-clock', '2026-12-05'], message: /ISO-8601 instant with a time and an offset/ },
      { args: ['--gateway', 'sim', '--sim-clock', '2026-02-30T10:00:00+08:00'], message: /ISO-8601/ },
      { args: ['--gateway', 'sim', '--sim-market-hours', 'sometimes'], message: /Allowed choices are real, always/ },
      { args: ['--gateway', '127.0.0.1:1', '--sim-clock', SATURDAY], message: /only with --gateway sim/ },
    ];
    for (const { args, message } of cases) {
      const child = spawn(process.execPath, [FUTU_MCP, ...args, '--keys-file', keysFile, '--state-dir', run.path('bad.state')], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const [code] = (await once(child, 'exit')) as [number | null];
      assert.equal(code, 1, `${args.join(' ')}: ${stderr}`);
      assert.match(stderr, message);
    }
  });
});
