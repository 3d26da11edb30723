import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GatewayError, OpenDError, type Account, type AccountRef, type FillUpdate, type OrderUpdate } from '../../src/gateway/index.js';
import { clockFrom, HK_TRADING_HOURS, nextMatching, startRig, TRADE_PWD, TRADE_PWD_MD5, TRANSPORTS, type Rig } from './setup.js';

const TWO_POW_53 = 2n ** 53n;
const isGatewayError = (code: string) => (err: unknown) => err instanceof GatewayError && err.code === code;
/** OpenD spaces ModifyOrder calls on one account at least 40 ms apart. */
const modifyGap = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 60));

function refOf(accounts: Account[], env: 'real' | 'simulate', market: 'HK' | 'US' | 'CN'): AccountRef {
  const found = accounts.find((a) => a.env === env && a.trdMarkets.includes(market));
  assert.ok(found, `a ${env} ${market} account`);
  return { accId: found.accId, env, trdMarket: market };
}

async function lastPrice(rig: Rig, symbol: string): Promise<number> {
  const [quote] = await rig.gateway.getBasicQuotes([symbol]);
  assert.ok(quote);
  return quote.price;
}

for (const transport of TRANSPORTS) {
  describe(`trading over ${transport.name}`, () => {
    let rig: Rig;
    let accounts: Account[];
    let realHK: AccountRef;
    let simHK: AccountRef;

    before(async () => {
      rig = await startRig(transport, { sim: { now: clockFrom(HK_TRADING_HOURS) } });
      accounts = await rig.gateway.getAccounts();
      realHK = refOf(accounts, 'real', 'HK');
      simHK = refOf(accounts, 'simulate', 'HK');
      await rig.gateway.subscribeAccountPush(accounts.map((a) => a.accId));
    });
    after(() => rig.close());

    test('getAccounts returns every account with its 64-bit id intact', () => {
      assert.ok(accounts.length >= 4);
      for (const a of accounts) {
        assert.match(a.accId, /^\d+$/);
        assert.ok(BigInt(a.accId) > TWO_POW_53, `${a.accId} is above 2^53`);
        assert.ok(a.env === 'real' || a.env === 'simulate');
      }
    });

    test('getFunds and getPositions (with a symbol filter) read the account', async () => {
      const funds = await rig.gateway.getFunds(realHK);
      assert.equal(funds.currency, 'HKD');
      assert.ok(funds.totalAssets > funds.cash && funds.cash > 0);
      const positions = await rig.gateway.getPositions(realHK);
      assert.deepEqual(positions.map((p) => p.symbol).sort(), ['HK.00005', 'HK.00700']);
      assert.ok(positions.every((p) => /^\d+$/.test(p.positionId) && p.side === 'LONG' && p.qty > 0));
      const filtered = await rig.gateway.getPositions(realHK, { symbols: ['HK.00005'] });
      assert.deepEqual(filtered.map((p) => p.symbol), ['HK.00005']);
    });

    test('a caller-supplied id must be a decimal string within 64 bits', async () => {
      await assert.rejects(rig.gateway.getFunds({ ...realHK, accId: 123 as unknown as string }), isGatewayError('INVALID_ARGUMENT'));
      await assert.rejects(rig.gateway.getFunds({ ...realHK, accId: '18446744073709551616' }), isGatewayError('INVALID_ARGUMENT'));
      await assert.rejects(rig.gateway.modifyOrder(realHK, { orderId: '0x10', op: 'cancel' }), isGatewayError('INVALID_ARGUMENT'));
    });

    test('unlockTrade takes only the MD5 digest and surfaces OpenD refusals', async () => {
      await assert.rejects(rig.gateway.unlockTrade({ unlock: true }), isGatewayError('INVALID_ARGUMENT'));
      await assert.rejects(rig.gateway.unlockTrade({ unlock: true, pwdMD5: TRADE_PWD }), isGatewayError('INVALID_ARGUMENT'));
      await assert.rejects(rig.gateway.unlockTrade({ unlock: true, pwdMD5: 'f'.repeat(32) }), (err: unknown) => {
        assert.ok(err instanceof OpenDError);
        assert.match(err.retMsg, /password/);
        return true;
      });
    });

    test('real orders need unlock; then place, modify and cancel, with order pushes', async () => {
      const order = { symbol: 'HK.00700', side: 'BUY', orderType: 'NORMAL', qty: 100 } as const;
      const last = await lastPrice(rig, 'HK.00700');
      const price = Math.round(last * 0.9 * 5) / 5; // well below the market: it rests
      await assert.rejects(rig.gateway.placeOrder(realHK, { ...order, price }), (err: unknown) => err instanceof OpenDError && /unlock/i.test(err.retMsg));

      await rig.gateway.unlockTrade({ unlock: true, pwdMD5: TRADE_PWD_MD5.toUpperCase() });
      const pushed = nextMatching<OrderUpdate>(rig.gateway, 'orderUpdate', (u) => u.accId === realHK.accId && u.order.status === 'SUBMITTED');
      const placed = await rig.gateway.placeOrder(realHK, { ...order, price, remark: 'gateway test' });
      assert.ok(BigInt(placed.orderId) > TWO_POW_53, 'order id above 2^53 kept exactly');
      const update = await pushed;
      assert.equal(update.order.orderId, placed.orderId);
      assert.equal(update.order.symbol, 'HK.00700');
      assert.equal(update.env, 'real');

      await rig.gateway.modifyOrder(realHK, { orderId: placed.orderId, op: 'normal', qty: 200, price });
      let [listed] = await rig.gateway.getOrders(realHK, { orderIds: [placed.orderId] });
      assert.equal(listed?.qty, 200);
      assert.equal(listed?.remark, 'gateway test');
      await modifyGap();
      await rig.gateway.modifyOrder(realHK, { orderId: placed.orderId, op: 'cancel' });
      [listed] = await rig.gateway.getOrders(realHK, { orderIds: [placed.orderId] });
      assert.equal(listed?.status, 'CANCELLED_ALL');
      await assert.rejects(rig.gateway.modifyOrder(realHK, { orderId: placed.orderId, op: 'normal', qty: 100 }), isGatewayError('INVALID_ARGUMENT'));
    });

    test('a market order fills: fill push, and today\'s fills and orders list it', async () => {
      const fillPushed = nextMatching<FillUpdate>(rig.gateway, 'fill', (f) => f.accId === simHK.accId);
      const placed = await rig.gateway.placeOrder(simHK, { symbol: 'HK.00700', side: 'BUY', orderType: 'MARKET', qty: 100 });
      const { fill } = await fillPushed;
      assert.equal(fill.orderId, placed.orderId);
      assert.equal(fill.side, 'BUY');
      const fills = await rig.gateway.getFills(simHK, { symbols: ['HK.00700'] });
      assert.ok(fills.some((f) => f.orderId === placed.orderId && f.qty > 0 && /^\d+$/.test(f.fillId)));
      const orders = await rig.gateway.getOrders(simHK, { statuses: ['FILLED_ALL'] });
      assert.ok(orders.some((o) => o.orderId === placed.orderId));
    });

    test('A-share orders in simulate use the CN trade market', async () => {
      const simCN = refOf(accounts, 'simulate', 'CN');
      const last = await lastPrice(rig, 'SH.600519');
      const placed = await rig.gateway.placeOrder(simCN, { symbol: 'SH.600519', side: 'BUY', orderType: 'NORMAL', qty: 100, price: Math.round(last * 0.95) });
      const [order] = await rig.gateway.getOrders(simCN, { orderIds: [placed.orderId] });
      assert.equal(order?.symbol, 'SH.600519');
    });

    test('history orders and fills within a date range', async () => {
      // OpenD answers at most 90 days per query; the seeded HK.00700 purchase was 120 days ago.
      const range = { begin: '2026-07-01', end: '2026-09-27' };
      const orders = await rig.gateway.getHistoryOrders(realHK, range);
      assert.ok(orders.length > 0);
      assert.ok(orders.every((o) => o.createTime >= '2026-07-01' && o.createTime <= '2026-09-27 23:59:59.999'));
      await assert.rejects(rig.gateway.getHistoryOrders(realHK, { begin: '2026-06-01', end: '2026-09-27' }), isGatewayError('OPEND_ERROR'));
      const fills = await rig.gateway.getHistoryFills(realHK, { ...range, symbols: ['HK.00700'] });
      assert.ok(fills.length > 0 && fills.every((f) => f.symbol === 'HK.00700'));
      await assert.rejects(rig.gateway.getHistoryOrders(realHK, { begin: 'yesterday', end: '2026-11-17' }), isGatewayError('INVALID_ARGUMENT'));
    });
  });
}
