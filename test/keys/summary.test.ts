import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarizeLimits } from '../../src/keys/summary.js';
import { NO_LIMITS } from '../../src/keys/types.js';

test('no limits reads as a dash', () => {
  assert.equal(summarizeLimits(NO_LIMITS), '-');
});

test('every limit appears, money compacted and the currency named once', () => {
  const summary = summarizeLimits({
    ...NO_LIMITS,
    allowed_markets: ['HK', 'US'],
    allowed_symbols: ['HK.00700'],
    allowed_acc_ids: ['42'],
    max_order_value: 50_000,
    max_daily_value: 1_500_000,
    max_orders_per_minute: 3,
    allowed_trd_sides: ['BUY'],
    hours_window: '09:30-16:00',
    limit_currency: 'USD',
  });
  assert.equal(summary, 'mkt=HK,US sym=HK.00700 acc=42 ord=50k/USD day=1.5m rate=3/m sides=BUY hours=09:30-16:00');
});

test('amounts that do not compact exactly are shown in full; empty allow-lists read NONE', () => {
  assert.equal(summarizeLimits({ ...NO_LIMITS, max_daily_value: 12_345, allowed_trd_sides: [] }), 'day=12345/HKD sides=NONE');
  assert.equal(summarizeLimits({ ...NO_LIMITS, max_order_value: 999 }), 'ord=999/HKD');
});
