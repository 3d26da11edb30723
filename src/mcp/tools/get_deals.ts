import { z } from 'zod';
import type { Fill } from '../../gateway/types.js';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { accountSelector, ACCOUNT_SELECTION_HINT, symbol } from './args.js';
import { formatPrice, formatQty, joinFirst, plural } from './format.js';
import { defineTool } from './kit.js';
import { accountFieldsOf, accountShape, symbolField, timeField } from './outputs.js';
import { accountPlan, readAccount } from './plans.js';

const dealShape = z.object({
  deal_id: z.string().describe('Fill id (decimal string)'),
  order_id: z.string().optional().describe('The order this fill belongs to (decimal string)'),
  symbol: symbolField,
  name: z.string(),
  side: z.string().describe('BUY, SELL, SELL_SHORT or BUY_BACK'),
  qty: z.number().describe('Shares filled'),
  price: z.number().describe('Fill price, in the security\'s currency'),
  time: timeField('Fill time'),
  counter_broker_name: z.string().optional().describe('The other side\'s broker (HK)'),
});

function dealOf(f: Fill): z.input<typeof dealShape> {
  return {
    deal_id: f.fillId,
    order_id: f.orderId,
    symbol: f.symbol,
    name: f.name,
    side: f.side,
    qty: f.qty,
    price: f.price,
    time: f.createTime,
    counter_broker_name: f.counterBrokerName,
  };
}

export const getDeals = defineTool({
  name: 'futu_get_deals',
  title: "Today's fills",
  description:
    'Today\'s executions (fills) of one account: quantity, price and time of each fill, with its order_id. ' +
    ACCOUNT_SELECTION_HINT +
    ' Optional symbol filters. Futu\'s own OpenD may answer no fills for simulate accounts: then use futu_get_orders (filled_qty, avg_fill_price).',
  scope: 'acc:read',
  input: z.strictObject({ ...accountSelector, symbol: symbol.optional().describe('Only fills of this security, e.g. HK.00700') }),
  output: z.object({ ...accountShape, deals: z.array(dealShape) }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) => {
    const lines = r.deals.map((d) => `${d.side} ${formatQty(d.qty)} ${d.symbol} @ ${formatPrice(d.price)} ${d.time.slice(11)}`);
    return `acc ${r.acc_id} (${r.env} ${r.trd_market}): ${plural(r.deals.length, 'fill')}${lines.length ? ` — ${joinFirst(lines, 5)}` : ''}`;
  },
  authz: (args, ctx) => accountPlan('futu_get_deals', args, ctx),
  execute: async (args, ctx) => {
    const account = await readAccount(args, ctx);
    const fills = await ctx.gateway.getFills(account, args.symbol === undefined ? {} : { symbols: [args.symbol] });
    return { ...accountFieldsOf(account), deals: fills.map(dealOf) };
  },
});
