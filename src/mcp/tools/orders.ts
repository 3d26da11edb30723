import type { z } from 'zod';
import type { ExistingOrder } from '../../authz/valuation.js';
import { GatewayError } from '../../gateway/errors.js';
import type { AccountRef, Order, OrderStatusName, TrdEnvName, TrdMarketName } from '../../gateway/types.js';
import { TRD_SIDES, type TrdSide } from '../../keys/types.js';
import { remarkCarries } from '../../authz/orderTag.js';
import { formatPrice, formatQty } from './format.js';
import type { ToolContext } from './kit.js';
import { accountFieldsOf, orderTypeLabel, type tradeResultShape } from './outputs.js';

/** Shared by the three trade tools: finding an existing order, and reporting an order after a call. */

const invalid = (message: string) => new GatewayError('INVALID_ARGUMENT', message);

/** Markets whose orders carry symbols this server can value (HK, US, A-shares). */
const ORDER_MARKETS: readonly TrdMarketName[] = ['HK', 'US', 'CN', 'HKCC'];

/** States after which OpenD refuses any change: saying so up front spares a rate-limit slot. */
const FINAL_STATUSES: ReadonlySet<OrderStatusName> = new Set([
  'SUBMIT_FAILED', 'FILLED_ALL', 'CANCELLED_PART', 'CANCELLED_ALL', 'FAILED', 'DISABLED', 'DELETED', 'FILL_CANCELLED',
]);

export interface LocatedOrder {
  readonly account: AccountRef;
  readonly order: Order;
}

/**
 * A working order by id, as the gateway reports it, and the account (market view) holding it.
 * Without acc_id every account of `env` the key may use is searched, so a model that kept only
 * the order id can still modify or cancel; an acc_id narrows the search and is checked against
 * `env`. Accounts outside the key's are never read: their orders' ids and states stay unknown.
 */
export async function findWorkingOrder(ctx: ToolContext, query: { orderId: string; env: TrdEnvName; accId?: string }): Promise<LocatedOrder> {
  if (query.accId !== undefined) await ctx.accounts.resolve({ accId: query.accId, env: query.env });
  const accounts = (await ctx.accounts.list()).filter(
    (a) => a.env === query.env && (query.accId === undefined || a.accId === query.accId) && ctx.accountAllowed(a.accId),
  );
  for (const a of accounts) {
    for (const trdMarket of a.trdMarkets) {
      if (trdMarket === 'UNKNOWN' || !ORDER_MARKETS.includes(trdMarket)) continue;
      const account: AccountRef = { accId: a.accId, env: query.env, trdMarket };
      const [order] = await ctx.gateway.getOrders(account, { orderIds: [query.orderId] });
      if (order) {
        if (FINAL_STATUSES.has(order.status as OrderStatusName)) {
          throw invalid(`order ${order.orderId} is ${order.status}: it can no longer be modified or cancelled`);
        }
        return { account, order };
      }
    }
  }
  const where = query.accId !== undefined ? `acc_id ${query.accId}` : `any ${query.env} account this key may use`;
  throw invalid(`order ${query.orderId} not found in ${where}: call futu_get_orders to list today's orders and their acc_id`);
}

/** The order read again (inside its lock): still working, or the call is refused as it would have been up front. */
export function refreshedOrder(ctx: ToolContext, account: AccountRef, orderId: string): () => Promise<ExistingOrder> {
  return async () => {
    const [order] = await ctx.gateway.getOrders(account, { orderIds: [orderId] });
    if (!order) throw invalid(`order ${orderId} not found in acc_id ${account.accId}: call futu_get_orders to list today's orders and their acc_id`);
    if (FINAL_STATUSES.has(order.status as OrderStatusName)) throw invalid(`order ${order.orderId} is ${order.status}: it can no longer be modified or cancelled`);
    return existingOrderOf(order);
  };
}

/** The order as the valuation needs it: its old value is what a modify is compared against. */
export function existingOrderOf(order: Order): ExistingOrder {
  const side = order.side;
  if (!isTrdSide(side)) throw invalid(`order ${order.orderId} has side ${side}, which this server cannot check against the limits`);
  return {
    orderId: order.orderId,
    symbol: order.symbol,
    side,
    qty: order.qty,
    ...(order.price !== undefined ? { price: order.price } : {}),
    ...(order.fillQty ? { filledQty: order.fillQty, ...(order.fillAvgPrice !== undefined ? { avgFillPrice: order.fillAvgPrice } : {}) } : {}),
  };
}

/** Shares of `symbol` the account can still sell, as OpenD reports them (open sells already deducted). */
export function sellableQty(ctx: ToolContext, account: AccountRef, symbol: string): () => Promise<number> {
  return async () => {
    const [position] = await ctx.gateway.getPositions(account, { symbols: [symbol] });
    return position?.canSellQty ?? 0;
  };
}

function isTrdSide(side: string): side is TrdSide {
  return (TRD_SIDES as readonly string[]).includes(side);
}

type TradeResult = z.input<typeof tradeResultShape>;

/** What the call asked for, reported as-is when the order cannot be read back. */
export interface RequestedOrder {
  readonly symbol: string;
  readonly side: string;
  readonly orderType: string;
  readonly qty: number;
  readonly price?: number;
}

/**
 * The order right after a place/modify/cancel. The read-back is best effort and never throws:
 * the order exists, and an error here would tell the model (and the limits ledger) otherwise.
 */
export async function tradeResult(ctx: ToolContext, account: AccountRef, orderId: string, requested: RequestedOrder): Promise<TradeResult> {
  const order = await readBack(ctx, account, orderId);
  if (order) return orderResult(account, order);
  return {
    ...followUp(account, orderId),
    symbol: requested.symbol,
    side: requested.side,
    order_type: orderTypeLabel(requested.orderType),
    qty: requested.qty,
    price: requested.price,
  };
}

/** An order as the trade tools report it. */
export function orderResult(account: AccountRef, order: Order): TradeResult {
  const filled = order.fillQty ?? 0;
  return {
    ...followUp(account, order.orderId),
    symbol: order.symbol,
    side: order.side,
    order_type: orderTypeLabel(order.orderType),
    qty: order.qty,
    price: order.price,
    status: order.status,
    filled_qty: filled,
    avg_fill_price: filled > 0 ? order.fillAvgPrice : undefined,
    last_error: order.lastErrMsg,
  };
}

function followUp(account: AccountRef, orderId: string) {
  return {
    ...accountFieldsOf(account),
    order_id: orderId,
    next: `Call futu_get_orders with acc_id "${account.accId}" and env "${account.env}" to follow it; futu_modify_order and futu_cancel_order take order_id "${orderId}".`,
  };
}

/**
 * The order of `account` whose remark carries `tag` (futu-mcp's tag of an intent), for the
 * reconciliation of orders whose outcome a lost link left unknown. Throws when OpenD cannot be
 * asked: "not found" must mean OpenD has no such order.
 */
export async function findTaggedOrder(gateway: ToolContext['gateway'], account: AccountRef, tag: string): Promise<Order | undefined> {
  const orders = await gateway.getOrders(account);
  return orders.find((o) => remarkCarries(o.remark, tag));
}

async function readBack(ctx: ToolContext, account: AccountRef, orderId: string): Promise<Order | undefined> {
  try {
    const [order] = await ctx.gateway.getOrders(account, { orderIds: [orderId] });
    return order;
  } catch {
    return undefined;
  }
}

/** "Placed order 123 (simulate acc 456): BUY 100 HK.00700 LIMIT @ 350.20 — SUBMITTED". */
export function summarizeTrade(verb: string, r: z.output<typeof tradeResultShape>): string {
  const price = r.order_type === 'MARKET' || r.price === undefined ? '' : ` @ ${formatPrice(r.price)}`;
  const status = r.status === undefined ? '' : ` — ${r.status}${r.filled_qty ? ` (${formatQty(r.filled_qty)} filled)` : ''}`;
  return `${verb} order ${r.order_id} (${r.env} acc ${r.acc_id}): ${r.side} ${formatQty(r.qty)} ${r.symbol} ${r.order_type}${price}${status}`;
}
