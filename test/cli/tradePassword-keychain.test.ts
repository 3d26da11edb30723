import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tradePasswordMd5 } from '../../src/keys/tradePassword.js';
import { runFutucli, tempDir } from '../helpers/futucli.js';
import { GNOME_KEYRING, serviceTest } from '../helpers/systemService.js';

/**
 * The keychain against a real Secret Service: gnome-keyring in a private D-Bus session with its
 * own HOME, so the machine's keyring is never touched. CI installs gnome-keyring, dbus,
 * dbus-user-session and libsecret-tools; elsewhere, without them, the test is skipped with the
 * reason in its name (and fails under CI=true: see serviceTest).
 */
const HELPER = fileURLToPath(new URL('../helpers/keyring.js', import.meta.url));
const SESSION_SCRIPT = `
set -e
printf %s "$KEYRING_UNLOCK_PW" | gnome-keyring-daemon --unlock --components=secrets --daemonize >/dev/null
exec "$NODE" "$HELPER" scenario
`;

serviceTest('set-trade-pwd stores in Secret Service, a new process reads it, clear-trade-pwd removes it', GNOME_KEYRING, (t) => {
  const home = tempDir(t);
  const runtime = join(home, 'run');
  mkdirSync(runtime, { mode: 0o700 });
  const first = `tp-${randomBytes(6).toString('hex')}-密码`;
  const second = `tp-${randomBytes(6).toString('hex')}`;
  const session = spawnSync('dbus-run-session', ['--', 'sh', '-c', SESSION_SCRIPT], {
    env: {
      PATH: process.env.PATH,
      HOME: home,
      XDG_DATA_HOME: join(home, 'data'),
      XDG_CONFIG_HOME: join(home, 'config'),
      XDG_RUNTIME_DIR: runtime,
      KEYRING_UNLOCK_PW: 'keyring-unlock-for-tests',
      KEYRING_TEST_TRADE_PWD: first,
      KEYRING_TEST_SECOND_PWD: second,
      NODE: process.execPath,
      HELPER,
    },
    encoding: 'utf8',
    // A keyring waiting on a desktop prompt must fail the test, not hang it.
    timeout: 120_000,
  });
  assert.equal(session.error, undefined, `cannot run dbus-run-session: ${session.error?.message}`);
  assert.equal(session.status, 0, session.stderr);
  const report = JSON.parse(session.stdout);

  assert.equal(report.set.status, 0, report.set.stderr);
  assert.equal(report.set.stdout, 'Trade password stored in the OS keychain (service "futu-mcp", account "trade-password").\n');
  assert.deepEqual(report.afterSet, { ok: true, source: 'keychain', matches: 'first' });
  assert.equal(report.heldAfterSet, true, 'the password must be in Secret Service, not another store');
  assert.deepEqual(report.envWins, { ok: true, source: 'env', matches: 'second' });

  assert.equal(report.overwrite.status, 0);
  assert.deepEqual(JSON.parse(report.overwrite.stdout), { stored: true, service: 'futu-mcp', account: 'trade-password' });
  assert.deepEqual(report.afterOverwrite, { ok: true, source: 'keychain', matches: 'second' });

  assert.equal(report.clear.status, 0);
  assert.deepEqual(JSON.parse(report.clear.stdout), { cleared: true });
  assert.deepEqual(report.afterClear, { ok: false, code: 'TRADE_PASSWORD_UNAVAILABLE' });
  assert.equal(report.heldAfterClear, false);
  assert.equal(report.clearAgain.status, 0);
  assert.equal(report.clearAgain.stdout, 'No trade password was stored in the OS keychain.\n');

  for (const secret of [first, second, tradePasswordMd5(first), tradePasswordMd5(second)]) {
    assert.ok(!session.stdout.includes(secret) && !session.stderr.includes(secret), 'a secret leaked into output');
  }
});

test('without a reachable Secret Service nothing is stored anywhere else', (t) => {
  const password = `tp-${randomBytes(6).toString('hex')}`;
  const run = runFutucli(['-o', 'json', 'set-trade-pwd', '--from-stdin'], {
    input: `${password}\n`,
    env: { DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(tempDir(t), 'no-bus')}`, HOME: tempDir(t) },
  });
  assert.notEqual(run.status, 0);
  const { error } = JSON.parse(run.stdout);
  assert.equal(error.code, 'KEYCHAIN_UNAVAILABLE');
  assert.match(error.message, /^OS keychain unavailable: /);
  // A headless box has no keychain: the message points at the way that works there.
  assert.match(
    error.message,
    /; without a keychain \(e\.g\. a headless server\), set the trade password in the FUTU_TRADE_PWD environment variable of futu-mcp and futucli instead$/,
  );
  assert.ok(!`${run.stdout}${run.stderr}`.includes(password));
});

test('set-trade-pwd needs a terminal or --from-stdin, and refuses an empty password', () => {
  const noTty = runFutucli(['-o', 'json', 'set-trade-pwd'], { input: 'secret\n' });
  assert.notEqual(noTty.status, 0);
  assert.deepEqual(JSON.parse(noTty.stdout).error, {
    code: 'TRADE_PASSWORD_INPUT',
    message: 'cannot take the trade password: stdin is not a terminal; use --from-stdin',
  });
  const empty = runFutucli(['set-trade-pwd', '--from-stdin'], { input: '  \n' });
  assert.notEqual(empty.status, 0);
  assert.equal(empty.stderr, 'error: cannot take the trade password: it is empty\n');
});
