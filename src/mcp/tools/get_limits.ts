import { z } from 'zod';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { defineTool } from './kit.js';
import { callPlan } from './plans.js';

/** Money in major units of limit_currency; null on a limit or an allowlist means none. */
const money = z.number();

export const getLimits = defineTool({
  name: 'futu_get_limits',
  title: 'Your limits',
  description:
    'Your key\'s limits (as in keys.json) and what is left now: daily value (in limit_currency), orders this minute, hours, confirmation, halt. Call before trading.',
  scope: 'own-limits',
  input: z.strictObject({}),
  output: z.object({
    key_id: z.string(),
    scopes: z.array(z.string()),
    trade_envs: z.array(z.enum(['simulate', 'real'])),
    limit_currency: z.string(),
    limits: z.record(z.string(), z.unknown()),
    daily_value_used: money,
    daily_value_remaining: money.nullable(),
    orders_left_this_minute: z.number().nullable(),
    next_order_slot_at: z.string().nullable(),
    hours_window_open: z.boolean().nullable(),
    hours_window_next_change_at: z.string().nullable(),
    require_confirmation: z.string(),
    confirmation_channel: z.string(),
    halted: z.boolean(),
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
