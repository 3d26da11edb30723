import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { AuthorizationAnswer, StatefulAuthorizationCall } from '@cedar-policy/cedar-wasm/nodejs';
import { Authorizer } from '../../src/authz/authorizer.js';
import { buildRequests, type AuthzRequest } from '../../src/authz/builder.js';
import { MAX_KEY_LENGTH } from '../../src/authz/decisionCache.js';
import { AuthzEngine, type EngineOptions } from '../../src/authz/engine.js';
import { LimitsLedger } from '../../src/authz/ledger.js';
import { defaultPolicyPaths, type PolicyPaths } from '../../src/authz/policySet.js';
import type { KeyRecord } from '../../src/keys/types.js';
import { caller, copyPolicies, makeKey, MORNING, placeOrderRequest, simBot, tempDir } from './fixtures.js';

/** A fresh engine whose Cedar calls are counted; `faults` answer the first calls instead of Cedar. */
function countingEngine(options: { paths?: PolicyPaths; faults?: Array<() => AuthorizationAnswer>; size?: number } = {}) {
  const faults = [...(options.faults ?? [])];
  let evaluations = 0;
  const evaluate = (call: StatefulAuthorizationCall): AuthorizationAnswer => {
    evaluations += 1;
    return (faults.shift() ?? (() => cedar.statefulIsAuthorized(call)))();
  };
  const engineOptions: EngineOptions = { evaluate, ...(options.size === undefined ? {} : { decisionCacheSize: options.size }) };
  const engine = AuthzEngine.load(options.paths ?? defaultPolicyPaths(), engineOptions);
  return { engine, evaluations: () => evaluations };
}

function quote(key: KeyRecord, symbol = 'HK.00700', now = MORNING, machineBound = true): AuthzRequest {
  return buildRequests(caller(key, now, machineBound), 'futu_get_quote', { symbols: [symbol] })[0]!;
}

test('equal read requests are evaluated once and share one frozen decision', () => {
  const { engine, evaluations } = countingEngine();
  const key = simBot();
  // Rebuilt each time: the key is the request's content, not object identity.
  const first = engine.authorize(quote(key));
  const second = engine.authorize(quote(key));
  const unlock = buildRequests(caller(makeKey({ scopes: ['trade:unlock'] })), 'futu_unlock_trade', {})[0]!;
  engine.authorize(unlock);
  engine.authorize(unlock);
  assert.equal(first.allowed, true);
  assert.equal(second, first);
  assert.equal(evaluations(), 2);
  assert.deepEqual(engine.decisionCacheStats, { hits: 2, misses: 2, size: 2 });
  assert.equal(engine.authorize(quote(key, 'US.AAPL')).allowed, true);
  assert.equal(evaluations(), 3, 'another symbol is another request');

  // One caller cannot change what the next one is told.
  assert.throws(() => {
    (first as { allowed: boolean }).allowed = false;
  }, TypeError);
  assert.throws(() => {
    (first.context as Record<string, unknown>).symbol = 'US.TSLA';
  }, TypeError);
  assert.throws(() => {
    (first.determiningPolicies as unknown[]).push({});
  }, TypeError);
});

test('the cached decision does not alias the request it was computed from', () => {
  const { engine, evaluations } = countingEngine();
  const key = makeKey({ scopes: ['qot:read'], limits: { allowed_markets: ['HK'] } });
  const request = quote(key, 'US.AAPL');
  const denied = engine.authorize(request);
  assert.equal(denied.message, 'limit check failed: market US not allowed');
  (request.context as Record<string, unknown>).market = 'HK';
  assert.deepEqual([denied.context.market, denied.message], ['US', 'limit check failed: market US not allowed']);
  // The mutated request is a different request, so it is evaluated on its own merits.
  assert.equal(engine.authorize(request).allowed, true);
  assert.equal(evaluations(), 2);
  // The key's entity is shared by all its calls (and keyed by id), so it cannot be changed at all.
  assert.throws(() => (request.principal.attrs!.markets as string[]).push('US'), TypeError);
  assert.throws(() => {
    (request.principal.attrs as Record<string, unknown>).marketsUnrestricted = true;
  }, TypeError);
});

test('a hand-built principal is keyed by its content: changing it is a fresh evaluation', () => {
  const { engine, evaluations } = countingEngine();
  const key = makeKey({ scopes: ['qot:read'], limits: { allowed_markets: ['HK'] } });
  const request = quote(key, 'US.AAPL');
  const principal = structuredClone(request.principal);
  assert.equal(engine.authorize({ ...request, principal }).message, 'limit check failed: market US not allowed');
  (principal.attrs!.markets as string[]).push('US');
  assert.equal(engine.authorize({ ...request, principal }).allowed, true);
  assert.equal(evaluations(), 2);
});

test('a changed principal attribute is a fresh evaluation with the new result', () => {
  const { engine, evaluations } = countingEngine();
  // A key reload hands out a new record under the same id.
  const hkOnly = makeKey({ scopes: ['qot:read'], limits: { allowed_markets: ['HK'] } });
  assert.equal(engine.authorize(quote(hkOnly, 'US.AAPL')).message, 'limit check failed: market US not allowed');
  const widened: KeyRecord = { ...hkOnly, limits: { ...hkOnly.limits, allowed_markets: ['HK', 'US'] } };
  assert.equal(engine.authorize(quote(widened, 'US.AAPL')).allowed, true);

  const noQuotes: KeyRecord = { ...hkOnly, scopes: ['acc:read'] };
  const missing = engine.authorize(quote(noQuotes));
  assert.deepEqual([missing.allowed, missing.code, missing.message], [false, 'MISSING_SCOPE', 'missing scope qot:read']);
  assert.equal(evaluations(), 3);
  assert.equal(engine.decisionCacheStats.hits, 0);
});

test('a changed context (expiry, machine binding) is a fresh evaluation with the new result', () => {
  const { engine, evaluations } = countingEngine();
  const key = makeKey({ scopes: ['qot:read'], expires_at: '2026-05-04T02:00:00.000Z' });
  assert.equal(engine.authorize(quote(key, 'HK.00700', new Date('2026-05-04T01:59:59.999Z'))).allowed, true);
  assert.equal(engine.authorize(quote(key, 'HK.00700', new Date('2026-05-04T02:00:00.000Z'))).message, 'key expired');
  const unbound = makeKey({ scopes: ['qot:read'] });
  assert.equal(engine.authorize(quote(unbound)).allowed, true);
  assert.equal(engine.authorize(quote(unbound, 'HK.00700', MORNING, false)).message, 'key not bound to this machine');
  assert.equal(evaluations(), 4);
});

test('a policy reload drops every cached decision; a refused reload keeps them', (t) => {
  const paths = copyPolicies(t, { tests: false });
  const { engine, evaluations } = countingEngine({ paths });
  const key = makeKey({ scopes: ['qot:read'] });
  const ping = () => engine.authorize(buildRequests(caller(key), 'futu_ping', {})[0]!);
  const before = ping();
  assert.equal(before.allowed, true);
  assert.equal(ping(), before);

  appendFileSync(
    join(paths.policiesDir, 'limits.cedar'),
    '\n@id("no-ping")\n@code("POLICY_DENIED")\n@priority("900")\n@message("ping is off")\n' +
      'forbid (principal is Futu::ApiKey, action == Futu::Action::"futu_ping", resource) when { context.machineBound };\n',
  );
  engine.reload();
  const after = ping();
  assert.deepEqual([after.allowed, after.message, after.policyVersion], [false, 'ping is off', engine.version]);
  assert.notEqual(after.policyVersion, before.policyVersion);
  assert.equal(evaluations(), 2);
  assert.equal(engine.decisionCacheStats.size, 1);

  appendFileSync(join(paths.policiesDir, 'limits.cedar'), '\nforbid (principal, action, resource) when { nonsense');
  assert.throws(() => engine.reload());
  assert.equal(ping(), after);
  assert.equal(evaluations(), 2);
});

test('trade requests are evaluated every time, even when identical', async (t) => {
  const { engine, evaluations } = countingEngine();
  const key = simBot();
  assert.equal(engine.authorize(placeOrderRequest(100, key)).allowed, true);
  assert.equal(engine.authorize(placeOrderRequest(100, key)).allowed, true);
  assert.equal(evaluations(), 2);

  // Through the ledger: the same order, with usage growing between calls, hits the rate limit.
  const authz = new Authorizer({ engine, ledger: new LimitsLedger({ stateDir: tempDir(t) }) });
  const order = { ...caller(key), env: 'simulate' as const, account: '1001', terms: { action: 'futu_place_order' as const, symbol: 'HK.00700', side: 'BUY' as const, orderType: 'LIMIT' as const, qty: 1, price: 1 } };
  const decisions = [];
  for (let i = 0; i < 4; i++) decisions.push((await authz.authorizeTrade(order)).decision);
  assert.deepEqual(
    decisions.map((d) => d.allowed),
    [true, true, true, false],
  );
  assert.equal(decisions[3]!.message, 'limit check failed: rate limit (3 in 60s, cap 3)');
  // Two evaluations per order (the check before pricing, then the full one), none cached.
  assert.equal(evaluations(), 2 + 4 * 2);
  assert.deepEqual(engine.decisionCacheStats, { hits: 0, misses: 0, size: 0 });
});

test('an evaluation that fails (throw, failure answer, erroring policy) is retried, not remembered', () => {
  const { engine, evaluations } = countingEngine({
    faults: [
      () => {
        throw new Error('wasm trap');
      },
      () => ({ type: 'failure', errors: [{ message: 'transient' } as never], warnings: [] }),
      () => ({
        type: 'success',
        warnings: [],
        response: { decision: 'allow', diagnostics: { reason: ['permit-qot-read'], errors: [{ policyId: 'x', error: { message: 'overflow' } as never }] } },
      }),
    ],
  });
  const key = simBot();
  const codes = Array.from({ length: 5 }, () => engine.authorize(quote(key)).code);
  assert.deepEqual(codes, ['POLICY_ERROR', 'POLICY_ERROR', 'POLICY_ERROR', 'ALLOW', 'ALLOW']);
  assert.equal(evaluations(), 4);
  assert.deepEqual(engine.decisionCacheStats, { hits: 1, misses: 4, size: 1 });
});

test('a request that cannot be serialized is denied (POLICY_ERROR) rather than thrown', () => {
  const { engine, evaluations } = countingEngine();
  const request = quote(simBot());
  const decision = engine.authorize({ ...request, context: { ...request.context, symbol: 7n as never } });
  assert.deepEqual([decision.allowed, decision.code], [false, 'POLICY_ERROR']);
  assert.equal(evaluations(), 1);
  assert.equal(engine.decisionCacheStats.size, 0);
});

test('a hand-built principal too large to key well is evaluated every time; a built one is keyed by id', () => {
  const { engine, evaluations } = countingEngine();
  const symbols = Array.from({ length: Math.ceil(MAX_KEY_LENGTH / 10) }, (_, i) => `HK.${String(i).padStart(5, '0')}`);
  const key = makeKey({ scopes: ['qot:read'], limits: { allowed_symbols: symbols } });
  const handBuilt = () => {
    const request = quote(key, 'HK.00042');
    return { ...request, principal: structuredClone(request.principal) };
  };
  assert.equal(engine.authorize(handBuilt()).allowed, true);
  assert.equal(engine.authorize(handBuilt()).allowed, true);
  assert.equal(evaluations(), 2);
  assert.equal(engine.decisionCacheStats.size, 0);

  assert.equal(engine.authorize(quote(key, 'HK.00042')).allowed, true);
  assert.equal(engine.authorize(quote(key, 'HK.00042')).allowed, true);
  assert.equal(evaluations(), 3);
  assert.equal(engine.decisionCacheStats.size, 1);
});

test('the cache holds at most its size, evicting the oldest entries first', () => {
  const { engine, evaluations } = countingEngine({ size: 3 });
  const key = simBot();
  const symbols = ['HK.00001', 'HK.00002', 'HK.00003', 'HK.00004', 'HK.00005'];
  for (const s of symbols) engine.authorize(quote(key, s));
  assert.equal(engine.decisionCacheStats.size, 3);
  for (const s of ['HK.00003', 'HK.00004', 'HK.00005']) engine.authorize(quote(key, s));
  assert.equal(evaluations(), 5, 'the newest three are still cached');
  engine.authorize(quote(key, 'HK.00001'));
  assert.equal(evaluations(), 6, 'the oldest was evicted');
  assert.equal(engine.decisionCacheStats.size, 3);
  assert.throws(() => AuthzEngine.load(defaultPolicyPaths(), { decisionCacheSize: Number.NaN }), RangeError);
});
