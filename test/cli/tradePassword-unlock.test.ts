import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { FutuGateway } from '../../src/gateway/api.js';
import type { AccountRef } from '../../src/gateway/types.js';
import { tradePasswordMd5 } from '../../src/keys/tradePassword.js';
import { setLogLevel, setLogSink } from '../../src/shared/log.js';
import { startSimulator } from '../../src/sim/server.js';
import { runFutucliAsync, tempDir, type CliRun } from '../helpers/futucli.js';

const PASSWORD = 'unlock-pw-7305';
const WRONG = 'unlock-pw-7306';
/** Monday 2026-03-02 10:15 in Hong Kong: the market is open. */
const T0 = Date.parse('2026-03-02T02:15:00Z');

const simulatorLog: string[] = [];
setLogSink((line) => simulatorLog.push(line));
setLogLevel('debug');

/** A simulated OpenD plus a probe connection that tries a real-money order to observe the unlock. */
async function openD(t: TestContext) {
  const sim = await startSimulator({ port: 0, seed: 7, tradePwd: PASSWORD, now: () => T0, pushIntervalMs: 60_000 });
  t.after(() => sim.close());
  const probe = new FutuGateway({ port: sim.port });
  await probe.connect();
  t.after(() => probe.close());
  const account = (await probe.getAccounts()).find((acc) => acc.env === 'real' && acc.trdMarkets.includes('HK'));
  assert.ok(account, 'the simulator has a real HK account');
  const real: AccountRef = { accId: account.accId, env: 'real', trdMarket: 'HK' };
  const realOrderAccepted = async (): Promise<boolean> => {
    try {
      await probe.placeOrder(real, { symbol: 'HK.00700', side: 'BUY', orderType: 'NORMAL', qty: 100, price: 100 });
      return true;
    } catch (err) {
      assert.match((err as Error).message, /unlock/i);
      return false;
    }
  };
  const gateway = `127.0.0.1:${sim.port}`;
  const futucli = (args: string[], env: Record<string, string> = {}) =>
    runFutucliAsync(['-o', 'json', 'unlock-trade', '--gateway', gateway, ...args], {
      // No reachable keychain: the password can only come from where a test puts it.
      env: { DBUS_SESSION_BUS_ADDRESS: `unix:path=${tempDir(t)}/no-bus`, ...env },
    });
  return { realOrderAccepted, futucli, gateway };
}

function assertNoSecret(runs: CliRun[]): void {
  const secrets = [PASSWORD, WRONG, tradePasswordMd5(PASSWORD), tradePasswordMd5(WRONG)];
  const seen = [...runs.flatMap((run) => [run.stdout, run.stderr]), ...simulatorLog].join('\n');
  for (const secret of secrets) assert.ok(!seen.toLowerCase().includes(secret.toLowerCase()), 'a secret leaked into output or logs');
}

test('unlock-trade unlocks real trading with the configured password and --lock locks it again', async (t) => {
  const { realOrderAccepted, futucli, gateway } = await openD(t);
  assert.equal(await realOrderAccepted(), false);

  const unlock = await futucli([], { FUTU_TRADE_PWD: PASSWORD });
  assert.equal(unlock.status, 0, unlock.stdout + unlock.stderr);
  assert.deepEqual(JSON.parse(unlock.stdout), { unlocked: true, gateway, password_source: 'env' });
  assert.match(unlock.stderr, /OpenD-wide/);
  assert.equal(await realOrderAccepted(), true);

  // Locking needs no password at all.
  const lock = await futucli(['--lock']);
  assert.equal(lock.status, 0, lock.stdout + lock.stderr);
  assert.deepEqual(JSON.parse(lock.stdout), { unlocked: false, gateway });
  assert.equal(await realOrderAccepted(), false);
  assertNoSecret([unlock, lock]);
});

test('a wrong password is refused, exits non-zero and leaves trading locked', async (t) => {
  const { realOrderAccepted, futucli } = await openD(t);
  const wrong = await futucli([], { FUTU_TRADE_PWD: WRONG });
  assert.notEqual(wrong.status, 0);
  assert.deepEqual(JSON.parse(wrong.stdout).error, {
    code: 'OPEND_ERROR',
    message: 'OpenD error: unlock failed: the trade password is incorrect',
  });
  assert.equal(await realOrderAccepted(), false);
  assertNoSecret([wrong]);
});

test('without a configured password unlock-trade stops before contacting OpenD', async (t) => {
  const { realOrderAccepted, futucli } = await openD(t);
  const run = await futucli([], { FUTU_TRADE_PWD: '   ' });
  assert.notEqual(run.status, 0);
  assert.equal(JSON.parse(run.stdout).error.code, 'KEYCHAIN_UNAVAILABLE');
  assert.equal(await realOrderAccepted(), false);
});

test('an unreachable gateway is an error, and the command exits instead of reconnecting forever', async () => {
  const run = await runFutucliAsync(['-o', 'json', 'unlock-trade', '--gateway', '127.0.0.1:1'], { env: { FUTU_TRADE_PWD: PASSWORD } });
  assert.notEqual(run.status, 0);
  assert.match(JSON.parse(run.stdout).error.code, /^GATEWAY_/);
  assertNoSecret([run]);
});

test('an unreachable gateway is named with the connect error and what to check, with no raw log line', async () => {
  const run = await runFutucliAsync(['unlock-trade', '--lock', '--gateway', '127.0.0.1:1']);
  assert.equal(run.status, 1);
  assert.equal(run.stdout, '');
  assert.equal(run.stderr, 'error: gateway not connected: connect ECONNREFUSED 127.0.0.1:1; is OpenD running at 127.0.0.1:1? (check --gateway)\n');
});

test('a malformed --gateway is refused', async () => {
  const run = await runFutucliAsync(['-o', 'json', 'unlock-trade', '--lock', '--gateway', 'localhost']);
  assert.notEqual(run.status, 0);
  assert.deepEqual(JSON.parse(run.stdout).error, {
    code: 'INVALID_ARGUMENT',
    message: 'invalid --gateway "localhost": expected HOST:PORT, e.g. 127.0.0.1:11111',
  });
});
