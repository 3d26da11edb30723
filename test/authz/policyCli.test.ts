import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultPolicyPaths } from '../../src/authz/policySet.js';
import { writeKeysFile } from '../../src/keys/file.js';
import { copyPolicies, makeKey, policyCli, tempDir } from './fixtures.js';

const futucli = policyCli;

const dirArgs = (paths: { policiesDir: string; schemaFile: string }) => ['--policies', paths.policiesDir, '--schema', paths.schemaFile];

test('policy validate lists the policies and the version; a broken set exits non-zero', (t) => {
  const ok = futucli(['-o', 'json', 'policy', 'validate']);
  assert.equal(ok.status, 0, ok.stderr);
  const report = JSON.parse(ok.stdout) as { version: string; policies: { id: string }[] };
  assert.match(report.version, /^4\.1\.0\+[0-9a-f]{12}$/);
  assert.equal(report.policies.length, 27);

  const paths = copyPolicies(t);
  appendFileSync(join(paths.policiesDir, 'limits.cedar'), '\n@id("rate-limit") @code("LIMIT_EXCEEDED") @priority("1") @message("m") forbid (principal, action, resource);');
  const dup = futucli(['-o', 'json', 'policy', 'validate', ...dirArgs(paths)]);
  assert.equal(dup.status, 1);
  assert.match(JSON.parse(dup.stdout).error.message, /duplicate @id "rate-limit"/);
});

test('policy test runs the Cedar run-tests files and fails on a failing case', (t) => {
  const ok = futucli(['policy', 'test']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^112 passed, 0 failed/m);

  const paths = copyPolicies(t);
  const file = join(paths.policiesDir, 'tests', 'limits.tests.json');
  const cases = JSON.parse(readFileSync(file, 'utf8')) as { name: string; decision: string }[];
  cases.find((c) => c.name === 'rate exactly at the cap passes')!.decision = 'deny';
  writeFileSync(file, JSON.stringify(cases));
  const failing = futucli(['policy', 'test', ...dirArgs(paths)]);
  assert.equal(failing.status, 1);
  assert.match(failing.stdout, /FAIL limits.tests.json: rate exactly at the cap passes\n\s+expected deny, got allow/);
  assert.match(failing.stdout, /111 passed, 1 failed/);
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

test('policy explain without a gateway: the decision, determining policies with file:line, the Cedar request and its assumptions; exit 0/1/2; records nothing', (t) => {
  const dir = tempDir(t);
  const keysFile = join(dir, 'keys.json');
  const stateDir = join(dir, 'state');
  const bot = makeKey({ id: 'claude-bot', limits: { allowed_markets: ['HK', 'US'], max_order_value: 50_000, max_orders_per_minute: 3 } });
  const analyst = makeKey({ id: 'claude-analyst', scopes: ['qot:read', 'acc:read'], limits: { max_calls_per_minute: 30 } });
  writeKeysFile(keysFile, [bot, analyst]);
  const explain = (...args: string[]) => futucli(['-o', 'json', 'policy', 'explain', '--keys-file', keysFile, '--state-dir', stateDir, ...args]);
  const limitsLine = (id: string) => readFileSync(join(defaultPolicyPaths().policiesDir, 'limits.cedar'), 'utf8').split('\n').indexOf(`@id("${id}")`) + 1;

  // The README's example names no account: the server picks one, and so does explain (saying so).
  const readme = explain('--key', 'claude-bot', '--tool', 'futu_place_order', '--args', JSON.stringify({ symbol: 'HK.00700', side: 'BUY', qty: 100, price: 350 }));
  assert.equal(readme.status, 0, readme.stderr + readme.stdout);
  const allowed = JSON.parse(readme.stdout);
  assert.deepEqual([allowed.allowed, allowed.code, allowed.stage], [true, 'ALLOW', 'cedar']);
  assert.match(allowed.assumptions.join('\n'), /^account 1 \(a placeholder: the key allows any account; pass --gateway or an acc_id\)$/m);

  const limit = explain('--key', 'claude-bot', '--tool', 'futu_place_order', '--args', JSON.stringify({ symbol: 'HK.00700', side: 'BUY', qty: 100, price: 600, acc_id: '1001' }));
  assert.equal(limit.status, 1, limit.stderr + limit.stdout);
  const denied = JSON.parse(limit.stdout);
  assert.equal(denied.message, 'limit check failed: order value HKD 60,000.00 exceeds per-order limit HKD 50,000.00');
  assert.deepEqual(denied.policies.map((p: { id: string; file: string; line: number }) => [p.id, p.file, p.line]), [['order-value-limit', 'limits.cedar', limitsLine('order-value-limit')]]);
  assert.deepEqual([denied.request.context.orderValue, denied.request.context.ordersLastMinute, denied.request.context.env], [6_000_000, 1, 'simulate']);
  assert.equal(denied.request.principal.attrs.maxOrderValue, 5_000_000);
  // An acc_id given: only the call rate, which each server process counts in its own memory, is assumed.
  assert.deepEqual(denied.assumptions, [
    "within the call rate: a server process refuses this key's calls beyond 600 in 60 s (call-rate-limit), counting them in its own memory, which explain cannot read; this call is taken as within it",
  ]);

  // A read-only key asking for the real env: the scope gate, as on the server (not INVALID_VALUE).
  const real = explain('--key', 'claude-analyst', '--tool', 'futu_place_order', '--env', 'real', '--args', JSON.stringify({ symbol: 'HK.00700', side: 'BUY', qty: 100, price: 300 }));
  assert.equal(real.status, 1);
  assert.deepEqual([JSON.parse(real.stdout).code, JSON.parse(real.stdout).message, JSON.parse(real.stdout).stage], ['MISSING_SCOPE', 'missing scope trade:real', 'gate']);

  const marketArgs = JSON.stringify({ symbol: 'US.AAPL', side: 'BUY', order_type: 'MARKET', qty: 10, acc_id: '1001' });
  const unpriced = JSON.parse(explain('--key', 'claude-bot', '--tool', 'futu_place_order', '--args', marketArgs).stdout);
  assert.equal(unpriced.code, 'PRICE_UNAVAILABLE');
  assert.match(unpriced.assumptions.join('\n'), /pass --gateway or --reference-price N/);
  const priced = JSON.parse(explain('--key', 'claude-bot', '--tool', 'futu_place_order', '--args', marketArgs, '--reference-price', '200').stdout);
  assert.equal(priced.allowed, true);
  // USD 200 x 1.05 x 10 = USD 2,100 → x 7.85 x 1.02 = HKD 16,814.70
  assert.equal(priced.request.context.orderValue, 1_681_470);

  const badArgs = JSON.parse(explain('--key', 'claude-bot', '--tool', 'futu_get_quote', '--args', '{"symbol":"HK.00700","bogus":1}').stdout);
  assert.deepEqual([badArgs.code, badArgs.stage, badArgs.assumptions], ['INVALID_ARGUMENT', 'arguments', []], 'refused before the call rate is taken');

  const human = futucli(['policy', 'explain', '--keys-file', keysFile, '--state-dir', stateDir, '--key', 'claude-analyst', '--tool', 'futu_get_quote', '--args', '{"symbol":"HK.00700"}']);
  assert.equal(human.status, 0, human.stderr);
  assert.match(human.stdout, /^decision: ALLOW$/m);
  assert.match(human.stdout, /^why: decided by the Cedar policies$/m);
  assert.match(human.stdout, /^ {2}permit permit-qot-read \[ALLOW\] permits\.cedar:\d+: key holds qot:read$/m);
  assert.match(human.stdout, /^ {6}"symbol": "HK.00700"$/m);
  assert.match(human.stdout, /^assumed:\n {2}within the call rate: a server process refuses this key's calls beyond 30 in 60 s \(call-rate-limit\)/m);

  const unknown = explain('--key', 'nobody', '--tool', 'futu_ping');
  assert.equal(unknown.status, 2);
  assert.match(JSON.parse(unknown.stdout).error.message, /^no key "nobody" in /);
  assert.equal(explain('--key', 'claude-bot', '--tool', 'futu_withdraw').status, 2);
  assert.equal(explain('--tool', 'futu_ping').status, 2);
  // explain reads the ledger but never writes it.
  assert.deepEqual(readdirSync(dir), ['keys.json']);
});
