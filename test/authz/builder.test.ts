import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRequests, buildTradeRequest, MAX_SYMBOLS_PER_CALL } from '../../src/authz/builder.js';
import { AuthzError } from '../../src/authz/errors.js';
import { isWithinHoursWindow, parseHoursWindow } from '../../src/authz/hoursWindow.js';
import { keyMayUseAccount, principalEntity } from '../../src/authz/principal.js';
import { caller, makeKey, MORNING } from './fixtures.js';

const at = (h: number, m: number, s = 0) => new Date(2026, 4, 4, h, m, s);

test('hours window: start inclusive, end exclusive, in local time', () => {
  const day = parseHoursWindow('09:30-16:00');
  assert.equal(isWithinHoursWindow(day, at(9, 29, 59)), false);
  assert.equal(isWithinHoursWindow(day, at(9, 30, 0)), true);
  assert.equal(isWithinHoursWindow(day, at(15, 59, 59)), true);
  assert.equal(isWithinHoursWindow(day, at(16, 0, 0)), false);
});

test('hours window crossing midnight', () => {
  const night = parseHoursWindow('22:00-04:00');
  assert.equal(isWithinHoursWindow(night, at(21, 59)), false);
  assert.equal(isWithinHoursWindow(night, at(22, 0)), true);
  assert.equal(isWithinHoursWindow(night, at(0, 0)), true);
  assert.equal(isWithinHoursWindow(night, at(3, 59)), true);
  assert.equal(isWithinHoursWindow(night, at(4, 0)), false);
  assert.equal(isWithinHoursWindow(night, at(12, 0)), false);
  for (const bad of ['9:30-16:00', '09:30-09:30', '24:00-01:00', '09:30']) {
    assert.throws(() => parseHoursWindow(bad), (err: unknown) => err instanceof AuthzError && err.code === 'INVALID_VALUE');
  }
});

test('keyMayUseAccount compares account ids as the Cedar entity does (decimal, leading zeros ignored)', () => {
  const limited = makeKey({ scopes: ['trade:simulate'], limits: { allowed_acc_ids: ['001001', '7'] } });
  assert.equal(keyMayUseAccount(limited, '1001'), true);
  assert.equal(keyMayUseAccount(limited, '0007'), true);
  assert.equal(keyMayUseAccount(limited, '1002'), false);
  assert.equal(keyMayUseAccount(makeKey({ scopes: ['trade:simulate'], limits: { allowed_acc_ids: [] } }), '1001'), false);
  assert.equal(keyMayUseAccount(makeKey({ scopes: ['trade:simulate'], limits: { allowed_acc_ids: null } }), '1001'), true);
  assert.throws(() => keyMayUseAccount(limited, '1e3'), (err: unknown) => err instanceof AuthzError && err.code === 'INVALID_VALUE');
});

test('principal: null limits become explicit flags, money limits minor units rounded down', () => {
  const key = makeKey({
    scopes: ['qot:read'],
    limits: { allowed_markets: ['hk', 'CN'], allowed_acc_ids: ['001001'], max_order_value: 50_000.009, max_daily_value: null, max_orders_per_minute: 3, hours_window: '09:30-16:00' },
  });
  const attrs = principalEntity(key).attrs!;
  assert.deepEqual(attrs.markets, ['CN', 'HK', 'SH', 'SZ']);
  assert.equal(attrs.marketsUnrestricted, false);
  assert.equal(attrs.symbolsUnrestricted, true);
  assert.deepEqual(attrs.symbols, []);
  assert.deepEqual(attrs.accounts, ['1001']);
  assert.equal(attrs.maxOrderValue, 5_000_000);
  assert.deepEqual([attrs.hasMaxDailyValue, attrs.maxDailyValue], [false, 0]);
  assert.deepEqual([attrs.hasMaxOrdersPerMinute, attrs.maxOrdersPerMinute], [true, 3]);
  assert.deepEqual([attrs.hasHoursWindow, attrs.hoursWindow], [true, '09:30-16:00']);
  // An allowlist that is present but empty allows nothing (it is not "any").
  assert.equal(principalEntity(makeKey({ limits: { allowed_symbols: [] } })).attrs!.symbolsUnrestricted, false);
});

test('trade context: computed facts, this call counted in the rate, projection includes the call', () => {
  const key = makeKey({ expires_at: '2099-01-01T00:00:00Z', limits: { hours_window: '09:30-16:00' } });
  const request = buildTradeRequest(caller(key, at(16, 30)), {
    action: 'futu_place_order',
    env: 'real',
    account: '01001',
    symbol: 'us.aapl',
    side: 'SELL',
    valuation: { orderValue: 700, addedValue: 700 },
    usage: { ordersBefore: 2, cancelsBefore: 0, dailyValue: 10_000 },
    ownOrder: true,
    reducesRisk: false,
  });
  assert.deepEqual(request.context, {
    expired: false,
    machineBound: true,
    withinCallRate: true,
    withinHoursWindow: false,
    humanConfirmed: false,
    halted: false,
    haltReason: '',
    env: 'real',
    account: '1001',
    market: 'US',
    symbol: 'US.AAPL',
    side: 'SELL',
    orderValue: 700,
    addedValue: 700,
    projectedDailyValue: 10_700,
    ordersLastMinute: 3,
    ownOrder: true,
    reducesRisk: false,
    cancelsLastMinute: 0,
  });
  assert.deepEqual(request.resource, { type: 'Futu::Account', id: '1001' });
  assert.equal(request.requiredScope, 'trade:real');
});

test('the builder refuses malformed input (INVALID_VALUE) rather than guessing', () => {
  const key = makeKey();
  const invalid = (fn: () => unknown) => assert.throws(fn, (err: unknown) => err instanceof AuthzError && err.code === 'INVALID_VALUE');
  const trade = { action: 'futu_place_order' as const, env: 'simulate' as const, account: '1', symbol: 'HK.00700', side: 'BUY' as const, valuation: { orderValue: 1, addedValue: 1 }, usage: { ordersBefore: 0, cancelsBefore: 0, dailyValue: 0 }, ownOrder: true, reducesRisk: false };
  invalid(() => buildTradeRequest(caller(key), { ...trade, env: 'paper' as never }));
  invalid(() => buildTradeRequest(caller(key), { ...trade, side: 'HOLD' as never }));
  invalid(() => buildTradeRequest(caller(key), { ...trade, account: '12a' }));
  invalid(() => buildTradeRequest(caller(key), { ...trade, account: '18446744073709551616' }));
  invalid(() => buildTradeRequest(caller(key), { ...trade, usage: { ordersBefore: 0, cancelsBefore: 0, dailyValue: Number.MAX_SAFE_INTEGER } }));
  invalid(() => buildTradeRequest(caller(key), { ...trade, valuation: { orderValue: 1.5, addedValue: 1.5 } }));
  invalid(() => buildRequests(caller(key), 'futu_get_quote', {}));
  invalid(() => buildRequests(caller(key), 'futu_get_quote', { symbols: Array.from({ length: MAX_SYMBOLS_PER_CALL + 1 }, (_, i) => `HK.${i}`) }));
  invalid(() => buildRequests(caller(key), 'futu_get_kline', { symbols: ['AAPL'] }));
  invalid(() => buildRequests(caller(key), 'futu_get_funds', { account: '1' }));
  invalid(() => buildRequests(caller(key), 'futu_list_plates', { market: 'H K' }));
  invalid(() => buildRequests(caller(makeKey({ limits: { hours_window: 'later' } })), 'futu_ping', {}));
});

test('key facts: an expired or unbound key, or a call over the call rate, is reported as such in every context', () => {
  const expired = makeKey({ expires_at: '2020-01-01T00:00:00Z' });
  const [ping] = buildRequests(caller(expired, MORNING, false, false), 'futu_ping', {});
  assert.deepEqual(ping!.context, { expired: true, machineBound: false, withinCallRate: false });
  const garbled = makeKey({ expires_at: 'soon' });
  assert.equal(buildRequests(caller(garbled), 'futu_ping', {})[0]!.context.expired, true);
});
