import { z } from 'zod';
import type { OrderBookLevel } from '../../gateway/types.js';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { count, symbol } from './args.js';
import { csvTable, formatPrice, formatQty, quoteCurrency } from './format.js';
import { defineTool } from './kit.js';
import { symbolField } from './outputs.js';
import { callPlan } from './plans.js';

const levelShape = z.object({
  price: z.number(),
  volume: z.number(),
  order_count: z.number(),
});

const levelOf = (l: OrderBookLevel): z.input<typeof levelShape> => ({ price: l.price, volume: l.volume, order_count: l.orderCount });

const bestOf = (side: string, levels: readonly { price: number; volume: number }[]) =>
  levels[0] ? `${side} ${formatPrice(levels[0].price)}×${formatQty(levels[0].volume)}` : `no ${side}s`;

export const getOrderbook = defineTool({
  name: 'futu_get_orderbook',
  title: 'Order book',
  description:
    'Bid and ask levels (depth) of one security, best first: price, shares and orders per level. Subscribes the order book.',
  scope: 'qot:read',
  input: z.strictObject({ symbol, num: count('Price levels per side', 10, 10) }),
  output: z.object({
    symbol: symbolField,
    name: z.string().optional(),
    currency: z.string(),
    bids: z.array(levelShape),
    asks: z.array(levelShape),
  }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) => `${r.symbol} ${bestOf('bid', r.bids)} / ${bestOf('ask', r.asks)} ${r.currency} (${r.bids.length}+${r.asks.length} levels)`,
  render: (r) =>
    csvTable(
      ['side', 'price', 'volume', 'order_count'],
      [...r.bids.map((l) => ['bid', l.price, l.volume, l.order_count]), ...r.asks.map((l) => ['ask', l.price, l.volume, l.order_count])],
    ),
  authz: async (args) => callPlan('futu_get_orderbook', args),
  execute: async (args, ctx) => {
    const book = await ctx.gateway.getOrderBook(args.symbol, args.num, { holder: ctx.keyId });
    return { symbol: book.symbol, name: book.name, currency: quoteCurrency(args.symbol), bids: book.bids.map(levelOf), asks: book.asks.map(levelOf) };
  },
});
