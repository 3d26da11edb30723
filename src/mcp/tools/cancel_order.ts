import { z } from 'zod';
import { tradeTermsFromArgs } from '../../authz/toolArgs.js';
import { TRADE_TOOL_ANNOTATIONS } from '../tool.js';
import { apiKey, confirmationId, env, orderId, tradeAccount, TRADE_RULES_HINT } from './args.js';
import { authorizedTrade, defineTool } from './kit.js';
import { existingOrderOf, findWorkingOrder, refreshedOrder, summarizeTrade, tradeResult } from './orders.js';
import { tradeResultShape } from './outputs.js';

export const cancelOrder = defineTool({
  name: 'futu_cancel_order',
  title: 'Cancel an order',
  description:
    'Cancels the unfilled part of a working order (status SUBMITTED or FILLED_PART); shares already filled stay filled. ' +
    'order_id is a string from futu_get_orders; acc_id is optional (your accounts in env are searched). Only this key\'s own orders (unless manage_any_order). ' +
    'Exempt from the rate and hours limits; the unfilled value returns to the day\'s budget. ' +
    TRADE_RULES_HINT,
  scope: 'trade',
  input: z.strictObject({ order_id: orderId, env, acc_id: tradeAccount, confirmation_id: confirmationId, api_key: apiKey }),
  output: tradeResultShape,
  annotations: TRADE_TOOL_ANNOTATIONS,
  summarize: (r) => summarizeTrade('Cancelled', r),
  authz: async (args, ctx) => {
    const { account, order } = await findWorkingOrder(ctx, { orderId: args.order_id, env: args.env, accId: args.acc_id });
    return { kind: 'trade', env: args.env, account, terms: tradeTermsFromArgs('futu_cancel_order', args, existingOrderOf(order)), refresh: refreshedOrder(ctx, account, order.orderId) };
  },
  execute: async (args, ctx) => {
    const { account, terms } = authorizedTrade(ctx, 'futu_cancel_order');
    const { existing } = terms;
    const cancelled = await ctx.gateway.modifyOrder(account, { orderId: args.order_id, op: 'cancel' });
    return tradeResult(ctx, account, cancelled.orderId, { symbol: existing.symbol, side: existing.side, orderType: existing.price ? 'LIMIT' : 'MARKET', qty: existing.qty, price: existing.price });
  },
});
