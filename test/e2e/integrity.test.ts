/**
 * Trade integrity over real HTTP, against a simulated OpenD behind a TCP proxy the test
 * controls: the holes an outside review reproduced, each as a test that fails without its fix.
 * - parallel SELLs of a SELL-only key never open a short (sells serialized per account/symbol);
 * - orders belong to the key that placed them: no re-pricing or cancelling a human's or another
 *   key's order; with manage_any_order a foreign order is charged its full new value;
 * - a link lost after the order was written is an unknown outcome (value kept, ORDER_OUTCOME_UNKNOWN),
 *   reconciled by itself once the link is back (found → kept; never arrived → refunded);
 * - client_order_id: a retry (in parallel too) returns the first order; other arguments conflict;
 * - a cancel of the key's own order is never held back by the rate limit and frees its value.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { LimitsLedger } from '../../src/authz/ledger.js';
import type { FutuGateway } from '../../src/gateway/api.js';
import type { AccountRef } from '../../src/gateway/types.js';
import { startSimulator, type SimulatorHandle } from '../../src/sim/server.js';
import { INITIALIZE_BODY, mcpPostHeaders, rawHttp, toolCallBody, type McpTestClient, type ToolCallResult } from '../helpers/mcpClients.js';
import { TcpProxy } from '../helpers/tcpProxy.js';
import { E2E_SIM_CLOCK, E2eRun, humanAt, ORDER, pollFor, readAudit, SIM, TRADE_PWD, tradeOk, type HttpServerProcess } from './helpers.js';

const PLACE_ORDER_PROTO = 2202;

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function errorOf(result: ToolCallResult): { code: string; message: string } {
  assert.equal(result.isError, true, `expected an error, got ${JSON.stringify(result.structuredContent)}`);
  const text = String((result.content[0] as { text?: string } | undefined)?.text);
  const match = /^error \(([A-Z_]+)\): ([\s\S]*)$/.exec(text);
  assert.ok(match, text);
  return { code: match[1]!, message: match[2]! };
}

describe('trade integrity over HTTP', () => {
  const run = new E2eRun('integrity');
  let sim: SimulatorHandle;
  let proxy: TcpProxy;
  let human: FutuGateway;
  let http: HttpServerProcess;
  let keys: Record<string, string>;
  let keysFile: string;
  let hk: AccountRef;
  let us: AccountRef;
  const clients = new Map<string, McpTestClient>();
  const as = async (id: string): Promise<McpTestClient> => {
    let client = clients.get(id);
    if (!client) {
      client = await run.connectHttp('v2', http.url, keys[id]!);
      clients.set(id, client);
    }
    return client;
  };
  const usage = (keyId: string) => new LimitsLedger({ stateDir: run.path('integrity.state') }).usage(keyId, new Date());

  before(async () => {
    sim = await startSimulator({ port: 0, tradePwd: TRADE_PWD, clock: E2E_SIM_CLOCK, marketHours: 'always' });
    proxy = await TcpProxy.start({ port: sim.port });
    // The human at the Futu app: trades in the same accounts, straight at OpenD.
    ({ human, hk, us } = await humanAt(sim.port));
    keysFile = run.path('keys.json');
    keys = await run.genKeys(keysFile, [
      { id: 'owner', scopes: SIM, flags: ['--max-daily-value', '1000000'] },
      { id: 'seller', scopes: SIM, flags: ['--allowed-markets', 'US', '--allowed-trd-sides', 'SELL'] },
      { id: 'budget', scopes: SIM, flags: ['--allowed-symbols', 'US.AAPL', '--allowed-trd-sides', 'BUY', '--max-daily-value', '1000'] },
      { id: 'desk', scopes: SIM, flags: ['--manage-any-order', '--max-daily-value', '10000'] },
      { id: 'other', scopes: SIM },
      { id: 'rated', scopes: SIM, flags: ['--max-orders-per-minute', '1', '--max-daily-value', '40000'] },
    ]);
    http = await run.startHttp({ name: 'integrity', keysFile, gateway: `127.0.0.1:${proxy.port}` });
  });
  after(async () => {
    await run.dispose();
    await human.close();
    await proxy.close();
    await sim.close();
  });

  it('8 parallel SELLs of all the shares held, by a SELL-only key: one sells, the rest are short sales and refused', async () => {
    await tradeOk(await as('owner'), 'futu_place_order', { symbol: 'US.MSFT', side: 'BUY', order_type: 'MARKET', qty: 20 });
    const [position] = await human.getPositions(us, { symbols: ['US.MSFT'] });
    const held = position?.canSellQty ?? 0;
    assert.ok(held >= 20, `the account holds the 20 bought: ${held}`);
    const seller = await as('seller');
    const results = await Promise.all(Array.from({ length: 8 }, () => seller.callTool('futu_place_order', { symbol: 'US.MSFT', side: 'SELL', order_type: 'MARKET', qty: held })));
    const sold = results.filter((r) => r.isError !== true);
    assert.equal(sold.length, 1, JSON.stringify(results.map((r) => r.content)));
    for (const refused of results.filter((r) => r.isError === true)) {
      assert.deepEqual(errorOf(refused), { code: 'LIMIT_EXCEEDED', message: 'limit check failed: side SELL_SHORT not allowed' });
    }
    const [after] = await human.getPositions(us, { symbols: ['US.MSFT'] });
    assert.ok((after?.qty ?? 0) >= 0, `no short was opened: position ${after?.qty}`);
  });

  it('a key cannot re-price or cancel a human\'s order or another key\'s; manage_any_order pays the full new value', async () => {
    const humanOrder = await human.placeOrder(us, { symbol: 'US.AAPL', side: 'BUY', orderType: 'NORMAL', qty: 100, price: 1 });
    const budget = await as('budget');
    const foreign = { code: 'POLICY_DENIED', message: 'order not placed by this key: a key may modify or cancel only its own orders unless its limits set manage_any_order' };
    assert.deepEqual(errorOf(await budget.callTool('futu_modify_order', { order_id: humanOrder.orderId, qty: 20, price: 300 })), foreign);
    assert.deepEqual(errorOf(await budget.callTool('futu_cancel_order', { order_id: humanOrder.orderId })), foreign);
    assert.equal((await usage('budget')).dailyValue, 0);

    const ownersOrder = await tradeOk(await as('owner'), 'futu_place_order', ORDER);
    assert.deepEqual(errorOf(await (await as('other')).callTool('futu_cancel_order', { order_id: String(ownersOrder.order_id) })), foreign);

    // Charged as a new order of 20 x USD 300 (about HKD 47k), never the difference to the old one.
    const desk = await as('desk');
    const repriced = errorOf(await desk.callTool('futu_modify_order', { order_id: humanOrder.orderId, qty: 20, price: 300 }));
    assert.equal(repriced.code, 'LIMIT_EXCEEDED');
    assert.match(repriced.message, /^limit check failed: daily value HKD 4\d,\d{3}\.\d\d would exceed daily limit HKD 10,000\.00$/);
    await tradeOk(desk, 'futu_cancel_order', { order_id: humanOrder.orderId });
    const [cancelled] = await human.getOrders(us, { orderIds: [humanOrder.orderId] });
    assert.equal(cancelled?.status, 'CANCELLED_ALL');
    const [untouched] = await human.getOrders(hk, { orderIds: [String(ownersOrder.order_id)] });
    assert.equal(untouched?.status, 'SUBMITTED');
  });

  it('a cancel of the key\'s own order is never held back by the rate limit and gives its value back', async () => {
    const rated = await as('rated');
    const placed = await tradeOk(rated, 'futu_place_order', ORDER);
    assert.equal((await usage('rated')).dailyValue, 3_000_000);
    assert.match(errorOf(await rated.callTool('futu_place_order', ORDER)).message, /rate limit \(1 in 60s, cap 1\)/);
    await tradeOk(rated, 'futu_cancel_order', { order_id: String(placed.order_id) });
    assert.equal((await usage('rated')).dailyValue, 0, 'the unfilled value returned to the day');
  });

  it('client_order_id: parallel retries get one order, a retry later the same one, other arguments a conflict', async () => {
    const owner = await as('owner');
    const order = { ...ORDER, price: 290, client_order_id: 'dup-1' };
    const results = await Promise.all(Array.from({ length: 5 }, () => owner.callTool('futu_place_order', order)));
    const ids = new Set(results.map((r) => (assert.notEqual(r.isError, true, JSON.stringify(r.content)), r.structuredContent!.order_id)));
    assert.equal(ids.size, 1);
    assert.equal(results.filter((r) => r.structuredContent!.replay === true).length, 4);
    const again = await tradeOk(owner, 'futu_place_order', order);
    assert.deepEqual([again.order_id, again.replay, again.client_order_id], [[...ids][0], true, 'dup-1']);
    const tagged = (await human.getOrders(hk)).filter((o) => o.remark?.includes(':c:dup-1'));
    assert.equal(tagged.length, 1, 'OpenD holds exactly one order for the id');
    assert.equal(errorOf(await owner.callTool('futu_place_order', { ...order, qty: 200 })).code, 'IDEMPOTENCY_CONFLICT');
  });

  it('a link lost after the order was written: ORDER_OUTCOME_UNKNOWN, value kept, reconciled as placed; the retry returns it', async () => {
    const owner = await as('owner');
    const before = (await usage('owner')).dailyValue;
    const cut = proxy.cutAfterRequest(PLACE_ORDER_PROTO);
    const lost = errorOf(await owner.callTool('futu_place_order', { ...ORDER, price: 280, client_order_id: 'lost-1' }));
    await cut;
    assert.equal(lost.code, 'ORDER_OUTCOME_UNKNOWN');
    assert.match(lost.message, /may have been placed; check futu_get_orders before retrying/);
    const reconciled = await pollFor('the reconciliation', () => readAudit(http.auditLog).find((r) => r.event === 'order_reconciled' && r.client_order_id === 'lost-1'));
    assert.deepEqual([reconciled.resolution, reconciled.key_id, reconciled.value], ['placed', 'owner', 2_800_000]);
    assert.equal((await usage('owner')).dailyValue, before + 2_800_000, 'the order exists, so its value stays spent');
    const retry = await tradeOk(owner, 'futu_place_order', { ...ORDER, price: 280, client_order_id: 'lost-1' });
    assert.deepEqual([retry.order_id, retry.replay], [reconciled.order_id, true]);
    assert.equal((await human.getOrders(hk)).filter((o) => o.remark?.includes(':c:lost-1')).length, 1);
  });

  it('a link lost before the order reached OpenD: reconciled as not placed, value refunded, the retry places it', async () => {
    const owner = await as('owner');
    const before = (await usage('owner')).dailyValue;
    const drop = proxy.dropBeforeRequest(PLACE_ORDER_PROTO);
    const lost = errorOf(await owner.callTool('futu_place_order', { ...ORDER, price: 270, client_order_id: 'lost-2' }));
    await drop;
    assert.equal(lost.code, 'ORDER_OUTCOME_UNKNOWN');
    const reconciled = await pollFor('the reconciliation', () => readAudit(http.auditLog).find((r) => r.event === 'order_reconciled' && r.client_order_id === 'lost-2'));
    assert.deepEqual([reconciled.resolution, reconciled.order_id], ['not_placed', null]);
    assert.equal((await usage('owner')).dailyValue, before);
    const retry = await tradeOk(owner, 'futu_place_order', { ...ORDER, price: 270, client_order_id: 'lost-2' });
    assert.equal(retry.replay, undefined);
    assert.equal((await human.getOrders(hk)).filter((o) => o.remark?.includes(':c:lost-2')).length, 1);
  });
  it('a client cancel before the order is written abandons it (cancelled, nothing sent); after the write it runs to its outcome', async () => {
    const owner = await as('owner');
    await tradeOk(owner, 'futu_place_order', { symbol: 'US.MSFT', side: 'BUY', order_type: 'MARKET', qty: 2 });
    const seq = readAudit(http.auditLog).length;
    // The first sell holds the (account, US.MSFT) sell lock while OpenD's answers are held.
    proxy.pause();
    const first = owner.callTool('futu_place_order', { symbol: 'US.MSFT', side: 'SELL', order_type: 'MARKET', qty: 1 });
    await delay(200);
    const abort = new AbortController();
    const second = owner.callTool('futu_place_order', { symbol: 'US.MSFT', side: 'SELL', order_type: 'MARKET', qty: 1, client_order_id: 'cx-abandoned' }, { signal: abort.signal });
    await delay(200);
    abort.abort();
    await assert.rejects(second);
    await delay(300);
    proxy.resume();
    assert.notEqual((await first).isError, true);
    const cancelled = await pollFor('the cancelled call\'s record', () =>
      readAudit(http.auditLog).slice(seq).find((r) => r.event === 'tool_call' && r.tool === 'futu_place_order' && r.outcome === 'cancelled'),
    );
    assert.deepEqual([cancelled.key_id, cancelled.code], ['owner', 'CANCELLED']);
    assert.equal((await human.getOrders(us)).filter((o) => o.remark?.includes(':c:cx-abandoned')).length, 0, 'nothing was sent');
    // The abandoned call freed its client_order_id: the next call places the order.
    const retried = await tradeOk(owner, 'futu_place_order', { symbol: 'US.MSFT', side: 'SELL', order_type: 'MARKET', qty: 1, client_order_id: 'cx-abandoned' });
    assert.equal(retried.replay, undefined);

    const seqWritten = readAudit(http.auditLog).length;
    const written = proxy.pauseAfterRequest(PLACE_ORDER_PROTO);
    const late = new AbortController();
    const call = owner.callTool('futu_place_order', { ...ORDER, price: 260, client_order_id: 'cx-written' }, { signal: late.signal });
    await written;
    late.abort();
    await assert.rejects(call);
    await delay(200);
    proxy.resume();
    const ran = await pollFor('the written call\'s record', () =>
      readAudit(http.auditLog).slice(seqWritten).find((r) => r.event === 'tool_call' && r.tool === 'futu_place_order'),
    );
    assert.deepEqual([ran.outcome, ran.decision, ran.code], ['success', 'allow', null]);
    assert.equal((await human.getOrders(hk)).filter((o) => o.remark?.includes(':c:cx-written')).length, 1);
  });

  it('a cancelled read stops at once: audited cancelled and its HTTP response stream ends while OpenD still has not answered', async () => {
    const opened = await rawHttp(http.url, { method: 'POST', headers: mcpPostHeaders(keys.owner), body: INITIALIZE_BODY });
    const session = String(opened.headers['mcp-session-id']);
    const headers = mcpPostHeaders(keys.owner, session);
    await rawHttp(http.url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
    const seq = readAudit(http.auditLog).length;
    proxy.pause(); // OpenD's answer never comes while the test holds it
    try {
      const stream = rawHttp(http.url, { method: 'POST', headers, body: toolCallBody('futu_get_quote', { symbols: ['HK.00700'] }, 41) });
      await delay(300);
      const cancel = await rawHttp(http.url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 41, reason: 'user pressed stop' } }),
      });
      assert.equal(cancel.status, 202);
      const ended = await Promise.race([stream.then((res) => res), delay(5_000).then(() => 'still open' as const)]);
      assert.notEqual(ended, 'still open', 'the cancelled call\'s response stream ended');
      const record = await pollFor('the cancelled read\'s record', () =>
        readAudit(http.auditLog).slice(seq).find((r) => r.event === 'tool_call' && r.tool === 'futu_get_quote'),
      );
      assert.deepEqual([record.key_id, record.outcome, record.code], ['owner', 'cancelled', 'CANCELLED']);

      // A client that hangs up without a word has abandoned its call just the same.
      const seqGone = readAudit(http.auditLog).length;
      const gone = httpRequest(http.url, { method: 'POST', headers });
      gone.on('error', () => undefined);
      gone.end(toolCallBody('futu_get_quote', { symbols: ['HK.00700'] }, 42));
      await delay(300);
      gone.destroy();
      const abandoned = await pollFor('the abandoned read\'s record', () =>
        readAudit(http.auditLog).slice(seqGone).find((r) => r.event === 'tool_call' && r.tool === 'futu_get_quote'),
      );
      assert.deepEqual([abandoned.outcome, abandoned.code], ['cancelled', 'CANCELLED']);
    } finally {
      proxy.resume();
    }
  });

  it('a server restarted while an order\'s outcome is unknown reconciles it by itself', async () => {
    const owner = await as('owner');
    const before = (await usage('owner')).dailyValue;
    const cut = proxy.cutAfterRequest(PLACE_ORDER_PROTO);
    const pending = owner.callTool('futu_place_order', { ...ORDER, price: 250, client_order_id: 'restart-1' });
    await cut;
    await proxy.close(); // OpenD stays out of reach: the running server cannot look the order up
    assert.equal(errorOf(await pending).code, 'ORDER_OUTCOME_UNKNOWN');
    await http.stop();
    assert.equal(readAudit(http.auditLog).filter((r) => r.event === 'order_reconciled' && r.client_order_id === 'restart-1').length, 0);
    http = await run.startHttp({ name: 'integrity', keysFile, gateway: `127.0.0.1:${sim.port}` });
    const reconciled = await pollFor('the reconciliation after the restart', () =>
      readAudit(http.auditLog).find((r) => r.event === 'order_reconciled' && r.client_order_id === 'restart-1'),
    );
    assert.equal(reconciled.resolution, 'placed');
    assert.equal((await usage('owner')).dailyValue, before + 2_500_000);
    clients.clear();
    const retry = await tradeOk(await as('owner'), 'futu_place_order', { ...ORDER, price: 250, client_order_id: 'restart-1' });
    assert.deepEqual([retry.order_id, retry.replay], [reconciled.order_id, true]);
  });
});
