/**
 * Issue 16 at the library level: organisation policy directories (loading, versioning, the
 * permit guard, their tests), shadow sets in the engine, error positions and coverage.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildRequests } from '../../src/authz/builder.js';
import { AuthzEngine } from '../../src/authz/engine.js';
import { PolicyLoadError } from '../../src/authz/errors.js';
import { compilePolicySet, defaultPolicyPaths, type PolicyPaths } from '../../src/authz/policySet.js';
import { caller, copyPolicies, loadFails, makeKey, placeOrderRequest, policyCli, shippedEngine, simBot, tempDir } from './fixtures.js';

const ORG_FORBID = (id: string, body: string, code = 'POLICY_DENIED') => `// an organisation rule
@id("${id}")
@code("${code}")
@priority("85")
@message("org rule ${id}")
forbid (principal is Futu::ApiKey, action in Futu::Action::"trade", resource)
when { ${body} };
`;

/** An org directory holding `files` (name → text). */
function orgDir(t: Parameters<typeof tempDir>[0], files: Record<string, string>): string {
  const dir = tempDir(t, 'futu-org-');
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const withOrg = (...orgDirs: string[]): PolicyPaths => ({ ...defaultPolicyPaths(), orgDirs });

test('an org forbid is evaluated with the shipped set and named in the decision', (t) => {
  const dir = orgDir(t, { 'cap.cedar': ORG_FORBID('org-cap-30k', 'context.addedValue > 0 && context.orderValue > 3000000') });
  const engine = AuthzEngine.load(withOrg(dir));
  assert.equal(engine.authorize(placeOrderRequest(3_000_000)).allowed, true);
  const denied = engine.authorize(placeOrderRequest(3_000_001));
  assert.deepEqual([denied.allowed, denied.code, denied.message], [false, 'POLICY_DENIED', 'org rule org-cap-30k']);
  assert.deepEqual(denied.determiningPolicies.map((p) => p.id), ['org-cap-30k']);
  const meta = engine.policies.get('org-cap-30k')!;
  assert.deepEqual([meta.origin, meta.file, meta.line], ['org', join(dir, 'cap.cedar'), 2]);
  assert.equal(engine.policies.get('rate-limit')!.origin, 'shipped');
  // The shipped limits still decide: above the key's own HKD 50,000 both forbids match, and the
  // shipped one (priority 90 after the org rule's 85) is listed second.
  assert.deepEqual(engine.authorize(placeOrderRequest(6_000_000)).determiningPolicies.map((p) => p.id), ['org-cap-30k', 'order-value-limit']);
});

test('org policies go into the version: the shipped part stays, an .org hash follows and follows the org texts', (t) => {
  const shipped = compilePolicySet(defaultPolicyPaths()).version;
  assert.match(shipped, /^\d+\.\d+\.\d+\+[0-9a-f]{12}$/);
  const dir = orgDir(t, { 'a.cedar': ORG_FORBID('org-a', 'context.orderValue > 1') });
  const first = compilePolicySet(withOrg(dir)).version;
  assert.match(first, new RegExp(`^${shipped.replace(/[.+]/g, '\\$&')}\\.org\\.[0-9a-f]{12}$`));
  writeFileSync(join(dir, 'a.cedar'), ORG_FORBID('org-a', 'context.orderValue > 2'));
  const changed = compilePolicySet(withOrg(dir)).version;
  assert.notEqual(changed, first);
  assert.equal(changed.split('.org.')[0], shipped);
  // A comment is not a policy: reformatting an org file does not change the version.
  writeFileSync(join(dir, 'a.cedar'), `// reworded comment\n${ORG_FORBID('org-a', 'context.orderValue > 2')}`);
  assert.equal(compilePolicySet(withOrg(dir)).version, changed);
});

test('--org-policies is repeatable: the rules of every directory apply, and each directory is in the version', (t) => {
  const first = orgDir(t, { 'cap.cedar': ORG_FORBID('org-cap-30k', 'context.addedValue > 0 && context.orderValue > 3000000') });
  const second = orgDir(t, { 'tencent.cedar': ORG_FORBID('org-tencent-20k', 'context.symbol == "HK.00700" && context.addedValue > 0 && context.orderValue > 2000000') });
  const engine = AuthzEngine.load(withOrg(first, second));
  assert.equal(engine.authorize(placeOrderRequest(2_000_000)).allowed, true);
  assert.deepEqual(engine.authorize(placeOrderRequest(2_500_000)).determiningPolicies.map((p) => p.id), ['org-tencent-20k']);
  assert.deepEqual(new Set(engine.authorize(placeOrderRequest(3_500_000)).determiningPolicies.map((p) => p.id)), new Set(['org-cap-30k', 'org-tencent-20k']));
  const both = engine.version;
  assert.notEqual(compilePolicySet(withOrg(first)).version, both);
  assert.notEqual(compilePolicySet(withOrg(second)).version, both);
  writeFileSync(join(second, 'tencent.cedar'), ORG_FORBID('org-tencent-20k', 'context.symbol == "HK.00700" && context.addedValue > 0 && context.orderValue > 2100000'));
  assert.notEqual(compilePolicySet(withOrg(first, second)).version, both, 'a change in the second directory changes the version');

  const listed = policyCli(['-o', 'json', 'policy', 'validate', '--org-policies', first, '--org-policies', second]);
  assert.equal(listed.status, 0, listed.stderr);
  const report = JSON.parse(listed.stdout) as { version: string; policies: { id: string; origin: string }[] };
  assert.deepEqual(report.policies.filter((p) => p.origin === 'org').map((p) => p.id).sort(), ['org-cap-30k', 'org-tencent-20k']);
  assert.equal(report.version, compilePolicySet(withOrg(first, second)).version);
});

test('an org permit is refused unless allowOrgPermits; accepted, it widens access and changes the version', (t) => {
  const permit = `@id("org-permit-reader-trades")
@code("ALLOW")
@message("readers may trade")
permit (principal is Futu::ApiKey, action in Futu::Action::"trade", resource)
when { principal.scopes.contains("qot:read") };
`;
  const dir = orgDir(t, { 'wide.cedar': permit });
  const err = loadFails(withOrg(dir));
  assert.equal(err.problems.length, 1);
  assert.match(
    err.problems[0]!,
    /wide\.cedar:1: policy "org-permit-reader-trades" is a permit: organisation policies may add forbids, not permits, .* \(pass --allow-org-permits to accept it\)/,
  );

  const reader = makeKey({ scopes: ['qot:read', 'acc:read'] });
  const order = placeOrderRequest(100, reader);
  assert.equal(shippedEngine().authorize(order).code, 'MISSING_SCOPE');
  const allowed = AuthzEngine.load({ ...withOrg(dir), allowOrgPermits: true });
  const decision = allowed.authorize(order);
  assert.equal(decision.allowed, true, 'the permit the operator accepted widens what the key may do');
  assert.deepEqual(decision.determiningPolicies.map((p) => p.id), ['org-permit-reader-trades']);
  // The permit guard is part of the version: the same files accepted under the flag are another set.
  const guardedDir = orgDir(t, { 'a.cedar': ORG_FORBID('org-a', 'context.orderValue > 1') });
  assert.notEqual(compilePolicySet({ ...withOrg(guardedDir), allowOrgPermits: true }).version, compilePolicySet(withOrg(guardedDir)).version);
});

test('org files are validated against the same schema, need the same annotations, and may not reuse a shipped @id', (t) => {
  assert.match(loadFails(withOrg(orgDir(t, { 'typo.cedar': ORG_FORBID('org-typo', 'context.ordrValue > 1') }))).message, /typo\.cedar:7:8: validation error in org-typo: .*attribute `ordrValue`/);
  assert.match(loadFails(withOrg(orgDir(t, { 'x.cedar': 'forbid (principal, action, resource);' }))).message, /x\.cedar:1: policy starting .* lacks @id, @code, @message, @priority/);
  assert.match(loadFails(withOrg(orgDir(t, { 'dup.cedar': ORG_FORBID('rate-limit', 'true') }))).message, /duplicate @id "rate-limit" in limits\.cedar and .*dup\.cedar/);
  assert.match(loadFails(withOrg(tempDir(t, 'futu-org-empty-'))).message, /no \.cedar files in organisation policy directory/);
});

test("org tests run against the whole set, the shipped tests against the shipped policies alone; a failing org test refuses the load", (t) => {
  const caseOf = (orderValue: number, decision: 'allow' | 'deny', reason: string[]) => ({
    name: `order worth ${orderValue}`,
    request: {
      principal: 'Futu::ApiKey::"desk"',
      action: 'Futu::Action::"futu_place_order"',
      resource: 'Futu::Account::"1001"',
      context: placeOrderRequest(orderValue).context,
    },
    entities: [{ ...placeOrderRequest(0).principal, uid: { type: 'Futu::ApiKey', id: 'desk' } }],
    decision,
    reason,
    num_errors: 0,
  });
  // The shipped tests include "no per-order limit: any value passes" for a large real order,
  // which this org rule denies: they must still pass, as they describe the shipped set.
  const rule = ORG_FORBID('org-cap-1k', 'context.addedValue > 0 && context.orderValue > 100000');
  const dir = orgDir(t, {
    'cap.cedar': rule,
    'tests/cap.tests.json': JSON.stringify([caseOf(100_000, 'allow', ['permit-trade-simulate']), caseOf(100_001, 'deny', ['org-cap-1k'])]),
  });
  const report = AuthzEngine.load(withOrg(dir)).reload();
  const orgTests = report.tests.filter((r) => r.test.file.startsWith(`${dir}/tests/`));
  assert.deepEqual(orgTests.map((r) => [r.test.name, r.passed, r.determining]), [
    ['order worth 100000', true, ['permit-trade-simulate']],
    ['order worth 100001', true, ['org-cap-1k']],
  ]);
  assert.ok(report.tests.length > orgTests.length && report.tests.every((r) => r.passed));

  writeFileSync(join(dir, 'tests', 'cap.tests.json'), JSON.stringify([caseOf(100_001, 'allow', [])]));
  assert.match(loadFails(withOrg(dir)).message, /policy test "order worth 100001" \(.*\/tests\/cap\.tests\.json\) failed: expected allow, got deny/);
});

test('the org example in policies/tests/org-example loads, passes its tests and covers its rule', () => {
  const dir = join(defaultPolicyPaths().policiesDir, 'tests', 'org-example');
  const report = AuthzEngine.load(withOrg(dir)).reload();
  const own = report.tests.filter((r) => r.test.file.includes('org-example'));
  assert.equal(own.length, 5);
  assert.ok(own.every((r) => r.passed));
  assert.deepEqual(
    own.filter((r) => r.determining.includes('org-confirm-large-orders')).map((r) => r.test.name),
    ['an order of HKD 100,000.01 is refused unconfirmed', 'a modify raising an order above HKD 100,000 is refused unconfirmed'],
  );
});

test('a shadow set decides nothing; where it disagrees the decision carries its verdict, cached decisions included', (t) => {
  const candidate = copyPolicies(t, { tests: false });
  writeFileSync(join(candidate.policiesDir, 'extra.cedar'), ORG_FORBID('no-big-orders', 'context.addedValue > 0 && context.orderValue > 2000000', 'LIMIT_EXCEEDED'));
  // ...and it lets any key read SH quotes, which the shipped market limit refuses.
  const limits = join(candidate.policiesDir, 'limits.cedar');
  writeFileSync(limits, readFileSync(limits, 'utf8').replace('!principal.markets.contains(context.market)', '!principal.markets.contains(context.market) && context.market != "SH"'));
  const shadowVersion = compilePolicySet(candidate).version;
  const engine = AuthzEngine.load(defaultPolicyPaths(), { shadow: candidate });
  assert.equal(engine.shadowVersion, shadowVersion);
  assert.equal(engine.version, shippedEngine().version);

  const agreed = engine.authorize(placeOrderRequest(1_000_000));
  assert.deepEqual([agreed.allowed, agreed.shadow], [true, undefined]);
  const wouldDeny = engine.authorize(placeOrderRequest(3_000_000));
  assert.equal(wouldDeny.allowed, true, 'the shadow set never decides');
  assert.deepEqual(wouldDeny.shadow, { kind: 'would_deny', allowed: false, code: 'LIMIT_EXCEEDED', policies: ['no-big-orders'], policyVersion: shadowVersion });

  const key = simBot();
  const sh = () => engine.authorize(buildRequests(caller(key), 'futu_get_quote', { symbols: ['SH.600519'] })[0]!);
  for (const decision of [sh(), sh()]) {
    assert.deepEqual([decision.allowed, decision.code], [false, 'LIMIT_EXCEEDED']);
    assert.deepEqual(decision.shadow, { kind: 'would_allow', allowed: true, code: 'ALLOW', policies: ['permit-qot-read'], policyVersion: shadowVersion });
  }
  assert.equal(engine.decisionCacheStats.hits, 1, 'the second SH read came from the cache, verdict and all');
});

test('a shadow set that fails to reload keeps its previous version and never blocks the active reload', (t) => {
  const candidate = copyPolicies(t, { tests: false });
  const engine = AuthzEngine.load(defaultPolicyPaths(), { shadow: candidate });
  const before = engine.shadowVersion;
  writeFileSync(join(candidate.policiesDir, 'broken.cedar'), 'forbid (principal principal, action, resource);');
  const report = engine.reload();
  assert.equal(report.version, engine.version);
  assert.equal(report.shadow?.version, before);
  assert.match(report.shadow?.problem ?? '', /broken\.cedar:1:19: unexpected token `principal`/);
  assert.equal(engine.authorize(placeOrderRequest(100)).allowed, true);
  // A broken candidate at start is refused: the comparison the operator asked for must exist.
  assert.throws(() => AuthzEngine.load(defaultPolicyPaths(), { shadow: candidate }), PolicyLoadError);
});

test('a schema syntax error carries futu.cedarschema:line:column and the offending text, once', (t) => {
  const paths = copyPolicies(t);
  const lines = readFileSync(paths.schemaFile, 'utf8').split('\n');
  const row = lines.findIndex((l) => l.includes('humanConfirmed: Bool,'));
  assert.ok(row >= 0);
  const column = lines[row]!.indexOf('humanConfirmed: Bool,') + 'humanConfirmed: Bool,'.length + 1;
  lines[row] = lines[row]!.replace('humanConfirmed: Bool,', 'humanConfirmed: Bool,,');
  writeFileSync(paths.schemaFile, lines.join('\n'));
  assert.deepEqual(loadFails(paths).problems, [`futu.cedarschema:${row + 1}:${column}: schema: failed to parse schema from string: error parsing schema: unexpected token \`,\`: \`,\``]);
});

test('an off-thread reload switches the shadow set only with the active one: a refused active set keeps both, a refused shadow set keeps its own', async (t) => {
  const active = copyPolicies(t);
  const candidate = copyPolicies(t, { tests: false });
  const engine = AuthzEngine.load(active, { shadow: candidate });
  const [activeV1, shadowV1] = [engine.version, engine.shadowVersion];
  const bigOrder = () => engine.authorize(placeOrderRequest(3_000_000));
  assert.equal(bigOrder().shadow, undefined);

  // A valid candidate change beside a broken active set: neither switches.
  writeFileSync(join(candidate.policiesDir, 'extra.cedar'), ORG_FORBID('no-big-orders', 'context.addedValue > 0 && context.orderValue > 2000000', 'LIMIT_EXCEEDED'));
  const shadowV2 = compilePolicySet(candidate).version;
  const broken = join(active.policiesDir, 'broken.cedar');
  writeFileSync(broken, 'forbid (principal principal, action, resource);');
  await assert.rejects(engine.reloadOffThread(), (err: unknown) => err instanceof PolicyLoadError && /broken\.cedar:1:19: unexpected token `principal`/.test(err.problems.join('\n')));
  assert.deepEqual([engine.version, engine.shadowVersion], [activeV1, shadowV1]);
  assert.equal(bigOrder().shadow, undefined, 'the previous shadow set still compares');

  // The active set repaired: both switch together.
  rmSync(broken);
  const both = await engine.reloadOffThread();
  assert.deepEqual([engine.version, engine.shadowVersion, both.shadow], [activeV1, shadowV2, { version: shadowV2 }]);
  assert.equal(bigOrder().shadow?.kind, 'would_deny');

  // A broken candidate beside a changed active set: the active set switches, the shadow set stays.
  writeFileSync(join(candidate.policiesDir, 'broken.cedar'), 'forbid (principal principal, action, resource);');
  writeFileSync(join(active.policiesDir, 'VERSION'), '99.0.0\n');
  const activeV2 = compilePolicySet(active).version;
  const kept = await engine.reloadOffThread();
  assert.match(activeV2, /^99\.0\.0\+/);
  assert.deepEqual([kept.version, engine.version, engine.shadowVersion], [activeV2, activeV2, shadowV2]);
  assert.equal(kept.shadow?.version, shadowV2);
  assert.match(kept.shadow?.problem ?? '', /broken\.cedar:1:19: unexpected token `principal`/);
  assert.equal(bigOrder().shadow?.kind, 'would_deny');
});

test('syntax errors carry file:line:column and the offending text; a validation error repeated per action is reported once', (t) => {
  const paths = copyPolicies(t);
  const limits = join(paths.policiesDir, 'limits.cedar');
  const original = readFileSync(limits, 'utf8');
  // The doubled word goes on the line after side-not-allowed's "forbid (", at column 13.
  const lines = original.split('\n');
  const forbid = lines.indexOf('forbid (', lines.indexOf('@id("side-not-allowed")'));
  assert.deepEqual(lines.slice(forbid, forbid + 2), ['forbid (', '  principal is Futu::ApiKey,']);
  lines[forbid + 1] = '  principal principal is Futu::ApiKey,';
  writeFileSync(limits, lines.join('\n'));
  const syntax = loadFails(paths);
  assert.deepEqual(syntax.problems, [`limits.cedar:${forbid + 2}:13: unexpected token \`principal\`: \`principal\``]);

  writeFileSync(limits, original);
  writeFileSync(
    join(paths.policiesDir, 'extra.cedar'),
    `\n\n@id("broad-typo")\n@code("POLICY_DENIED")\n@priority("5")\n@message("m")\nforbid (principal, action, resource)\nwhen { context.nosuch };\n`,
  );
  const validation = loadFails(paths);
  assert.equal(validation.problems.length, 1, validation.problems.join('\n'));
  const actions = compilePolicySet(defaultPolicyPaths()).schema.actions.length;
  assert.ok(actions > 4);
  assert.match(
    validation.problems[0]!,
    new RegExp(`^extra\\.cedar:8:8: validation error in broad-typo: for policy \`broad-typo\`, attribute \`nosuch\` not found: \`context\\.nosuch\` \\(for ${actions} actions: [a-z_]+, [a-z_]+, [a-z_]+, [a-z_]+, …\\)$`),
  );
});
