import { z } from 'zod';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { accountFilter, symbol } from './args.js';
import { csvOf, joinFirst, plural } from './format.js';
import { historyRange, historyRangeArgs, historyRangeOutput, newestFirst, readWindows } from './history.js';
import { defineTool } from './kit.js';
import { accountsCovered, dealLine, dealOf, dealShape, DEAL_COLUMNS } from './outputs.js';
import { accountsPlan, authorizedViews, readEach } from './plans.js';

export const getHistoryDeals = defineTool({
  name: 'futu_get_history_deals',
  title: 'Past fills',
  description:
    'Executions (fills) of past days, newest first: what actually traded, at which price and when. The last 30 days by default, up to a year per call.',
  scope: 'acc:read',
  input: z.strictObject({ ...accountFilter, ...historyRangeArgs, symbol: symbol.optional() }),
  output: z.object({ ...historyRangeOutput, deals: z.array(dealShape) }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) =>
    `${plural(r.deals.length, 'fill')} ${r.begin} … ${r.end} in ${accountsCovered(r.deals)}${r.truncated ? ' (truncated: more exist)' : ''}` +
    `${r.deals.length ? ` — ${joinFirst(r.deals.map((d) => dealLine(d, true)), 3)}` : ''}`,
  render: (r) => csvOf(DEAL_COLUMNS, r.deals),
  authz: (args, ctx) => accountsPlan('futu_get_history_deals', args, ctx),
  execute: async (args, ctx) => {
    const [views, range] = await Promise.all([authorizedViews(args, ctx), historyRange(args, ctx)]);
    const filter = args.symbol !== undefined ? { symbols: [args.symbol] } : {};
    const all = await readEach(views, async (view) => (await readWindows(view, range, (v, w) => ctx.gateway.getHistoryFills(v, { ...w, ...filter }))).map(dealOf));
    const { rows, truncated } = newestFirst(all, (d) => d.time, args.limit);
    return { ...range, deals: rows, truncated };
  },
});
