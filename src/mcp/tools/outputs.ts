import { z } from 'zod';
import type { AccountRef, BasicQuote, Fill, Order, Snapshot, StaticInfo } from '../../gateway/types.js';
import { GatewayError } from '../../gateway/errors.js';
import { changeFields, formatPercent, formatPrice, formatQty, quoteCurrency } from './format.js';

/**
 * Output shapes shared by several tools, and the mappers from the gateway's camelCase results.
 * Every output schema is also an allowlist: a field not named here never reaches the client.
 */

export const symbolField = z.string();

/** What futu_get_quote and futu_get_snapshot both report about the current price. */
export const priceShape = {
  symbol: symbolField,
  name: z.string().optional(),
  currency: z.string(),
  price: z.number(),
  open: z.number(),
  high: z.number(),
  low: z.number(),
  last_close: z.number().describe('Previous session\'s close'),
  change: z.number().optional(),
  change_rate: z.number().optional().describe('vs last_close'),
  volume: z.number(),
  turnover: z.number(),
  turnover_rate: z.number().describe('Percent of the float'),
  amplitude: z.number().optional().describe('(high - low) / last_close'),
  is_suspended: z.boolean(),
  update_time: z.string(),
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
  lot_size: z.number().describe('Shares per board lot: HK and A-share quantities are multiples of it'),
  list_time: z.string(),
  delisted: z.boolean().optional(),
});

export function securityOf(s: StaticInfo): z.input<typeof securityShape> {
  return { symbol: s.symbol, name: s.name, sec_type: s.secType, lot_size: s.lotSize, list_time: s.listTime, delisted: s.delisted };
}

/** Which account (and which of its markets) an account result, or one row of it, belongs to. */
export const accountShape = {
  acc_id: z.string(),
  env: z.enum(['simulate', 'real']),
  trd_market: z.string(),
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

const orderIdField = z.string();
const sideField = z.string();
const orderTypeField = z.string();
const statusField = z
  .string()
  .describe('Working: SUBMITTED, FILLED_PART');

export const orderShape = z.object({
  order_id: orderIdField,
  symbol: symbolField,
  name: z.string(),
  side: sideField,
  order_type: orderTypeField,
  status: statusField,
  qty: z.number(),
  price: z.number().optional(),
  filled_qty: z.number(),
  avg_fill_price: z.number().optional(),
  currency: z.string().optional(),
  create_time: z.string(),
  update_time: z.string(),
  remark: z.string().optional(),
  last_error: z.string().optional().describe('Why the broker refused or cancelled it'),
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
  deal_id: z.string(),
  order_id: z.string().optional(),
  symbol: symbolField,
  name: z.string(),
  side: sideField,
  qty: z.number(),
  price: z.number(),
  time: z.string(),
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
  qty: z.number(),
  price: z.number().optional(),
  status: statusField.optional().describe('Absent if not read back (the call succeeded)'),
  filled_qty: z.number().optional(),
  avg_fill_price: z.number().optional(),
  last_error: z.string().optional(),
  client_order_id: z.string().optional().describe('The client_order_id the order was placed with'),
  replay: z.boolean().optional().describe('true: this is the result of an earlier call with the same client_order_id; no new order was placed'),
  next: z.string(),
});

/** Symbols of a batch read that failed on their own while the others succeeded. */
export const symbolErrorsField = z
  .array(z.object({ symbol: z.string(), error: z.string() }))
  .optional()
  .describe('Securities that could not be read (e.g. unknown), with why');

/**
 * A batch read answered per symbol: OpenD fails a whole request for one unknown code, so a
 * failed batch is retried symbol by symbol and the failures are listed instead of failing all.
 * A call whose every symbol fails (or that has one symbol) fails as before.
 */
export async function perSymbol<T>(symbols: readonly string[], read: (batch: readonly string[]) => Promise<T[]>): Promise<{ items: T[]; errors?: { symbol: string; error: string }[] }> {
  try {
    return { items: await read(symbols) };
  } catch (err) {
    if (symbols.length < 2 || !(err instanceof GatewayError) || err.code !== 'OPEND_ERROR') throw err;
    const settled = await Promise.allSettled(symbols.map((s) => read([s])));
    if (settled.every((r) => r.status === 'rejected')) throw err;
    const items: T[] = [];
    const errors: { symbol: string; error: string }[] = [];
    settled.forEach((r, i) => {
      if (r.status === 'fulfilled') items.push(...r.value);
      else errors.push({ symbol: symbols[i]!, error: r.reason instanceof GatewayError ? r.reason.message : 'could not be read' });
    });
    return { items, errors };
  }
}

/** "HK.99999: OpenD error: Unknown stock HK.99999" lines for a summary. */
export function symbolErrorLines(errors: readonly { symbol: string; error: string }[] | undefined): string[] {
  return (errors ?? []).map((e) => `${e.symbol}: ${e.error}`);
}
