import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import type { Message, ResponseEnvelope } from '../../src/gateway/proto.js';
import { ProtoId } from '../../src/gateway/protoIds.js';
import { setLogLevel, setLogSink } from '../../src/shared/log.js';
import type { SimulatorHandle, SimulatorOptions } from '../../src/sim/server.js';
import { testClient, testSimulator, type RawClient } from '../helpers/rawClient.js';

const logLines: string[] = [];
setLogSink((line) => logLines.push(line));
setLogLevel('info');

const PASSWORD = 'trade-pw-4821';
const md5 = (text: string): string => createHash('md5').update(text, 'utf8').digest('hex');
const REAL = 1;
const SIMULATE = 0;
const HK = 1;
/** Monday 2026-03-02 10:15 in Hong Kong. */
const T0 = Date.parse('2026-03-02T02:15:00Z');

interface Account {
  trdEnv: number;
  accID: string;
  trdMarket: number;
}

interface Fixture {
  h: SimulatorHandle;
  clock: { now: number };
  real: Account;
  simulate: Account;
}

async function sim(t: TestContext, options: SimulatorOptions = {}): Promise<Fixture> {
  const clock = { now: T0 };
  const h = await testSimulator(t, { tradePwd: PASSWORD, now: () => clock.now, ...options });
  const probe = await testClient(t, h.port);
  const { accList } = await probe.call<{ accList: { trdEnv: number; accID: string; trdMarketAuthList: number[] }[] }>(ProtoId.Trd_GetAccList, { userID: 0 });
  const hkAccount = (trdEnv: number): Account => {
    const acc = accList.find((a) => a.trdEnv === trdEnv && a.trdMarketAuthList.includes(HK));
    assert.ok(acc, `an HK account with trdEnv ${trdEnv}`);
    return { trdEnv, accID: acc.accID, trdMarket: HK };
  };
  probe.close();
  return { h, clock, real: hkAccount(REAL), simulate: hkAccount(SIMULATE) };
}

/** A limit buy of Tencent far below the market, so it rests. */
function placeOrder(client: RawClient, account: Account, serialNo: number, connID = client.connId): Promise<ResponseEnvelope<Message>> {
  return client.request(ProtoId.Trd_PlaceOrder, {
    packetID: { connID, serialNo },
    header: account,
    trdSide: 1,
    orderType: 1,
    code: '00700',
    secMarket: 1,
    qty: 100,
    price: 100,
  }, client.cipher, serialNo);
}

function cancelOrder(client: RawClient, account: Account, orderID: string, serialNo: number): Promise<ResponseEnvelope<Message>> {
  return client.request(ProtoId.Trd_ModifyOrder, {
    packetID: { connID: client.connId, serialNo },
    header: account,
    orderID,
    modifyOrderOp: 2,
  }, client.cipher, serialNo);
}

const unlock = (client: RawClient, password: string) => client.request(ProtoId.Trd_UnlockTrade, { unlock: true, pwdMD5: md5(password), securityFirm: 1 });

function ok<S>(res: ResponseEnvelope<S>): S {
  assert.equal(res.retType, 0, res.retMsg);
  return res.s2c as S;
}

function failsWith(res: ResponseEnvelope<unknown>, pattern: RegExp): void {
  assert.equal(res.retType, -1);
  assert.match(res.retMsg ?? '', pattern);
}

test('real orders need the unlock; a wrong password is refused without echoing it', async (t) => {
  const { h, real, simulate } = await sim(t);
  const client = await testClient(t, h.port);
  failsWith(await placeOrder(client, real, 1000), /unlock/i);
  ok(await placeOrder(client, simulate, 1001));

  const wrong = await unlock(client, 'guess-123');
  failsWith(wrong, /^unlock failed: the trade password is incorrect$/);
  for (const secret of ['guess-123', md5('guess-123'), PASSWORD, md5(PASSWORD)]) {
    assert.ok(!(wrong.retMsg ?? '').includes(secret));
    assert.ok(!logLines.some((l) => l.includes(secret)), 'no password or digest in the log');
  }
  failsWith(await client.request(ProtoId.Trd_UnlockTrade, { unlock: true }), /incorrect/);
  failsWith(await placeOrder(client, real, 1002), /unlock/i);

  ok(await unlock(client, PASSWORD));
  ok(await placeOrder(client, real, 1003));
});

test('the unlock is OpenD-wide: one connection unlocks or relocks for all', async (t) => {
  const { h, real } = await sim(t);
  const a = await testClient(t, h.port);
  const b = await testClient(t, h.port);
  ok(await unlock(a, PASSWORD));
  ok(await placeOrder(b, real, 10));
  ok(await b.request(ProtoId.Trd_UnlockTrade, { unlock: false }));
  failsWith(await placeOrder(a, real, 11), /unlock/i);
});

test('restart is an OpenD restart: the unlock is gone, accounts and orders stay', async (t) => {
  const { h, real } = await sim(t);
  const before = await testClient(t, h.port);
  ok(await unlock(before, PASSWORD));
  const { orderID } = ok(await placeOrder(before, real, 20)) as { orderID: string };
  await h.restart();

  const after = await testClient(t, h.port);
  failsWith(await placeOrder(after, real, 21), /unlock/i);
  const { orderList } = await after.call<{ orderList: { orderID: string }[] }>(ProtoId.Trd_GetOrderList, { header: real });
  assert.ok(orderList.some((o) => o.orderID === orderID), 'the order placed before the restart is still there');
});

test('a trade write must carry this connection\'s exact connID and a rising serialNo', async (t) => {
  const { h, clock, simulate } = await sim(t);
  const client = await testClient(t, h.port);
  const other = await testClient(t, h.port);
  const place = (from: RawClient, serialNo: number, connID?: string) => {
    clock.now += 20; // keep clear of the 20 ms PlaceOrder spacing
    return placeOrder(from, simulate, serialNo, connID);
  };

  ok(await place(client, 500));
  failsWith(await place(client, 500), /replay.*500 is not greater than 500/);
  failsWith(await place(client, 499), /replay/);
  ok(await place(client, 501));

  failsWith(await place(client, 600, other.connId), /replay.*connID/);
  // Off by one above 2^53: equal as a double, so only an exact comparison catches it.
  const nearMiss = (BigInt(client.connId) + 1n).toString();
  assert.equal(Number(nearMiss), Number(client.connId));
  failsWith(await place(client, 601, nearMiss), /replay.*connID/);

  const { orderList } = await client.call<{ orderList: unknown[] }>(ProtoId.Trd_GetOrderList, { header: simulate });
  assert.equal(orderList.length, 2, 'rejected packets placed nothing');
  ok(await place(other, 1)); // each connection counts its own serials
});

test('PlaceOrder: at most 15 per 30 s per account, at least 20 ms apart', async (t) => {
  const { h, clock, simulate } = await sim(t);
  const client = await testClient(t, h.port);
  for (let i = 0; i < 15; i++) {
    ok(await placeOrder(client, simulate, 100 + i));
    clock.now += 20;
  }
  const over = await placeOrder(client, simulate, 200);
  failsWith(over, /Trd_PlaceOrder is over OpenD's frequency limit \(at most 15 per 30 s per account, 20 ms apart\); retry in 29\.70 s/);
  clock.now = T0 + 30_000;
  ok(await placeOrder(client, simulate, 201));
  clock.now += 10;
  failsWith(await placeOrder(client, simulate, 202), /20 ms apart\); retry in 0\.01 s/);
  clock.now += 10;
  ok(await placeOrder(client, simulate, 203));
});

test('ModifyOrder: at most 20 per 30 s per account, at least 40 ms apart', async (t) => {
  const { h, clock, simulate } = await sim(t);
  const client = await testClient(t, h.port);
  const { orderID } = ok(await placeOrder(client, simulate, 1)) as { orderID: string };
  clock.now += 1000;
  ok(await cancelOrder(client, simulate, orderID, 2));
  clock.now += 20;
  failsWith(await cancelOrder(client, simulate, orderID, 3), /Trd_ModifyOrder is over OpenD's frequency limit/);
  for (let i = 0; i < 19; i++) {
    clock.now += 40;
    const res = await cancelOrder(client, simulate, orderID, 10 + i);
    assert.doesNotMatch(res.retMsg ?? '', /frequency/);
  }
  clock.now += 40;
  failsWith(await cancelOrder(client, simulate, orderID, 50), /at most 20 per 30 s per account/);
});

test('orderRateLimits: false (benchmarks only) lifts the PlaceOrder and ModifyOrder windows and gaps, and nothing else', async (t) => {
  const { h, real, simulate } = await sim(t, { orderRateLimits: false });
  const client = await testClient(t, h.port);
  // All at one clock instant: 30 places and 30 cancels, twice the windows and no gap at all.
  const placed: string[] = [];
  for (let i = 0; i < 30; i++) placed.push((ok(await placeOrder(client, simulate, 100 + i)) as { orderID: string }).orderID);
  for (let i = 0; i < 30; i++) ok(await cancelOrder(client, simulate, placed[i]!, 200 + i));
  failsWith(await placeOrder(client, simulate, 200), /replay/);
  failsWith(await placeOrder(client, real, 300), /unlock/i);
  for (let i = 0; i < 10; i++) failsWith(await unlock(client, `guess-${i}`), /incorrect/);
  failsWith(await unlock(client, PASSWORD), /Trd_UnlockTrade is over OpenD's frequency limit/);

  const limited = await sim(t, { orderRateLimits: true });
  const other = await testClient(t, limited.h.port);
  ok(await placeOrder(other, limited.simulate, 1));
  failsWith(await placeOrder(other, limited.simulate, 2), /20 ms apart/);
});

test('UnlockTrade: at most 10 attempts per 30 s, right password or not', async (t) => {
  const { h, clock } = await sim(t);
  const client = await testClient(t, h.port);
  for (let i = 0; i < 10; i++) failsWith(await unlock(client, `guess-${i}`), /incorrect/);
  failsWith(await unlock(client, PASSWORD), /Trd_UnlockTrade is over OpenD's frequency limit/);
  clock.now += 30_000;
  ok(await unlock(client, PASSWORD));
});

test('GetSecuritySnapshot: at most 400 securities per request and 60 requests per 30 s', async (t) => {
  const { h, clock } = await sim(t);
  const client = await testClient(t, h.port);
  const tencent = { market: 1, code: '00700' };
  failsWith(await client.request(ProtoId.Qot_GetSecuritySnapshot, { securityList: Array.from({ length: 401 }, () => tencent) }), /at most 400 .*got 401/);
  for (let i = 0; i < 60; i++) ok(await client.request(ProtoId.Qot_GetSecuritySnapshot, { securityList: [tencent] }));
  failsWith(await client.request(ProtoId.Qot_GetSecuritySnapshot, { securityList: [tencent] }), /at most 60 per 30 s/);
  clock.now += 30_000;
  ok(await client.request(ProtoId.Qot_GetSecuritySnapshot, { securityList: [tencent] }));
});

test('order pushes reach only connections that registered the account with Trd_SubAccPush', async (t) => {
  const { h, real, simulate } = await sim(t);
  const trader = await testClient(t, h.port);
  const watcher = await testClient(t, h.port);
  const bystander = await testClient(t, h.port);
  failsWith(await watcher.request(ProtoId.Trd_SubAccPush, { accIDList: [simulate.accID, '12345'] }), /unknown accID 12345/);
  ok(await watcher.request(ProtoId.Trd_SubAccPush, { accIDList: [simulate.accID] }));
  ok(await bystander.request(ProtoId.Trd_SubAccPush, { accIDList: [real.accID] }));

  const { orderID } = ok(await placeOrder(trader, simulate, 1)) as { orderID: string };
  const push = await watcher.nextPush<{ header: Account; order: { orderID: string } }>(ProtoId.Trd_UpdateOrder);
  assert.equal(push.header.accID, simulate.accID);
  assert.equal(push.order.orderID, orderID);

  // The list replaces the previous one: after this, the watcher hears nothing of the simulate account.
  ok(await watcher.request(ProtoId.Trd_SubAccPush, { accIDList: [real.accID] }));
  ok(await bystander.request(ProtoId.Trd_SubAccPush, { accIDList: [simulate.accID] }));
  ok(await cancelOrder(trader, simulate, orderID, 2));
  await bystander.nextPush(ProtoId.Trd_UpdateOrder);
  ok(await watcher.request(ProtoId.KeepAlive, { time: 1 }));
  assert.deepEqual(watcher.takeUnclaimed(ProtoId.Trd_UpdateOrder), []);
  assert.deepEqual(trader.takeUnclaimed(ProtoId.Trd_UpdateOrder), [], 'placing an order does not register for its pushes');
});

test('cancelling a real order needs the unlock too', async (t) => {
  const { h, real } = await sim(t);
  const client = await testClient(t, h.port);
  ok(await unlock(client, PASSWORD));
  const { orderID } = ok(await placeOrder(client, real, 1)) as { orderID: string };
  ok(await client.request(ProtoId.Trd_UnlockTrade, { unlock: false }));
  failsWith(await cancelOrder(client, real, orderID, 2), /unlock/i);
});

test('fills are pushed, including those the engine finds between requests on the push timer', async (t) => {
  const { h, clock, simulate } = await sim(t, { pushIntervalMs: 25 });
  const client = await testClient(t, h.port);
  ok(await client.request(ProtoId.Trd_SubAccPush, { accIDList: [simulate.accID] }));
  ok(await client.request(ProtoId.Qot_Sub, { securityList: [{ market: 1, code: '00700' }], subTypeList: [2], isSubOrUnSub: true }));
  const book = await client.call<{ orderBookAskList: { price: number }[]; orderBookBidList: { price: number }[] }>(
    ProtoId.Qot_GetOrderBook, { security: { market: 1, code: '00700' }, num: 1 });

  const order = (serialNo: number, price: number) => client.request(ProtoId.Trd_PlaceOrder, {
    packetID: { connID: client.connId, serialNo }, header: simulate, trdSide: 1, orderType: 1, code: '00700', secMarket: 1, qty: 100, price,
  }, client.cipher, serialNo);

  ok(await order(1, book.orderBookAskList[0]!.price));
  const immediate = await client.nextPush<{ orderFill: { qty: number } }>(ProtoId.Trd_UpdateOrderFill);
  assert.equal(immediate.orderFill.qty, 100);

  clock.now += 1000;
  const { orderID } = ok(await order(2, book.orderBookBidList[0]!.price)) as { orderID: string };
  client.takeUnclaimed(ProtoId.Trd_UpdateOrderFill);
  clock.now += 90 * 60_000; // simulated trades cross the resting bid; only the timer can notice
  const later = await client.nextPush<{ orderFill: { orderID: string } }>(ProtoId.Trd_UpdateOrderFill);
  assert.equal(later.orderFill.orderID, orderID);
});
