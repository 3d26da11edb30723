import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { RsaCipher } from '../../src/gateway/crypto.js';
import { encodeFrame } from '../../src/gateway/frame.js';
import { decodeResponse, type Message } from '../../src/gateway/proto.js';
import { ProtoId } from '../../src/gateway/protoIds.js';
import { setLogLevel } from '../../src/shared/log.js';
import { startSimulator } from '../../src/sim/server.js';
import { testClient, testRsaKeyPem, testSimulator as sim, waitUntil, type InitConnectS2C } from '../helpers/rawClient.js';

setLogLevel('error');

const PEM = testRsaKeyPem();
const RSA = RsaCipher.fromPem(PEM);
const T0 = Date.parse('2026-03-02T02:15:00Z');

function assertSessionParams(s2c: InitConnectS2C): void {
  assert.match(s2c.connID, /^\d+$/);
  assert.ok(BigInt(s2c.connID) > 2n ** 53n, `connID ${s2c.connID} must exceed 2^53`);
  assert.ok(BigInt(s2c.connID) < 2n ** 64n);
  assert.match(s2c.connAESKey, /^[\x21-\x7e]{16}$/);
}

test('plain InitConnect hands out an exact 64-bit connID, a 16-char key and the configured keep-alive', async (t) => {
  const h = await sim(t, { keepAliveInterval: 7 });
  const first = await testClient(t, h.port, false);
  const s2c = await first.initConnect();
  assertSessionParams(s2c);
  assert.equal(s2c.keepAliveInterval, 7);
  assert.ok(s2c.serverVer > 0);
  const state = await first.call<Message>(ProtoId.GetGlobalState, { userID: 0 });
  assert.equal(state.connID, s2c.connID, 'the connID must survive encoding without losing precision');

  const second = await testClient(t, h.port, false);
  assert.notEqual((await second.initConnect()).connID, s2c.connID);
});

test('RSA + AES-CBC: the handshake travels RSA-encrypted and later packets AES-CBC with the returned key and IV', async (t) => {
  const h = await sim(t, { rsaKeyPem: PEM });
  const client = await testClient(t, h.port, false);
  const s2c = await client.initConnect({ rsa: RSA, packetEncAlgo: 2 });
  assertSessionParams(s2c);
  assert.match(s2c.aesCBCiv ?? '', /^[\x21-\x7e]{16}$/);
  const reply = await client.call<{ time: string }>(ProtoId.KeepAlive, { time: 1 });
  assert.match(reply.time, /^\d+$/);
});

test('RSA + FTAES-ECB: no IV is returned and later packets use FTAES-ECB', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'futu-sim-rsa-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const keyFile = path.join(dir, 'opend.pem');
  writeFileSync(keyFile, PEM, { mode: 0o600 });
  const h = await sim(t, { rsaKeyFile: keyFile });
  const client = await testClient(t, h.port, false);
  const s2c = await client.initConnect({ rsa: RSA, packetEncAlgo: 0 });
  assert.equal(s2c.aesCBCiv, undefined);
  const frameSerial = client.send(ProtoId.GetGlobalState, { userID: 0 });
  const frame = await client.waitFor((f) => f.serial === frameSerial);
  // FTAES-ECB appends a 16-byte length block; AES-CBC would not.
  assert.equal(frame.wireBody.length % 16, 0);
  const res = client.decode<Message>(frame, client.cipher);
  assert.equal(res.retType, 0);
  assert.equal(res.s2c?.qotLogined, true);
});

test('an RSA-configured OpenD refuses an unencrypted session and standard AES-ECB', async (t) => {
  const h = await sim(t, { rsaKeyPem: PEM });
  for (const packetEncAlgo of [-1, 1]) {
    const client = await testClient(t, h.port, false);
    await assert.rejects(client.initConnect({ rsa: RSA, packetEncAlgo }), /packetEncAlgo/);
  }
});

test('nothing but InitConnect is served before InitConnect', async (t) => {
  const h = await sim(t);
  const client = await testClient(t, h.port, false);
  const early: [number, Message][] = [[ProtoId.KeepAlive, { time: 1 }], [ProtoId.GetGlobalState, { userID: 0 }], [ProtoId.Qot_GetSubInfo, {}]];
  for (const [protoId, c2s] of early) {
    const res = await client.request(protoId, c2s);
    assert.equal(res.retType, -1);
    assert.match(res.retMsg ?? '', /InitConnect must come first/);
    assert.equal(res.s2c, undefined);
  }
  await client.initConnect();
  assert.equal((await client.request(ProtoId.KeepAlive, { time: 1 })).retType, 0);
});

test('responses echo the request protoID and serial, even near the top of the u32 range', async (t) => {
  const h = await sim(t);
  const client = await testClient(t, h.port);
  for (const serial of [1, 4_000_000_000, 0xffffffff]) {
    const res = await client.request(ProtoId.KeepAlive, { time: 1 }, client.cipher, serial);
    assert.equal(res.retType, 0);
  }
});

test('KeepAlive answers with the server time in seconds', async (t) => {
  const h = await sim(t, { now: () => T0 + 999 });
  const client = await testClient(t, h.port);
  const res = await client.call<{ time: string }>(ProtoId.KeepAlive, { time: 12345 });
  assert.equal(res.time, String(Math.floor((T0 + 999) / 1000)));
});

test('GetGlobalState reports logged-in quote and trade servers and the market states', async (t) => {
  const h = await sim(t, { now: () => T0 });
  const client = await testClient(t, h.port);
  const s2c = await client.call<Message>(ProtoId.GetGlobalState, { userID: 0 });
  const states = h.market.marketStates();
  for (const [field, value] of Object.entries(states)) assert.equal(s2c[field], value, field);
  assert.equal(s2c.qotLogined, true);
  assert.equal(s2c.trdLogined, true);
  assert.equal(s2c.time, String(T0 / 1000));
  assert.ok((s2c.serverBuildNo as number) > 0);
  assert.deepEqual(s2c.programStatus, { type: 10 });
});

test('GetUserInfo reports the subscription quota', async (t) => {
  const h = await sim(t, { subQuota: 42 });
  const client = await testClient(t, h.port);
  const s2c = await client.call<Message>(ProtoId.GetUserInfo, { flag: 0 });
  assert.equal(s2c.subQuota, 42);
});

test('unknown and unserved protoIDs get retType -1 and the connection keeps working', async (t) => {
  const h = await sim(t);
  const client = await testClient(t, h.port);
  const body = Buffer.from('anything at all');
  client.writeRaw(encodeFrame(4242, 77, body));
  const frame = await client.waitFor((f) => f.protoId === 4242 && f.serial === 77);
  // Every OpenD Response shares fields 1-3, so any Response schema reads this one.
  const unknown = decodeResponse(ProtoId.KeepAlive, frame.wireBody);
  assert.deepEqual({ retType: unknown.retType, retMsg: unknown.retMsg }, { retType: -1, retMsg: 'unsupported protoID 4242' });

  const push = await client.request(ProtoId.Notify, {});
  assert.equal(push.retType, -1);
  assert.equal(push.retMsg, `unsupported protoID ${ProtoId.Notify}`);
  assert.equal((await client.request(ProtoId.KeepAlive, { time: 1 })).retType, 0);
});

test('a second InitConnect on the same connection is refused without disturbing the session', async (t) => {
  const h = await sim(t);
  const client = await testClient(t, h.port);
  const res = await client.request(ProtoId.InitConnect, { clientVer: 300, clientID: 'again' });
  assert.equal(res.retType, -1);
  assert.match(res.retMsg ?? '', /already/);
  assert.equal((await client.request(ProtoId.KeepAlive, { time: 1 })).retType, 0);
});

test('connections() counts open sockets, initialised or not', async (t) => {
  const h = await sim(t);
  const a = await testClient(t, h.port, false);
  await testClient(t, h.port);
  await waitUntil(() => h.connections() === 2);
  a.close();
  await waitUntil(() => h.connections() === 1);
});

test('invalid options are refused with SIM_INVALID_CONFIG', async () => {
  await assert.rejects(startSimulator({ port: 70_000 }), { code: 'SIM_INVALID_CONFIG' });
  await assert.rejects(startSimulator({ subQuota: 0 }), { code: 'SIM_INVALID_CONFIG' });
  await assert.rejects(startSimulator({ rsaKeyPem: 'not a key' }), { code: 'SIM_INVALID_CONFIG' });
  await assert.rejects(startSimulator({ tradePwd: '' }), { code: 'SIM_INVALID_CONFIG' });
});
