import { z } from 'zod';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { symbol } from './args.js';
import { formatPrice } from './format.js';
import { defineTool } from './kit.js';
import { callPlan } from './plans.js';

export const getAnalystConsensus = defineTool({
  name: 'futu_get_analyst_consensus',
  title: 'Analyst consensus',
  description: 'Analysts\' consensus rating over the last 3 months, how their ratings split (percent), and the high, average and low target prices.',
  scope: 'qot:read',
  input: z.strictObject({ symbol }),
  output: z.object({
    symbol: z.string(),
    rating: z.string().optional().describe('STRONG_BUY, BUY, HOLD, UNDERPERFORM or SELL'),
    analysts: z.number().optional(),
    target_high: z.number().optional(),
    target_average: z.number().optional(),
    target_low: z.number().optional(),
    distribution: z.record(z.string(), z.number()).describe('Rating → percent of analysts'),
    updated: z.string().optional(),
  }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) =>
    `${r.symbol}: ${r.rating ?? 'no rating'}${r.analysts !== undefined ? ` (${r.analysts} analysts)` : ''}` +
    `${r.target_average !== undefined ? `, target ${formatPrice(r.target_average)}` : ''}`,
  authz: async (args) => callPlan('futu_get_analyst_consensus', args),
  execute: async (args, ctx) => {
    const c = await ctx.gateway.research.getAnalystConsensus(args.symbol);
    return {
      symbol: args.symbol,
      rating: c.rating,
      analysts: c.analysts,
      target_high: c.targetHigh,
      target_average: c.targetAverage,
      target_low: c.targetLow,
      distribution: c.distribution,
      updated: c.updated,
    };
  },
});
