import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { RsaCipher } from '../../src/gateway/crypto.js';
import { HEADER_SIZE, MAX_BODY_SIZE } from '../../src/gateway/frame.js';
import { encodeResponse } from '../../src/gateway/proto.js';
import { ProtoId } from '../../src/gateway/protoIds.js';
import { FutuGateway, GatewayError, OpenDClient } from '../../src/gateway/index.js';
import { answerKeepAlive, FAKE_CONN_ID, startFakeOpenD, type FakeLink } from './fakeOpenD.js';
import { captureLogs, nextEvent, settleWithin, testRsaKeyPem } from './setup.js';
import type { Frame } from '../../src/gateway/frame.js';

const FAST_RECONNECT = { reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 100 };

describe('InitConnect', () => {
  test('is sent first, in plaintext, with the documented fields, and keeps a >2^53 connID exact', async () => {
    const fake = await startFakeOpenD();
    const client = new OpenDClient({ port: fake.port });
    try {
      const info = await client.connect();
      const link = await fake.linkReady(1);
      assert.deepEqual(
        { ...link.hello },
        { clientVer: 100, clientID: 'futu-mcp', recvNotify: true, packetEncAlgo: -1, pushProtoFmt: 0, programmingLanguage: 'TypeScript' },
      );
      assert.equal(info.connId, FAKE_CONN_ID);
      assert.equal(info.loginUserId, '18446744073709551615');
      assert.equal(info.encryption, 'none');
    } finally {
      await client.close();
      await fake.close();
    }
  });

  for (const withIv of [true, false]) {
    const mode = withIv ? 'aes-cbc' : 'ftaes-ecb';
    test(`with an RSA key asks for AES-CBC and uses ${mode} when OpenD ${withIv ? 'returns' : 'omits'} the IV`, async () => {
      const pem = testRsaKeyPem();
      const fake = await startFakeOpenD({ rsa: RsaCipher.fromPem(pem), withIv });
      // The key can be given as PEM text or, like OpenD's rsa_private_key setting, as a file.
      const dir = mkdtempSync(path.join(tmpdir(), 'futu-gateway-key-'));
      const keyFile = path.join(dir, 'rsa_private_key.pem');
      writeFileSync(keyFile, pem, { mode: 0o600 });
      const gateway = new FutuGateway({ port: fake.port, rsaPrivateKey: withIv ? pem : keyFile });
      try {
        const info = await gateway.connect();
        assert.equal((await fake.linkReady(1)).hello.packetEncAlgo, 2);
        assert.equal(info.encryption, mode);
        // A round trip only works if both directions use the session cipher OpenD chose.
        const { rttMs } = await gateway.ping();
        assert.ok(rttMs >= 0);
      } finally {
        await gateway.close();
        await fake.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  test('an unreadable RSA key is a configuration error at construction', () => {
    const invalidArgument = (err: unknown): boolean => err instanceof GatewayError && err.code === 'INVALID_ARGUMENT';
    assert.throws(() => new OpenDClient({ rsaPrivateKey: path.join(tmpdir(), 'no-such-dir', 'key.pem') }), invalidArgument);
    assert.throws(() => new OpenDClient({ rsaPrivateKey: '-----BEGIN RSA PRIVATE KEY-----\ngarbage\n-----END RSA PRIVATE KEY-----' }), invalidArgument);
  });
});

describe('request matching', () => {
  test('serials strictly increase and answers are matched by (protoID, serial), in any order', async () => {
    const held: Frame[] = [];
    const fake = await startFakeOpenD({
      onRequest: (link, frame) => {
        if (frame.protoId !== ProtoId.KeepAlive) return;
        held.push(frame);
        if (held.length < 3) return;
        // Answer in reverse order; each answer carries a value derived from its own serial.
        for (const f of held.reverse()) link.reply(f, { time: f.serial * 10 });
      },
    });
    const client = new OpenDClient({ port: fake.port });
    try {
      await client.connect();
      const answers = await Promise.all([0, 1, 2].map((t) => client.request(ProtoId.KeepAlive, { time: t })));
      const serials = (await fake.linkReady(1)).frames.map((f) => f.serial);
      assert.ok(serials[0]! > 0 && serials[1]! === serials[0]! + 1 && serials[2]! === serials[1]! + 1, `serials ${serials}`);
      assert.deepEqual(answers.map((a) => Number(a.time)), serials.map((s) => s * 10));
    } finally {
      await client.close();
      await fake.close();
    }
  });

  test('an answer with the right serial but another protoID does not settle the request', async () => {
    const fake = await startFakeOpenD({
      onRequest: (link, frame, c2s) => {
        link.writeFrame(ProtoId.Qot_GetSubInfo, frame.serial, Buffer.from(encodeResponse(ProtoId.Qot_GetSubInfo, {
          retType: -1, retMsg: 'not yours',
        })));
        link.reply(frame, { time: c2s.time });
      },
    });
    const client = new OpenDClient({ port: fake.port });
    try {
      await client.connect();
      const s2c = await client.request(ProtoId.KeepAlive, { time: 42 });
      assert.equal(Number(s2c.time), 42);
    } finally {
      await client.close();
      await fake.close();
    }
  });

  test('pushes are routed by protoID even when their serial equals a pending request', async () => {
    const fake = await startFakeOpenD({
      onRequest: (link, frame, c2s) => {
        link.push(ProtoId.Notify, frame.serial, { type: 1, event: { eventType: 14, desc: 'trade password changed' } });
        link.reply(frame, { time: c2s.time });
      },
    });
    const gateway = new FutuGateway({ port: fake.port });
    try {
      await gateway.connect();
      const notified = nextEvent<[{ type: number; description?: string }]>(gateway, 'notify');
      await gateway.ping();
      const [event] = await notified;
      assert.deepEqual(event, { type: 1, description: 'trade password changed' });
    } finally {
      await gateway.close();
      await fake.close();
    }
  });

  test('a throwing push listener neither breaks the link nor other listeners', async () => {
    const fake = await startFakeOpenD({
      onRequest: (link, frame, c2s) => {
        link.push(ProtoId.Notify, 0, { type: 3 });
        link.reply(frame, { time: c2s.time });
      },
    });
    const gateway = new FutuGateway({ port: fake.port });
    const logs = captureLogs();
    try {
      await gateway.connect();
      let disconnected = false;
      gateway.on('disconnected', () => (disconnected = true));
      gateway.on('notify', () => {
        throw new Error('listener bug');
      });
      await gateway.ping();
      await gateway.ping();
      assert.equal(disconnected, false);
      assert.ok(logs.records().some((r) => r.msg === 'gateway event listener failed' && r.error === 'listener bug'));
    } finally {
      logs.stop();
      await gateway.close();
      await fake.close();
    }
  });

  test('PacketID of a trade write carries the connID and the same serial as the packet header', async () => {
    let placed: { frame: Frame; packetID: unknown } | undefined;
    const fake = await startFakeOpenD({
      onRequest: (link, frame, c2s) => {
        if (frame.protoId !== ProtoId.Trd_PlaceOrder) return;
        placed = { frame, packetID: c2s.packetID };
        link.reply(frame, { header: c2s.header, orderID: '18446744073709551000', orderIDEx: 'FT-1' });
      },
    });
    const gateway = new FutuGateway({ port: fake.port });
    try {
      await gateway.connect();
      const result = await gateway.placeOrder(
        { accId: '9007199254740993', env: 'real', trdMarket: 'HK' },
        { symbol: 'HK.00700', side: 'BUY', orderType: 'NORMAL', qty: 100, price: 320.2 },
      );
      assert.deepEqual(result, { orderId: '18446744073709551000', orderIdEx: 'FT-1' });
      assert.deepEqual(placed?.packetID, { connID: FAKE_CONN_ID, serialNo: placed?.frame.serial });
    } finally {
      await gateway.close();
      await fake.close();
    }
  });
});

describe('dead links', () => {
  test('a silent link is declared dead after 3.3 KeepAlive intervals and replaced', async () => {
    const fake = await startFakeOpenD({ keepAliveInterval: 1, onRequest: () => undefined });
    const gateway = new FutuGateway({ port: fake.port, ...FAST_RECONNECT });
    try {
      await gateway.connect();
      const [info] = await nextEvent<[{ reason: string }]>(gateway, 'disconnected', 8000);
      assert.match(info.reason, /no data from OpenD/);
      const keepAlives = fake.links[0]!.frames.filter((f) => f.protoId === ProtoId.KeepAlive);
      assert.ok(keepAlives.length >= 2, `KeepAlive sent ${keepAlives.length} times before the link was dropped`);
      await fake.linkReady(2);
    } finally {
      await gateway.close();
      await fake.close();
    }
  });
});

describe('malformed frames from OpenD', () => {
  const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  const cases: { name: string; reason: RegExp; send: (link: FakeLink, frame: Frame) => void }[] = [
    { name: 'bad magic', reason: /bad-magic/, send: (link) => link.writeRaw(Buffer.alloc(HEADER_SIZE, 0x41)) },
    {
      name: 'SHA-1 mismatch',
      reason: /sha1-mismatch/,
      send: (link, frame) => link.writeFrame(frame.protoId, frame.serial, Buffer.from(encodeResponse(frame.protoId, { retType: 0, s2c: { time: 1 } })), Buffer.from('other')),
    },
    {
      name: 'oversized length',
      reason: /oversized/,
      send: (link, frame) => {
        const header = Buffer.alloc(HEADER_SIZE);
        header.write('FT', 0, 'ascii');
        header.writeUInt32LE(frame.protoId, 2);
        header.writeUInt32LE(frame.serial, 8);
        header.writeUInt32LE(MAX_BODY_SIZE + 1, 12);
        link.writeRaw(header);
      },
    },
    { name: 'undecodable body', reason: /KeepAlive\.Response/, send: (link, frame) => link.writeFrame(frame.protoId, frame.serial, garbage) },
  ];

  for (const c of cases) {
    test(`${c.name}: the pending request fails as sent-but-unanswered, the link is reset with a logged reason, and the client reconnects`, async () => {
      const fake = await startFakeOpenD({
        onRequest: (link, frame, c2s, index) => (index === 0 ? c.send(link, frame) : answerKeepAlive(link, frame, c2s)),
      });
      const gateway = new FutuGateway({ port: fake.port, ...FAST_RECONNECT });
      const logs = captureLogs();
      try {
        await gateway.connect();
        const disconnected = nextEvent<[{ reason: string }]>(gateway, 'disconnected');
        const reconnected = nextEvent(gateway, 'reconnected');
        const { error } = await settleWithin(gateway.ping(), 2000);
        // The request was written before the link was reset: OpenD may have acted on it.
        assert.ok(error instanceof GatewayError && error.code === 'GATEWAY_LINK_LOST', String(error));
        assert.match(error.message, /dropped before it answered/);
        const [info] = await disconnected;
        assert.match(info.reason, c.reason);
        const warning = logs.records().find((r) => r.level === 'warn' && r.msg === 'resetting OpenD connection');
        assert.match(String(warning?.reason), c.reason);
        await reconnected;
        await gateway.ping();
      } finally {
        logs.stop();
        await gateway.close();
        await fake.close();
      }
    });
  }
});

describe('large ids over the wire', () => {
  test('accID and orderID above 2^53 round-trip exactly', async () => {
    const accId = '18446744073709551615';
    const orderId = '9007199254740993';
    let seenHeader: unknown;
    const fake = await startFakeOpenD({
      onRequest: (link, frame, c2s) => {
        seenHeader = c2s.header;
        link.reply(frame, {
          header: c2s.header,
          orderList: [{
            trdSide: 1, orderType: 1, orderStatus: 5, orderID: orderId, orderIDEx: 'ex', code: '00700', name: 'TENCENT', qty: 100,
            price: 320, createTime: '2026-01-02 10:00:00', updateTime: '2026-01-02 10:00:00', secMarket: 1,
          }],
        });
      },
    });
    const gateway = new FutuGateway({ port: fake.port });
    try {
      await gateway.connect();
      const orders = await gateway.getOrders({ accId, env: 'real', trdMarket: 'HK' }, { orderIds: [orderId] });
      assert.deepEqual(seenHeader, { trdEnv: 1, accID: accId, trdMarket: 1 });
      assert.equal(orders.length, 1);
      assert.equal(orders[0]!.orderId, orderId);
      assert.equal(orders[0]!.symbol, 'HK.00700');
      assert.equal(orders[0]!.status, 'SUBMITTED');
    } finally {
      await gateway.close();
      await fake.close();
    }
  });
});
