import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeKeysFile } from '../../src/keys/file.js';
import { copyPolicies, makeKey, tempDir } from './fixtures.js';

const HOST = join(dirname(fileURLToPath(import.meta.url)), 'policyCliHost.js');

function futucli(args: string[]) {
  const env = { ...process.env };
  delete env.FUTU_LOG_LEVEL;
  const run = spawnSync(process.execPath, [HOST, ...args], { encoding: 'utf8', env });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const dirArgs = (paths: { policiesDir: string; schemaFile: string }) => ['--policies', paths.policiesDir, '--schema', paths.schemaFile];

test('policy validate lists the policies and the version; a broken set exits non-zero', (t) => {
  const ok = futucli(['-o', 'json', 'policy', 'validate']);
  assert.equal(ok.status, 0, ok.stderr);
  const report = JSON.parse(ok.stdout) as { version: string; policies: { id: string }[] };
  assert.match(report.version, /^3\.0\.0\+[0-9a-f]{12}$/);
  assert.equal(report.policies.length, 25);

  const paths = copyPolicies(t);
  appendFileSync(join(paths.policiesDir, 'limits.cedar'), '\n@id("rate-limit") @code("LIMIT_EXCEEDED") @priority("1") @message("m") forbid (principal, action, resource);');
  const dup = futucli(['-o', 'json', 'policy', 'validate', ...dirArgs(paths)]);
  assert.equal(dup.status, 1);
  assert.match(JSON.parse(dup.stdout).error.message, /duplicate @id "rate-limit"/);
});

test('policy test runs the Cedar run-tests files and fails on a failing case', (t) => {
  const ok = futucli(['policy', 'test']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^85 passed, 0 failed/m);

  const paths = copyPolicies(t);
  const file = join(paths.policiesDir, 'tests', 'limits.tests.json');
  const cases = JSON.parse(readFileSync(file, 'utf8')) as { name: string; decision: string }[];
  cases.find((c) => c.name === 'rate exactly at the cap passes')!.decision = 'deny';
  writeFileSync(file, JSON.stringify(cases));
  const failing = futucli(['policy', 'test', ...dirArgs(paths)]);
  assert.equal(failing.status, 1);
  assert.match(failing.stdout, /FAIL limits.tests.json: rate exactly at the cap passes\n\s+expected deny, got allow/);
  assert.match(failing.stdout, /84 passed, 1 failed/);
});

test('policy fmt --check fails on an unformatted file without touching it; fmt fixes it', (t) => {
  assert.equal(futucli(['policy', 'fmt', '--check']).status, 0);
  const paths = copyPolicies(t);
  const file = join(paths.policiesDir, 'permits.cedar');
  const messy = readFileSync(file, 'utf8').replace('permit (\n  principal is Futu::ApiKey,', 'permit (principal    is Futu::ApiKey,');
  writeFileSync(file, messy);
  const check = futucli(['policy', 'fmt', '--check', ...dirArgs(paths)]);
  assert.equal(check.status, 1);
  assert.match(check.stdout, /not formatted: permits.cedar/);
  assert.equal(readFileSync(file, 'utf8'), messy);
  assert.equal(futucli(['policy', 'fmt', ...dirArgs(paths)]).status, 0);
  assert.equal(futucli(['policy', 'fmt', '--check', ...dirArgs(paths)]).status, 0);
});

test('policy explain prints the decision, determining policies and evaluated context, recording nothing', (t) => {
  const dir = tempDir(t);
  const keysFile = join(dir, 'keys.json');
  const stateDir = join(dir, 'state');
  const bot = makeKey({ id: 'claude-bot', limits: { allowed_markets: ['HK', 'US'], max_order_value: 50_000, max_orders_per_minute: 3 } });
  const analyst = makeKey({ id: 'claude-analyst', scopes: ['qot:read', 'acc:read'] });
  writeKeysFile(keysFile, [bot, analyst]);
  const explain = (...args: string[]) => futucli(['-o', 'json', 'policy', 'explain', '--keys-file', keysFile, '--state-dir', stateDir, ...args]);

  const limit = explain('--key', 'claude-bot', '--tool', 'futu_place_order', '--args', JSON.stringify({ symbol: 'HK.00700', side: 'BUY', qty: 100, price: 600, acc_id: '1001' }));
  assert.equal(limit.status, 0, limit.stderr + limit.stdout);
  const { decision, principal } = JSON.parse(limit.stdout);
  assert.equal(decision.message, 'limit check failed: order value HKD 60,000.00 exceeds per-order limit HKD 50,000.00');
  assert.deepEqual(decision.determiningPolicies.map((p: { id: string }) => p.id), ['order-value-limit']);
  assert.deepEqual([decision.context.orderValue, decision.context.ordersLastMinute, decision.context.env], [6_000_000, 1, 'simulate']);
  assert.equal(principal.maxOrderValue, 5_000_000);

  const real = explain('--key', 'claude-analyst', '--tool', 'futu_place_order', '--env', 'real', '--args', JSON.stringify({ symbol: 'HK.00700', side: 'BUY', qty: 100, price: 300, acc_id: '1001' }));
  assert.equal(JSON.parse(real.stdout).decision.message, 'missing scope trade:real');

  const marketArgs = JSON.stringify({ symbol: 'US.AAPL', side: 'BUY', order_type: 'MARKET', qty: 10, acc_id: '1001' });
  assert.equal(JSON.parse(explain('--key', 'claude-bot', '--tool', 'futu_place_order', '--args', marketArgs).stdout).decision.code, 'PRICE_UNAVAILABLE');
  const priced = JSON.parse(explain('--key', 'claude-bot', '--tool', 'futu_place_order', '--args', marketArgs, '--reference-price', '200').stdout).decision;
  assert.equal(priced.allowed, true);
  // USD 200 x 1.05 x 10 = USD 2,100 → x 7.85 x 1.02 = HKD 16,814.70
  assert.equal(priced.context.orderValue, 1_681_470);

  const human = futucli(['policy', 'explain', '--keys-file', keysFile, '--state-dir', stateDir, '--key', 'claude-analyst', '--tool', 'futu_get_quote', '--args', '{"symbols":["HK.00700","US.AAPL"]}']);
  assert.equal(human.status, 0, human.stderr);
  assert.match(human.stdout, /^decision: ALLOW$/m);
  assert.match(human.stdout, /^ {2}permit permit-qot-read \[ALLOW\]: key holds qot:read$/m);
  assert.match(human.stdout, /^ {2}symbol = "HK.00700"$/m);

  const unknown = explain('--key', 'nobody', '--tool', 'futu_ping');
  assert.equal(unknown.status, 1);
  assert.equal(explain('--key', 'claude-bot', '--tool', 'futu_withdraw').status, 1);
  // explain reads the ledger but never writes it.
  assert.deepEqual(readdirSync(dir), ['keys.json']);
});
