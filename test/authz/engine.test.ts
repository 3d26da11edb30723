import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildRequests } from '../../src/authz/builder.js';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { AuthzEngine } from '../../src/authz/engine.js';
import { compilePolicySet } from '../../src/authz/policySet.js';
import { CHUNK_POLICIES } from '../../src/authz/slots.js';
import { PolicyLoadError } from '../../src/authz/errors.js';
import { caller, copyPolicies, loadFails, makeKey, placeOrderRequest, shippedEngine, simBot } from './fixtures.js';

const EXTRA_FORBID = (id: string, body = 'context.orderValue == 424242') => `
@id("${id}")
@code("LIMIT_EXCEEDED")
@priority("500")
@message("extra forbid")
forbid (principal is Futu::ApiKey, action in Futu::Action::"trade", resource)
when { ${body} };
`;

test('the shipped set loads with a semver+hash version and runs its policy tests', () => {
  const engine = shippedEngine();
  assert.match(engine.version, /^4\.1\.0\+[0-9a-f]{12}$/);
});

test('the version hash follows policy text and schema but not comments', (t) => {
  const paths = copyPolicies(t);
  const base = AuthzEngine.load(paths).version;
  appendFileSync(join(paths.policiesDir, 'limits.cedar'), '\n// a comment only\n');
  assert.equal(AuthzEngine.load(paths).version, base);
  appendFileSync(join(paths.policiesDir, 'limits.cedar'), EXTRA_FORBID('forbid-extra'));
  const changed = AuthzEngine.load(paths).version;
  assert.notEqual(changed, base);
  appendFileSync(paths.schemaFile, '\n');
  assert.notEqual(AuthzEngine.load(paths).version, changed);
});

test('a forbid that errors at evaluation denies (POLICY_ERROR) instead of being skipped', (t) => {
  const paths = copyPolicies(t, { tests: false });
  // Cedar Long overflows at 2^63: (10^7)^3 = 10^21 errors, so Cedar itself would allow.
  appendFileSync(join(paths.policiesDir, 'limits.cedar'), EXTRA_FORBID('forbid-overflows', 'context.orderValue * context.orderValue * context.orderValue > 0'));
  const engine = AuthzEngine.load(paths);
  const decision = engine.authorize(placeOrderRequest(10_000_000, makeKey()));
  assert.equal(decision.allowed, false);
  assert.equal(decision.code, 'POLICY_ERROR');
  assert.match(decision.errors.join(), /forbid-overflows/);
  // The same policy without overflow is an ordinary, satisfied forbid.
  assert.equal(engine.authorize(placeOrderRequest(1_000, makeKey())).code, 'LIMIT_EXCEEDED');
});

test('a thrown evaluation or a failure answer denies with POLICY_ERROR', () => {
  const paths = shippedEngine().paths;
  const throwing = AuthzEngine.load(paths, {
    evaluate: () => {
      throw new Error('wasm trap');
    },
  });
  const thrown = throwing.authorize(placeOrderRequest(100));
  assert.deepEqual([thrown.allowed, thrown.code], [false, 'POLICY_ERROR']);
  assert.match(thrown.errors[0]!, /wasm trap/);

  const failing = AuthzEngine.load(paths, { evaluate: () => ({ type: 'failure', errors: [{ message: 'bad request' } as never], warnings: [] }) });
  assert.equal(failing.authorize(placeOrderRequest(100)).code, 'POLICY_ERROR');

  const allowWithErrors = AuthzEngine.load(paths, {
    evaluate: () => ({
      type: 'success',
      warnings: [],
      response: { decision: 'allow', diagnostics: { reason: ['permit-trade-simulate'], errors: [{ policyId: 'x', error: { message: 'boom' } as never }] } },
    }),
  });
  assert.equal(allowWithErrors.authorize(placeOrderRequest(100)).allowed, false);
});

test('a request missing a context attribute fails validation and is denied, not evaluated without it', () => {
  const request = placeOrderRequest(100);
  const { ordersLastMinute: _dropped, ...context } = request.context;
  const decision = shippedEngine().authorize({ ...request, context });
  assert.deepEqual([decision.allowed, decision.code], [false, 'POLICY_ERROR']);
  assert.match(decision.errors.join(), /ordersLastMinute/);
  const extra = shippedEngine().authorize({ ...request, context: { ...request.context, bypass: true } });
  assert.equal(extra.code, 'POLICY_ERROR');
});

test('a duplicate @id across files is rejected at load', (t) => {
  const paths = copyPolicies(t);
  writeFileSync(join(paths.policiesDir, 'extra.cedar'), EXTRA_FORBID('rate-limit'));
  const err = loadFails(paths);
  assert.match(err.message, /duplicate @id "rate-limit" in limits.cedar and extra.cedar|duplicate @id "rate-limit" in extra.cedar and limits.cedar/);
});

test('validation warnings are rejected at load, as are errors', (t) => {
  const paths = copyPolicies(t);
  // Strict validation warns that this policy can never apply...
  writeFileSync(join(paths.policiesDir, 'extra.cedar'), EXTRA_FORBID('forbid-impossible', 'false'));
  assert.match(loadFails(paths).message, /validation warning in forbid-impossible: .*impossible/);
  // ...and that this homoglyph "SELL" (Cyrillic Е) would silently never match.
  writeFileSync(join(paths.policiesDir, 'extra.cedar'), EXTRA_FORBID('forbid-homoglyph', 'context.side == "S\u0415LL"'));
  assert.match(loadFails(paths).message, /validation warning in forbid-homoglyph: .*mixed scripts/);
  writeFileSync(join(paths.policiesDir, 'extra.cedar'), EXTRA_FORBID('forbid-typo', 'context.ordrValue > 1'));
  assert.match(loadFails(paths).message, /validation error in forbid-typo/);
});

test('missing annotations, unknown codes and bad message placeholders are rejected', (t) => {
  const paths = copyPolicies(t);
  const extra = join(paths.policiesDir, 'extra.cedar');
  writeFileSync(extra, 'forbid (principal, action, resource) when { context.expired };');
  assert.match(loadFails(paths).message, /lacks @id, @code, @message, @priority/);
  writeFileSync(extra, EXTRA_FORBID('forbid-x').replace('LIMIT_EXCEEDED', 'TOTALLY_FINE'));
  assert.match(loadFails(paths).message, /@code must be one of/);
  writeFileSync(extra, EXTRA_FORBID('forbid-x').replace('extra forbid', 'value {context.orderValu|money}'));
  assert.match(loadFails(paths).message, /placeholder \{context.orderValu\}/);
  writeFileSync(extra, EXTRA_FORBID('forbid-x').replace('extra forbid', 'value {context.orderValue|cents}'));
  assert.match(loadFails(paths).message, /malformed placeholder/);
  // symbol exists for trade but not for every action a broad forbid covers.
  writeFileSync(extra, EXTRA_FORBID('forbid-x', 'context.expired').replace('action in Futu::Action::"trade"', 'action').replace('extra forbid', '{context.symbol}'));
  assert.match(loadFails(paths).message, /placeholder \{context.symbol\} is not an attribute of every request/);
});

test('a failing policy test blocks the load', (t) => {
  const paths = copyPolicies(t);
  // Tighten a limit without updating the tests: "daily value exactly at the limit passes" must fail.
  const limits = join(paths.policiesDir, 'limits.cedar');
  writeFileSync(limits, readFileSync(limits, 'utf8').replace('context.projectedDailyValue > principal.maxDailyValue', 'context.projectedDailyValue >= principal.maxDailyValue'));
  assert.match(loadFails(paths).message, /policy test "daily value exactly at the limit passes" \(limits.tests.json\) failed: expected allow, got deny/);
});

test('a malformed tests file or an entities path outside the tests directory blocks the load', (t) => {
  const paths = copyPolicies(t);
  const testsDir = join(paths.policiesDir, 'tests');
  writeFileSync(join(testsDir, 'bad.tests.json'), JSON.stringify([{ name: 'escape', request: {}, entities: '../../etc/passwd', decision: 'allow', reason: [], num_errors: 0 }]));
  assert.match(loadFails(paths).message, /bad.tests.json: test "escape": request.context must be an object/);
  writeFileSync(
    join(testsDir, 'bad.tests.json'),
    JSON.stringify([
      {
        name: 'escape',
        request: { principal: 'Futu::ApiKey::"reader"', action: 'Futu::Action::"futu_ping"', resource: 'Futu::Gateway::"opend"', context: {} },
        entities: '../VERSION',
        decision: 'allow',
        reason: [],
        num_errors: 0,
      },
    ]),
  );
  assert.match(loadFails(paths).message, /outside the tests directory/);
});

test('a broken reload keeps the running set; a good one switches (repeatedly, through both slots)', (t) => {
  const paths = copyPolicies(t);
  const engine = AuthzEngine.load(paths);
  const before = engine.version;
  const limits = join(paths.policiesDir, 'limits.cedar');
  const original = readFileSync(limits, 'utf8');

  writeFileSync(limits, original + '\nforbid (principal, action, resource) when { nonsense');
  assert.throws(() => engine.reload(), PolicyLoadError);
  assert.equal(engine.version, before);
  const denied = engine.authorize(placeOrderRequest(5_000_001));
  assert.deepEqual(denied.determiningPolicies.map((p) => p.id), ['order-value-limit']);

  for (let round = 0; round < 4; round++) {
    writeFileSync(limits, original + EXTRA_FORBID(`forbid-extra-${round}`, `context.orderValue == ${round + 77}`));
    engine.reload();
    assert.notEqual(engine.version, before);
    assert.deepEqual(engine.authorize(placeOrderRequest(round + 77)).determiningPolicies.map((p) => p.id), [`forbid-extra-${round}`]);
    // The previous round's extra policy is gone from the active slot.
    if (round > 0) assert.equal(engine.authorize(placeOrderRequest(round + 76)).allowed, true);
  }
  rmSync(join(paths.policiesDir, 'VERSION'));
  assert.throws(() => engine.reload(), /VERSION/);
  assert.equal(engine.authorize(placeOrderRequest(80)).determiningPolicies[0]?.id, 'forbid-extra-3');
});

test('a set larger than one preparsed chunk decides as Cedar does over the whole set, also across reloads', async (t) => {
  const paths = copyPolicies(t, { tests: false });
  // Forbids spread over three chunks after the shipped permits; one also errors (an overflow) for one value.
  let extra = '';
  for (let i = 0; i < 2 * CHUNK_POLICIES + 40; i++) extra += EXTRA_FORBID(`chunked-${i}`, `context.orderValue == ${900_000 + i}`);
  extra += EXTRA_FORBID('chunked-overflow', 'context.orderValue == 777 && context.orderValue * 9223372036854775807 > 0');
  writeFileSync(join(paths.policiesDir, 'chunked.cedar'), extra);
  const engine = AuthzEngine.load(paths);
  assert.ok(engine.policies.size > 2 * CHUNK_POLICIES);
  const compiled = compilePolicySet(paths);
  const wholeSet = (value: number) => {
    const request = placeOrderRequest(value);
    const answer = cedar.isAuthorized({
      principal: request.principal.uid,
      action: { type: 'Futu::Action', id: request.action },
      resource: request.resource,
      context: request.context,
      entities: [request.principal],
      schema: compiled.schemaText,
      policies: { staticPolicies: { ...compiled.policies } },
      validateRequest: true,
    });
    assert.equal(answer.type, 'success');
    const { decision, diagnostics } = (answer as Extract<typeof answer, { type: 'success' }>).response;
    return { allowed: decision === 'allow', reasons: [...diagnostics.reason].sort(), errors: diagnostics.errors.length };
  };
  const decide = (value: number) => {
    const decision = engine.authorize(placeOrderRequest(value));
    return { allowed: decision.allowed, reasons: decision.determiningPolicies.map((p) => p.id).sort(), errors: decision.errors.length };
  };
  const values = [1_000, 900_000, 900_000 + CHUNK_POLICIES + 3, 900_000 + 2 * CHUNK_POLICIES + 39, 5_000_001, 777];
  for (const value of values) {
    const expected = wholeSet(value);
    // A policy error denies the call whatever the policies say (POLICY_ERROR): compare the errors then.
    if (expected.errors > 0) assert.equal(decide(value).errors, expected.errors, `value ${value}`);
    else assert.deepEqual(decide(value), expected, `value ${value}`);
  }
  assert.deepEqual(decide(900_000 + CHUNK_POLICIES + 3).reasons, [`chunked-${CHUNK_POLICIES + 3}`], 'a forbid in a later chunk denies over the first chunk\'s permit');
  assert.equal(decide(1_000).allowed, true);
  // A reload to a smaller set (one chunk): the forbids of the chunks it no longer has are gone.
  writeFileSync(join(paths.policiesDir, 'chunked.cedar'), EXTRA_FORBID('chunked-0', 'context.orderValue == 900000'));
  await engine.reloadOffThread();
  assert.deepEqual(decide(900_000).reasons, ['chunked-0']);
  assert.equal(decide(900_000 + 2 * CHUNK_POLICIES + 39).allowed, true);
});

test('templates and a missing policy directory are refused', (t) => {
  const paths = copyPolicies(t);
  writeFileSync(join(paths.policiesDir, 'extra.cedar'), '@id("tpl") @code("ALLOW") @message("m") permit (principal == ?principal, action, resource);');
  assert.match(loadFails(paths).message, /templates are not supported/);
  const empty = join(paths.policiesDir, 'empty');
  mkdirSync(empty);
  writeFileSync(join(empty, 'VERSION'), '1.0.0\n');
  assert.match(loadFails({ ...paths, policiesDir: empty }).message, /no .cedar files/);
});

test('multi-symbol reads: each symbol is its own request, duplicates collapse', () => {
  const requests = buildRequests(caller(simBot()), 'futu_get_quote', { symbols: ['HK.00700', 'hk.00700', 'US.AAPL'] });
  assert.deepEqual(
    requests.map((r) => [r.resource.id, r.context.market]),
    [
      ['HK.00700', 'HK'],
      ['US.AAPL', 'US'],
    ],
  );
});
