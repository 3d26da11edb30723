import type { KeyLimits } from './types.js';

/**
 * One-line limits summary for tables and status output, e.g.
 * `mkt=HK,US ord=50k/HKD day=200k rate=3/m sides=BUY`; `-` when the key has no limits.
 */
export function summarizeLimits(limits: KeyLimits): string {
  const parts: string[] = [];
  const list = (name: string, values: readonly string[] | null) => {
    if (values !== null) parts.push(`${name}=${values.length === 0 ? 'NONE' : values.join(',')}`);
  };
  list('mkt', limits.allowed_markets);
  list('sym', limits.allowed_symbols);
  list('acc', limits.allowed_acc_ids);
  let currencyShown = false;
  const money = (name: string, value: number | null) => {
    if (value === null) return;
    parts.push(`${name}=${compactAmount(value)}${currencyShown ? '' : `/${limits.limit_currency}`}`);
    currencyShown = true;
  };
  money('ord', limits.max_order_value);
  money('day', limits.max_daily_value);
  if (limits.max_orders_per_minute !== null) parts.push(`rate=${limits.max_orders_per_minute}/m`);
  list('sides', limits.allowed_trd_sides);
  if (limits.hours_window !== null) parts.push(`hours=${limits.hours_window}`);
  if (limits.manage_any_order) parts.push('any-order');
  if (limits.max_cancels_per_minute !== null) parts.push(`cancels=${limits.max_cancels_per_minute}/m`);
  if (limits.max_calls_per_minute !== null) parts.push(`calls=${limits.max_calls_per_minute}/m`);
  return parts.length === 0 ? '-' : parts.join(' ');
}

/** 50000 → 50k, 1500000 → 1.5m; anything not exactly representable that way stays as is. */
function compactAmount(value: number): string {
  for (const [unit, size] of [['m', 1_000_000], ['k', 1_000]] as const) {
    const scaled = value / size;
    if (scaled >= 1 && Number.isInteger(scaled * 10)) return `${scaled}${unit}`;
  }
  return String(value);
}
