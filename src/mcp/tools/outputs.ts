import { z } from 'zod';
import type { AccountRef, BasicQuote, Fill, Order, Snapshot, StaticInfo } from '../../gateway/types.js';
import { changeFields, formatPercent, formatPrice, formatQty, quoteCurrency } from './format.js';

/**
 * Output shapes shared by several tools, and the mappers from the gateway's camelCase results.
 * Every output schema is also an allowlist: a field not named here never reaches the client.
 */

export const symbolField = z.string().describe('Security as MARKET.CODE, e.g. HK.00700');
export const timeField = (what: string) => z.string().describe(`${what}, exchange-local "YYYY-MM-DD HH:MM:SS"`);

/** What futu_get_quote and futu_get_snapshot both report about the current price. */
export const priceShape = {
  symbol: symbolField,
  name: z.string().optional(),
  currency: z.string().describe('Currency of every price field (HKD, USD, CNY)'),
  price: z.number().describe('Last traded price'),
  open: z.number(),
  high: z.number(),
  low: z.number(),
  last_close: z.number().describe('Previous session\'s close'),
  change: z.number().optional().describe('price - last_close'),
  change_rate: z.number().optional().describe('Change vs last_close in percent, 2 decimals (1.21 = +1.21%)'),
  volume: z.number().describe('Shares traded this session'),
  turnover: z.number().describe('Value traded this session, in currency'),
  turnover_rate: z.number().describe('Percent of the float traded this session'),
  amplitude: z.number().optional().describe('(high - low) / last_close, in percent'),
  is_suspended: z.boolean(),
  update_time: timeField('Time of the last price'),
};

export function priceFieldsOf(q: BasicQuote | Snapshot) {
  return {
    symbol: q.symbol,
    name: q.name,
    currency: quoteCurrency(q.symbol),
    price: q.price,
    open: q.open,
    high: q.high,
    low: q.low,
    last_close: q.lastClose,
    ...changeFields(q.price, q.lastClose),
    volume: q.volume,
    turnover: q.turnover,
    turnover_rate: q.turnoverRate,
    amplitude: q.amplitude,
    is_suspended: q.isSuspended,
    update_time: q.updateTime,
  };
}

/** "HK.00700 Tencent Holdings 350.20 HKD (+1.21%)". */
export function quoteLine(q: { symbol: string; name?: string; price: number; currency: string; change_rate?: number; is_suspended: boolean }): string {
  const change = q.change_rate === undefined ? '' : ` (${formatPercent(q.change_rate)})`;
  const suspended = q.is_suspended ? ' [suspended]' : '';
  return `${q.symbol}${q.name ? ` ${q.name}` : ''} ${formatPrice(q.price)} ${q.currency}${change}${suspended}`;
}

/** Static facts about a security (futu_get_static, futu_plate_stocks). */
export const securityShape = z.object({
  symbol: symbolField,
  name: z.string(),
  sec_type: z.string().describe('STOCK, ETF, WARRANT, IDX, ...'),
  lot_size: z.number().describe('Shares per board lot: HK and A-share order quantities must be multiples of it'),
  list_time: z.string().describe('Listing date'),
  delisted: z.boolean().optional(),
});

export function securityOf(s: StaticInfo): z.input<typeof securityShape> {
  return { symbol: s.symbol, name: s.name, sec_type: s.secType, lot_size: s.lotSize, list_time: s.listTime, delisted: s.delisted };
}

/** Which account (and which of its markets) an account result, or one row of it, belongs to. */
export const accountShape = {
  acc_id: z.string().describe('Account id (decimal string)'),
  env: z.enum(['simulate', 'real']).describe('simulate = paper trading; real = real money'),
  trd_market: z.string().describe('HK, US, CN (A-shares, simulate) or HKCC (A-shares via Stock Connect)'),
};

/** The account columns that open every account-read table. */
export const ACCOUNT_COLUMNS = ['acc_id', 'env', 'trd_market'] as const;

/** "2 real + 3 simulate accounts" for a summary line, from labelled rows. */
export function accountsCovered(rows: readonly { acc_id: string; env: string }[]): string {
  const ids = new Map(rows.map((r) => [r.acc_id, r.env]));
  const real = [...ids.values()].filter((e) => e === 'real').length;
  return `${real} real + ${ids.size - real} simulate account${ids.size === 1 ? '' : 's'}`;
}

export function accountFieldsOf(account: AccountRef) {
  return { acc_id: account.accId, env: account.env, trd_market: account.trdMarket };
}

const orderIdField = z.string().describe('Order id (decimal string): pass it to futu_modify_order or futu_cancel_order');
const sideField = z.string().describe('BUY, SELL, SELL_SHORT or BUY_BACK');
const orderTypeField = z.string().describe('LIMIT or MARKET (other Futu order types by their Futu name)');
const statusField = z
  .string()
  .describe('Futu order status: SUBMITTED / FILLED_PART are working; FILLED_ALL, CANCELLED_PART, CANCELLED_ALL, FAILED, DELETED are final');

export const orderShape = z.object({
  order_id: orderIdField,
  symbol: symbolField,
  name: z.string(),
  side: sideField,
  order_type: orderTypeField,
  status: statusField,
  qty: z.number().describe('Ordered quantity in shares (total, including what has filled)'),
  price: z.number().optional().describe('Limit price'),
  filled_qty: z.number().describe('Shares filled so far'),
  avg_fill_price: z.number().optional().describe('Average price of the fills; absent until something fills'),
  currency: z.string().optional(),
  create_time: timeField('Creation time'),
  update_time: timeField('Last change'),
  remark: z.string().optional(),
  last_error: z.string().optional().describe('Why the broker refused or cancelled the order, when it did'),
});

/** Futu calls a limit order NORMAL; the tools speak LIMIT in both directions. */
export function orderTypeLabel(orderType: string): string {
  return orderType === 'NORMAL' ? 'LIMIT' : orderType;
}

export function orderOf(o: Order): z.input<typeof orderShape> {
  const filled = o.fillQty ?? 0;
  return {
    order_id: o.orderId,
    symbol: o.symbol,
    name: o.name,
    side: o.side,
    order_type: orderTypeLabel(o.orderType),
    status: o.status,
    qty: o.qty,
    price: o.price,
    filled_qty: filled,
    avg_fill_price: filled > 0 ? o.fillAvgPrice : undefined,
    currency: o.currency,
    create_time: o.createTime,
    update_time: o.updateTime,
    remark: o.remark,
    last_error: o.lastErrMsg,
  };
}

/** An order as account reads list it: labelled with its account. */
export const accountOrderShape = orderShape.extend(accountShape);

export const ORDER_COLUMNS = [
  'acc_id', 'env', 'trd_market', 'order_id', 'symbol', 'name', 'side', 'order_type', 'status', 'qty', 'price', 'filled_qty', 'avg_fill_price',
  'currency', 'create_time', 'update_time', 'remark', 'last_error',
] as const;

/** One execution, labelled with its account. */
export const dealShape = z.object({
  ...accountShape,
  deal_id: z.string().describe('Fill id (decimal string)'),
  order_id: z.string().optional(),
  symbol: symbolField,
  name: z.string(),
  side: sideField,
  qty: z.number(),
  price: z.number(),
  time: timeField('Fill time'),
  counter_broker_name: z.string().optional().describe('The other side\'s broker (HK)'),
});

export const DEAL_COLUMNS = ['acc_id', 'env', 'trd_market', 'time', 'symbol', 'name', 'side', 'qty', 'price', 'deal_id', 'order_id', 'counter_broker_name'] as const;

export function dealOf(f: Fill) {
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

/** "BUY 100 HK.00700 @ 350.20 10:31:02" for summaries of fills. */
export function dealLine(d: { side: string; qty: number; symbol: string; price: number; time: string }, withDate: boolean): string {
  return `${d.side} ${formatQty(d.qty)} ${d.symbol} @ ${formatPrice(d.price)} ${withDate ? d.time.slice(0, 16) : d.time.slice(11, 19)}`;
}

/** "123 BUY 100 HK.00700 @ 350.20 FILLED_ALL" for summaries of orders. */
export function orderLine(o: { order_id: string; side: string; qty: number; symbol: string; price?: number; status: string }): string {
  return `${o.order_id} ${o.side} ${formatQty(o.qty)} ${o.symbol}${o.price !== undefined ? ` @ ${formatPrice(o.price)}` : ''} ${o.status}`;
}

/** What place, modify and cancel return: the order as read back right after the call. */
export const tradeResultShape = z.object({
  ...accountShape,
  order_id: orderIdField,
  symbol: symbolField,
  side: sideField,
  order_type: orderTypeField,
  qty: z.number().describe('Ordered quantity in shares'),
  price: z.number().optional().describe('Limit price'),
  status: statusField.optional().describe('Order status right after the call; absent if it could not be read back (the call itself succeeded)'),
  filled_qty: z.number().optional(),
  avg_fill_price: z.number().optional(),
  last_error: z.string().optional(),
  client_order_id: z.string().optional().describe('The client_order_id the order was placed with'),
  replay: z.boolean().optional().describe('true: this is the result of an earlier call with the same client_order_id; no new order was placed'),
  next: z.string().describe('How to follow up on this order'),
});
