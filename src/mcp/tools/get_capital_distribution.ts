import { z } from 'zod';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { symbol } from './args.js';
import { formatMoney } from './format.js';
import { defineTool } from './kit.js';
import { callPlan } from './plans.js';
import { currencyField } from './research.js';

const SIZES = ['super', 'big', 'mid', 'small'] as const;
const bySize = z.object({ super: z.number(), big: z.number(), mid: z.number(), small: z.number() });

export const getCapitalDistribution = defineTool({
  name: 'futu_get_capital_distribution',
  title: 'Capital distribution',
  description: 'Today\'s turnover of a security split by order size (super, big, mid, small): money in (buyer-initiated), out (seller-initiated) and net. Shows whether large players are buying.',
  scope: 'qot:read',
  input: z.strictObject({ symbol }),
  output: z.object({ symbol: z.string(), currency: z.string(), updated: z.string().optional(), inflow: bySize, outflow: bySize, net: bySize, net_total: z.number() }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) => `${r.symbol} net ${formatMoney(r.net_total)} ${r.currency}: ${SIZES.map((s) => `${s} ${formatMoney(r.net[s])}`).join(', ')}`,
  authz: async (args) => callPlan('futu_get_capital_distribution', args),
  execute: async (args, ctx) => {
    const d = await ctx.gateway.research.getCapitalDistribution(args.symbol);
    const net = Object.fromEntries(SIZES.map((s) => [s, Math.round((d.inflow[s] - d.outflow[s]) * 1000) / 1000])) as Record<(typeof SIZES)[number], number>;
    return {
      symbol: args.symbol,
      ...currencyField(args.symbol),
      updated: d.updated,
      inflow: d.inflow,
      outflow: d.outflow,
      net,
      net_total: Math.round(SIZES.reduce((sum, s) => sum + d.inflow[s] - d.outflow[s], 0) * 1000) / 1000,
    };
  },
});
