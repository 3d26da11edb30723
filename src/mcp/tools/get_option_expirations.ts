import { z } from 'zod';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { symbol } from './args.js';
import { csvOf, joinFirst } from './format.js';
import { defineTool } from './kit.js';
import { callPlan } from './plans.js';

export const getOptionExpirations = defineTool({
  name: 'futu_get_option_expirations',
  title: 'Option expiry dates',
  description: 'Expiry dates of the options on an underlying (weekly and monthly), with days left. Pass one to futu_get_option_chain.',
  scope: 'qot:read',
  input: z.strictObject({ symbol: symbol.describe('Underlying, e.g. US.AAPL') }),
  output: z.object({ symbol: z.string(), expirations: z.array(z.object({ date: z.string(), days_left: z.number(), cycle: z.string().optional() })) }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) => `${r.symbol}: ${r.expirations.length} expiries — ${joinFirst(r.expirations.map((e) => `${e.date} (${e.days_left}d)`), 4)}`,
  render: (r) => csvOf(['date', 'days_left', 'cycle'], r.expirations),
  authz: async (args) => callPlan('futu_get_option_expirations', args),
  execute: async (args, ctx) => {
    const dates = await ctx.gateway.research.getOptionExpirations(args.symbol);
    return { symbol: args.symbol, expirations: dates.map((d) => ({ date: d.date, days_left: d.daysLeft, cycle: d.cycle })) };
  },
});
