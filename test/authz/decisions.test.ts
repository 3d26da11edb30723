import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TradeInput } from '../../src/authz/authorizer.js';
import type { KeyRecord } from '../../src/keys/types.js';
import { authorizer, caller, fixedPrices, makeKey, MORNING, simBot } from './fixtures.js';

/** The user-facing texts of the seeds, end to end: builder → ledger → Cedar → message. */
function placeOrder(key: KeyRecord, fields: Partial<{ symbol: string; qty: number; price: number; env: 'simulate' | 'real'; side: 'BUY' | 'SELL'; account: string; now: Date; machineBound: boolean }> = {}): TradeInput {
  return {
    ...caller(key, fields.now ?? MORNING, fields.machineBound ?? true),
    env: fields.env ?? 'simulate',
    account: fields.account ?? '1001',
    terms: { action: 'futu_place_order', symbol: fields.symbol ?? 'HK.00700', side: fields.side ?? 'BUY', orderType: 'LIMIT', qty: fields.qty ?? 100, price: fields.price ?? 300 },
    // The account holds what it sells: these are sells, not short sales.
    sellable: async () => fields.qty ?? 100,
  };
}

test('a read-only key placing an order: "missing scope trade:real" (and trade:simulate in simulate)', async (t) => {
  const { authz } = authorizer(t);
  const analyst = makeKey({ scopes: ['qot:read', 'acc:read'] });
  const real = (await authz.authorizeTrade(placeOrder(analyst, { env: 'real' }))).decision;
  assert.deepEqual([real.allowed, real.code, real.message], [false, 'MISSING_SCOPE', 'missing scope trade:real']);
  const sim = (await authz.authorizeTrade(placeOrder(analyst))).decision;
  assert.deepEqual([sim.code, sim.message], ['MISSING_SCOPE', 'missing scope trade:simulate']);
});

test('a trade:simulate key with env "real" is denied "missing scope trade:real" by the invariant', async (t) => {
  const { authz } = authorizer(t);
  const { decision, reservation } = await authz.authorizeTrade(placeOrder(simBot(), { env: 'real' }));
  assert.equal(decision.message, 'missing scope trade:real');
  assert.deepEqual(decision.determiningPolicies.map((p) => p.id), ['real-env-without-scope']);
  assert.equal(reservation, null);
});

test('per-order limit: exactly HKD 50,000.00 passes, one cent more is denied with the seed message', async (t) => {
  const { authz } = authorizer(t);
  const key = simBot();
  assert.equal((await authz.authorizeTrade(placeOrder(key, { qty: 100, price: 500 }))).decision.allowed, true);
  const over = (await authz.authorizeTrade(placeOrder(key, { qty: 1, price: 50_000.01 }))).decision;
  assert.equal(over.message, 'limit check failed: order value HKD 50,000.01 exceeds per-order limit HKD 50,000.00');
  const seed = (await authz.authorizeTrade(placeOrder(key, { qty: 100, price: 600 }))).decision;
  assert.equal(seed.message, 'limit check failed: order value HKD 60,000.00 exceeds per-order limit HKD 50,000.00');
  assert.equal(seed.code, 'LIMIT_EXCEEDED');
});

test('rate: the fourth order within 60 s with cap 3 → "limit check failed: rate limit (3 in 60s, cap 3)"', async (t) => {
  const { authz } = authorizer(t);
  const key = simBot();
  for (let i = 0; i < 3; i++) {
    const second = new Date(MORNING.getTime() + i * 1000);
    assert.equal((await authz.authorizeTrade(placeOrder(key, { now: second }))).decision.allowed, true);
  }
  const fourth = (await authz.authorizeTrade(placeOrder(key, { now: new Date(MORNING.getTime() + 59_999) }))).decision;
  assert.equal(fourth.message, 'limit check failed: rate limit (3 in 60s, cap 3)');
  // 60 s after the first order, its slot is free again.
  assert.equal((await authz.authorizeTrade(placeOrder(key, { now: new Date(MORNING.getTime() + 60_000) }))).decision.allowed, true);
});

test('daily limit: exactly at the limit passes, one cent over is denied and names the projection', async (t) => {
  const { authz, ledger } = authorizer(t);
  const key = simBot({ max_daily_value: 100_000, max_orders_per_minute: null, max_order_value: null });
  const first = await authz.authorizeTrade(placeOrder(key, { qty: 100, price: 400 }));
  await ledger.commit(first.reservation!, MORNING);
  // 40,000 committed + 60,000 = 100,000: exactly at the limit.
  const second = await authz.authorizeTrade(placeOrder(key, { qty: 100, price: 600 }));
  assert.equal(second.decision.allowed, true, second.decision.message);
  const third = (await authz.authorizeTrade(placeOrder(key, { qty: 1, price: 0.01 }))).decision;
  assert.equal(third.message, 'limit check failed: daily value HKD 100,000.01 would exceed daily limit HKD 100,000.00');
  // The in-flight reservation of the second order counts: releasing it frees the budget.
  await ledger.release(second.reservation!, MORNING);
  assert.equal((await authz.authorizeTrade(placeOrder(key, { qty: 1, price: 0.01 }))).decision.allowed, true);
});

test('allowlists and key facts produce the seed messages', async (t) => {
  // A sell is valued against the quote, so the authorizer needs one to get as far as the side check.
  const { authz } = authorizer(t, { prices: fixedPrices({ bid: 299, ask: 301, last: 300 }) });
  const key = simBot({ hours_window: '09:30-16:00', allowed_acc_ids: ['1001'], allowed_trd_sides: ['BUY'], allowed_symbols: ['HK.00700', 'US.AAPL'] });
  const message = async (input: TradeInput) => (await authz.authorizeTrade(input)).decision.message;
  assert.equal(await message(placeOrder(key, { symbol: 'SH.600519' })), 'limit check failed: market SH not allowed');
  assert.equal(await message(placeOrder(key, { symbol: 'HK.09988' })), 'limit check failed: symbol HK.09988 not allowed');
  assert.equal(await message(placeOrder(key, { side: 'SELL' })), 'limit check failed: side SELL not allowed');
  assert.equal(await message(placeOrder(key, { account: '2002' })), 'limit check failed: account 2002 not allowed');
  assert.equal(await message(placeOrder(key, { now: new Date(2026, 4, 4, 16, 0) })), 'limit check failed: outside trading hours window 09:30-16:00');
  assert.equal(await message(placeOrder(makeKey({ expires_at: '2020-01-01T00:00:00Z' }))), 'key expired');
  assert.equal(await message(placeOrder(key, { machineBound: false })), 'key not bound to this machine');
  const usOnly = makeKey({ scopes: ['qot:read'], limits: { allowed_markets: ['HK'] } });
  assert.equal(authz.authorizeCall({ ...caller(usOnly), action: 'futu_get_quote', target: { symbols: ['US.AAPL'] } }).message, 'limit check failed: market US not allowed');
});

test('several forbids: the message follows market → symbol → side → hours → per-order → rate → daily', async (t) => {
  const { authz } = authorizer(t);
  const key = simBot({ max_orders_per_minute: 0, max_daily_value: 1, hours_window: '09:30-16:00', allowed_trd_sides: ['SELL'] });
  const decision = (await authz.authorizeTrade(placeOrder(key, { symbol: 'SZ.000001', qty: 1000, price: 100, now: new Date(2026, 4, 4, 20, 0) }))).decision;
  assert.equal(decision.message, 'limit check failed: market SZ not allowed');
  // Refused before pricing: the forbids that hold whatever the value (the rate cap of 0 holds even
  // for the first order), not the value limits, which were never evaluated against a value.
  assert.deepEqual(decision.determiningPolicies.map((p) => p.id), ['market-not-allowed', 'side-not-allowed', 'outside-hours', 'rate-limit']);
  // An order that passes those checks is priced, and every limit it breaks is listed in order.
  const priced = (await authz.authorizeTrade(placeOrder(simBot({ allowed_markets: ['SZ'], max_orders_per_minute: 0, max_daily_value: 1 }), { symbol: 'SZ.000001', qty: 1000, price: 100 })))
    .decision;
  assert.deepEqual(priced.determiningPolicies.map((p) => p.id), ['order-value-limit', 'rate-limit', 'daily-limit']);
  // CNH 100,000 in an HKD-limited key: 100,000 x 1.0956 x 1.02 (FX margin).
  assert.equal(priced.determiningPolicies.find((p) => p.id === 'daily-limit')!.message, 'limit check failed: daily value HKD 111,751.20 would exceed daily limit HKD 1.00');
});

test('multi-symbol reads authorize every symbol; one disallowed symbol denies the call', (t) => {
  const { authz } = authorizer(t);
  const key = makeKey({ scopes: ['qot:read'], limits: { allowed_symbols: ['HK.00700', 'US.AAPL'] } });
  const quote = (symbols: string[]) => authz.authorizeCall({ ...caller(key), action: 'futu_get_snapshot', target: { symbols } });
  assert.equal(quote(['HK.00700', 'US.AAPL']).allowed, true);
  const denied = quote(['HK.00700', 'US.TSLA', 'US.AAPL']);
  assert.deepEqual([denied.allowed, denied.message, denied.context.symbol], [false, 'limit check failed: symbol US.TSLA not allowed', 'US.TSLA']);
  assert.equal(quote(['HK.00700', 'not a symbol']).code, 'INVALID_VALUE');
});

test('cancel and value-reducing modify of the key\'s own order pass even when the day is over budget; raising an order does not', async (t) => {
  const { authz, ledger, trades } = authorizer(t);
  const key = simBot({ max_daily_value: 50_000, max_orders_per_minute: null });
  const placed = await authz.authorizeTrade(placeOrder(key, { qty: 100, price: 500 }));
  await ledger.commit(placed.reservation!, MORNING);
  await trades.recordOwner({ env: 'simulate', accId: '1001', orderId: '77' }, { keyId: key.id, tag: 'fmcp:test', day: '2026-12-03', placedAt: MORNING.getTime() });
  const existing = { orderId: '77', symbol: 'HK.00700', side: 'BUY' as const, qty: 100, price: 500 };
  const base = { ...caller(key), env: 'simulate' as const, account: '1001' };
  assert.equal((await authz.authorizeTrade({ ...base, terms: { action: 'futu_cancel_order', existing } })).decision.allowed, true);
  assert.equal((await authz.authorizeTrade({ ...base, terms: { action: 'futu_modify_order', existing, qty: 50 } })).decision.allowed, true);
  const raise = (await authz.authorizeTrade({ ...base, terms: { action: 'futu_modify_order', existing, price: 500.01 } })).decision;
  assert.equal(raise.message, 'limit check failed: order value HKD 50,001.00 exceeds per-order limit HKD 50,000.00');
});

test('MARKET orders are valued at the reference price; without one they are denied PRICE_UNAVAILABLE', async (t) => {
  const market: TradeInput['terms'] = { action: 'futu_place_order', symbol: 'HK.00700', side: 'BUY', orderType: 'MARKET', qty: 100 };
  const withoutPrices = authorizer(t).authz;
  const none = (await withoutPrices.authorizeTrade({ ...caller(simBot()), env: 'simulate', account: '1001', terms: market })).decision;
  assert.deepEqual([none.allowed, none.code], [false, 'PRICE_UNAVAILABLE']);
  // ask 480 + 5% = 504 per share: HKD 50,400 > 50,000 although the ask alone would pass.
  const withPrices = authorizer(t, { prices: fixedPrices({ ask: 480, last: 470 }) }).authz;
  const valued = (await withPrices.authorizeTrade({ ...caller(simBot()), env: 'simulate', account: '1001', terms: market })).decision;
  assert.equal(valued.message, 'limit check failed: order value HKD 50,400.00 exceeds per-order limit HKD 50,000.00');
});

test('expiry boundary: usable until the last millisecond, "key expired" from expires_at on', (t) => {
  const { authz } = authorizer(t);
  const key = makeKey({ scopes: ['qot:read'], expires_at: '2026-05-04T02:00:00.000Z' });
  const ping = (now: Date) => authz.authorizeCall({ ...caller(key, now), action: 'futu_ping' });
  assert.equal(ping(new Date('2026-05-04T01:59:59.999Z')).allowed, true);
  const expired = ping(new Date('2026-05-04T02:00:00.000Z'));
  assert.deepEqual([expired.allowed, expired.code, expired.message], [false, 'POLICY_DENIED', 'key expired']);
});
