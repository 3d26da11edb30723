import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Authorizer, VALUE_INDEPENDENT_FORBIDS, type TradeInput } from '../../src/authz/authorizer.js';
import { defaultPolicyPaths } from '../../src/authz/policySet.js';
import { AuthzError } from '../../src/authz/errors.js';
import { GatewayError } from '../../src/gateway/errors.js';
import { LimitsLedger } from '../../src/authz/ledger.js';
import { FutuError } from '../../src/shared/errors.js';
import { authorizer, caller, makeKey, shippedEngine, simBot, tempDir } from './fixtures.js';

function setup(t: Parameters<typeof tempDir>[0]) {
  const ledger = new LimitsLedger({ stateDir: tempDir(t) });
  return { ledger, authz: new Authorizer({ engine: shippedEngine(), ledger }) };
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
  assert.deepEqual([decision?.allowed, result], [true, 'order-1']);
  assert.deepEqual(await ledger.usage(k.id, new Date()), { ordersBefore: 1, cancelsBefore: 0, dailyValue: 1_000_000 });
});

test('runTrade: a refusal by OpenD releases the reservation; the attempt still counts for the rate', async (t) => {
  const { authz, ledger } = setup(t);
  const k = key();
  await assert.rejects(authz.runTrade(order(k), { send: async () => Promise.reject(new FutuError('OPEND_ERROR', 'OpenD error: insufficient funds')) }), /insufficient funds/);
  assert.deepEqual(await ledger.usage(k.id, new Date()), { ordersBefore: 1, cancelsBefore: 0, dailyValue: 0 });
});

test('runTrade: a timeout may have placed the order: ORDER_OUTCOME_UNKNOWN, and its value is committed', async (t) => {
  const { authz, ledger } = setup(t);
  const k = key();
  await assert.rejects(
    authz.runTrade(order(k), { send: async () => Promise.reject(new FutuError('GATEWAY_TIMEOUT', 'timed out')) }),
    (err: unknown) => err instanceof AuthzError && err.code === 'ORDER_OUTCOME_UNKNOWN' && /may have been placed; check futu_get_orders/.test(err.message),
  );
  assert.equal((await ledger.usage(k.id, new Date())).dailyValue, 1_000_000);
});

test('runTrade: an order held up past half its reservation\'s lifetime is not sent, and its budget is released', async (t) => {
  const ledger = new LimitsLedger({ stateDir: tempDir(t), reservationTtlMs: 200 });
  const authz = new Authorizer({ engine: shippedEngine(), ledger });
  const k = key();
  let sent = false;
  const stalled = authz.runTrade(order(k), {
    beforeSend: () => new Promise((resolve) => setTimeout(resolve, 150)), // an audit write stuck on the disk
    send: async () => {
      sent = true;
      return 'order-1';
    },
  });
  await assert.rejects(stalled, (err: unknown) => err instanceof AuthzError && err.code === 'LEDGER_ERROR' && /not sent/.test(err.message));
  assert.equal(sent, false);
  assert.equal((await ledger.usage(k.id, new Date())).dailyValue, 0, 'released, not committed');
  // Within the window the same order goes through.
  assert.equal((await authz.runTrade(order(k), { beforeSend: async () => undefined, send: async () => 'order-2' })).result, 'order-2');
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

test('runTrade: a send the gateway refused for OpenD\'s rate limits releases the reservation', async (t) => {
  const { authz, ledger } = setup(t);
  const k = makeKey();
  await authz.runTrade(order(k, 1), { send: async () => 'first' });
  await assert.rejects(
    authz.runTrade(order(k, 1), {
      send: async () => {
        throw new GatewayError('GATEWAY_RATE_LIMITED', 'OpenD allows 15 place requests per 30s; retry in 30s', { retry_after_seconds: 30 });
      },
    }),
    (err: unknown) => err instanceof GatewayError && err.code === 'GATEWAY_RATE_LIMITED',
  );
  assert.equal((await ledger.usage(k.id, new Date())).dailyValue, 10_000);
});

test('runUnlock: needs trade:unlock', async (t) => {
  const { authz } = setup(t);
  await assert.rejects(authz.runUnlock({ ...caller(makeKey({ scopes: ['trade:real'] })), unlocking: true }, { send: async () => 'unlocked' }), /missing scope trade:unlock/);
  const { result } = await authz.runUnlock({ ...caller(makeKey({ scopes: ['trade:unlock'], require_confirmation: 'never' })), unlocking: true }, { send: async () => 'unlocked' });
  assert.equal(result, 'unlocked');
});

test('a trade refused for who, what or where is refused before it is priced: OpenD is not asked for quotes', async (t) => {
  let lookups = 0;
  const prices = { bestPrices: async () => (lookups++, { bid: 99, ask: 101, last: 100 }) };
  const { authz } = authorizer(t, { prices });
  const key = simBot({ allowed_markets: ['HK'], allowed_symbols: ['HK.00700'], allowed_trd_sides: ['BUY', 'SELL'], max_order_value: 1_000 });
  const trade = (symbol: string, side: 'BUY' | 'SELL' | 'SELL_SHORT', orderType: 'LIMIT' | 'MARKET', price?: number): TradeInput => ({
    ...caller(key),
    env: 'simulate',
    account: '1001',
    terms: { action: 'futu_place_order', symbol, side, orderType, qty: 10, ...(price === undefined ? {} : { price }) },
    sellable: async () => 10,
  });
  const refusals = [
    [trade('HK.09988', 'SELL', 'LIMIT', 1), 'limit check failed: symbol HK.09988 not allowed'],
    [trade('US.AAPL', 'BUY', 'MARKET'), 'limit check failed: market US not allowed'],
    [trade('HK.00700', 'SELL_SHORT', 'LIMIT', 1), 'limit check failed: side SELL_SHORT not allowed'],
    [{ ...trade('HK.00700', 'SELL', 'LIMIT', 1), env: 'real' }, 'missing scope trade:real'],
  ] as const;
  for (const [input, message] of refusals) assert.equal((await authz.authorizeTrade(input)).decision.message, message);
  assert.equal(lookups, 0, 'no refused order was priced');
  // Value limits do need the price: the sell at 0.01 is valued at the market (10 x 105 HKD > 1,000).
  const priced = (await authz.authorizeTrade(trade('HK.00700', 'SELL', 'LIMIT', 0.01))).decision;
  assert.equal(priced.message, 'limit check failed: order value HKD 1,050.00 exceeds per-order limit HKD 1,000.00');
  assert.equal(lookups, 1);
});

test('every forbid decided before pricing is a shipped policy whose condition reads neither the value nor the usage', () => {
  const shipped = ['invariants.cedar', 'limits.cedar', 'orders.cedar', 'confirmation.cedar'].map((file) => readFileSync(join(defaultPolicyPaths().policiesDir, file), 'utf8')).join('\n');
  const bodies = new Map([...shipped.matchAll(/@id\("([^"]+)"\)([\s\S]*?)(?=@id\(|$)/g)].map((m) => [m[1]!, m[2]!]));
  for (const id of VALUE_INDEPENDENT_FORBIDS) {
    const body = bodies.get(id);
    assert.ok(body !== undefined, `${id} is a shipped policy`);
    assert.doesNotMatch(body, /orderValue|addedValue|projectedDailyValue|ordersLastMinute|cancelsLastMinute/, `${id} must not depend on the value`);
  }
  // ... and the value limits are not among them.
  for (const id of ['order-value-limit', 'rate-limit', 'daily-limit', 'cancel-rate-limit']) assert.equal(VALUE_INDEPENDENT_FORBIDS.has(id), false);
});
