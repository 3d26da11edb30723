import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarizeLimits } from '../../src/keys/summary.js';
import type { KeyLimits } from '../../src/keys/types.js';

const NONE: KeyLimits = {
  allowed_markets: null,
  allowed_symbols: null,
  allowed_trd_sides: null,
  allowed_acc_ids: null,
  max_order_value: null,
  max_daily_value: null,
  max_orders_per_minute: null,
  hours_window: null,
  limit_currency: 'HKD',
};

test('no limits reads as a dash', () => {
  assert.equal(summarizeLimits(NONE), '-');
});

test('every limit appears, money compacted and the currency named once', () => {
  const summary = summarizeLimits({
    ...NONE,
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
  assert.equal(summarizeLimits({ ...NONE, max_daily_value: 12_345, allowed_trd_sides: [] }), 'day=12345/HKD sides=NONE');
  assert.equal(summarizeLimits({ ...NONE, max_order_value: 999 }), 'ord=999/HKD');
});
