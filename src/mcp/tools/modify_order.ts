import { z } from 'zod';
import { tradeTermsFromArgs } from '../../authz/toolArgs.js';
import { GatewayError } from '../../gateway/errors.js';
import type { ExistingOrder } from '../../authz/valuation.js';
import { TRADE_TOOL_ANNOTATIONS } from '../tool.js';
import { apiKey, confirmationId, env, orderId, positivePrice, positiveQty, tradeAccount, TRADE_RULES_HINT } from './args.js';
import { authorizedTrade, defineTool } from './kit.js';
import { existingOrderOf, findWorkingOrder, refreshedOrder, sellableQty, summarizeTrade, tradeResult } from './orders.js';
import { tradeResultShape } from './outputs.js';

/** OpenD's modify takes both qty and price: what the call leaves out is kept from the order. */
function amended(orderId: string, order: ExistingOrder, change: { qty?: number; price?: number }): { qty: number; price: number } {
  const price = change.price ?? order.price;
  if (price === undefined || price <= 0) throw new GatewayError('INVALID_ARGUMENT', `order ${orderId} has no limit price: give price`);
  return { qty: change.qty ?? order.qty, price };
}

export const modifyOrder = defineTool({
  name: 'futu_modify_order',
  title: 'Modify an order',
  description:
    'Changes qty and/or limit price of a working order (SUBMITTED or FILLED_PART), e.g. {"order_id":"…","price":351.2}. ' +
    'qty is the new total including any filled part; what you leave out stays. order_id is a string from futu_get_orders; ' +
    'acc_id is optional (your accounts in env are searched). Only this key\'s own orders (unless manage_any_order). ' +
    TRADE_RULES_HINT +
    ' Lowering qty/price is exempt from the rate and hours limits. To withdraw an order use futu_cancel_order.',
  scope: 'trade',
  input: z
    .strictObject({
      order_id: orderId,
      qty: positiveQty.optional().describe('New total quantity in shares (including any filled part)'),
      price: positivePrice.optional().describe('New limit price in the security\'s currency'),
      env,
      acc_id: tradeAccount,
      confirmation_id: confirmationId,
      api_key: apiKey,
    })
    .refine((a) => a.qty !== undefined || a.price !== undefined, { path: ['qty'], message: 'give qty, price or both: the order\'s new values' }),
  output: tradeResultShape,
  annotations: TRADE_TOOL_ANNOTATIONS,
  summarize: (r) => summarizeTrade('Modified', r),
  authz: async (args, ctx) => {
    const { account, order } = await findWorkingOrder(ctx, { orderId: args.order_id, env: args.env, accId: args.acc_id });
    const existing = existingOrderOf(order);
    amended(args.order_id, existing, args); // a change OpenD cannot take is refused before it costs a rate-limit slot
    return { kind: 'trade', env: args.env, account, terms: tradeTermsFromArgs('futu_modify_order', args, existing), sellable: sellableQty(ctx, account, existing.symbol), refresh: refreshedOrder(ctx, account, order.orderId) };
  },
  execute: async (args, ctx) => {
    const { account, terms } = authorizedTrade(ctx, 'futu_modify_order');
    const { qty, price } = amended(args.order_id, terms.existing, args);
    const modified = await ctx.gateway.modifyOrder(account, { orderId: args.order_id, op: 'normal', qty, price });
    return tradeResult(ctx, account, modified.orderId, { symbol: terms.existing.symbol, side: terms.existing.side, orderType: 'LIMIT', qty, price });
  },
});
