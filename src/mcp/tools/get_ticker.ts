import { z } from 'zod';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { count, symbol } from './args.js';
import { csvTable, formatPrice, formatQty, plural, quoteCurrency } from './format.js';
import { defineTool } from './kit.js';
import { symbolField } from './outputs.js';
import { callPlan } from './plans.js';

export const getTicker = defineTool({
  name: 'futu_get_ticker',
  title: 'Trade ticks',
  description:
    'The latest individual trades of one security, oldest first, with direction (BUY = buyer-initiated, SELL = seller-initiated). ' +
    'Subscribes the ticker.',
  scope: 'qot:read',
  input: z.strictObject({ symbol, num: count('Trades to return', 50, 1000) }),
  output: z.object({
    symbol: symbolField,
    name: z.string().optional(),
    currency: z.string(),
    date: z.string().optional(),
    columns: z.array(z.string()),
    ticks: z
      .array(z.tuple([z.string(), z.number(), z.number(), z.string()]))
      .describe('Oldest first: [time "HH:MM:SS", price, volume, direction]'),
  }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) => {
    const last = r.ticks.at(-1);
    const tail = last ? `, last ${formatQty(last[2])} @ ${formatPrice(last[1])} ${r.currency} ${last[3]} at ${last[0]}` : '';
    return `${r.symbol} ${r.date ?? ''}: ${plural(r.ticks.length, 'trade')}${tail}`;
  },
  render: (r) => csvTable(r.columns, r.ticks),
  authz: async (args) => callPlan('futu_get_ticker', args),
  execute: async (args, ctx) => {
    const series = await ctx.gateway.getTicker(args.symbol, args.num, { holder: ctx.keyId });
    return {
      symbol: series.symbol,
      name: series.name,
      currency: quoteCurrency(args.symbol),
      date: series.ticks.at(-1)?.time.slice(0, 10),
      columns: ['time', 'price', 'volume', 'direction'],
      ticks: series.ticks.map((t): [string, number, number, string] => [t.time.slice(11, 19), t.price, t.volume, t.direction]),
    };
  },
});
