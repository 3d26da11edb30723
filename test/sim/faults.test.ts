import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test, type TestContext } from 'node:test';
import type { Message } from '../../src/gateway/proto.js';
import { ProtoId } from '../../src/gateway/protoIds.js';
import { setLogLevel } from '../../src/shared/log.js';
import type { SimulatorHandle } from '../../src/sim/server.js';
import { testClient, testSimulator, waitUntil, type RawClient } from '../helpers/rawClient.js';

setLogLevel('error');

const TENCENT = { market: 1, code: '00700' };
const T0 = Date.parse('2026-03-02T02:15:00Z');

const sim = (t: TestContext): Promise<SimulatorHandle> => testSimulator(t, { now: () => T0 });

const subscribeTencent = (client: RawClient) =>
  client.request(ProtoId.Qot_Sub, { securityList: [TENCENT], subTypeList: [1], isSubOrUnSub: true });
const usedQuota = async (client: RawClient): Promise<number> =>
  (await client.call<{ totalUsedQuota: number }>(ProtoId.Qot_GetSubInfo, {})).totalUsedQuota;

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(true));
  });
}

test('dropConnections closes every connection and new ones are still accepted', async (t) => {
  const h = await sim(t);
  const a = await testClient(t, h.port);
  const b = await testClient(t, h.port, false);
  h.faults.dropConnections();
  await Promise.all([a.closed, b.closed]);
  assert.equal(h.connections(), 0);
  const c = await testClient(t, h.port);
  assert.equal((await c.request(ProtoId.KeepAlive, { time: 1 })).retType, 0);
});

test('failNext fails exactly `count` requests of that protoID, which then have no effect', async (t) => {
  const h = await sim(t);
  const client = await testClient(t, h.port);
  h.faults.failNext(ProtoId.Qot_Sub, { retType: -100, retMsg: 'injected timeout', count: 2 });
  for (let i = 0; i < 2; i++) {
    const res = await subscribeTencent(client);
    assert.deepEqual([res.retType, res.retMsg], [-100, 'injected timeout']);
    assert.equal((await client.request(ProtoId.KeepAlive, { time: 1 })).retType, 0, 'other protoIDs are not affected');
  }
  assert.equal(await usedQuota(client), 0);
  assert.equal((await subscribeTencent(client)).retType, 0);
  assert.equal(await usedQuota(client), 1);
});

test('failNext can fail the InitConnect handshake; the client may retry on the same connection', async (t) => {
  const h = await sim(t);
  h.faults.failNext(ProtoId.InitConnect, { retMsg: 'OpenD is busy' });
  const client = await testClient(t, h.port, false);
  await assert.rejects(client.initConnect(), /OpenD is busy/);
  await client.initConnect();
  assert.equal((await client.request(ProtoId.KeepAlive, { time: 1 })).retType, 0);
});

test('delayResponses holds back one protoID; the request still takes effect at once', async (t) => {
  const h = await sim(t);
  const client = await testClient(t, h.port);
  h.faults.delayResponses(400, ProtoId.Qot_Sub);
  const order: number[] = [];
  const delayed = subscribeTencent(client).then((res) => (order.push(ProtoId.Qot_Sub), res));
  const quota = usedQuota(client).then((used) => (order.push(ProtoId.Qot_GetSubInfo), used));
  assert.equal(await quota, 1, 'the subscription was made before its answer was sent');
  assert.equal((await delayed).retType, 0);
  assert.deepEqual(order, [ProtoId.Qot_GetSubInfo, ProtoId.Qot_Sub]);
});

test('delayResponses without a protoID delays everything; clear() removes all faults', async (t) => {
  const h = await sim(t);
  const client = await testClient(t, h.port);
  h.faults.delayResponses(300);
  h.faults.failNext(ProtoId.KeepAlive, { retMsg: 'never seen' });
  h.faults.clear();
  h.faults.delayResponses(300);
  const order: string[] = [];
  const slow = client.request(ProtoId.KeepAlive, { time: 1 }).then((res) => (order.push('slow'), res));
  await new Promise((r) => setTimeout(r, 50));
  h.faults.clear();
  const fast = await client.request(ProtoId.KeepAlive, { time: 1 });
  order.push('fast');
  assert.equal(fast.retType, 0, 'the cleared failNext did not fire');
  assert.equal((await slow).retType, 0);
  assert.deepEqual(order, ['fast', 'slow']);
});

test('fault arguments are validated', async (t) => {
  const h = await sim(t);
  assert.throws(() => h.faults.delayResponses(-1), RangeError);
  assert.throws(() => h.faults.failNext(ProtoId.KeepAlive, { retMsg: 'x', count: 0 }), RangeError);
  assert.throws(() => h.faults.failNext(ProtoId.KeepAlive, { retMsg: 'x', retType: 0 }), RangeError);
});

test('stop closes the port and every connection; restart serves the same port like a freshly started OpenD', async (t) => {
  const h = await sim(t);
  const port = h.port;
  const before = await testClient(t, h.port);
  assert.equal((await subscribeTencent(before)).retType, 0);

  await h.stop();
  await before.closed;
  assert.equal(h.connections(), 0);
  assert.ok(await refused(port), 'nothing listens while stopped');

  await h.restart();
  assert.equal(h.port, port);
  assert.equal(h.address, `127.0.0.1:${port}`);
  const after = await testClient(t, port);
  assert.equal(await usedQuota(after), 0, 'subscriptions do not survive an OpenD restart');
  const state = await after.call<Message>(ProtoId.GetGlobalState, { userID: 0 });
  assert.equal(state.qotLogined, true);

  await h.restart();
  assert.equal(h.port, port, 'restart while running also keeps the port');
  await after.closed;
  await waitUntil(() => h.connections() === 0);
});

test('close is final', async (t) => {
  const h = await sim(t);
  await h.close();
  await assert.rejects(h.restart(), { code: 'SIM_CLOSED' });
  assert.ok(await refused(h.port));
});
