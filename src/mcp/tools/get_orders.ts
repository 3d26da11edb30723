import { z } from 'zod';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { accountSelector, ACCOUNT_SELECTION_HINT, orderStatuses, symbol } from './args.js';
import { formatPrice, formatQty, joinFirst, plural } from './format.js';
import { defineTool } from './kit.js';
import { accountFieldsOf, accountShape, orderOf, orderShape } from './outputs.js';
import { accountPlan, readAccount } from './plans.js';

export const getOrders = defineTool({
  name: 'futu_get_orders',
  title: "Today's orders",
  description:
    'Today\'s orders of one account (and still-working older ones): order_id (a string), side, type, status, quantity, limit price, ' +
    'filled quantity and average fill price. ' +
    ACCOUNT_SELECTION_HINT +
    ' Optional symbol and status (e.g. ["SUBMITTED","FILLED_PART"] for working orders) filter the list.',
  scope: 'acc:read',
  input: z.strictObject({
    ...accountSelector,
    symbol: symbol.optional().describe('Only orders for this security, e.g. HK.00700'),
    status: orderStatuses.optional(),
  }),
  output: z.object({ ...accountShape, orders: z.array(orderShape) }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) => {
    const lines = r.orders.map((o) => `${o.order_id} ${o.side} ${formatQty(o.qty)} ${o.symbol}${o.price !== undefined ? ` @ ${formatPrice(o.price)}` : ''} ${o.status}`);
    return `acc ${r.acc_id} (${r.env} ${r.trd_market}): ${plural(r.orders.length, 'order')}${lines.length ? ` — ${joinFirst(lines, 5)}` : ''}`;
  },
  authz: (args, ctx) => accountPlan('futu_get_orders', args, ctx),
  execute: async (args, ctx) => {
    const account = await readAccount(args, ctx);
    const orders = await ctx.gateway.getOrders(account, {
      ...(args.symbol !== undefined ? { symbols: [args.symbol] } : {}),
      ...(args.status !== undefined ? { statuses: args.status } : {}),
    });
    return { ...accountFieldsOf(account), orders: orders.map(orderOf) };
  },
});
