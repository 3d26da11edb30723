import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Authorizer, type TradeInput } from '../../src/authz/authorizer.js';
import { AuthzError } from '../../src/authz/errors.js';
import { GatewayGuard } from '../../src/authz/gatewayGuard.js';
import { LimitsLedger } from '../../src/authz/ledger.js';
import { FutuError } from '../../src/shared/errors.js';
import { caller, makeKey, shippedEngine, tempDir } from './fixtures.js';

function setup(t: Parameters<typeof tempDir>[0], guard?: GatewayGuard) {
  const ledger = new LimitsLedger({ stateDir: tempDir(t) });
  return { ledger, authz: new Authorizer({ engine: shippedEngine(), ledger, ...(guard ? { guard } : {}) }) };
}

const key = () => makeKey({ limits: { max_daily_value: 100_000 } });
const order = (k: ReturnType<typeof key>, qty = 100): TradeInput => ({
  ...caller(k, new Date()),
  env: 'simulate',
  account: '1001',
  terms: { action: 'futu_place_order', symbol: 'HK.00700', side: 'BUY', orderType: 'LIMIT', qty, price: 100 },
});

test('runTrade: an accepted order is committed to the day', async (t) => {
  const { authz, ledger } = setup(t);
  const k = key();
  const { decision, result } = await authz.runTrade(order(k), { send: async () => 'order-1' });
  assert.deepEqual([decision.allowed, result], [true, 'order-1']);
  assert.deepEqual(ledger.usage(k.id, new Date()), { ordersBefore: 1, dailyValue: 1_000_000 });
});

test('runTrade: a refusal by OpenD releases the reservation; the attempt still counts for the rate', async (t) => {
  const { authz, ledger } = setup(t);
  const k = key();
  await assert.rejects(authz.runTrade(order(k), { send: async () => Promise.reject(new FutuError('OPEND_ERROR', 'OpenD error: insufficient funds')) }), /insufficient funds/);
  assert.deepEqual(ledger.usage(k.id, new Date()), { ordersBefore: 1, dailyValue: 0 });
});

test('runTrade: a timeout may have placed the order, so its value is committed', async (t) => {
  const { authz, ledger } = setup(t);
  const k = key();
  await assert.rejects(authz.runTrade(order(k), { send: async () => Promise.reject(new FutuError('GATEWAY_TIMEOUT', 'timed out')) }), /timed out/);
  assert.equal(ledger.usage(k.id, new Date()).dailyValue, 1_000_000);
});

test('runTrade: a denial throws the decision as an AuthzError and never calls send', async (t) => {
  const { authz } = setup(t);
  let sent = false;
  await assert.rejects(
    authz.runTrade(order(key(), 1001), {
      send: async () => {
        sent = true;
      },
    }),
    (err: unknown) => err instanceof AuthzError && err.code === 'LIMIT_EXCEEDED' && /daily value HKD 100,100.00/.test(err.message),
  );
  assert.equal(sent, false);
});

test('runTrade: OpenD protection refuses before sending and releases the reservation', async (t) => {
  const frozen = Date.now();
  const { authz, ledger } = setup(t, new GatewayGuard({ maxWaitMs: 0, clock: () => frozen }));
  const k = makeKey();
  await authz.runTrade(order(k, 1), { send: async () => 'first' });
  let sent = false;
  let audited = false;
  await assert.rejects(
    authz.runTrade(order(k, 1), {
      beforeSend: async () => {
        audited = true;
      },
      send: async () => {
        sent = true;
      },
    }),
    (err: unknown) => err instanceof AuthzError && err.code === 'GATEWAY_RATE_LIMITED',
  );
  assert.equal(sent, false);
  assert.equal(audited, true, 'the intent is recorded before the guard is asked');
  assert.equal(ledger.usage(k.id, new Date()).dailyValue, 10_000);
});

test('runUnlock: needs trade:unlock; the password-free call goes through the guard', async (t) => {
  const { authz } = setup(t, new GatewayGuard());
  await assert.rejects(authz.runUnlock(caller(makeKey({ scopes: ['trade:real'] })), { send: async () => 'unlocked' }), /missing scope trade:unlock/);
  const { result } = await authz.runUnlock(caller(makeKey({ scopes: ['trade:unlock'] })), { send: async () => 'unlocked' });
  assert.equal(result, 'unlocked');
});
