import { z } from 'zod';
import { SIMPLE_ORDER_TYPE } from '../../gateway/enums.js';
import { GatewayError } from '../../gateway/errors.js';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { accId, envFilter, orderType, symbol } from './args.js';
import { csvOf, formatPrice, joinFirst } from './format.js';
import { defineTool } from './kit.js';
import { accountShape, ACCOUNT_COLUMNS } from './outputs.js';
import { accountsPlan, authorizedViews, readEach } from './plans.js';

const COLUMNS = [...ACCOUNT_COLUMNS, 'cash_buy', 'margin_buy', 'position_sell', 'sell_short', 'buy_back'] as const;

export const getMaxTradeQty = defineTool({
  name: 'futu_get_max_trade_qty',
  title: 'Max tradable quantity',
  description:
    'Shares (whole lots) each of the key\'s accounts could buy (cash, margin) or sell (position, short) of a security at a price (default last): sizes an order.',
  scope: 'acc:read',
  input: z.strictObject({
    symbol,
    price: z.number().positive().finite().optional().describe('Default the last price'),
    order_type: orderType,
    acc_id: accId.optional(),
    env: envFilter,
  }),
  output: z.object({
    symbol: z.string(),
    price: z.number(),
    accounts: z.array(
      z.object({
        ...accountShape,
        cash_buy: z.number().describe('Buy with own cash'),
        margin_buy: z.number().optional().describe('Buy with cash and margin'),
        position_sell: z.number().describe('Sell from the position'),
        sell_short: z.number().optional(),
        buy_back: z.number().optional().describe('Short shares to buy back'),
      }),
    ),
  }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) => `${r.symbol} @ ${formatPrice(r.price)}: ${joinFirst(r.accounts.map((a) => `${a.acc_id} (${a.env}) buy ${a.cash_buy} cash / ${a.margin_buy ?? '-'} margin, sell ${a.position_sell}`), 4)}`,
  render: (r) => csvOf(COLUMNS, r.accounts),
  authz: (args, ctx) => accountsPlan('futu_get_max_trade_qty', args, ctx),
  execute: async (args, ctx) => {
    const views = await authorizedViews(args, ctx);
    const price = args.price ?? (await ctx.gateway.getSnapshots([args.symbol], { holder: ctx.keyId }))[0]?.price;
    if (price === undefined || !(price > 0)) throw new GatewayError('INVALID_ARGUMENT', `no last price for ${args.symbol}: pass price`);
    const type = SIMPLE_ORDER_TYPE.value(args.order_type === 'MARKET' ? 'MARKET' : 'NORMAL', 'order_type');
    const rows = await readEach(views, async (view) => {
      const q = await ctx.gateway.research.getMaxQuantities(view, args.symbol, price, type);
      return [{ cash_buy: q.cashBuy, margin_buy: q.marginBuy, position_sell: q.positionSell, sell_short: q.sellShort, buy_back: q.buyBack }];
    });
    return { symbol: args.symbol, price, accounts: rows };
  },
});
