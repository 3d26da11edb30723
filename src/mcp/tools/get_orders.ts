import { z } from 'zod';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { accountFilter, orderStatuses, symbol } from './args.js';
import { csvOf, joinFirst, plural } from './format.js';
import { defineTool } from './kit.js';
import { accountOrderShape, accountsCovered, orderLine, orderOf, ORDER_COLUMNS } from './outputs.js';
import { accountsPlan, authorizedViews, readEach } from './plans.js';

export const getOrders = defineTool({
  name: 'futu_get_orders',
  title: "Today's orders",
  description:
    'Today\'s orders and older ones still working, with order_id (for modify or cancel), status, quantities and prices. ' +
    'Earlier days: futu_get_history_orders.',
  scope: 'acc:read',
  input: z.strictObject({ ...accountFilter, symbol: symbol.optional(), status: orderStatuses.optional() }),
  output: z.object({ orders: z.array(accountOrderShape) }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) => `${plural(r.orders.length, 'order')} today in ${accountsCovered(r.orders)}${r.orders.length ? ` — ${joinFirst(r.orders.map(orderLine), 5)}` : ''}`,
  render: (r) => csvOf(ORDER_COLUMNS, r.orders),
  authz: (args, ctx) => accountsPlan('futu_get_orders', args, ctx),
  execute: async (args, ctx) => {
    const views = await authorizedViews(args, ctx);
    const filter = {
      ...(args.symbol !== undefined ? { symbols: [args.symbol] } : {}),
      ...(args.status !== undefined ? { statuses: args.status } : {}),
    };
    return { orders: await readEach(views, async (view) => (await ctx.gateway.getOrders(view, filter)).map(orderOf)) };
  },
});
