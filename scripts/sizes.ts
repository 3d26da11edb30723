/**
 * `npm run sizes`: what each tool costs a model. Starts futu-mcp in-process on the embedded
 * simulator (HTTP on loopback, an all-scopes key), lists the tools and calls each read tool once
 * with typical arguments, and prints the serialized size (chars of compact JSON: every content
 * block plus structuredContent) of each result and of tools/list.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { startFutuMcp } from '../src/mcp/app.js';
import { setLogLevel } from '../src/shared/log.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** One typical call per read tool: what a model asks first. */
export const TYPICAL_CALLS: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
  ['futu_ping', {}],
  ['futu_get_quote', { symbols: ['HK.00700', 'US.AAPL'] }],
  ['futu_get_snapshot', { symbols: ['HK.00700', 'US.AAPL'] }],
  ['futu_get_kline', { symbol: 'HK.00700', kl_type: 'day', num: 100 }],
  ['futu_get_kline', { symbol: 'HK.00700', kl_type: 'day', num: 1000 }],
  ['futu_get_orderbook', { symbol: 'HK.00700' }],
  ['futu_get_ticker', { symbol: 'HK.00700' }],
  ['futu_get_rt', { symbol: 'HK.00700' }],
  ['futu_get_static', { symbols: ['HK.00700', 'US.AAPL'] }],
  ['futu_get_broker', { symbol: 'HK.00700' }],
  ['futu_list_plates', { market: 'HK' }],
  ['futu_plate_stocks', { plate: 'HK.BK1910' }],
  ['futu_search', { query: 'Tencent' }],
  ['futu_get_market_state', {}],
  ['futu_get_financials', { symbol: 'US.AAPL' }],
  ['futu_get_valuation', { symbol: 'US.AAPL' }],
  ['futu_get_company_profile', { symbol: 'US.AAPL' }],
  ['futu_get_analyst_consensus', { symbol: 'US.AAPL' }],
  ['futu_get_dividends', { symbol: 'HK.00700' }],
  ['futu_search_news', { query: 'Apple' }],
  ['futu_get_capital_flow', { symbol: 'HK.00700' }],
  ['futu_get_capital_distribution', { symbol: 'HK.00700' }],
  ['futu_get_option_expirations', { symbol: 'US.AAPL' }],
  ['futu_get_option_chain', { symbol: 'US.AAPL' }],
  ['futu_stock_filter', { market: 'US' }],
  ['futu_list_watchlists', {}],
  ['futu_list_accounts', {}],
  ['futu_get_funds', {}],
  ['futu_get_positions', {}],
  ['futu_get_orders', {}],
  ['futu_get_deals', {}],
  ['futu_get_history_orders', {}],
  ['futu_get_history_deals', {}],
  ['futu_get_max_trade_qty', { symbol: 'HK.00700' }],
  ['futu_get_order_fee', {}],
];

/** Chars of a value as compact JSON: what a client puts in front of a model. */
export const serializedSize = (value: unknown): number => JSON.stringify(value).length;

async function main(): Promise<void> {
  setLogLevel('error');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'futu-mcp-sizes-'));
  const keysFile = path.join(work, 'keys.json');
  const gen = spawnSync(
    process.execPath,
    [path.join(repoRoot, 'dist', 'src', 'cli', 'futucli.js'), '--keys-file', keysFile, '-o', 'json', 'gen-key', '--id', 'sizes', '--scopes', 'qot:read,acc:read,trade:simulate,trade:real,trade:unlock', '--expires', '1d'],
    { encoding: 'utf8' },
  );
  if (gen.status !== 0) throw new Error(`futucli gen-key failed: ${gen.stdout}${gen.stderr}`);
  const token = (JSON.parse(gen.stdout) as { key: string }).key;
  const app = await startFutuMcp({ gateway: 'sim', keysFile, stateDir: path.join(work, 'state'), httpListen: '127.0.0.1:0' });
  const client = new Client({ name: 'futu-mcp-sizes', version: '1.0.0' });
  try {
    await client.connect(new StreamableHTTPClientTransport(new URL(app.url!), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
    const { tools } = await client.listTools();
    const listed = new Set(tools.map((t) => t.name));
    const listSize = serializedSize({ tools });

    const rows: string[] = [];
    for (const [name, args] of TYPICAL_CALLS) {
      if (!listed.has(name)) continue;
      const result = await client.callTool({ name, arguments: args });
      const note = result.isError ? ' (error)' : '';
      rows.push(`${name.padEnd(26)} ${String(serializedSize(result)).padStart(8)}  ${JSON.stringify(args)}${note}`);
    }
    process.stdout.write(`tools/list: ${tools.length} tools, ${listSize} chars (${Math.round(listSize / tools.length)} per tool)\n\n`);
    process.stdout.write(`${'tool'.padEnd(26)} ${'chars'.padStart(8)}  arguments\n${rows.join('\n')}\n`);
  } finally {
    await client.close();
    await app.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

await main();
