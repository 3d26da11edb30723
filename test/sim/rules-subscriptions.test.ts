import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Message } from '../../src/gateway/proto.js';
import { ProtoId } from '../../src/gateway/protoIds.js';
import type { Security } from '../../src/gateway/symbol.js';
import { setLogLevel } from '../../src/shared/log.js';
import type { SimulatorHandle, SimulatorOptions } from '../../src/sim/server.js';
import { testClient, testSimulator, type RawClient } from '../helpers/rawClient.js';

setLogLevel('error');

const TENCENT: Security = { market: 1, code: '00700' };
const ALIBABA: Security = { market: 1, code: '09988' };
const APPLE: Security = { market: 11, code: 'AAPL' };
const BASIC = 1;
const ORDER_BOOK = 2;
const KL_DAY = 6;
const KL_1MIN = 11;
const KL_TYPE_DAY = 2;
const KL_TYPE_1MIN = 1;
/** Monday 2026-03-02 10:15 in Hong Kong. */
const T0 = Date.parse('2026-03-02T02:15:00Z');

interface SubInfo {
  connSubInfoList: { subInfoList?: { subType: number; securityList: Security[] }[]; usedQuota: number; isOwnConnData: boolean }[];
  totalUsedQuota: number;
  remainQuota: number;
}

async function sim(t: TestContext, options: SimulatorOptions = {}): Promise<{ h: SimulatorHandle; clock: { now: number } }> {
  const clock = { now: T0 };
  const h = await testSimulator(t, { now: () => clock.now, ...options });
  return { h, clock };
}

function sub(client: RawClient, securityList: Security[], subTypeList: number[], extra: Message = {}) {
  return client.request(ProtoId.Qot_Sub, { securityList, subTypeList, isSubOrUnSub: true, ...extra });
}

function unsub(client: RawClient, securityList: Security[], subTypeList: number[]) {
  return client.request(ProtoId.Qot_Sub, { securityList, subTypeList, isSubOrUnSub: false });
}

const subInfo = (client: RawClient, isReqAllConn = false): Promise<SubInfo> => client.call<SubInfo>(ProtoId.Qot_GetSubInfo, { isReqAllConn });

function ok(res: { retType: number; retMsg?: string }): void {
  assert.equal(res.retType, 0, res.retMsg);
}

test('one slot per security × subType, shared by all connections, up to the OpenD-wide quota', async (t) => {
  const { h } = await sim(t, { subQuota: 3 });
  const a = await testClient(t, h.port);
  const b = await testClient(t, h.port);
  ok(await sub(a, [TENCENT, ALIBABA], [BASIC]));
  ok(await sub(b, [TENCENT], [BASIC]));
  let info = await subInfo(b);
  assert.deepEqual([info.totalUsedQuota, info.remainQuota, info.connSubInfoList[0]!.usedQuota], [2, 1, 1]);

  const refused = await sub(b, [APPLE], [BASIC, ORDER_BOOK]);
  assert.equal(refused.retType, -1);
  assert.match(refused.retMsg ?? '', /quota exceeded: 2 of 3 .* needs 2 more/);
  info = await subInfo(b);
  assert.equal(info.totalUsedQuota, 2, 'a refused request subscribes nothing');

  ok(await sub(b, [APPLE], [BASIC]));
  info = await subInfo(b);
  assert.deepEqual([info.totalUsedQuota, info.remainQuota], [3, 0]);
});

test('unknown securities and subTypes are refused, naming what is wrong', async (t) => {
  const { h } = await sim(t);
  const client = await testClient(t, h.port);
  const unknown = await sub(client, [TENCENT, { market: 1, code: '99999' }], [BASIC]);
  assert.equal(unknown.retType, -1);
  assert.match(unknown.retMsg ?? '', /HK\.99999/);
  const badType = await sub(client, [TENCENT], [3]);
  assert.equal(badType.retType, -1);
  assert.match(badType.retMsg ?? '', /subType 3/);
  assert.equal((await subInfo(client)).totalUsedQuota, 0);
});

test('unsubscribing within 60 s of subscribing is refused with the time it becomes possible', async (t) => {
  const { h, clock } = await sim(t);
  const client = await testClient(t, h.port);
  ok(await sub(client, [TENCENT], [BASIC, ORDER_BOOK]));
  clock.now += 59_000;
  const early = await unsub(client, [TENCENT], [BASIC]);
  assert.equal(early.retType, -1);
  assert.match(early.retMsg ?? '', /possible in 1 s \(at 2026-03-02T02:16:00\.000Z\)/);
  const earlyAll = await client.request(ProtoId.Qot_Sub, { isSubOrUnSub: false, isUnsubAll: true });
  assert.equal(earlyAll.retType, -1);
  assert.equal((await subInfo(client)).totalUsedQuota, 2);

  clock.now += 1_000;
  ok(await unsub(client, [TENCENT], [BASIC]));
  assert.equal((await subInfo(client)).totalUsedQuota, 1);
  ok(await client.request(ProtoId.Qot_Sub, { isSubOrUnSub: false, isUnsubAll: true }));
  assert.equal((await subInfo(client)).totalUsedQuota, 0);
});

test('slots of a closed connection stay counted until their first minute is over', async (t) => {
  const { h, clock } = await sim(t, { subQuota: 1 });
  const leaver = await testClient(t, h.port);
  ok(await sub(leaver, [TENCENT], [BASIC]));
  leaver.close();
  await leaver.closed;
  const other = await testClient(t, h.port);
  assert.equal((await sub(other, [ALIBABA], [BASIC])).retType, -1);
  clock.now += 60_000;
  ok(await sub(other, [ALIBABA], [BASIC]));
});

test('quote requests need this connection to hold the matching subscription', async (t) => {
  const { h } = await sim(t);
  const a = await testClient(t, h.port);
  const b = await testClient(t, h.port);

  const basic = await a.request(ProtoId.Qot_GetBasicQot, { securityList: [TENCENT] });
  assert.equal(basic.retType, -1);
  assert.match(basic.retMsg ?? '', /HK\.00700 is not subscribed to Basic/);

  ok(await sub(a, [TENCENT], [BASIC, KL_1MIN]));
  ok(await a.request(ProtoId.Qot_GetBasicQot, { securityList: [TENCENT] }));
  const otherConnection = await b.request(ProtoId.Qot_GetBasicQot, { securityList: [TENCENT] });
  assert.equal(otherConnection.retType, -1, 'subscriptions belong to the connection that made them');

  const kl = (klType: number) => a.request(ProtoId.Qot_GetKL, { rehabType: 1, klType, security: TENCENT, reqNum: 5 });
  ok(await kl(KL_TYPE_1MIN));
  const day = await kl(KL_TYPE_DAY);
  assert.equal(day.retType, -1);
  assert.match(day.retMsg ?? '', /KL_Day \(SubType 6\)/);
  ok(await sub(a, [TENCENT], [KL_DAY]));
  ok(await kl(KL_TYPE_DAY));

  const book = await a.request(ProtoId.Qot_GetOrderBook, { security: TENCENT, num: 5 });
  assert.match(book.retMsg ?? '', /OrderBook \(SubType 2\)/);
  const needing: [number, string, Message][] = [
    [ProtoId.Qot_GetTicker, 'Ticker', { security: TENCENT, maxRetNum: 10 }],
    [ProtoId.Qot_GetRT, 'RT', { security: TENCENT }],
    [ProtoId.Qot_GetBroker, 'Broker', { security: TENCENT }],
  ];
  for (const [protoId, name, c2s] of needing) {
    const res = await a.request(protoId, c2s);
    assert.equal(res.retType, -1);
    assert.match(res.retMsg ?? '', new RegExp(`not subscribed to ${name} `));
  }
});

test('pushes go, with their own protoID and rising serials, only where push is registered', async (t) => {
  const { h } = await sim(t, { pushIntervalMs: 40 });
  const pushing = await testClient(t, h.port);
  const quiet = await testClient(t, h.port);
  ok(await sub(pushing, [TENCENT], [BASIC], { isRegOrUnRegPush: true }));
  ok(await sub(quiet, [TENCENT], [BASIC]));

  const first = await pushing.waitFor((f) => f.protoId === ProtoId.Qot_UpdateBasicQot);
  const second = await pushing.waitFor((f) => f.protoId === ProtoId.Qot_UpdateBasicQot);
  assert.ok(second.serial > first.serial);
  const s2c = pushing.decode<{ basicQotList: { security: Security }[] }>(second, pushing.cipher).s2c!;
  assert.deepEqual(s2c.basicQotList.map((q) => q.security), [TENCENT]);
  assert.deepEqual(quiet.takeUnclaimed(ProtoId.Qot_UpdateBasicQot), [], 'no push without isRegOrUnRegPush');

  ok(await quiet.request(ProtoId.Qot_RegQotPush, { securityList: [TENCENT], subTypeList: [BASIC], isRegOrUnReg: true }));
  await quiet.nextPush(ProtoId.Qot_UpdateBasicQot);

  ok(await pushing.request(ProtoId.Qot_RegQotPush, { securityList: [TENCENT], subTypeList: [BASIC], isRegOrUnReg: false }));
  pushing.takeUnclaimed(ProtoId.Qot_UpdateBasicQot);
  await quiet.nextPush(ProtoId.Qot_UpdateBasicQot);
  await quiet.nextPush(ProtoId.Qot_UpdateBasicQot);
  assert.deepEqual(pushing.takeUnclaimed(ProtoId.Qot_UpdateBasicQot), [], 'unregistered pushes stop');
});

test('isFirstPush sends the current data right after the subscription is confirmed', async (t) => {
  const { h } = await sim(t);
  const client = await testClient(t, h.port);
  ok(await sub(client, [TENCENT], [BASIC], { isRegOrUnRegPush: true, isFirstPush: true }));
  const push = await client.nextPush<{ basicQotList: { security: Security }[] }>(ProtoId.Qot_UpdateBasicQot);
  assert.deepEqual(push.basicQotList[0]!.security, TENCENT);
});

test('Qot_RegQotPush refuses slots the connection has not subscribed', async (t) => {
  const { h } = await sim(t);
  const client = await testClient(t, h.port);
  const res = await client.request(ProtoId.Qot_RegQotPush, { securityList: [TENCENT], subTypeList: [BASIC], isRegOrUnReg: true });
  assert.equal(res.retType, -1);
  assert.match(res.retMsg ?? '', /not subscribed/);
});

test('GetSubInfo lists this connection, or every connection with isReqAllConn', async (t) => {
  const { h } = await sim(t);
  const a = await testClient(t, h.port);
  const b = await testClient(t, h.port);
  ok(await sub(a, [TENCENT, ALIBABA], [BASIC]));
  ok(await sub(b, [APPLE], [ORDER_BOOK]));

  const own = await subInfo(a);
  assert.equal(own.connSubInfoList.length, 1);
  const mine = own.connSubInfoList[0]!;
  assert.equal(mine.isOwnConnData, true);
  assert.deepEqual(mine.subInfoList, [{ subType: BASIC, securityList: [TENCENT, ALIBABA] }]);

  const all = await subInfo(a, true);
  assert.equal(all.connSubInfoList.length, 2);
  const theirs = all.connSubInfoList.find((c) => !c.isOwnConnData)!;
  assert.deepEqual(theirs.subInfoList, [{ subType: ORDER_BOOK, securityList: [APPLE] }]);
  assert.deepEqual([all.totalUsedQuota, all.remainQuota], [3, 97]);
});
