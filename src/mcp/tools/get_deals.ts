import { z } from 'zod';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { accountFilter, symbol } from './args.js';
import { csvOf, joinFirst, plural } from './format.js';
import { defineTool } from './kit.js';
import { accountsCovered, dealLine, dealOf, dealShape, DEAL_COLUMNS } from './outputs.js';
import { accountsPlan, authorizedViews, readEach } from './plans.js';

export const getDeals = defineTool({
  name: 'futu_get_deals',
  title: "Today's fills",
  description:
    'Today\'s executions (fills): quantity, price and time of each, with its order_id. Earlier days: futu_get_history_deals. ' +
    'OpenD may report none for simulate accounts: see filled_qty in futu_get_orders.',
  scope: 'acc:read',
  input: z.strictObject({ ...accountFilter, symbol: symbol.optional() }),
  output: z.object({ deals: z.array(dealShape) }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) => `${plural(r.deals.length, 'fill')} today in ${accountsCovered(r.deals)}${r.deals.length ? ` — ${joinFirst(r.deals.map((d) => dealLine(d, false)), 5)}` : ''}`,
  render: (r) => csvOf(DEAL_COLUMNS, r.deals),
  authz: (args, ctx) => accountsPlan('futu_get_deals', args, ctx),
  execute: async (args, ctx) => {
    const views = await authorizedViews(args, ctx);
    const filter = args.symbol === undefined ? {} : { symbols: [args.symbol] };
    return { deals: await readEach(views, async (view) => (await ctx.gateway.getFills(view, filter)).map(dealOf)) };
  },
});
