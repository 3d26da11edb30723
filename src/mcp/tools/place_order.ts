import { z } from 'zod';
import { tradeTermsFromArgs } from '../../authz/toolArgs.js';
import { parseSymbol } from '../../gateway/symbol.js';
import { TRADE_TOOL_ANNOTATIONS } from '../tool.js';
import { apiKey, clientOrderId, confirmationId, env, orderType, positivePrice, positiveQty, remark, side, symbol, tradeAccount, TRADE_RULES_HINT } from './args.js';
import { authorizedTrade, defineTool, type ToolContext } from './kit.js';
import { sellableQty, summarizeTrade, tradeResult } from './orders.js';
import { remarkWithTag } from '../../authz/orderTag.js';
import { tradeResultShape } from './outputs.js';

const input = z
  .strictObject({
    symbol,
    side,
    order_type: orderType,
    qty: positiveQty,
    price: positivePrice.optional(),
    env,
    acc_id: tradeAccount,
    remark: remark.optional(),
    client_order_id: clientOrderId.optional(),
    confirmation_id: confirmationId,
    api_key: apiKey,
  })
  .superRefine((a, ctx) => {
    if (a.order_type === 'LIMIT' && a.price === undefined) {
      ctx.addIssue({ code: 'custom', path: ['price'], message: 'a LIMIT order needs price (in the security\'s currency); or use order_type MARKET' });
    }
    if (a.order_type === 'MARKET' && a.price !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['price'], message: 'a MARKET order takes no price: omit price, or use order_type LIMIT' });
    }
  });

/** The account named by acc_id, or the first account of the env the key may use that trades the symbol's market. */
function orderAccount(args: z.output<typeof input>, ctx: ToolContext) {
  return ctx.accounts.resolve({ accId: args.acc_id, env: args.env, market: parseSymbol(args.symbol).market, usable: ctx.accountAllowed });
}

export const placeOrder = defineTool({
  name: 'futu_place_order',
  title: 'Place an order',
  description:
    'Places a LIMIT (default; needs price) or MARKET (no price) order to BUY or SELL qty shares of one security, e.g. symbol "HK.00700". ' +
    'HK and A-share quantities must be multiples of the lot size (futu_get_static); price is in the security\'s currency. ' +
    TRADE_RULES_HINT +
    ' Send a client_order_id; reuse it when retrying (after ORDER_OUTCOME_UNKNOWN) to get the first order back, never a second.' +
    ' Returns the order_id (a string) and its status; follow it with futu_get_orders.',
  scope: 'trade',
  input,
  output: tradeResultShape,
  annotations: TRADE_TOOL_ANNOTATIONS,
  summarize: (r) => summarizeTrade('Placed', r),
  authz: async (args, ctx) => {
    const account = await orderAccount(args, ctx);
    return { kind: 'trade', env: args.env, account, terms: tradeTermsFromArgs('futu_place_order', args), sellable: sellableQty(ctx, account, args.symbol) };
  },
  execute: async (args, ctx) => {
    const { account } = authorizedTrade(ctx, 'futu_place_order');
    if (ctx.orderTag === undefined) throw new Error('futu_place_order: execute called without its order tag');
    const placed = await ctx.gateway.placeOrder(account, {
      symbol: args.symbol,
      side: args.side,
      orderType: args.order_type === 'MARKET' ? 'MARKET' : 'NORMAL',
      qty: args.qty,
      price: args.price,
      remark: remarkWithTag(ctx.orderTag, args.remark),
    });
    const result = await tradeResult(ctx, account, placed.orderId, { symbol: args.symbol, side: args.side, orderType: args.order_type, qty: args.qty, price: args.price });
    return args.client_order_id === undefined ? result : { ...result, client_order_id: args.client_order_id };
  },
});
