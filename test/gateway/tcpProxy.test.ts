import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FutuGateway, type AccountRef } from '../../src/gateway/index.js';
import { ProtoId } from '../../src/gateway/protoIds.js';
import { startSimulator, type SimulatorHandle } from '../../src/sim/server.js';
import { TcpProxy } from '../helpers/tcpProxy.js';
import { nextEvent, settleWithin, testRsaKeyPem, TRADE_PWD, TRANSPORTS } from './setup.js';

/** The test proxy itself, against the simulator through the real gateway: where it cuts, what OpenD holds. */
const ORDER = { symbol: 'HK.00700', side: 'BUY', orderType: 'NORMAL', qty: 100, price: 300 } as const;

for (const transport of TRANSPORTS) {
  describe(`tcpProxy over ${transport.name}`, () => {
    let sim: SimulatorHandle;
    let proxy: TcpProxy;
    let viaProxy: FutuGateway;
    let direct: FutuGateway;
    let simHK: AccountRef;

    before(async () => {
      const pem = transport.rsa ? testRsaKeyPem() : undefined;
      sim = await startSimulator({ port: 0, seed: 11, tradePwd: TRADE_PWD, rsaKeyPem: pem, clock: '2026-12-03T10:00:00+08:00', marketHours: 'always' });
      proxy = await TcpProxy.start({ port: sim.port });
      viaProxy = new FutuGateway({ port: proxy.port, rsaPrivateKey: pem, reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 200 });
      direct = new FutuGateway({ port: sim.port, rsaPrivateKey: pem });
      await Promise.all([viaProxy.connect(), direct.connect()]);
      const found = (await direct.getAccounts()).find((a) => a.env === 'simulate' && a.trdMarkets.includes('HK'))!;
      simHK = { accId: found.accId, env: 'simulate', trdMarket: 'HK' };
    });
    after(async () => {
      await viaProxy.close();
      await direct.close();
      await proxy.close();
      await sim.close();
    });

    const ordersAtOpenD = async (): Promise<string[]> => (await direct.getOrders(simHK)).map((o) => o.orderId);

    test('forwards both ways and counts client→OpenD frames per protoID', async () => {
      const before = proxy.forwarded(ProtoId.Qot_GetSecuritySnapshot);
      const [snapshot] = await viaProxy.getSnapshots(['HK.00700']);
      assert.equal(snapshot!.symbol, 'HK.00700');
      assert.equal(proxy.forwarded(ProtoId.Qot_GetSecuritySnapshot), before + 1);
      assert.ok(proxy.forwarded(ProtoId.InitConnect) >= 1);
      assert.equal(proxy.connections(), 1);
    });

    test('cutAfterRequest: the order reached OpenD, the client never sees the answer', async () => {
      const held = await ordersAtOpenD();
      const cut = proxy.cutAfterRequest(ProtoId.Trd_PlaceOrder);
      const lost = nextEvent(viaProxy, 'disconnected');
      const back = nextEvent(viaProxy, 'reconnected', 10_000);
      const placed = await settleWithin(viaProxy.placeOrder(simHK, ORDER), 10_000);
      assert.ok(placed.error, 'the caller gets no answer');
      assert.equal((await cut).protoId, ProtoId.Trd_PlaceOrder);
      await lost;
      const now = await ordersAtOpenD();
      assert.equal(now.length, held.length + 1, 'OpenD holds the order');
      // The gateway comes back through the proxy by itself and finds the order.
      await back;
      const created = now.find((id) => !held.includes(id))!;
      assert.ok((await viaProxy.getOrders(simHK)).some((o) => o.orderId === created));
    });

    test('dropBeforeRequest: the order never reaches OpenD', async () => {
      const held = await ordersAtOpenD();
      const forwarded = proxy.forwarded(ProtoId.Trd_PlaceOrder);
      const drop = proxy.dropBeforeRequest(ProtoId.Trd_PlaceOrder);
      const back = nextEvent(viaProxy, 'reconnected', 10_000);
      const placed = await settleWithin(viaProxy.placeOrder(simHK, ORDER), 10_000);
      assert.ok(placed.error);
      await drop;
      assert.equal(proxy.forwarded(ProtoId.Trd_PlaceOrder), forwarded, 'not forwarded');
      assert.deepEqual(await ordersAtOpenD(), held);
      await back;
    });

    test('pause holds traffic both ways without closing; resume delivers it', async () => {
      assert.ok(viaProxy.isConnected);
      proxy.pause();
      const pending = viaProxy.getSnapshots(['HK.00700']);
      assert.ok((await settleWithin(Promise.race([pending, new Promise((r) => setTimeout(r, 300, 'held'))]), 1000)).value === 'held');
      proxy.resume();
      const [snapshot] = await pending;
      assert.equal(snapshot!.symbol, 'HK.00700');
    });
  });
}
