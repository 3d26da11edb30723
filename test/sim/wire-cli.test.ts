import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import { RsaCipher } from '../../src/gateway/crypto.js';
import type { Message } from '../../src/gateway/proto.js';
import { ProtoId } from '../../src/gateway/protoIds.js';
import { testClient, testRsaKeyPem } from '../helpers/rawClient.js';

const CLI = fileURLToPath(new URL('../../src/cli/futu-sim.js', import.meta.url));
const PASSWORD = 'cli-s3cret-pw';

interface Running {
  child: ChildProcess;
  port: number;
  stderr: () => string;
}

/** Starts the CLI and waits for its "listening on HOST:PORT" line. */
async function startCli(t: TestContext, args: string[]): Promise<Running> {
  const child = spawn(process.execPath, [CLI, '--listen', '127.0.0.1:0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  let stderr = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      const match = /listening on 127\.0\.0\.1:(\d+)/.exec(stderr);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`futu-sim exited with ${code}: ${stderr}`)));
  });
  return { child, port, stderr: () => stderr };
}

async function stopWith(running: Running, signal: NodeJS.Signals): Promise<number | null> {
  const exited = once(running.child, 'exit');
  running.child.kill(signal);
  const [code] = (await exited) as [number | null];
  return code;
}

test('futu-sim listens, answers InitConnect, uses the given password and quota, and exits cleanly on SIGTERM', async (t) => {
  const running = await startCli(t, ['--seed', '7', '--trade-pwd', PASSWORD, '--sub-quota', '5']);
  const client = await testClient(t, running.port);
  const info = await client.call<Message>(ProtoId.GetUserInfo, {});
  assert.equal(info.subQuota, 5);
  const pwdMD5 = createHash('md5').update(PASSWORD).digest('hex');
  assert.equal((await client.request(ProtoId.Trd_UnlockTrade, { unlock: true, pwdMD5 })).retType, 0);

  assert.equal(await stopWith(running, 'SIGTERM'), 0);
  assert.ok(!running.stderr().includes(PASSWORD), 'the trade password is never printed');
  for (const line of running.stderr().trim().split('\n')) assert.doesNotThrow(() => JSON.parse(line), `log line: ${line}`);
});

test('futu-sim --rsa-key encrypts like OpenD and exits cleanly on SIGINT', async (t) => {
  const pem = testRsaKeyPem();
  const dir = mkdtempSync(path.join(tmpdir(), 'futu-sim-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const keyFile = path.join(dir, 'key.pem');
  writeFileSync(keyFile, pem, { mode: 0o600 });

  const running = await startCli(t, ['--rsa-key', keyFile]);
  const client = await testClient(t, running.port, { rsa: RsaCipher.fromPem(pem) });
  assert.equal((await client.request(ProtoId.KeepAlive, { time: 1 })).retType, 0);
  assert.equal(await stopWith(running, 'SIGINT'), 0);
});

test('futu-sim --clock starts the clock at an instant and --market-hours always keeps markets trading', async (t) => {
  const saturday = '2026-12-05T10:00:00+08:00';
  const running = await startCli(t, ['--clock', saturday, '--market-hours', 'always']);
  const client = await testClient(t, running.port);
  const state = await client.call<{ marketHK: number; marketUS: number; time: string }>(ProtoId.GetGlobalState, { userID: '0' });
  // Qot_Common.QotMarketState: 3 Morning, 5 Afternoon (Futu's name for US regular hours).
  assert.ok([3, 5].includes(state.marketHK) && [3, 5].includes(state.marketUS), JSON.stringify(state));
  assert.ok(Math.abs(Number(state.time) * 1000 - Date.parse(saturday)) < 10_000, 'OpenD reports the simulated time');
});

test('futu-sim refuses a malformed --listen, --clock or --market-hours and an unreadable key with a non-zero exit', async () => {
  const bad = [
    ['--listen', 'nonsense'],
    ['--listen', '127.0.0.1:0', '--rsa-key', '/nonexistent/key.pem'],
    ['--listen', '127.0.0.1:0', '--clock', '2026-02-30T10:00:00Z'],
    ['--listen', '127.0.0.1:0', '--clock', 'yesterday'],
    ['--listen', '127.0.0.1:0', '--market-hours', 'sometimes'],
  ];
  for (const args of bad) {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.notEqual(code, 0, `${args.join(' ')} should fail`);
    assert.match(stderr, /HOST:PORT|RSA private key|ISO-8601 instant with a time and an offset|Allowed choices are real, always/);
  }
});
