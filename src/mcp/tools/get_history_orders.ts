import { z } from 'zod';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { accountFilter, orderStatuses, symbol } from './args.js';
import { csvOf, joinFirst, plural } from './format.js';
import { historyRange, historyRangeArgs, historyRangeOutput, newestFirst, readWindows } from './history.js';
import { defineTool } from './kit.js';
import { accountOrderShape, accountsCovered, orderLine, orderOf, ORDER_COLUMNS } from './outputs.js';
import { accountsPlan, authorizedViews, readEach } from './plans.js';

export const getHistoryOrders = defineTool({
  name: 'futu_get_history_orders',
  title: 'Past orders',
  description:
    'Orders of past days in any state (filled, cancelled, failed...), newest first: the last 30 days by default, up to a year per call.',
  scope: 'acc:read',
  input: z.strictObject({ ...accountFilter, ...historyRangeArgs, symbol: symbol.optional(), status: orderStatuses.optional() }),
  output: z.object({ ...historyRangeOutput, orders: z.array(accountOrderShape) }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) =>
    `${plural(r.orders.length, 'order')} ${r.begin} … ${r.end} in ${accountsCovered(r.orders)}${r.truncated ? ' (truncated: more exist)' : ''}` +
    `${r.orders.length ? ` — ${joinFirst(r.orders.map(orderLine), 3)}` : ''}`,
  render: (r) => csvOf(ORDER_COLUMNS, r.orders),
  authz: (args, ctx) => accountsPlan('futu_get_history_orders', args, ctx),
  execute: async (args, ctx) => {
    const [views, range] = await Promise.all([authorizedViews(args, ctx), historyRange(args, ctx)]);
    const filter = {
      ...(args.symbol !== undefined ? { symbols: [args.symbol] } : {}),
      ...(args.status !== undefined ? { statuses: args.status } : {}),
    };
    const all = await readEach(views, async (view) =>
      (await readWindows(view, range, (v, w) => ctx.gateway.getHistoryOrders(v, { ...w, ...filter }))).map(orderOf),
    );
    const { rows, truncated } = newestFirst(all, (o) => o.create_time, args.limit);
    return { ...range, orders: rows, truncated };
  },
});
