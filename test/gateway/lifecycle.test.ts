import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ProtoId } from '../../src/gateway/protoIds.js';
import { FutuGateway, GatewayError, OpenDError, type BasicQuote, type LinkInfo, type OrderUpdate } from '../../src/gateway/index.js';
import { startSimulator } from '../../src/sim/server.js';
import {
  clockFrom,
  closedPort,
  HK_TRADING_HOURS,
  nextEvent,
  nextMatching,
  settleWithin,
  startRig,
  TRADE_PWD_MD5,
  TRANSPORTS,
} from './setup.js';

/** "Fails fast": a behavioural bound, far above the few milliseconds it actually takes. */
const FAST_MS = 1000;

function assertNotConnected(error: unknown): void {
  assert.ok(error instanceof GatewayError, `expected a GatewayError, got ${String(error)}`);
  assert.equal(error.code, 'GATEWAY_NOT_CONNECTED');
  // Says what failed and where: the reason, OpenD's address, and the flag to check.
  assert.match(error.message, /^gateway not connected: .+; is OpenD running at 127\.0\.0\.1:\d+\? \(check --gateway\)$/);
}

describe('connecting', () => {
  test('requests fail at once with "gateway not connected" before connect() and after close()', async () => {
    const gateway = new FutuGateway({ port: await closedPort() });
    assertNotConnected((await settleWithin(gateway.getGlobalState(), FAST_MS)).error);
    await gateway.close();
    assertNotConnected((await settleWithin(gateway.ping(), FAST_MS)).error);
    assertNotConnected((await settleWithin(gateway.connect(), FAST_MS)).error);
  });

  test('connect() rejects while OpenD is down, and the client connects by itself once it is up', async () => {
    const port = await closedPort();
    const gateway = new FutuGateway({ port, reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 100 });
    try {
      const { error } = await settleWithin(gateway.connect(), 5000);
      assertNotConnected(error);
      assert.equal(
        (error as GatewayError).message,
        `gateway not connected: connect ECONNREFUSED 127.0.0.1:${port}; is OpenD running at 127.0.0.1:${port}? (check --gateway)`,
      );
      const connected = nextEvent<[LinkInfo]>(gateway, 'connected');
      const sim = await startSimulator({ port });
      try {
        const [info] = await connected;
        assert.ok(BigInt(info.connId) > 2n ** 53n, 'connID kept exact as a string');
        assert.equal(gateway.link?.connId, info.connId);
        await gateway.ping();
      } finally {
        await gateway.close();
        await sim.close();
      }
    } finally {
      await gateway.close();
    }
  });
});

describe('the first connect', () => {
  test('a request made while the first connect is under way waits for it instead of failing', async () => {
    const sim = await startSimulator({ port: 0 });
    // OpenD answers InitConnect late: the link is not up yet when the request is made.
    sim.faults.delayResponses(300, ProtoId.InitConnect);
    const gateway = new FutuGateway({ port: sim.port });
    try {
      gateway.start();
      assert.equal(gateway.isConnected, false);
      const { error, value } = await settleWithin(gateway.getGlobalState(), 5000);
      assert.equal(error, undefined, String(error));
      assert.ok(value);
      assert.equal(gateway.isConnected, true);
    } finally {
      await gateway.close();
      await sim.close();
    }
  });

  test('when the first connect fails, the waiting request fails with its reason', async () => {
    const port = await closedPort();
    const gateway = new FutuGateway({ port, reconnectInitialDelayMs: 60_000 });
    try {
      gateway.start();
      const { error } = await settleWithin(gateway.ping(), 5000);
      assert.equal(
        (error as GatewayError).message,
        `gateway not connected: connect ECONNREFUSED 127.0.0.1:${port}; is OpenD running at 127.0.0.1:${port}? (check --gateway)`,
      );
    } finally {
      await gateway.close();
    }
  });
});

describe('losing OpenD', () => {
  test('in-flight requests fail fast as sent-but-unanswered when OpenD stops, and new ones as not connected while it is down', async () => {
    const rig = await startRig();
    try {
      await rig.gateway.getBasicQuotes(['HK.00700']);
      rig.sim.faults.delayResponses(30_000, ProtoId.Qot_GetBasicQot);
      const inFlight = rig.gateway.getBasicQuotes(['HK.00700']);
      // The request has reached OpenD once a later request on the same link has been answered.
      await rig.gateway.ping();
      const disconnected = nextEvent(rig.gateway, 'disconnected');
      await rig.sim.stop();
      // It was written: OpenD may have acted on it, which "not connected" would deny.
      const lost = (await settleWithin(inFlight, FAST_MS)).error;
      assert.ok(lost instanceof GatewayError && lost.code === 'GATEWAY_LINK_LOST', String(lost));
      await disconnected;
      assert.equal(rig.gateway.isConnected, false);
      assertNotConnected((await settleWithin(rig.gateway.getBasicQuotes(['HK.00700']), FAST_MS)).error);
      assertNotConnected((await settleWithin(rig.gateway.placeOrder({ accId: '1', env: 'simulate', trdMarket: 'HK' }, {
        symbol: 'HK.00700', side: 'BUY', orderType: 'NORMAL', qty: 100, price: 1,
      }), FAST_MS)).error);
    } finally {
      await rig.close();
    }
  });

  test('dropped connections are re-established', async () => {
    const rig = await startRig();
    try {
      const before = rig.gateway.link!.connId;
      const reconnected = nextEvent<[LinkInfo]>(rig.gateway, 'reconnected');
      rig.sim.faults.dropConnections();
      const [info] = await reconnected;
      assert.notEqual(info.connId, before);
      await rig.gateway.ping();
    } finally {
      await rig.close();
    }
  });

  for (const transport of TRANSPORTS) {
    test(`after an OpenD restart (${transport.name}) quote subscriptions and account pushes are restored without caller action`, async () => {
      const rig = await startRig(transport, { sim: { pushIntervalMs: 50, now: clockFrom(HK_TRADING_HOURS) } });
      try {
        const { gateway, sim } = rig;
        const accounts = await gateway.getAccounts();
        const simHK = accounts.find((a) => a.env === 'simulate' && a.trdMarkets.includes('HK'))!;
        const realHK = accounts.find((a) => a.env === 'real' && a.trdMarkets.includes('HK'))!;
        await gateway.subscribe(['HK.00700'], ['QUOTE']);
        await gateway.subscribeAccountPush(accounts.map((a) => a.accId));
        await gateway.unlockTrade({ unlock: true, pwdMD5: TRADE_PWD_MD5 });

        const reconnected = nextEvent(gateway, 'reconnected');
        await sim.restart();
        await reconnected;

        const quote = await nextMatching<BasicQuote>(gateway, 'quote', (q) => q.symbol === 'HK.00700');
        assert.ok(quote.price > 0);
        const ref = { accId: simHK.accId, env: 'simulate', trdMarket: 'HK' } as const;
        const pushed = nextMatching<OrderUpdate>(gateway, 'orderUpdate', (u) => u.accId === simHK.accId);
        const placed = await gateway.placeOrder(ref, { symbol: 'HK.00700', side: 'BUY', orderType: 'NORMAL', qty: 100, price: Math.round(quote.price * 0.9) });
        assert.equal((await pushed).order.orderId, placed.orderId);
        const { subscriptions, usedQuota } = await gateway.getSubscriptions();
        assert.deepEqual(subscriptions, [{ symbol: 'HK.00700', subTypes: ['QUOTE'] }]);
        assert.equal(usedQuota, 1, 'the restarted OpenD holds the re-subscribed slot');

        // Unlock is deliberately not replayed: the restarted OpenD is locked until the caller unlocks again.
        const realRef = { accId: realHK.accId, env: 'real', trdMarket: 'HK' } as const;
        const order = { symbol: 'HK.00700', side: 'BUY', orderType: 'NORMAL', qty: 100, price: Math.round(quote.price * 0.9) } as const;
        await assert.rejects(gateway.placeOrder(realRef, order), (err: unknown) => err instanceof OpenDError && /unlock/i.test(err.retMsg));
      } finally {
        await rig.close();
      }
    });
  }
});

describe('request failures', () => {
  test('an unanswered request times out with GATEWAY_TIMEOUT, the link survives and the late answer is ignored', async () => {
    const rig = await startRig(undefined, { gateway: { requestTimeoutMs: 150 } });
    try {
      let disconnected = false;
      rig.gateway.on('disconnected', () => (disconnected = true));
      rig.sim.faults.delayResponses(400, ProtoId.GetGlobalState);
      const { error } = await settleWithin(rig.gateway.getGlobalState(), 5000);
      assert.ok(error instanceof GatewayError);
      assert.equal(error.code, 'GATEWAY_TIMEOUT');
      assert.match(error.message, /GetGlobalState within 150 ms/);
      await new Promise((resolve) => setTimeout(resolve, 400));
      await rig.gateway.ping();
      assert.equal(disconnected, false);
    } finally {
      await rig.close();
    }
  });

  test('retType != 0 surfaces as OpenDError carrying retMsg', async () => {
    const rig = await startRig();
    try {
      rig.sim.faults.failNext(ProtoId.GetGlobalState, { retType: -1, retMsg: 'No right to query' });
      await assert.rejects(rig.gateway.getGlobalState(), (err: unknown) => {
        assert.ok(err instanceof OpenDError);
        assert.equal(err.code, 'OPEND_ERROR');
        assert.equal(err.retMsg, 'No right to query');
        assert.equal(err.protoId, ProtoId.GetGlobalState);
        return true;
      });
      const state = await rig.gateway.getGlobalState();
      assert.equal(state.qotLoggedIn, true);
    } finally {
      await rig.close();
    }
  });
});

describe('close()', () => {
  const gatewayModule = fileURLToPath(new URL('../../src/gateway/index.js', import.meta.url));

  async function exitCodeOf(script: string): Promise<number | null> {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    const { value, error } = await settleWithin(once(child, 'exit'), 10_000);
    if (error) child.kill();
    assert.ifError(error);
    return (value as [number | null])[0];
  }

  test('leaves nothing running: a process that connected and closed exits by itself', async () => {
    const sim = await startSimulator({ port: 0, keepAliveInterval: 1 });
    try {
      const code = await exitCodeOf(`
        const { FutuGateway } = await import(${JSON.stringify(gatewayModule)});
        const g = new FutuGateway({ port: ${sim.port} });
        await g.connect();
        await g.getBasicQuotes(['HK.00700']);
        await new Promise((r) => setTimeout(r, 1200)); // past the first KeepAlive
        await g.close();`);
      assert.equal(code, 0);
    } finally {
      await sim.close();
    }
  });

  test('also while it is still trying to reach OpenD', async () => {
    const code = await exitCodeOf(`
      const { FutuGateway } = await import(${JSON.stringify(gatewayModule)});
      const g = new FutuGateway({ port: ${await closedPort()}, reconnectInitialDelayMs: 5000 });
      g.start();
      await new Promise((r) => setTimeout(r, 200));
      await g.close();`);
    assert.equal(code, 0);
  });
});
