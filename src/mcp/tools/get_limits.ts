import { z } from 'zod';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { defineTool } from './kit.js';
import { callPlan } from './plans.js';

const money = z.number().describe('Major units of limit_currency');
const list = z.array(z.string()).nullable().describe('null: any');

export const getLimits = defineTool({
  name: 'futu_get_limits',
  title: 'This key\'s limits and what is left',
  description:
    'Your API key\'s scopes, trading envs, limits and what is left right now (daily value, orders this minute and the next free slot, ' +
    'hours window, whether a human must confirm, whether trading is halted). Call it before trading to plan within the budget instead of failing.',
  scope: 'own-limits',
  input: z.strictObject({}),
  output: z.object({
    key_id: z.string(),
    scopes: z.array(z.string()),
    trade_envs: z.array(z.enum(['simulate', 'real'])).describe('Envs this key may trade in'),
    limit_currency: z.string(),
    limits: z.object({
      allowed_markets: list,
      allowed_symbols: list,
      allowed_trd_sides: list,
      allowed_acc_ids: list,
      max_order_value: money.nullable(),
      max_daily_value: money.nullable(),
      max_orders_per_minute: z.number().nullable(),
      max_cancels_per_minute: z.number(),
      hours_window: z.string().nullable().describe('HH:MM-HH:MM, server local time'),
      manage_any_order: z.boolean(),
    }),
    daily_value_used: money.describe('Committed today (UTC) plus orders in flight'),
    daily_value_remaining: money.nullable().describe('null: no daily limit'),
    orders_left_this_minute: z.number().nullable().describe('null: no rate limit'),
    next_order_slot_at: z.string().nullable().describe('When the next order fits the rate limit (now if it does)'),
    hours_window_open: z.boolean().nullable(),
    hours_window_next_change_at: z.string().nullable().describe('When the hours window next opens or closes'),
    require_confirmation: z.string().describe('never, real, always or "above N": when a human must confirm'),
    confirmation_channel: z.string(),
    halted: z.boolean().describe('true: trading is halted for this key (cancels still work)'),
    halt_reason: z.string().nullable(),
    expires_at: z.string().nullable(),
  }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) => {
    const left = r.daily_value_remaining === null ? 'no daily limit' : `${r.limit_currency} ${r.daily_value_remaining} left today`;
    const rate = r.orders_left_this_minute === null ? '' : `, ${r.orders_left_this_minute} orders left this minute`;
    const halt = r.halted ? `; HALTED: ${r.halt_reason ?? ''}` : '';
    return `Key ${r.key_id}: ${left}${rate}; confirmation ${r.require_confirmation}${halt}`;
  },
  authz: async (args) => callPlan('futu_get_limits', args),
  execute: async (_args, ctx) => {
    if (!ctx.ownLimits) throw new Error('futu_get_limits: the pipeline gave no view of the key\'s limits');
    return ctx.ownLimits();
  },
});
