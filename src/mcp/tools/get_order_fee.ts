import { z } from 'zod';
import type { Order } from '../../gateway/types.js';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { accountFilter, orderId, symbol } from './args.js';
import { csvTable, formatMoney, joinFirst } from './format.js';
import { historyRange, historyRangeOutput, date, readWindows } from './history.js';
import { defineTool } from './kit.js';
import { accountShape } from './outputs.js';
import { accountsPlan, authorizedViews, readEach } from './plans.js';
import { pageArgs, pageNote, pageOf, pageOutput, snakeKey } from './research.js';

const FILLED = ['FILLED_PART', 'FILLED_ALL', 'CANCELLED_PART'] as const;

export const getOrderFee = defineTool({
  name: 'futu_get_order_fee',
  title: 'Order fees',
  description:
    'Fees of the key\'s accounts\' filled orders in begin..end (default the last 30 days), newest first: total and each item.',
  scope: 'acc:read',
  input: z.strictObject({
    ...accountFilter,
    begin: date('begin').describe('YYYY-MM-DD (default end - 30 days)'),
    end: date('end').describe('YYYY-MM-DD (default today)'),
    symbol: symbol.optional(),
    order_ids: z.array(orderId).min(1).max(50).optional(),
    ...pageArgs(100, 20),
  }),
  output: z.object({
    begin: historyRangeOutput.begin,
    end: historyRangeOutput.end,
    ...pageOutput,
    orders: z.array(
      z.object({
        ...accountShape,
        order_id: z.string(),
        symbol: z.string(),
        side: z.string(),
        filled_qty: z.number(),
        avg_fill_price: z.number().optional(),
        create_time: z.string(),
        fee_total: z.number(),
        fees: z.record(z.string(), z.number()).describe('Item (commission, platform_fee, stamp_duty, ...) → amount in the order\'s currency'),
      }),
    ),
  }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) =>
    `${r.total} filled order${r.total === 1 ? '' : 's'} ${r.begin} … ${r.end}${pageNote(r)}` +
    `${r.orders.length ? ` — ${joinFirst(r.orders.map((o) => `${o.order_id} ${o.symbol} fee ${formatMoney(o.fee_total)}`), 3)}` : ''}`,
  render: (r) => {
    const items = [...new Set(r.orders.flatMap((o) => Object.keys(o.fees)))];
    return csvTable(
      ['acc_id', 'order_id', 'symbol', 'side', 'filled_qty', 'avg_fill_price', 'create_time', 'fee_total', ...items],
      r.orders.map((o) => [o.acc_id, o.order_id, o.symbol, o.side, o.filled_qty, o.avg_fill_price, o.create_time, o.fee_total, ...items.map((i) => o.fees[i])]),
    );
  },
  authz: (args, ctx) => accountsPlan('futu_get_order_fee', args, ctx),
  execute: async (args, ctx) => {
    const [views, range] = await Promise.all([authorizedViews(args, ctx), historyRange(args, ctx)]);
    const wanted = args.order_ids === undefined ? undefined : new Set(args.order_ids);
    const filter = { statuses: [...FILLED], ...(args.symbol !== undefined ? { symbols: [args.symbol] } : {}) };
    const orders = await readEach(views, async (view) =>
      (await readWindows(view, range, (v, w) => ctx.gateway.getHistoryOrders(v, { ...w, ...filter }))).filter((o: Order) => wanted === undefined || wanted.has(o.orderId)),
    );
    orders.sort((a, b) => (a.createTime < b.createTime ? 1 : a.createTime > b.createTime ? -1 : 0));
    const { rows, meta } = pageOf(orders, args.page, args.page_size);
    // One fee request per account view, for the page's orders only.
    const fees = new Map<string, { total: number; items: Record<string, number> }>();
    await Promise.all(
      views.map(async (view) => {
        const ids = rows.filter((o) => o.acc_id === view.accId && o.trd_market === view.trdMarket).map((o) => o.orderIdEx);
        if (ids.length === 0) return;
        for (const f of await ctx.gateway.research.getOrderFees(view, ids)) {
          fees.set(f.orderIdEx, { total: f.total, items: Object.fromEntries(f.items.map((i) => [snakeKey(i.name), i.amount])) });
        }
      }),
    );
    return {
      ...range,
      ...meta,
      orders: rows.map((o) => ({
        acc_id: o.acc_id,
        env: o.env,
        trd_market: o.trd_market,
        order_id: o.orderId,
        symbol: o.symbol,
        side: o.side,
        filled_qty: o.fillQty ?? 0,
        avg_fill_price: o.fillAvgPrice,
        create_time: o.createTime,
        fee_total: fees.get(o.orderIdEx)?.total ?? 0,
        fees: fees.get(o.orderIdEx)?.items ?? {},
      })),
    };
  },
});
