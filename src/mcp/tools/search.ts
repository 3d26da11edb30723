import { z } from 'zod';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { count } from './args.js';
import { csvOf, joinFirst, plural } from './format.js';
import { defineTool } from './kit.js';
import { callPlan } from './plans.js';

export const search = defineTool({
  name: 'futu_search',
  title: 'Find securities by name or code',
  description:
    'Symbols matching a company name, ticker or code in any language ("Tencent", "腾讯", "700", "apple"), with market and type. ' +
    'Use it first when the user names a company instead of giving a symbol.',
  scope: 'qot:read',
  input: z.strictObject({
    query: z.string().trim().min(1).max(64).describe('Name, ticker or code'),
    limit: count('Max results', 10, 50),
  }),
  output: z.object({
    query: z.string(),
    results: z.array(z.object({ symbol: z.string(), name: z.string(), sec_type: z.string(), in_watchlist: z.boolean() })),
  }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) => `"${r.query}": ${plural(r.results.length, 'match', 'matches')}${r.results.length ? ` — ${joinFirst(r.results.map((s) => `${s.symbol} ${s.name}`), 5)}` : ''}`,
  render: (r) => csvOf(['symbol', 'name', 'sec_type', 'in_watchlist'], r.results),
  authz: async (args) => callPlan('futu_search', args),
  execute: async (args, ctx) => {
    const hits = await ctx.gateway.research.search(args.query, args.limit);
    return { query: args.query, results: hits.map((h) => ({ symbol: h.symbol, name: h.name, sec_type: h.secType, in_watchlist: h.watched })) };
  },
});
