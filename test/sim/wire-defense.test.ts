import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { RsaCipher } from '../../src/gateway/crypto.js';
import { encodeFrame, HEADER_SIZE, MAX_BODY_SIZE } from '../../src/gateway/frame.js';
import { encodeRequest } from '../../src/gateway/proto.js';
import { ProtoId } from '../../src/gateway/protoIds.js';
import { setLogLevel, setLogSink } from '../../src/shared/log.js';
import { MAX_CONNECTIONS, type SimulatorHandle } from '../../src/sim/server.js';
import { RawClient, testClient, testRsaKeyPem, testSimulator as sim, waitUntil } from '../helpers/rawClient.js';

const logLines: string[] = [];
setLogSink((line) => logLines.push(line));
setLogLevel('warn');

const PEM = testRsaKeyPem();
const keepAlive = (): Uint8Array => encodeRequest(ProtoId.KeepAlive, { time: 1 });

function resetLogged(reason: RegExp): boolean {
  return logLines.some((line) => line.includes('"sim: connection reset"') && reason.test(line));
}

/** The victim's connection is reset and logged; a bystander on the same simulator is still served. */
async function expectOnlyVictimReset(h: SimulatorHandle, victim: RawClient, bystander: RawClient, reason: RegExp): Promise<void> {
  await victim.closed;
  assert.ok(resetLogged(reason), `a warning naming ${reason} was logged`);
  assert.equal((await bystander.request(ProtoId.KeepAlive, { time: 1 })).retType, 0);
  await waitUntil(() => h.connections() === 1, 'only the bystander left');
}

const malformed: [string, RegExp, (victim: RawClient) => void][] = [
  ['bad magic', /bad-magic/, (v) => v.writeRaw(Buffer.concat([Buffer.from('XT'), encodeFrame(ProtoId.KeepAlive, 1, keepAlive()).subarray(2)]))],
  ['SHA-1 mismatch', /sha1-mismatch/, (v) => {
    const frame = encodeFrame(ProtoId.KeepAlive, 1, keepAlive());
    frame[20]! ^= 0xff;
    v.writeRaw(frame);
  }],
  ['a header announcing more than 32 MiB', /oversized/, (v) => {
    const header = encodeFrame(ProtoId.KeepAlive, 1, Buffer.alloc(0)).subarray(0, HEADER_SIZE);
    header.writeUInt32LE(MAX_BODY_SIZE + 1, 12);
    v.writeRaw(header);
  }],
  ['a garbage body with a valid SHA-1', /undecodable/, (v) => v.writeRaw(encodeFrame(ProtoId.KeepAlive, 1, Buffer.from([0xff, 0xff, 0xff, 0x0f, 0x01])))],
  ['a JSON-format frame', /format 1/, (v) => {
    const frame = encodeFrame(ProtoId.KeepAlive, 1, Buffer.from('{"c2s":{"time":1}}'));
    frame[6] = 1;
    v.writeRaw(frame);
  }],
];

for (const [name, reason, send] of malformed) {
  test(`${name} resets only that connection`, async (t) => {
    const h = await sim(t);
    const victim = await testClient(t, h.port);
    const bystander = await testClient(t, h.port);
    send(victim);
    await expectOnlyVictimReset(h, victim, bystander, reason);
  });
}

test('an undecodable InitConnect resets the connection', async (t) => {
  const h = await sim(t);
  const victim = await testClient(t, h.port, false);
  const bystander = await testClient(t, h.port);
  victim.writeRaw(encodeFrame(ProtoId.InitConnect, 1, Buffer.from('not protobuf')));
  await expectOnlyVictimReset(h, victim, bystander, /protoID 1001: undecodable/);
});

test('a plaintext InitConnect to an RSA-configured OpenD fails RSA decryption and resets', async (t) => {
  const h = await sim(t, { rsaKeyPem: PEM });
  const victim = await testClient(t, h.port, false);
  const bystander = await testClient(t, h.port, { rsa: RsaCipher.fromPem(PEM) });
  victim.send(ProtoId.InitConnect, { clientVer: 300, clientID: 'plain', packetEncAlgo: 2 });
  await expectOnlyVictimReset(h, victim, bystander, /RSA ciphertext/);
});

test('a packet that is not valid AES after an encrypted handshake resets', async (t) => {
  const h = await sim(t, { rsaKeyPem: PEM });
  const rsa = RsaCipher.fromPem(PEM);
  const victim = await testClient(t, h.port, { rsa });
  const bystander = await testClient(t, h.port, { rsa });
  victim.writeRaw(encodeFrame(ProtoId.KeepAlive, 2, keepAlive()));
  await expectOnlyVictimReset(h, victim, bystander, /AES-CBC/);
});

test('a frame split into single bytes is reassembled', async (t) => {
  const h = await sim(t);
  const client = await testClient(t, h.port);
  const frame = encodeFrame(ProtoId.KeepAlive, 555, keepAlive());
  for (const byte of frame) {
    client.writeRaw(Buffer.from([byte]));
    await new Promise((r) => setImmediate(r));
  }
  const reply = await client.waitFor((f) => f.serial === 555);
  assert.equal(client.decode(reply, client.cipher).retType, 0);
});

test('random bytes and random bodies for every protoID never take the simulator down', async (t) => {
  const h = await sim(t);
  // Deterministic "random" bytes, so a failure reproduces.
  const bytes = (round: number, n: number): Buffer =>
    Buffer.concat(Array.from({ length: Math.ceil(n / 32) }, (_, i) => createHash('sha256').update(`${round}/${i}`).digest())).subarray(0, n);
  const protoIds = [...Object.values(ProtoId), 4242];
  for (let round = 0; round < 40; round++) {
    const client = await testClient(t, h.port, round % 2 === 0 ? {} : false);
    const protoId = protoIds[round % protoIds.length]!;
    client.writeRaw(round % 5 === 0 ? bytes(round, 200) : encodeFrame(protoId, round, bytes(round, 1 + ((round * 37) % 300))));
    client.close();
  }
  const survivor = await testClient(t, h.port);
  assert.equal((await survivor.request(ProtoId.KeepAlive, { time: 1 })).retType, 0);
  assert.ok(!logLines.some((l) => l.includes('"level":"error"')), 'no handler crashed on hostile input');
});

test('a connection that sends nothing for idleTimeoutMs is dropped; one that keeps alive is not', async (t) => {
  const h = await sim(t, { idleTimeoutMs: 300 });
  const silent = await testClient(t, h.port);
  const neverInitialised = await testClient(t, h.port, false);
  const lively = await testClient(t, h.port);
  let stillAlive = true;
  const beats = (async () => {
    while (stillAlive) {
      assert.equal((await lively.request(ProtoId.KeepAlive, { time: 1 })).retType, 0);
      await new Promise((r) => setTimeout(r, 60));
    }
  })();
  await Promise.all([silent.closed, neverInitialised.closed]);
  assert.ok(resetLogged(/no packet for 300 ms/));
  stillAlive = false;
  await beats;
  assert.ok(lively.isOpen);
});

test(`OpenD serves at most ${MAX_CONNECTIONS} connections at once`, async (t) => {
  const h = await sim(t);
  const clients = await Promise.all(Array.from({ length: MAX_CONNECTIONS }, () => testClient(t, h.port, false)));
  await waitUntil(() => h.connections() === MAX_CONNECTIONS);
  const extra = await testClient(t, h.port, false);
  await extra.closed;
  assert.equal(h.connections(), MAX_CONNECTIONS);
  clients[0]!.close();
  await waitUntil(() => h.connections() === MAX_CONNECTIONS - 1);
  const late = await testClient(t, h.port);
  assert.equal((await late.request(ProtoId.KeepAlive, { time: 1 })).retType, 0);
});
