import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MachineIdentity, machineFingerprint } from '../../src/keys/machine.js';
import { PLAINTEXT_KEY_PATTERN, hashPlaintextKey } from '../../src/keys/material.js';
import { KeyStore } from '../../src/keys/store.js';
import { readKeysFile } from '../../src/keys/file.js';
import { serializeKeysDocument } from '../../src/keys/schema.js';
import { defaultAuditLog } from '../../src/cli/paths.js';
import { FUTUCLI, childEnv, machineIdFile, runFutucli, tempDir, writeFileWithMode, type CliRun } from '../helpers/futucli.js';

const HOST_A = 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1';
const HOST_B = 'b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2';
const RELOAD_REMINDER = 'A running futu-mcp applies this change by itself within a second (it watches the keys file); kill -HUP <pid> forces it\n';
const DAY_MS = 86_400_000;

const FUTU_MCP_BIN = join(dirname(FUTUCLI), 'futu-mcp.js');

const onHost = (raw: string) => new MachineIdentity(() => ({ raw, source: 'test' }));

/** A keys file path in a fresh directory, and futucli bound to it, on machine A by default. */
function setup(t: TestContext) {
  const dir = tempDir(t);
  const file = join(dir, 'config', 'keys.json');
  const hosts = { A: machineIdFile(dir, 'machine-a', HOST_A), B: machineIdFile(dir, 'machine-b', HOST_B) };
  const cli = (args: string[], host: keyof typeof hosts = 'A'): CliRun =>
    runFutucli(['--keys-file', file, ...args], { env: { FUTU_MCP_MACHINE_ID_FILE: hosts[host] } });
  const json = (args: string[], host: keyof typeof hosts = 'A') => {
    const run = cli(['-o', 'json', ...args], host);
    return { ...run, body: JSON.parse(run.stdout) };
  };
  return { dir, file, hosts, cli, json };
}

function assertFails(run: CliRun & { body: any }, code: string, message?: string): void {
  assert.notEqual(run.status, 0);
  assert.equal(run.body.error.code, code, run.stdout);
  if (message !== undefined) assert.equal(run.body.error.message, message);
}

test('gen-key stores only the hash (0600) and prints a plaintext that authenticates', (t) => {
  const { file, json } = setup(t);
  const run = json(['gen-key', '--id', 'claude-bot', '--scopes', 'qot:read,acc:read,trade:simulate']);
  assert.equal(run.status, 0, run.stderr);
  const { key, id, keys_file, claude_desktop_config } = run.body;
  assert.equal(id, 'claude-bot');
  assert.equal(keys_file, file);
  assert.match(key, PLAINTEXT_KEY_PATTERN);

  const text = readFileSync(file, 'utf8');
  assert.ok(!text.includes(key.slice(3)), 'the plaintext must not be stored');
  assert.equal(JSON.parse(text).keys[0].hash, hashPlaintextKey(key));
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(join(file, '..')).mode & 0o777, 0o700);

  const store = KeyStore.open(file, { machine: onHost(HOST_A) });
  assert.equal(store.authenticate(key).id, 'claude-bot');
  const altered = key.slice(0, -1) + (key.endsWith('0') ? '1' : '0');
  assert.throws(() => store.authenticate(altered), { code: 'KEY_INVALID' });

  assert.deepEqual(claude_desktop_config, {
    mcpServers: {
      futu: {
        // Absolute node and script paths: works without PATH and without a global install.
        command: process.execPath,
        args: [FUTU_MCP_BIN, '--gateway', '127.0.0.1:11111', '--keys-file', file, '--audit-log', defaultAuditLog()],
        env: { FUTU_MCP_API_KEY: key },
      },
    },
  });
  // json mode: stdout is exactly the result document; the reminder goes to stderr.
  assert.equal(run.stderr, RELOAD_REMINDER);
});

test('gen-key in human mode shows the key once plus a config snippet, and the reminder', (t) => {
  const { file, cli } = setup(t);
  const run = cli(['gen-key', '--id', 'analyst', '--scopes', 'qot:read']);
  assert.equal(run.status, 0, run.stderr);
  const [key] = run.stdout.match(/fc_[0-9a-f]{64}/) ?? [];
  assert.ok(key);
  assert.equal(KeyStore.open(file).authenticate(key).id, 'analyst');
  const snippet = JSON.parse(run.stdout.slice(run.stdout.indexOf('{'), run.stdout.lastIndexOf('}') + 1));
  assert.equal(snippet.mcpServers.futu.env.FUTU_MCP_API_KEY, key);
  assert.ok(run.stdout.endsWith(RELOAD_REMINDER));
  assert.equal(run.stderr, '');
});

test('gen-key records every limit, the currency explicitly, and a 90-day expiry by default', (t) => {
  const { file, json } = setup(t);
  const run = json([
    'gen-key', '--id', 'trader', '--scopes', 'qot:read,trade:real',
    '--allowed-markets', 'HK,US,CN', '--allowed-symbols', 'HK.00700,US.AAPL', '--allowed-trd-sides', 'BUY,SELL',
    '--allowed-acc-ids', '281756455982434220,7', '--max-order-value', '50000', '--max-daily-value', '200000.5',
    '--max-orders-per-minute', '3', '--hours-window', '22:00-04:00', '--manage-any-order', '--max-cancels-per-minute', '12',
    '--max-calls-per-minute', '120', '--note', 'night desk',
  ]);
  assert.equal(run.status, 0, run.stdout);
  const [record] = KeyStore.open(file).list();
  assert.ok(record);
  assert.deepEqual(record.limits, {
    allowed_markets: ['HK', 'US', 'SH', 'SZ'],
    allowed_symbols: ['HK.00700', 'US.AAPL'],
    allowed_trd_sides: ['BUY', 'SELL'],
    allowed_acc_ids: ['281756455982434220', '7'],
    max_order_value: 50000,
    max_daily_value: 200000.5,
    max_orders_per_minute: 3,
    hours_window: '22:00-04:00',
    limit_currency: 'HKD',
    manage_any_order: true,
    max_cancels_per_minute: 12,
    max_calls_per_minute: 120,
  });
  assert.equal(JSON.parse(readFileSync(file, 'utf8')).keys[0].limits.limit_currency, 'HKD');
  assert.equal(record.note, 'night desk');
  assert.equal(record.allowed_machines, null);
  assert.equal(Date.parse(record.expires_at!) - Date.parse(record.created_at!), 90 * DAY_MS);
});

test('gen-key --expires takes durations, RFC 3339 and never', (t) => {
  const { file, json } = setup(t);
  assert.equal(json(['gen-key', '--id', 'short', '--scopes', 'qot:read', '--expires', '12h']).status, 0);
  assert.equal(json(['gen-key', '--id', 'fixed', '--scopes', 'qot:read', '--expires', '2099-01-01T08:00:00+08:00']).status, 0);
  assert.equal(json(['gen-key', '--id', 'forever', '--scopes', 'qot:read', '--expires', 'never', '--limit-currency', 'USD']).status, 0);
  const [short, fixed, forever] = KeyStore.open(file).list();
  assert.equal(Date.parse(short!.expires_at!) - Date.parse(short!.created_at!), 12 * 3_600_000);
  assert.equal(fixed!.expires_at, '2099-01-01T00:00:00.000Z');
  assert.equal(forever!.expires_at, null);
  assert.equal(forever!.limits.limit_currency, 'USD');
});

test('gen-key warns about real-money keys without value caps and about trade:unlock', (t) => {
  const { cli } = setup(t);
  const uncapped = cli(['gen-key', '--id', 'real', '--scopes', 'trade:real', '--max-order-value', '10000']);
  assert.equal(uncapped.status, 0);
  assert.equal(uncapped.stderr, 'warning: this key can trade real money without both --max-order-value and --max-daily-value\n');
  const capped = cli(['gen-key', '--id', 'capped', '--scopes', 'trade:real', '--max-order-value', '10000', '--max-daily-value', '50000']);
  assert.equal(capped.stderr, '');
  const unlocker = cli(['gen-key', '--id', 'unlocker', '--scopes', 'trade:unlock']);
  assert.match(unlocker.stderr, /^warning: trade:unlock lets the key holder unlock real trading for all of OpenD/);
});

test('gen-key warns that order limits have no effect on a key without a trade scope', (t) => {
  const { cli } = setup(t);
  const reader = cli(['gen-key', '--id', 'reader', '--scopes', 'qot:read,acc:read', '--max-order-value', '50000']);
  assert.equal(reader.status, 0);
  assert.equal(reader.stderr, 'warning: --max-order-value has no effect: the key has no trade scope (trade:simulate or trade:real)\n');
  const both = cli(['gen-key', '--id', 'reader2', '--scopes', 'qot:read', '--max-daily-value', '1', '--max-orders-per-minute', '2']);
  assert.equal(both.stderr, 'warning: --max-daily-value, --max-orders-per-minute have no effect: the key has no trade scope (trade:simulate or trade:real)\n');
  const trader = cli(['gen-key', '--id', 'trader', '--scopes', 'trade:simulate', '--max-order-value', '50000']);
  assert.equal(trader.stderr, '');
});

test('gen-key | head -2 shows the key, exits cleanly, and the saved key is the one shown', (t) => {
  const { file, hosts } = setup(t);
  const run = spawnSync('sh', ['-c', `"$NODE" "$FUTUCLI" --keys-file "$KEYS" gen-key --id piped --scopes qot:read | head -2`], {
    env: childEnv({ NODE: process.execPath, FUTUCLI, KEYS: file, FUTU_MCP_MACHINE_ID_FILE: hosts.A }),
    encoding: 'utf8',
  });
  assert.equal(run.status, 0);
  assert.equal(run.stderr, '', 'no EPIPE crash');
  const [key] = run.stdout.match(/fc_[0-9a-f]{64}/) ?? [];
  assert.ok(key, run.stdout);
  assert.equal(KeyStore.open(file).authenticate(key).id, 'piped');
});

test('gen-key whose stdout is already closed keeps no key (nobody saw it) and says so', async (t) => {
  const { file, hosts } = setup(t);
  for (const format of ['human', 'json']) {
    const child = spawn(process.execPath, [FUTUCLI, '--keys-file', file, '-o', format, 'gen-key', '--id', `lost-${format}`, '--scopes', 'qot:read'], {
      env: childEnv({ FUTU_MCP_MACHINE_ID_FILE: hosts.A }),
    });
    // Closed before the child starts writing: its first write fails with EPIPE.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(status, 1, stderr);
    if (format === 'human') {
      assert.equal(
        stderr,
        'error: could not print the new key "lost-human" (EPIPE), so it was not kept; run gen-key again and keep its first lines (the key is on line 2)\n',
      );
    }
    assert.deepEqual(KeyStore.open(file).list().map((k) => k.id), []);
  }
});

const refused: [string, string[], string, string][] = [
  ['an unknown scope', ['--scopes', 'qot:read,admin'], 'KEY_OPTION_INVALID', 'invalid key option: --scopes: unknown scope "admin"'],
  ['an unknown market', ['--allowed-markets', 'HK,XX'], 'KEY_OPTION_INVALID', 'invalid key option: --allowed-markets: unknown market "XX"'],
  ['a symbol without market', ['--allowed-symbols', '00700'], 'KEY_OPTION_INVALID', 'invalid key option: --allowed-symbols: invalid symbol "00700"'],
  ['an unknown side', ['--allowed-trd-sides', 'buy'], 'KEY_OPTION_INVALID', 'invalid key option: --allowed-trd-sides: unknown side "buy"'],
  ['a non-numeric cap', ['--max-order-value', '50k'], 'KEY_OPTION_INVALID', 'invalid key option: --max-order-value: expected a positive number'],
  ['a zero rate', ['--max-orders-per-minute', '0'], 'KEY_OPTION_INVALID', 'invalid key option: --max-orders-per-minute: expected a positive integer'],
  ['a bad hours window', ['--hours-window', '9-17'], 'KEY_OPTION_INVALID', 'invalid key option: --hours-window: expected "HH:MM-HH:MM"'],
  ['an expiry in the past', ['--expires', '2020-01-01T00:00:00Z'], 'KEY_OPTION_INVALID', 'invalid key option: --expires: expiry 2020-01-01T00:00:00Z is in the past'],
  ['an empty allow-list', ['--allowed-markets', ' , '], 'KEY_OPTION_INVALID', 'invalid key option: --allowed-markets: empty list'],
  ['a bad fingerprint', ['--bind-machines', 'fp_myhost'], 'KEY_OPTION_INVALID', 'invalid key option: --bind-machines: expected a machine fingerprint'],
  ['an id with a space', ['--id', 'my bot'], 'KEY_OPTION_INVALID', 'invalid key option: --id: expected 1-64 letters'],
  ['an unknown currency', ['--limit-currency', 'EUR'], 'USAGE_ERROR', "option '--limit-currency <ccy>' argument 'EUR' is invalid"],
  ['a bad confirmation rule', ['--require-confirmation', 'sometimes'], 'KEY_OPTION_INVALID', 'invalid key option: --require-confirmation: expected never, real, always or a positive value, got "sometimes"'],
  ['an unknown confirmation channel', ['--confirmation-channel', 'email'], 'USAGE_ERROR', "option '--confirmation-channel <channel>' argument 'email' is invalid"],
  ['both binding options', ['--bind-this-machine', '--bind-machines', 'ab'.repeat(32)], 'USAGE_ERROR', "option '--bind-this-machine' cannot be used with option '--bind-machines <fingerprints>'"],
];

for (const [what, extra, code, message] of refused) {
  test(`gen-key refuses ${what} and writes nothing`, (t) => {
    const { file, json } = setup(t);
    const run = json(['gen-key', '--id', 'bot', '--scopes', 'qot:read', ...extra]);
    assertFails(run, code);
    assert.ok(run.body.error.message.startsWith(message), run.body.error.message);
    assert.equal(existsSync(file), false);
  });
}

test('gen-key refuses a duplicate id and leaves the existing key alone', (t) => {
  const { file, json } = setup(t);
  const first = json(['gen-key', '--id', 'bot', '--scopes', 'qot:read']);
  const before = readFileSync(file, 'utf8');
  assertFails(json(['gen-key', '--id', 'bot', '--scopes', 'trade:real']), 'KEY_ID_TAKEN', 'a key with id "bot" already exists (revoke it first or pick another id)');
  assert.equal(readFileSync(file, 'utf8'), before);
  assert.equal(KeyStore.open(file).authenticate(first.body.key).id, 'bot');
});

test('gen-key appends to the canonical file exactly as a full rewrite would, and to a hand-formatted one too', (t) => {
  const { file, json } = setup(t);
  const keys = ['one', 'two', 'three'].map((id) => json(['gen-key', '--id', id, '--scopes', 'qot:read']).body.key as string);
  const text = readFileSync(file, 'utf8');
  assert.equal(text, serializeKeysDocument(readKeysFile(file)));
  const store = KeyStore.open(file);
  assert.deepEqual(keys.map((key) => store.authenticate(key).id), ['one', 'two', 'three']);

  // A file someone formatted by hand (flat limits, one line) still gets the key, in canonical form.
  const raw = JSON.parse(text);
  writeFileWithMode(file, { version: 1, keys: [{ id: raw.keys[0].id, hash: raw.keys[0].hash, scopes: ['qot:read'], max_order_value: 5 }] });
  const four = json(['gen-key', '--id', 'four', '--scopes', 'acc:read']);
  assert.equal(four.status, 0, four.stderr);
  const after = KeyStore.open(file);
  assert.deepEqual(after.list().map((record) => record.id), ['one', 'four']);
  assert.equal(after.authenticate(four.body.key).id, 'four');
  assert.equal(after.getById('one').limits.max_order_value, 5);
  assert.equal(statSync(file).mode & 0o777, 0o600);
});

test('gen-key --bind-this-machine binds to the machine it runs on', (t) => {
  const { file, json } = setup(t);
  const run = json(['gen-key', '--id', 'bound', '--scopes', 'qot:read', '--bind-this-machine'], 'A');
  assert.equal(run.status, 0, run.stdout);
  assert.deepEqual(KeyStore.open(file).getById('bound').allowed_machines, [machineFingerprint('bound', HOST_A)]);
  assert.equal(KeyStore.open(file, { machine: onHost(HOST_A) }).authenticate(run.body.key).id, 'bound');
  assert.throws(() => KeyStore.open(file, { machine: onHost(HOST_B) }).authenticate(run.body.key), {
    message: 'key not bound to this machine',
  });
});

test('gen-key --bind-this-machine fails closed when the machine id is unreadable', (t) => {
  const { dir, file } = setup(t);
  const run = runFutucli(['-o', 'json', '--keys-file', file, 'gen-key', '--id', 'b', '--scopes', 'qot:read', '--bind-this-machine'], {
    env: { FUTU_MCP_MACHINE_ID_FILE: join(dir, 'absent') },
  });
  assertFails({ ...run, body: JSON.parse(run.stdout) }, 'MACHINE_ID_UNAVAILABLE');
  assert.equal(existsSync(file), false);
});

test('list-keys summarises limits, binding and expiry, and never shows hashes', (t) => {
  const { file, cli, json } = setup(t);
  json(['gen-key', '--id', 'limited', '--scopes', 'qot:read,trade:simulate', '--allowed-markets', 'HK,US', '--max-order-value', '50000',
    '--max-daily-value', '200000', '--max-orders-per-minute', '3', '--allowed-trd-sides', 'BUY', '--bind-this-machine']);
  json(['gen-key', '--id', 'frozen', '--scopes', 'qot:read', '--expires', 'never']);
  json(['bind-key', 'frozen', '--freeze']);
  json(['gen-key', '--id', 'elsewhere', '--scopes', 'acc:read', '--bind-machines', machineFingerprint('elsewhere', HOST_B)]);
  const table = cli(['list-keys']);
  assert.equal(table.status, 0, table.stderr);
  const lines = table.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^ID\s+SCOPES\s+LIMITS\s+CONFIRM\s+BOUND\s+EXPIRES\s+EXPIRED$/);
  assert.match(lines[1]!, /^limited\s+qot:read,trade:simulate\s+mkt=HK,US ord=50k\/HKD day=200k rate=3\/m sides=BUY\s+never\s+this machine\s+\S+Z\s+no$/);
  assert.match(lines[2]!, /^frozen\s+qot:read\s+-\s+never\s+FROZEN\s+never\s+no$/);
  assert.match(lines[3]!, /^elsewhere\s+acc:read\s+-\s+never\s+1 machine\(s\)\s+\S+\s+no$/);
  // The same key seen from machine B is bound elsewhere.
  assert.match(cli(['list-keys'], 'B').stdout, /limited\s+\S+\s+.+\s+1 machine\(s\)/);

  const listed = json(['list-keys']);
  const hashes = KeyStore.open(file).list().map((record) => record.hash);
  assert.ok(hashes.every((hash) => !listed.stdout.includes(hash) && !table.stdout.includes(hash)));
  assert.deepEqual(
    listed.body.keys.map((k: any) => [k.id, k.binding, k.expired, 'hash' in k]),
    [['limited', 'this-machine', false, false], ['frozen', 'frozen', false, false], ['elsewhere', 'other-machines', false, false]],
  );
});

test('gen-key --require-confirmation: real by default for real-money keys, never otherwise, a value threshold, out_of_band; list-keys shows it', (t) => {
  const { cli, json } = setup(t);
  json(['gen-key', '--id', 'reader', '--scopes', 'qot:read']);
  json(['gen-key', '--id', 'real', '--scopes', 'trade:real', '--max-order-value', '10', '--max-daily-value', '10']);
  json(['gen-key', '--id', 'unlocker', '--scopes', 'trade:unlock']);
  json(['gen-key', '--id', 'big', '--scopes', 'trade:simulate', '--require-confirmation', '100000', '--confirmation-channel', 'out_of_band']);
  json(['gen-key', '--id', 'trusting', '--scopes', 'trade:real', '--require-confirmation', 'never']);
  const listed = json(['list-keys']).body.keys.map((k: any) => [k.id, k.require_confirmation, k.confirmation_channel]);
  assert.deepEqual(listed, [
    ['reader', 'never', 'auto'],
    ['real', 'real', 'auto'],
    ['unlocker', 'real', 'auto'],
    ['big', { above_value: 100000 }, 'out_of_band'],
    ['trusting', 'never', 'auto'],
  ]);
  assert.match(cli(['list-keys']).stdout, /^big\s+trade:simulate\s+-\s+above 100000 \(out of band\)\s/m);
});

test('list-keys marks an expired key', (t) => {
  const { file, json } = setup(t);
  mkdirSync(dirname(file), { recursive: true });
  writeFileWithMode(file, { version: 1, keys: [{ id: 'old', hash: 'ab'.repeat(32), scopes: ['qot:read'], expires_at: '2020-01-01T00:00:00Z' }] });
  const listed = json(['list-keys']);
  assert.equal(listed.body.keys[0].expired, true);
});

test('revoke-key deletes the record: a running store reports "key revoked" after reload', (t) => {
  const { file, json } = setup(t);
  const revoked = json(['gen-key', '--id', 'gone', '--scopes', 'qot:read']).body.key;
  const kept = json(['gen-key', '--id', 'kept', '--scopes', 'qot:read']).body.key;
  const store = KeyStore.open(file);
  const session = store.authenticate(revoked);

  const run = json(['revoke-key', 'gone']);
  assert.equal(run.status, 0);
  assert.deepEqual(run.body, { revoked: 'gone', keys_file: file });
  assert.equal(run.stderr, RELOAD_REMINDER);

  assert.equal(store.reload().ok, true);
  assert.throws(() => store.getById('gone'), { code: 'KEY_REVOKED', message: 'key revoked' });
  assert.throws(() => store.refresh(session), { code: 'KEY_REVOKED' });
  assert.throws(() => store.authenticate(revoked), { code: 'KEY_REVOKED', message: 'key revoked' });
  assert.equal(store.authenticate(kept).id, 'kept');
  assertFails(json(['revoke-key', 'gone']), 'KEY_NOT_FOUND', 'no key with id "gone"');
});

test('bind-key adds, replaces, freezes and clears machine fingerprints', (t) => {
  const { file, json } = setup(t);
  const key = json(['gen-key', '--id', 'bot', '--scopes', 'qot:read']).body.key;
  const fpA = machineFingerprint('bot', HOST_A);
  const fpB = machineFingerprint('bot', HOST_B);
  const usableOn = (host: string) => {
    try {
      KeyStore.open(file, { machine: onHost(host) }).authenticate(key);
      return true;
    } catch {
      return false;
    }
  };

  assert.deepEqual(json(['bind-key', 'bot', '--this-machine'], 'A').body.allowed_machines, [fpA]);
  assert.deepEqual([usableOn(HOST_A), usableOn(HOST_B)], [true, false]);
  // Added as the operator may paste it: bare, upper-case hex.
  const added = json(['bind-key', 'bot', '--machines', fpB.slice(3).toUpperCase()]);
  assert.deepEqual(added.body.allowed_machines, [fpA, fpB]);
  assert.equal(added.stderr, RELOAD_REMINDER);
  assert.deepEqual([usableOn(HOST_A), usableOn(HOST_B)], [true, true]);
  assert.deepEqual(json(['bind-key', 'bot', '--machines', fpB, '--replace']).body.allowed_machines, [fpB]);
  assert.deepEqual([usableOn(HOST_A), usableOn(HOST_B)], [false, true]);
  assert.deepEqual(json(['bind-key', 'bot', '--freeze']).body.allowed_machines, []);
  assert.deepEqual([usableOn(HOST_A), usableOn(HOST_B)], [false, false]);
  assert.equal(json(['bind-key', 'bot', '--clear']).body.allowed_machines, null);
  assert.deepEqual([usableOn(HOST_A), usableOn(HOST_B)], [true, true]);

  const before = readFileSync(file, 'utf8');
  assertFails(json(['bind-key', 'bot', '--machines', 'fp_laptop']), 'KEY_OPTION_INVALID');
  assertFails(json(['bind-key', 'bot', '--clear', '--this-machine']), 'KEY_OPTION_INVALID');
  assertFails(json(['bind-key', 'bot']), 'KEY_OPTION_INVALID');
  assertFails(json(['bind-key', 'nobody', '--clear']), 'KEY_NOT_FOUND');
  assert.equal(readFileSync(file, 'utf8'), before);
});

test('machine-id prints per-key fingerprints and never the raw machine id', (t) => {
  const { hosts, json, cli } = setup(t);
  json(['gen-key', '--id', 'one', '--scopes', 'qot:read', '--bind-this-machine']);
  json(['gen-key', '--id', 'two', '--scopes', 'qot:read']);

  const forKey = cli(['machine-id', '--for-key', 'remote-bot'], 'B');
  assert.equal(forKey.status, 0);
  assert.equal(forKey.stdout.split('\n')[0], machineFingerprint('remote-bot', HOST_B));

  const all = json(['machine-id']);
  assert.deepEqual(all.body, {
    source: hosts.A,
    keys_file: all.body.keys_file,
    keys: [
      { id: 'one', fingerprint: machineFingerprint('one', HOST_A), binding: 'this-machine' },
      { id: 'two', fingerprint: machineFingerprint('two', HOST_A), binding: 'unbound' },
    ],
  });
  const human = cli(['machine-id']);
  for (const run of [forKey, all, human]) {
    assert.ok(!`${run.stdout}${run.stderr}`.includes(HOST_A) && !`${run.stdout}${run.stderr}`.includes(HOST_B));
  }
});

test('a keys file others can read is refused by every command and left as it is', (t) => {
  const { file, json } = setup(t);
  json(['gen-key', '--id', 'bot', '--scopes', 'qot:read']);
  const content = readFileSync(file, 'utf8');
  writeFileWithMode(file, content, 0o644);
  for (const args of [['list-keys'], ['gen-key', '--id', 'x', '--scopes', 'qot:read'], ['revoke-key', 'bot'], ['bind-key', 'bot', '--freeze']]) {
    assertFails(json(args), 'KEYS_FILE_PERMISSIONS');
  }
  assert.equal(readFileSync(file, 'utf8'), content);
  assert.equal(statSync(file).mode & 0o777, 0o644);
});

test('errors are one JSON document on stdout in json mode and a line on stderr otherwise', (t) => {
  const { cli, json } = setup(t);
  const usage = json(['revoke-key']);
  assertFails(usage, 'USAGE_ERROR', "missing required argument 'id'");
  const missing = json(['revoke-key', 'nobody']);
  assertFails(missing, 'KEY_NOT_FOUND', 'no key with id "nobody"');
  const human = cli(['revoke-key', 'nobody']);
  assert.notEqual(human.status, 0);
  assert.equal(human.stdout, '');
  assert.equal(human.stderr, 'error: no key with id "nobody"\n');
});

test('on a fresh machine (no keys file yet) list-keys succeeds with no keys, like machine-id', (t) => {
  const { file, cli, json } = setup(t);
  const listed = json(['list-keys']);
  assert.equal(listed.status, 0, listed.stdout);
  assert.deepEqual(listed.body, { keys_file: file, keys: [] });
  const human = cli(['list-keys']);
  assert.equal(human.status, 0);
  assert.equal(human.stdout, `No keys yet: ${file} does not exist (futucli gen-key creates it)\n`);
  assert.equal(cli(['machine-id', '--for-key', 'any']).status, 0);
  assert.equal(existsSync(file), false, 'listing creates nothing');
});
