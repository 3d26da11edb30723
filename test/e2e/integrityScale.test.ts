/**
 * Many keys, two processes, one account: 200 parallel trade calls (places, raising and lowering
 * modifies, cancels of the caller's own and of others' orders, sells) from 3 keys over 2 futu-mcp
 * processes that share one state dir and one simulated OpenD account. At the end: no daily cap
 * exceeded, no short opened by a key without SELL_SHORT, and each key's ledger equal to the value
 * of its orders OpenD holds (every order rests below the market, so nothing fills).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LimitsLedger } from '../../src/authz/ledger.js';
import { intentIdentity } from '../../src/authz/orderTag.js';
import type { FutuGateway } from '../../src/gateway/api.js';
import type { AccountRef } from '../../src/gateway/types.js';
import { startSimulator, type SimulatorHandle } from '../../src/sim/server.js';
import type { McpTestClient, ToolCallResult } from '../helpers/mcpClients.js';
import { E2E_SIM_CLOCK, E2eRun, humanAt, SIM, TRADE_PWD, type HttpServerProcess } from './helpers.js';

const BUYERS = ['buyer-a', 'buyer-b'] as const;
const DAILY_CAP_HKD = 1_000_000;

/** The remark prefix of every order a key placed through futu-mcp. */
function keyTagPrefix(keyId: string): string {
  return intentIdentity(keyId, 'x').tag.replace(/c:x$/, '');
}

describe('200 parallel trade calls, 3 keys, 2 processes sharing a state dir and an account', () => {
  const run = new E2eRun('integrity-scale');
  let sim: SimulatorHandle;
  let human: FutuGateway;
  const servers: HttpServerProcess[] = [];
  /** clients[key][server] */
  const clients = new Map<string, McpTestClient[]>();
  let hk: AccountRef;
  let us: AccountRef;
  const stateDir = () => run.path('shared.state');

  before(async () => {
    sim = await startSimulator({ port: 0, tradePwd: TRADE_PWD, clock: E2E_SIM_CLOCK, marketHours: 'always' });
    ({ human, hk, us } = await humanAt(sim.port));
    const keysFile = run.path('keys.json');
    const keys = await run.genKeys(keysFile, [
      ...BUYERS.map((id) => ({ id, scopes: SIM, flags: ['--max-daily-value', String(DAILY_CAP_HKD), '--allowed-trd-sides', 'BUY'] })),
      { id: 'seller', scopes: SIM, flags: ['--allowed-trd-sides', 'SELL'] },
    ]);
    for (const name of ['scale-1', 'scale-2']) {
      servers.push(await run.startHttp({ name, keysFile, gateway: `127.0.0.1:${sim.port}`, extraArgs: ['--state-dir', stateDir()] }));
    }
    for (const id of [...BUYERS, 'seller']) clients.set(id, await Promise.all(servers.map((s) => run.connectHttp('v2', s.url, keys[id]!))));
  });
  after(async () => {
    await run.dispose();
    await human.close();
    await sim.close();
  });

  it('no cap exceeded, no short, and each ledger equals what OpenD holds for the key', async () => {
    const client = (key: string, i: number) => clients.get(key)![i % 2]!;
    const ok = (r: ToolCallResult) => r.isError !== true;
    const [held] = await human.getPositions(us, { symbols: ['US.MSFT'] });
    const heldBefore = held?.canSellQty ?? 0;

    // Round 1: 120 places (each HKD 28,000-31,900, resting below the market) and 20 sells of 5 shares.
    const places = Array.from({ length: 120 }, (_, i) =>
      client(BUYERS[i % 2]!, i).callTool('futu_place_order', { symbol: 'HK.00700', side: 'BUY', order_type: 'LIMIT', qty: 100, price: 280 + (i % 40) }),
    );
    const sells = Array.from({ length: 20 }, (_, i) => client('seller', i).callTool('futu_place_order', { symbol: 'US.MSFT', side: 'SELL', order_type: 'MARKET', qty: 5 }));
    const [placed, sold] = await Promise.all([Promise.all(places), Promise.all(sells)]);
    assert.ok(placed.filter(ok).length > 0, 'some orders were placed');
    assert.ok(sold.filter(ok).length * 5 <= heldBefore, 'no more sold than held');

    // Round 2: 60 modifies (raise and lower) and cancels of own orders, and cancels of the other key's.
    const own = new Map<string, string[]>(BUYERS.map((id) => [id, []]));
    placed.forEach((r, i) => ok(r) && own.get(BUYERS[i % 2]!)!.push(String(r.structuredContent!.order_id)));
    const changes = Array.from({ length: 60 }, (_, i) => {
      const key = BUYERS[i % 2]!;
      const mine = own.get(key)!;
      const orderId = mine[Math.floor(i / 2) % Math.max(1, mine.length)];
      if (orderId === undefined) return Promise.resolve(undefined);
      switch (i % 4) {
        case 0:
          return client(key, i).callTool('futu_modify_order', { order_id: orderId, price: 270 });
        case 1:
          return client(key, i).callTool('futu_modify_order', { order_id: orderId, qty: 200 });
        case 2:
          return client(key, i).callTool('futu_cancel_order', { order_id: orderId });
        default: {
          const other = own.get(BUYERS[(i + 1) % 2]!)!;
          return client(key, i).callTool('futu_cancel_order', { order_id: other[0] ?? orderId });
        }
      }
    });
    const changed = await Promise.all(changes);
    const textOf = (r: ToolCallResult) => String((r.content[0] as { text?: string }).text);
    const succeeded = (kind: number) => changed.filter((r, i) => i % 4 === kind && r !== undefined && ok(r)).length;
    assert.ok(succeeded(0) > 0 && succeeded(2) > 0, `lowering modifies ${succeeded(0)}, cancels ${succeeded(2)} went through`);
    // A raising modify needs room under the daily cap, which round 1 may have filled and the
    // concurrent lowerings and cancels free only as they land, and OpenD's modify frequency limit
    // (two processes pace apart) may refuse it: each one went through or was refused for one of
    // those, or for an order a concurrent cancel had just ended, never anything else.
    for (const [i, r] of changed.entries()) {
      if (i % 4 === 1 && r && !ok(r)) assert.match(textOf(r), /^error \((LIMIT_EXCEEDED|GATEWAY_RATE_LIMITED)\)|over OpenD's frequency limit|can no longer be modified or cancelled/, textOf(r));
    }
    for (const [i, r] of changed.entries()) {
      if (i % 4 === 3 && r) assert.match(textOf(r), /order not placed by this key|can no longer be modified or cancelled/, 'the other key\'s order stays out of reach');
    }

    const orders = await human.getOrders(hk);
    for (const key of BUYERS) {
      const prefix = keyTagPrefix(key);
      const working = orders
        .filter((o) => o.remark?.startsWith(prefix) && (o.status === 'SUBMITTED' || o.status === 'FILLED_PART'))
        .reduce((sum, o) => sum + (o.qty - (o.fillQty ?? 0)) * (o.price ?? 0) * 100, 0);
      const used = (await new LimitsLedger({ stateDir: stateDir() }).usage(key, new Date())).dailyValue;
      assert.ok(used <= DAILY_CAP_HKD * 100, `${key}: ${used} within the cap`);
      assert.equal(used, working, `${key}: the ledger equals what OpenD holds for the key`);
    }
    const [after] = await human.getPositions(us, { symbols: ['US.MSFT'] });
    assert.ok((after?.qty ?? 0) >= 0, `no short was opened: ${after?.qty}`);
  });
});
