/** futucli policy test --coverage, validate with organisation directories, replay input errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compilePolicySet, defaultPolicyPaths } from '../../src/authz/policySet.js';
import { copyPolicies, policyCli, tempDir } from './fixtures.js';

const futucli = policyCli;

const UNTESTED_FORBID = `// added without a test
@id("no-tesla")
@code("POLICY_DENIED")
@priority("95")
@message("no Tesla orders")
forbid (principal is Futu::ApiKey, action in Futu::Action::"trade", resource)
when { context.symbol == "US.TSLA" };
`;

/** How many policies the shipped set has (the lead's changes move it). */
const SHIPPED = compilePolicySet(defaultPolicyPaths()).meta.size;

test('policy test --coverage: the shipped set is at 100 %, every policy listed with the tests it decided', () => {
  const human = futucli(['policy', 'test', '--coverage']);
  assert.equal(human.status, 0, human.stderr + human.stdout);
  const rateLine = readFileSync(join(defaultPolicyPaths().policiesDir, 'limits.cedar'), 'utf8').split('\n').indexOf('@id("rate-limit")') + 1;
  assert.match(human.stdout, new RegExp(`^\\s+\\d+  forbid rate-limit \\(limits\\.cedar:${rateLine}\\)$`, 'm'));
  assert.match(human.stdout, new RegExp(`^${SHIPPED}/${SHIPPED} policies determined a test decision \\(100 %\\)$`, 'm'));
  const json = JSON.parse(futucli(['-o', 'json', 'policy', 'test', '--coverage']).stdout) as {
    untested: string[];
    coverage: { id: string; tests: string[] }[];
  };
  assert.deepEqual(json.untested, []);
  assert.equal(json.coverage.length, SHIPPED);
  assert.ok(json.coverage.find((c) => c.id === 'outside-hours')!.tests.includes('limits.tests.json: outside hours window: order denied'));
});

test('policy test --coverage fails when a policy is added without a test, naming it; without --coverage the run passes', (t) => {
  const paths = copyPolicies(t);
  writeFileSync(join(paths.policiesDir, 'extra.cedar'), UNTESTED_FORBID);
  const dirs = ['--policies', paths.policiesDir, '--schema', paths.schemaFile];
  const plain = futucli(['policy', 'test', ...dirs]);
  assert.equal(plain.status, 0);
  const passed = /^(\d+) passed, 0 failed/m.exec(plain.stdout)![1];

  const human = futucli(['policy', 'test', '--coverage', ...dirs]);
  assert.equal(human.status, 1);
  assert.match(human.stdout, new RegExp(`^${passed} passed, 0 failed`, 'm'));
  assert.match(human.stdout, /^\s+UNTESTED  forbid no-tesla \(extra\.cedar:2\)$/m);
  const percent = Math.floor((100 * SHIPPED) / (SHIPPED + 1));
  assert.match(human.stdout, new RegExp(`^${SHIPPED}/${SHIPPED + 1} policies determined a test decision \\(${percent} %\\); never: no-tesla$`, 'm'));
  const json = futucli(['-o', 'json', 'policy', 'test', '--coverage', ...dirs]);
  assert.equal(json.status, 1);
  assert.deepEqual((JSON.parse(json.stdout) as { untested: string[] }).untested, ['no-tesla']);

  // A test in which it decides covers it.
  writeFileSync(
    join(paths.policiesDir, 'tests', 'extra.tests.json'),
    JSON.stringify([
      {
        name: 'Tesla order refused',
        request: {
          principal: 'Futu::ApiKey::"sim-bot"',
          action: 'Futu::Action::"futu_place_order"',
          resource: 'Futu::Account::"1001"',
          context: { expired: false, machineBound: true, withinCallRate: true, withinHoursWindow: true, humanConfirmed: false, halted: false, haltReason: '', env: 'simulate', account: '1001', market: 'US', symbol: 'US.TSLA', side: 'BUY', orderValue: 100, addedValue: 100, projectedDailyValue: 100, ordersLastMinute: 1, ownOrder: true, reducesRisk: false, cancelsLastMinute: 0 },
        },
        entities: 'keys.entities.json',
        decision: 'deny',
        reason: ['no-tesla'],
        num_errors: 0,
      },
    ]),
  );
  const covered = futucli(['policy', 'test', '--coverage', ...dirs]);
  assert.equal(covered.status, 0, covered.stdout);
  assert.match(covered.stdout, new RegExp(`^${SHIPPED + 1}/${SHIPPED + 1} policies determined a test decision \\(100 %\\)$`, 'm'));
});

test('policy validate with --org-policies lists the org policies and the .org version; an org permit needs --allow-org-permits', (t) => {
  const org = tempDir(t, 'futu-org-');
  writeFileSync(join(org, 'rule.cedar'), UNTESTED_FORBID);
  const ok = futucli(['policy', 'validate', '--org-policies', org]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, new RegExp(`^valid: ${SHIPPED + 1} policies, version \\d+\\.\\d+\\.\\d+\\+[0-9a-f]{12}\\.org\\.[0-9a-f]{12}$`, 'm'));
  assert.match(ok.stdout, new RegExp(`forbid no-tesla \\(POLICY_DENIED, ${org}/rule\\.cedar:2, organisation\\)`));

  writeFileSync(join(org, 'wide.cedar'), '@id("org-wide")\n@code("ALLOW")\n@message("m")\npermit (principal, action, resource);\n');
  const refused = futucli(['policy', 'validate', '--org-policies', org]);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /wide\.cedar:1: policy "org-wide" is a permit: .*--allow-org-permits/);
  assert.equal(futucli(['policy', 'validate', '--org-policies', org, '--allow-org-permits']).status, 0);
});

test('policy replay refuses a malformed decision log, naming the line', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'decisions.jsonl');
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, '\n{"action":"futu_ping"}\n');
  const bad = futucli(['policy', 'replay', '--decisions', file]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, new RegExp(`${file}:2: principal must be \\{type, id, attrs\\}`));
  writeFileSync(file, 'not json\n');
  assert.match(futucli(['policy', 'replay', '--decisions', file]).stderr, /decisions\.jsonl:1: not a JSON line/);
});

test("the docs' sample decision log replays unchanged against the shipped set, and with one change against the org example", () => {
  const sample = join(defaultPolicyPaths().policiesDir, '..', 'docs', 'examples', 'sample-decisions.jsonl');
  const same = futucli(['policy', 'replay', '--decisions', sample, '--fail-on-change']);
  assert.equal(same.status, 0, `${same.stdout}${same.stderr}\n(after a schema change: npm run build && node dist/scripts/sample-decisions.js)`);
  assert.match(same.stdout, /^replayed 12 decisions against \d+\.\d+\.\d+\+[0-9a-f]{12}: 12 unchanged, 0 newly denied, 0 newly allowed$/m);

  const example = join(defaultPolicyPaths().policiesDir, 'tests', 'org-example');
  const changed = futucli(['policy', 'replay', '--decisions', sample, '--org-policies', example, '--fail-on-change']);
  assert.equal(changed.status, 1);
  assert.deepEqual(changed.stdout.split('\n').slice(1), [
    'by policy:',
    '  org-confirm-large-orders: 1 newly denied, 0 newly allowed',
    'changed decisions:',
    '  line 11 2026-11-20T02:10:00.000Z desk-bot futu_place_order Futu::Account::"1001": allow [permit-trade-simulate] -> deny CONFIRMATION_REQUIRED [org-confirm-large-orders]',
    '',
  ]);
  // docs/policy-ci.md shows this very run, policy version included.
  const docs = readFileSync(join(defaultPolicyPaths().policiesDir, '..', 'docs', 'policy-ci.md'), 'utf8');
  const shown = /```\n\$ futucli policy replay --decisions docs\/examples\/sample-decisions\.jsonl --org-policies policies\/tests\/org-example\n([^`]*)```/.exec(docs);
  assert.equal(shown?.[1], changed.stdout, 'docs/policy-ci.md: update the replay example');
});
