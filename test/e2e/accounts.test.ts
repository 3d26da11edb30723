/**
 * A key limited to some accounts (allowed_acc_ids) over real HTTP: it trades in its own account,
 * is refused in the others, and learns nothing about their orders, not even whether one exists.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIENT_FLAVORS,
  E2eRun,
  expectRefusal,
  SIM,
  tradeOk,
  type HttpServerProcess,
  type McpTestClient,
} from './helpers.js';

describe('a key limited to one account', () => {
  const run = new E2eRun('accounts');
  let http: HttpServerProcess;
  let keys: Record<string, string>;
  let simHK: string;
  let simUS: string;

  before(async () => {
    const keysFile = run.path('keys.json');
    keys = await run.genKeys(keysFile, [{ id: 'trader', scopes: SIM }]);
    http = await run.startHttp({ name: 'accounts', keysFile });
    // The simulator's account ids come from its seed: ask for them, then limit a key to one.
    const trader = await run.connectHttp('v2', http.url, keys.trader!);
    const listed = (await trader.callTool('futu_list_accounts', {})).structuredContent as { accounts: Array<{ acc_id: string; env: string; trd_markets: string[] }> };
    const simulateIn = (market: string) => listed.accounts.find((a) => a.env === 'simulate' && a.trd_markets.includes(market))!.acc_id;
    simHK = simulateIn('HK');
    simUS = simulateIn('US');
    for (const flavor of CLIENT_FLAVORS) {
      keys[`us-only-${flavor}`] = await run.genKey(keysFile, `us-only-${flavor}`, SIM, ['--allowed-acc-ids', simUS]);
    }
    await http.hup();
  });
  after(() => run.dispose());

  for (const flavor of CLIENT_FLAVORS) {
    describe(`${flavor} client`, () => {
      let trader: McpTestClient;
      let usOnly: McpTestClient;
      const keyId = `us-only-${flavor}`;
      before(async () => {
        trader = await run.connectHttp(flavor, http.url, keys.trader!);
        usOnly = await run.connectHttp(flavor, http.url, keys[keyId]!);
      });

      it('another account\'s order is neither found nor touched, with or without its acc_id', async () => {
        const placed = await tradeOk(trader, 'futu_place_order', { symbol: 'HK.00700', side: 'BUY', order_type: 'LIMIT', qty: 100, price: 300 });
        const orderId = placed.order_id as string;
        assert.equal(placed.acc_id, simHK);

        // Without acc_id only the key's own accounts are searched: the answer is the same as for an id that never existed.
        const notFound = (id: string) => `order ${id} not found in any simulate account this key may use: call futu_get_orders to list today's orders and their acc_id`;
        await expectRefusal(usOnly, http, { tool: 'futu_cancel_order', args: { order_id: orderId }, code: 'INVALID_ARGUMENT', message: notFound(orderId), keyId });
        await expectRefusal(usOnly, http, { tool: 'futu_cancel_order', args: { order_id: '4242' }, code: 'INVALID_ARGUMENT', message: notFound('4242'), keyId });

        // Naming the account is refused before its orders are read, as Cedar's account-not-allowed would refuse it.
        const accountRefusal = { code: 'LIMIT_EXCEEDED', message: `limit check failed: account ${simHK} not allowed`, keyId, policies: [], limitReason: 'account' } as const;
        await expectRefusal(usOnly, http, { ...accountRefusal, tool: 'futu_cancel_order', args: { order_id: orderId, acc_id: simHK } });
        await expectRefusal(usOnly, http, { ...accountRefusal, tool: 'futu_modify_order', args: { order_id: orderId, acc_id: simHK, price: 1 } });
        await expectRefusal(usOnly, http, { ...accountRefusal, tool: 'futu_get_orders', args: { acc_id: simHK } });

        // The trader's order is still working: nothing above reached it.
        const orders = (await trader.callTool('futu_get_orders', { acc_id: simHK })).structuredContent as { orders: Array<{ order_id: string; status: string }> };
        assert.equal(orders.orders.find((o) => o.order_id === orderId)?.status, 'SUBMITTED');
        await tradeOk(trader, 'futu_cancel_order', { order_id: orderId });
      });

      it('an order without acc_id is placed only in an account the key may use, and a refusal names none it may not', async () => {
        // The simulate account trading HK is not the key's: the default pick must not land on it, nor name it.
        await expectRefusal(usOnly, http, {
          tool: 'futu_place_order',
          args: { symbol: 'HK.00700', side: 'BUY', order_type: 'LIMIT', qty: 100, price: 300 },
          code: 'INVALID_ARGUMENT',
          message: 'no simulate account this key may use trades HK securities: call futu_list_accounts',
          keyId,
        });
      });

      it('lists only its own account', async () => {
        const listed = (await usOnly.callTool('futu_list_accounts', {})).structuredContent as { accounts: Array<{ acc_id: string }> };
        assert.deepEqual(listed.accounts.map((a) => a.acc_id), [simUS]);
        const all = (await trader.callTool('futu_list_accounts', {})).structuredContent as { accounts: Array<{ acc_id: string }> };
        assert.ok(all.accounts.length > 1 && all.accounts.some((a) => a.acc_id === simHK));
      });

      it('in its own account the key trades, and finds its orders without acc_id', async () => {
        const placed = await tradeOk(usOnly, 'futu_place_order', { symbol: 'US.AAPL', side: 'BUY', order_type: 'LIMIT', qty: 1, price: 100 });
        assert.equal(placed.acc_id, simUS);
        const cancelled = await tradeOk(usOnly, 'futu_cancel_order', { order_id: placed.order_id });
        assert.equal(cancelled.status, 'CANCELLED_ALL');
        assert.equal(cancelled.acc_id, simUS);
      });
    });
  }
});
