/**
 * Issue 18 §3, live updates as MCP resources, over real HTTP against a simulator on a clock the
 * test moves: futu://quote/{symbol}, futu://orderbook/{symbol} and futu://orders are read and
 * subscribed with the v1 SDK client; an update arrives when the price moves and none after
 * unsubscribing, at most one a second; reads and subscriptions are refused with the Cedar code
 * of the tool read they are; a key narrowed or revoked by a reload stops receiving updates on the
 * next push, each withheld push counted in futu_ws_push_filtered_total{key_id,reason}; the
 * subscriptions count against the key's OpenD budget; an order update reaches only keys that may
 * use its account.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { Client as V2Client, StreamableHTTPClientTransport as V2HttpTransport } from '@modelcontextprotocol/client';
import { getDefaultEnvironment as v2DefaultEnv, StdioClientTransport as V2StdioTransport } from '@modelcontextprotocol/client/stdio';
import { updateKeysFile } from '../../src/keys/file.js';
import { startSimulator, type SimulatorHandle } from '../../src/sim/server.js';
import { E2E_SIM_CLOCK, E2eRun, FUTU_MCP, pollFor, READ, sample, SIM, textOf, TRADE_PWD, tradeOk, type HttpServerProcess } from './helpers.js';

const QUOTE = 'futu://quote/HK.00700';
const BOOK = 'futu://orderbook/HK.00700';
const ORDERS = 'futu://orders';

interface ResourceClient {
  readonly sdk: Client;
  readonly transport: Transport;
  /** URIs of the notifications/resources/updated received, with when they arrived. */
  readonly updates: Array<{ uri: string; at: number }>;
  count(uri: string): number;
  json(uri: string): Promise<Record<string, unknown>>;
}

describe('live updates as MCP resources (2025 sessions)', () => {
  const run = new E2eRun('resources');
  let sim: SimulatorHandle;
  let http: HttpServerProcess;
  let keys: Record<string, string>;
  let keysFile: string;
  /** The simulator's clock: the market moves only when a test moves it. */
  let simNow = Date.parse(E2E_SIM_CLOCK);
  const clients: Client[] = [];

  /** Moves the market a minute on; the simulator's next push (every 50 ms) carries the new price. */
  const moveMarket = () => (simNow += 60_000);

  function connect(keyId: string): Promise<ResourceClient> {
    return connectOver(new StreamableHTTPClientTransport(new URL(http.url), { requestInit: { headers: { Authorization: `Bearer ${keys[keyId]!}` } } }));
  }

  async function connectOver(transport: Transport): Promise<ResourceClient> {
    const sdk = new Client({ name: 'resources-e2e', version: '0' });
    const updates: Array<{ uri: string; at: number }> = [];
    sdk.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push({ uri: n.params.uri, at: performance.now() }));
    await sdk.connect(transport);
    clients.push(sdk);
    return {
      sdk,
      transport,
      updates,
      count: (uri) => updates.filter((u) => u.uri === uri).length,
      json: async (uri) => {
        const read = await sdk.readResource({ uri });
        assert.equal(read.contents.length, 1);
        assert.equal(read.contents[0]!.uri, uri);
        assert.equal(read.contents[0]!.mimeType, 'application/json');
        const content = read.contents[0]!;
        assert.ok('text' in content, 'a text resource');
        return JSON.parse(content.text) as Record<string, unknown>;
      },
    };
  }

  /** Moves the market until `client` was told about `uri` once more. */
  async function nextUpdate(client: ResourceClient, uri: string): Promise<void> {
    const before = client.count(uri);
    moveMarket();
    await pollFor(`an update of ${uri}`, () => (client.count(uri) > before ? true : undefined));
  }

  /**
   * The order of pushes on one OpenD link is kept: once `witness` (subscribed by another key, or
   * another resource) was told of a move, the same move's push for `client` was dispatched too.
   */
  async function moveAndWitness(witness: ResourceClient, witnessUri: string): Promise<void> {
    // Past the witness's rate-limit interval, so its update is not held back.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await nextUpdate(witness, witnessUri);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  const filtered = async (keyId: string, reason: string) => sample(await http.metrics(), 'futu_ws_push_filtered_total', { key_id: keyId, reason });

  before(async () => {
    sim = await startSimulator({ port: 0, tradePwd: TRADE_PWD, now: () => simNow, marketHours: 'always', pushIntervalMs: 50 });
    keysFile = run.path('keys.json');
    keys = await run.genKeys(keysFile, [
      { id: 'reader', scopes: READ },
      { id: 'witness', scopes: READ },
      { id: 'accounts-only', scopes: ['acc:read'] },
      { id: 'quotes-only', scopes: ['qot:read'] },
      { id: 'us-symbols', scopes: READ, flags: ['--allowed-symbols', 'US.AAPL'] },
      { id: 'narrowed', scopes: READ },
      { id: 'doomed', scopes: READ },
      { id: 'expiring', scopes: READ },
      { id: 'descoped', scopes: READ },
      { id: 'greedy', scopes: READ },
      { id: 'racer', scopes: READ },
      { id: 'trader', scopes: SIM },
    ]);
    http = await run.startHttp({ name: 'resources', keysFile, gateway: `127.0.0.1:${sim.port}`, extraArgs: ['--sub-quota-per-key', '3'] });
  });
  after(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    await run.assertCleanFinish();
    await run.dispose();
    await sim.close();
  });

  it('lists the quote and order-book templates to keys with qot:read, and futu://orders to keys with acc:read', async () => {
    const reader = await connect('reader');
    const { resourceTemplates } = await reader.sdk.listResourceTemplates();
    assert.deepEqual(resourceTemplates.map((t) => t.uriTemplate).sort(), ['futu://orderbook/{symbol}', 'futu://quote/{symbol}']);
    assert.deepEqual((await reader.sdk.listResources()).resources.map((r) => r.uri), [ORDERS]);
    const quotesOnly = await connect('us-symbols');
    assert.deepEqual((await quotesOnly.sdk.listResources()).resources.map((r) => r.uri), [ORDERS]);
    const accountsOnly = await connect('accounts-only');
    assert.deepEqual((await accountsOnly.sdk.listResourceTemplates()).resourceTemplates, [], 'no quote templates without qot:read');
    assert.deepEqual((await accountsOnly.sdk.listResources()).resources.map((r) => r.uri), [ORDERS]);
    const quotesOnlyKey = await connect('quotes-only');
    assert.deepEqual((await quotesOnlyKey.sdk.listResources()).resources, [], 'no futu://orders without acc:read');
    assert.equal((await quotesOnlyKey.sdk.listResourceTemplates()).resourceTemplates.length, 2);
    assert.equal((await reader.sdk.listTools()).tools.length, (await quotesOnly.sdk.listTools()).tools.length, 'resources are not tools');
  });

  it('reads each resource in the shape of its tool', async () => {
    const reader = await connect('reader');
    const quote = (await reader.json(QUOTE)) as { quotes: Array<{ symbol: string; price: number }> };
    assert.equal(quote.quotes[0]!.symbol, 'HK.00700');
    assert.ok(quote.quotes[0]!.price > 0);
    const book = (await reader.json(BOOK)) as { symbol: string; bids: unknown[]; asks: unknown[] };
    assert.equal(book.symbol, 'HK.00700');
    assert.equal(book.bids.length, 10);
    assert.equal(book.asks.length, 10);
    assert.ok(Array.isArray(((await reader.json(ORDERS)) as { orders: unknown[] }).orders));
    // Budgets: compact JSON, as the tools' structured results.
    const size = async (uri: string) => JSON.stringify((await reader.sdk.readResource({ uri })).contents).length;
    assert.ok((await size(QUOTE)) <= 600, `a quote costs ${await size(QUOTE)} chars`);
    assert.ok((await size(BOOK)) <= 1800, `a 10-level book costs ${await size(BOOK)} chars`);
    const templates = JSON.stringify(await reader.sdk.listResourceTemplates()).length;
    assert.ok(templates <= 800, `the templates cost ${templates} chars`);
    await assert.rejects(reader.sdk.readResource({ uri: 'futu://quote/NOT A SYMBOL' }), /invalid resource URI/);
    await assert.rejects(reader.sdk.readResource({ uri: 'futu://positions' }), /unknown resource/);
  });

  it('subscribe: an update when the price moves, none while it stands still, none after unsubscribe', async () => {
    const reader = await connect('reader');
    await reader.sdk.subscribeResource({ uri: QUOTE });
    await reader.sdk.subscribeResource({ uri: BOOK });
    const price = ((await reader.json(QUOTE)) as { quotes: Array<{ price: number }> }).quotes[0]!.price;
    // Twenty pushes of the same price: no change, no update.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal(reader.count(QUOTE), 0);
    await nextUpdate(reader, QUOTE);
    await pollFor('the book update', () => (reader.count(BOOK) > 0 ? true : undefined));
    assert.notEqual(((await reader.json(QUOTE)) as { quotes: Array<{ price: number }> }).quotes[0]!.price, price, 'the update announced a new price');

    await reader.sdk.unsubscribeResource({ uri: QUOTE });
    const quotes = reader.count(QUOTE);
    await moveAndWitness(reader, BOOK);
    assert.equal(reader.count(QUOTE), quotes, 'no quote update after unsubscribe');
    await reader.sdk.unsubscribeResource({ uri: BOOK });
  });

  it('at most one update a second per resource and subscriber, the last move announced', async () => {
    const reader = await connect('reader');
    await reader.sdk.subscribeResource({ uri: QUOTE });
    const started = performance.now();
    for (let i = 0; i < 8; i++) {
      moveMarket();
      await new Promise((resolve) => setTimeout(resolve, 120));
    }
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const elapsed = performance.now() - started;
    const times = reader.updates.filter((u) => u.uri === QUOTE).map((u) => u.at);
    assert.ok(times.length >= 1 && times.length <= Math.ceil(elapsed / 1000) + 1, `${times.length} updates in ${Math.round(elapsed)} ms`);
    assert.ok(times.length < 8, 'moves within a second were merged');
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= 900, `updates ${Math.round(times[i]! - times[i - 1]!)} ms apart`);
    await reader.sdk.unsubscribeResource({ uri: QUOTE });
  });

  it('refuses a read and a subscription the key may not make, with the Cedar code of the tool read', async () => {
    const accountsOnly = await connect('accounts-only');
    await assert.rejects(accountsOnly.sdk.readResource({ uri: QUOTE }), /MISSING_SCOPE.*missing scope qot:read/);
    await assert.rejects(accountsOnly.sdk.subscribeResource({ uri: BOOK }), /MISSING_SCOPE.*missing scope qot:read/);
    const usSymbols = await connect('us-symbols');
    await assert.rejects(usSymbols.sdk.readResource({ uri: QUOTE }), /LIMIT_EXCEEDED.*symbol HK\.00700 not allowed/);
    await assert.rejects(usSymbols.sdk.subscribeResource({ uri: QUOTE }), /LIMIT_EXCEEDED.*symbol HK\.00700 not allowed/);
    assert.ok((await usSymbols.json('futu://quote/US.AAPL')).quotes, 'its own symbol reads');
  });

  it('a key narrowed by a reload mid-subscription gets no more updates; each withheld push is counted', async () => {
    const narrowed = await connect('narrowed');
    const witness = await connect('witness');
    await narrowed.sdk.subscribeResource({ uri: QUOTE });
    await witness.sdk.subscribeResource({ uri: QUOTE });
    await nextUpdate(narrowed, QUOTE);
    assert.equal(await filtered('narrowed', 'symbol'), 0);

    updateKeysFile(keysFile, (records) => records.map((r) => (r.id === 'narrowed' ? { ...r, limits: { ...r.limits, allowed_symbols: ['US.AAPL'] } } : r)));
    await http.hup();
    const seen = narrowed.count(QUOTE);
    await moveAndWitness(witness, QUOTE);
    assert.equal(narrowed.count(QUOTE), seen, 'the narrowed key heard of no move');
    await pollFor('the withheld push in the metric', async () => ((await filtered('narrowed', 'symbol')) >= 1 ? true : undefined));
    // The same connection, without reconnecting: its reads are refused now too.
    await assert.rejects(narrowed.sdk.readResource({ uri: QUOTE }), /LIMIT_EXCEEDED.*symbol HK\.00700 not allowed/);
    await witness.sdk.unsubscribeResource({ uri: QUOTE });
  });

  it('a revoked key gets no more updates', async () => {
    const doomed = await connect('doomed');
    const witness = await connect('witness');
    await doomed.sdk.subscribeResource({ uri: BOOK });
    await witness.sdk.subscribeResource({ uri: BOOK });
    await nextUpdate(doomed, BOOK);
    await run.revokeKey(keysFile, 'doomed');
    await http.hup();
    const seen = doomed.count(BOOK);
    await moveAndWitness(witness, BOOK);
    assert.equal(doomed.count(BOOK), seen, 'the revoked key heard of no move');
    // A reload drops the series of keys no longer in keys.json; the next withheld push counts again.
    await moveAndWitness(witness, BOOK);
    await pollFor('the withheld push in the metric', async () => ((await filtered('doomed', 'revoked')) >= 1 ? true : undefined));
    assert.equal(doomed.count(BOOK), seen);
    await witness.sdk.unsubscribeResource({ uri: BOOK });
  });

  it('a key expired or stripped of qot:read by a reload gets no more updates, counted as expired and scope', async () => {
    const expiring = await connect('expiring');
    const descoped = await connect('descoped');
    const witness = await connect('witness');
    for (const client of [expiring, descoped, witness]) await client.sdk.subscribeResource({ uri: QUOTE });
    await nextUpdate(expiring, QUOTE);
    await pollFor('the update of the other key', () => (descoped.count(QUOTE) > 0 ? true : undefined));
    run.expireKey(keysFile, 'expiring');
    updateKeysFile(keysFile, (records) => records.map((r) => (r.id === 'descoped' ? { ...r, scopes: ['acc:read'] } : r)));
    await http.hup();
    const seen = [expiring.count(QUOTE), descoped.count(QUOTE)];
    await moveAndWitness(witness, QUOTE);
    assert.deepEqual([expiring.count(QUOTE), descoped.count(QUOTE)], seen, 'neither key heard of the move');
    await pollFor('the withheld pushes in the metric', async () => ((await filtered('expiring', 'expired')) >= 1 && (await filtered('descoped', 'scope')) >= 1 ? true : undefined));
    await witness.sdk.unsubscribeResource({ uri: QUOTE });
  });

  it('subscriptions hold slots of the key\'s OpenD budget: beyond it one is refused; unsubscribing or ending the session lets them go', async () => {
    const greedy = await connect('greedy');
    for (const symbol of ['HK.09988', 'HK.03690', 'HK.00005']) await greedy.sdk.subscribeResource({ uri: `futu://quote/${symbol}` });
    await assert.rejects(greedy.sdk.subscribeResource({ uri: 'futu://quote/HK.00941' }), /SUBSCRIPTION_BUDGET.*holds its 3 live subscriptions, 3 of them for resource subscriptions/);
    // Its reads cannot take the held slots either; an unsubscribed one is a claim OpenD keeps for a minute.
    const reads = await run.connectHttp('v1', http.url, keys.greedy!);
    assert.match(textOf(await reads.callTool('futu_get_quote', { symbol: 'HK.00941' })), /SUBSCRIPTION_BUDGET.*3 of them for resource subscriptions/);
    await greedy.sdk.unsubscribeResource({ uri: 'futu://quote/HK.09988' });
    assert.match(textOf(await reads.callTool('futu_get_quote', { symbol: 'HK.00941' })), /SUBSCRIPTION_BUDGET.*OpenD keeps each for a minute after subscribing; retry in \d+ s/);
    // Two new symbols need two slots: the two still held leave only one to release.
    const two = { symbols: ['HK.00941', 'US.TSLA'] };
    assert.match(textOf(await reads.callTool('futu_get_quote', two)), /SUBSCRIPTION_BUDGET.*2 of them for resource subscriptions/);
    // Ending the session ends its subscriptions and their holds.
    await (greedy.transport as StreamableHTTPClientTransport).terminateSession();
    await pollFor('the holds released', async () => (/retry in \d+ s/.test(textOf(await reads.callTool('futu_get_quote', two))) ? true : undefined));
  });

  it('over stdio, as the startup key: read, subscribe, an update when the price moves', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [FUTU_MCP, '--gateway', `127.0.0.1:${sim.port}`, '--keys-file', keysFile, '--state-dir', run.path('stdio.state')],
      env: { ...getDefaultEnvironment(), FUTU_MCP_API_KEY: keys.witness!, FUTU_LOG_LEVEL: 'debug' },
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    run.watchLog('stdio server stderr', () => stderr);
    const stdio = await connectOver(transport);
    await pollFor('the stdio server to reach OpenD', () => (stderr.includes('"msg":"connected to OpenD"') ? true : undefined));
    assert.equal(((await stdio.json(BOOK)) as { symbol: string }).symbol, 'HK.00700');
    await stdio.sdk.subscribeResource({ uri: BOOK });
    await nextUpdate(stdio, BOOK);
    await stdio.sdk.close();
  });

  it('over stdio in 2026-07-28 (v2 client, subscriptions/listen, the startup key): an update when the price moves; a refused resource refuses the listen', async () => {
    const client = new V2Client({ name: 'resources-modern-stdio', version: '0' }, { versionNegotiation: { mode: 'auto' } });
    const updates: string[] = [];
    client.setNotificationHandler('notifications/resources/updated', (n) => void updates.push(n.params.uri));
    const transport = new V2StdioTransport({
      command: process.execPath,
      args: [FUTU_MCP, '--gateway', `127.0.0.1:${sim.port}`, '--keys-file', keysFile, '--state-dir', run.path('stdio-modern.state')],
      env: { ...v2DefaultEnv(), FUTU_MCP_API_KEY: keys['us-symbols']!, FUTU_LOG_LEVEL: 'debug' },
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    run.watchLog('modern stdio server stderr', () => stderr);
    await client.connect(transport);
    const AAPL_BOOK = 'futu://orderbook/US.AAPL';
    try {
      assert.equal(client.getNegotiatedProtocolVersion(), '2026-07-28');
      await pollFor('the stdio server to reach OpenD', () => (stderr.includes('"msg":"connected to OpenD"') ? true : undefined));
      const read = await client.readResource({ uri: AAPL_BOOK });
      assert.match(String((read.contents[0] as { text?: string }).text), /"symbol":"US\.AAPL"/);
      await assert.rejects(client.listen({ resourceSubscriptions: [AAPL_BOOK, QUOTE] }), /LIMIT_EXCEEDED.*symbol HK\.00700 not allowed/);
      const subscription = await client.listen({ resourceSubscriptions: [AAPL_BOOK] });
      assert.deepEqual(subscription.honoredFilter.resourceSubscriptions, [AAPL_BOOK]);
      moveMarket();
      await pollFor('the 2026-07-28 stdio update', () => (updates.includes(AAPL_BOOK) ? true : undefined));
      await subscription.close();
    } finally {
      await client.close();
    }
  });

  it('parallel subscriptions of one key beyond its budget: exactly the budget is granted', async () => {
    const racer = await connect('racer');
    const symbols = ['US.AAPL', 'US.NVDA', 'US.MSFT', 'US.GOOG', 'SH.600519', 'SZ.000001'];
    const outcomes = await Promise.allSettled(symbols.map((symbol) => racer.sdk.subscribeResource({ uri: `futu://orderbook/${symbol}` })));
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 3, JSON.stringify(outcomes));
    for (const o of outcomes) if (o.status === 'rejected') assert.match(String(o.reason), /SUBSCRIPTION_BUDGET/);
  });

  it('2026-07-28 (v2 client, subscriptions/listen): an update when the price moves, none after close; a refused resource refuses the listen', async () => {
    const client = new V2Client({ name: 'resources-modern', version: '0' }, { versionNegotiation: { mode: 'auto' } });
    const updates: string[] = [];
    client.setNotificationHandler('notifications/resources/updated', (n) => void updates.push(n.params.uri));
    await client.connect(new V2HttpTransport(new URL(http.url), { requestInit: { headers: { Authorization: `Bearer ${keys.witness!}` } } }));
    const refusedClient = new V2Client({ name: 'resources-modern-refused', version: '0' }, { versionNegotiation: { mode: 'auto' } });
    await refusedClient.connect(new V2HttpTransport(new URL(http.url), { requestInit: { headers: { Authorization: `Bearer ${keys['accounts-only']!}` } } }));
    try {
      assert.equal(client.getNegotiatedProtocolVersion(), '2026-07-28');
      const read = await client.readResource({ uri: QUOTE });
      assert.match(String((read.contents[0] as { text?: string }).text), /"symbol":"HK\.00700"/);
      const subscription = await client.listen({ resourceSubscriptions: [QUOTE] });
      assert.deepEqual(subscription.honoredFilter.resourceSubscriptions, [QUOTE]);
      moveMarket();
      await pollFor('the 2026-07-28 update', () => (updates.includes(QUOTE) ? true : undefined));
      await subscription.close();
      assert.equal(await subscription.closed, 'local');
      const seen = updates.length;
      // Another listener of the same quote witnesses the next move.
      const witness = await connect('reader');
      await witness.sdk.subscribeResource({ uri: QUOTE });
      await moveAndWitness(witness, QUOTE);
      assert.equal(updates.length, seen, 'no update after the listen closed');
      await witness.sdk.unsubscribeResource({ uri: QUOTE });

      await assert.rejects(refusedClient.listen({ resourceSubscriptions: [ORDERS, QUOTE] }), /MISSING_SCOPE.*missing scope qot:read/);
    } finally {
      await client.close();
      await refusedClient.close();
    }
  });

  it('futu://orders: an update after an order in the key\'s account, none for another key\'s account', async () => {
    const trader = await run.connectHttp('v2', http.url, keys.trader!);
    const listed = (await trader.callTool('futu_list_accounts', {})).structuredContent as { accounts: Array<{ acc_id: string; env: string; trd_markets: string[] }> };
    const simUS = listed.accounts.find((a) => a.env === 'simulate' && a.trd_markets.includes('US'))!.acc_id;
    keys['us-trader'] = await run.genKey(keysFile, 'us-trader', SIM, ['--allowed-acc-ids', simUS]);
    await http.hup();

    const own = await connect('trader');
    const other = await connect('us-trader');
    await own.sdk.subscribeResource({ uri: ORDERS });
    await other.sdk.subscribeResource({ uri: ORDERS });
    const placed = await tradeOk(trader, 'futu_place_order', { symbol: 'HK.00700', side: 'BUY', order_type: 'LIMIT', qty: 100, price: 300 });
    await pollFor('the order update', () => (own.count(ORDERS) > 0 ? true : undefined));
    const orders = (await own.json(ORDERS)) as { orders: Array<{ order_id: string }> };
    assert.ok(orders.orders.some((o) => o.order_id === placed.order_id));
    await pollFor('the foreign push in the metric', async () => ((await filtered('us-trader', 'account')) >= 1 ? true : undefined));
    assert.equal(other.count(ORDERS), 0, 'the US-only key heard nothing of an HK account\'s order');
    await tradeOk(trader, 'futu_cancel_order', { order_id: placed.order_id });
  });
});
