import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { readFileSync } from 'node:fs';
import { ACTION_SPECS, ACTIONS, grantingScopes, isActionName, requiredScope, type ActionName, type TradeAction } from '../../src/authz/actions.js';
import { buildRequests, buildTradeRequest, type NonTradeAction } from '../../src/authz/builder.js';
import { defaultPolicyPaths } from '../../src/authz/policySet.js';
import { SCOPES, type Scope } from '../../src/keys/types.js';
import { caller, makeKey, shippedEngine } from './fixtures.js';

const TRADE_ACTIONS: readonly TradeAction[] = ['futu_place_order', 'futu_modify_order', 'futu_cancel_order'];
const isTrade = (a: ActionName): a is TradeAction => (TRADE_ACTIONS as readonly string[]).includes(a);

test('the registry has the 39 tools, and the schema declares exactly those actions', () => {
  assert.equal(ACTIONS.length, 39);
  assert.deepEqual([...shippedEngine().actions].sort(), [...ACTIONS].sort());
});

test('every action is covered by at least one permit policy', () => {
  const schema = readFileSync(defaultPolicyPaths().schemaFile, 'utf8');
  const engine = shippedEngine();
  const covered = new Set<string>();
  for (const meta of engine.policies.values()) {
    if (meta.effect !== 'permit') continue;
    const envs = cedar.getValidRequestEnvsPolicy(readPolicyText(meta.id), schema);
    assert.equal(envs.type, 'success');
    if (envs.type === 'success') for (const uid of envs.actions) covered.add(/"(.*)"$/.exec(uid)![1]!);
  }
  assert.deepEqual(ACTIONS.filter((a) => !covered.has(a)), []);

  function readPolicyText(id: string): string {
    const file = engine.policies.get(id)!.file;
    const parts = cedar.policySetTextToParts(readFileSync(`${defaultPolicyPaths().policiesDir}/${file}`, 'utf8'));
    assert.equal(parts.type, 'success');
    const text = parts.type === 'success' ? parts.policies.find((p) => p.includes(`@id("${id}")`)) : undefined;
    assert.ok(text, id);
    return text;
  }
});

test('trade tools need trade:simulate or trade:real by env; the others one fixed scope', () => {
  assert.equal(requiredScope('futu_place_order', 'real'), 'trade:real');
  assert.equal(requiredScope('futu_cancel_order', 'simulate'), 'trade:simulate');
  assert.equal(requiredScope('futu_get_broker'), 'qot:read');
  assert.equal(requiredScope('futu_get_deals', 'real'), 'acc:read');
  assert.equal(requiredScope('futu_unlock_trade'), 'trade:unlock');
  assert.deepEqual(grantingScopes('futu_modify_order'), ['trade:simulate', 'trade:real']);
  assert.equal(isActionName('futu_withdraw'), false);
  assert.equal(isActionName('toString'), false);
});

/** Each tool, called by a key holding exactly the scope it needs, is allowed; with every other scope it is denied as missing that scope. */
for (const action of ACTIONS) {
  test(`${action}: allowed with exactly its scope, denied without it`, () => {
    const envs = isTrade(action) ? (['simulate', 'real'] as const) : (['simulate'] as const);
    for (const env of envs) {
      const needed = requiredScope(action, env);
      if (needed === null) {
        // Needs no scope: a key with any single scope may call it.
        for (const scope of SCOPES) assert.equal(decide(action, env, [scope]).allowed, true, `${action} with ${scope}`);
        continue;
      }
      const others = SCOPES.filter((s) => s !== needed);
      const allowed = decide(action, env, [needed]);
      assert.equal(allowed.allowed, true, `${action} ${env} with ${needed}: ${allowed.message}`);
      const denied = decide(action, env, others);
      assert.equal(denied.allowed, false);
      assert.equal(denied.code, 'MISSING_SCOPE');
      assert.equal(denied.message, `missing scope ${needed}`);
    }
  });
}

function decide(action: ActionName, env: 'simulate' | 'real', scopes: Scope[]) {
  // Scopes alone: a human's confirmation (policies/confirmation.cedar) is tested on its own.
  const key = makeKey({ scopes, require_confirmation: 'never' });
  const engine = shippedEngine();
  if (isTrade(action)) {
    return engine.authorize(
      buildTradeRequest(caller(key), {
        action,
        env,
        account: '1001',
        symbol: 'HK.00700',
        side: 'BUY',
        valuation: { orderValue: 100, addedValue: action === 'futu_cancel_order' ? 0 : 100 },
        usage: { ordersBefore: 0, cancelsBefore: 0, dailyValue: 0 },
    ownOrder: true,
    reducesRisk: false,
      }),
    );
  }
  const shape = ACTION_SPECS[action].shape;
  const requests = buildRequests(caller(key), action as NonTradeAction, {
    symbols: shape === 'security' || shape === 'account-security' ? ['HK.00700'] : undefined,
    market: shape === 'market' ? 'HK' : undefined,
    account: shape === 'account' || shape === 'account-security' ? '1001' : undefined,
    env,
  });
  assert.equal(requests.length, 1);
  return engine.authorize(requests[0]!);
}
