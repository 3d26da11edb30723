/**
 * OpenD's subscription quota cannot be exhausted by reads: read-only keys that read quotes, books,
 * tickers, intraday series and candles for far more (symbol, type) pairs than the quota hold at
 * most their per-key budget, never the last slots, and get a clear refusal beyond (snapshot requests
 * likewise); a trading key's MARKET order and sell, valued from snapshots that need no
 * subscription, go through regardless.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { E2eRun, READ, SIM, textOf, tradeOk, type HttpServerProcess } from './helpers.js';

const SYMBOLS = ['HK.00700', 'HK.09988', 'HK.03690', 'HK.00005', 'HK.00941', 'US.AAPL', 'US.TSLA', 'US.NVDA', 'US.MSFT', 'US.GOOG', 'SH.600519', 'SZ.000001'];
const KL_TYPES = ['1m', '5m', '15m', '30m', '60m', 'day', 'week', 'month'];

/** Every subscribing read of the catalogue, each needing its own (symbol, type) slot: 144 of them. */
const READS: Array<{ tool: string; args: Record<string, unknown> }> = SYMBOLS.flatMap((symbol) => [
  { tool: 'futu_get_quote', args: { symbol } },
  { tool: 'futu_get_orderbook', args: { symbol, num: 1 } },
  { tool: 'futu_get_ticker', args: { symbol, num: 1 } },
  { tool: 'futu_get_rt', args: { symbol } },
  ...KL_TYPES.map((kl_type) => ({ tool: 'futu_get_kline', args: { symbol, kl_type, num: 1 } })),
]);

describe('subscription quota under read-only keys', () => {
  const run = new E2eRun('subquota');
  let http: HttpServerProcess;
  let keys: Record<string, string>;

  before(async () => {
    const keysFile = run.path('keys.json');
    keys = await run.genKeys(keysFile, [
      { id: 'reader-1', scopes: READ },
      { id: 'reader-2', scopes: READ },
      { id: 'reader-3', scopes: READ },
      { id: 'reader-4', scopes: READ },
      { id: 'trader', scopes: SIM },
    ]);
    http = await run.startHttp({ name: 'subquota', keysFile });
  });
  after(() => run.dispose());

  it('readers get their budget and a clear refusal beyond it; a trading key\'s MARKET order and sell still go through', async () => {
    const outcomes: Record<string, { ok: number; budget: string[]; quota: string[] }> = {};
    // Each reader goes for its own 36 pairs, so together they ask for every one of the 144.
    for (let r = 1; r <= 4; r++) {
      const reader = await run.connectHttp('v2', http.url, keys[`reader-${r}`]!);
      const outcome = (outcomes[`reader-${r}`] = { ok: 0, budget: [] as string[], quota: [] as string[] });
      for (const read of READS.slice((r - 1) * 36, r * 36)) {
        const result = await reader.callTool(read.tool, read.args);
        const text = textOf(result);
        if (!result.isError) outcome.ok++;
        else if (text.startsWith('error (SUBSCRIPTION_BUDGET)')) outcome.budget.push(text);
        else if (text.startsWith('error (SUBSCRIPTION_QUOTA)')) outcome.quota.push(text);
        else assert.fail(`${read.tool} ${JSON.stringify(read.args)}: ${text}`);
      }
    }
    // Default budget: a third of the 90 slots reads may use (OpenD's 100 less 10 kept free).
    for (const r of ['reader-1', 'reader-2', 'reader-3']) {
      assert.equal(outcomes[r]!.ok, 30, r);
      assert.equal(outcomes[r]!.budget.length, 6, r);
      assert.match(outcomes[r]!.budget[0]!, /this key already holds its 30 live subscriptions and OpenD keeps each for a minute after subscribing; retry in \d+ s, or use futu_get_snapshot, which needs none \(retry_after_seconds=\d+\)$/);
    }
    assert.equal(outcomes['reader-4']!.ok, 0, 'the last slots are not for reads');
    assert.equal(outcomes['reader-4']!.quota.length, 36);
    assert.match(outcomes['reader-4']!.quota[0]!, /subscription quota exhausted: 1 more slot\(s\) needed, 0 left for reads/);

    // Snapshots need no subscription, but OpenD allows 60 requests per 30 s: one key gets a third
    // of what reads may use, and the server keeps the last ones for valuing orders.
    const reader4 = await run.connectHttp('v2', http.url, keys['reader-4']!);
    const snapshots = await Promise.all(Array.from({ length: 20 }, () => reader4.callTool('futu_get_snapshot', { symbols: ['HK.00700'] })));
    assert.equal(snapshots.filter((r) => !r.isError).length, 16);
    for (const refused of snapshots.filter((r) => r.isError)) {
      assert.match(textOf(refused), /^error \(GATEWAY_RATE_LIMITED\): OpenD allows 60 snapshot requests per 30s, shared by every key; retry in \d+s \(retry_after_seconds=\d+\)$/);
    }

    const trader = await run.connectHttp('v2', http.url, keys.trader!);
    const bought = await tradeOk(trader, 'futu_place_order', { symbol: 'US.AAPL', side: 'BUY', order_type: 'MARKET', qty: 1 });
    assert.equal(bought.order_type, 'MARKET');
    const sold = await tradeOk(trader, 'futu_place_order', { symbol: 'HK.09988', side: 'SELL', order_type: 'MARKET', qty: 100 });
    assert.equal(sold.side, 'SELL');
  });
});
