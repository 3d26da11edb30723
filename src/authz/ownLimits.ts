import { DEFAULT_CANCELS_PER_MINUTE, describeRequireConfirmation, requireConfirmationOf, type KeyRecord } from '../keys/types.js';
import type { Env } from './actions.js';
import { isWithinHoursWindow, nextHoursChange, parseHoursWindow } from './hoursWindow.js';
import type { Halt } from './humanState.js';
import { principalEntity } from './principal.js';

/**
 * What futu_get_limits tells a key about itself: its limits and what is left of them right now,
 * so a model plans within its budget instead of probing by failing. Money in major units of the
 * key's limit currency (two decimals).
 */
export interface OwnLimits {
  readonly key_id: string;
  readonly scopes: string[];
  readonly trade_envs: Env[];
  readonly limit_currency: string;
  readonly limits: {
    readonly allowed_markets: string[] | null;
    readonly allowed_symbols: string[] | null;
    readonly allowed_trd_sides: string[] | null;
    readonly allowed_acc_ids: string[] | null;
    readonly max_order_value: number | null;
    readonly max_daily_value: number | null;
    readonly max_orders_per_minute: number | null;
    readonly max_cancels_per_minute: number;
    readonly hours_window: string | null;
    readonly manage_any_order: boolean;
  };
  readonly daily_value_used: number;
  readonly daily_value_remaining: number | null;
  readonly orders_left_this_minute: number | null;
  readonly next_order_slot_at: string | null;
  readonly hours_window_open: boolean | null;
  readonly hours_window_next_change_at: string | null;
  readonly require_confirmation: string;
  readonly confirmation_channel: string;
  readonly halted: boolean;
  readonly halt_reason: string | null;
  readonly expires_at: string | null;
}

export interface UsageNow {
  /** Minor units: committed today plus in-flight reservations. */
  readonly dailyValue: number;
  readonly ordersInWindow: number;
  /** Epoch ms the next order fits under max_orders_per_minute (now if it fits now). */
  readonly nextOrderSlot: number;
}

export function ownLimits(key: KeyRecord, usage: UsageNow, halt: Halt | undefined, now: Date): OwnLimits {
  const { limits } = key;
  const trade_envs: Env[] = [];
  if (key.scopes.includes('trade:simulate')) trade_envs.push('simulate');
  if (key.scopes.includes('trade:real')) trade_envs.push('real');
  // The daily limit in minor units exactly as Cedar compares it (rounded down, never loosened).
  const maxDaily = limits.max_daily_value === null ? null : Number(principalEntity(key).attrs?.maxDailyValue);
  const rate = limits.max_orders_per_minute;
  const window = limits.hours_window === null ? null : parseHoursWindow(limits.hours_window);
  return {
    key_id: key.id,
    scopes: [...key.scopes],
    trade_envs,
    limit_currency: limits.limit_currency,
    limits: {
      allowed_markets: copyOf(limits.allowed_markets),
      allowed_symbols: copyOf(limits.allowed_symbols),
      allowed_trd_sides: copyOf(limits.allowed_trd_sides),
      allowed_acc_ids: copyOf(limits.allowed_acc_ids),
      max_order_value: limits.max_order_value,
      max_daily_value: limits.max_daily_value,
      max_orders_per_minute: rate,
      max_cancels_per_minute: limits.max_cancels_per_minute ?? DEFAULT_CANCELS_PER_MINUTE,
      hours_window: limits.hours_window,
      manage_any_order: limits.manage_any_order,
    },
    daily_value_used: major(usage.dailyValue),
    daily_value_remaining: maxDaily === null ? null : major(Math.max(0, maxDaily - usage.dailyValue)),
    orders_left_this_minute: rate === null ? null : Math.max(0, rate - usage.ordersInWindow),
    next_order_slot_at: rate === null ? null : new Date(Math.max(usage.nextOrderSlot, now.getTime())).toISOString(),
    hours_window_open: window === null ? null : isWithinHoursWindow(window, now),
    hours_window_next_change_at: window === null ? null : nextHoursChange(window, now).toISOString(),
    require_confirmation: describeRequireConfirmation(requireConfirmationOf(key)),
    confirmation_channel: key.confirmation_channel ?? 'auto',
    halted: halt !== undefined,
    halt_reason: halt === undefined ? null : halt.reason,
    expires_at: key.expires_at,
  };
}

function copyOf(list: readonly string[] | null): string[] | null {
  return list === null ? null : [...list];
}

function major(minorUnits: number): number {
  return minorUnits / 100;
}
