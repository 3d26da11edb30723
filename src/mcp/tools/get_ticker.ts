import { z } from 'zod';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { count, symbol } from './args.js';
import { formatPrice, formatQty, plural, quoteCurrency } from './format.js';
import { defineTool } from './kit.js';
import { symbolField, timeField } from './outputs.js';
import { callPlan } from './plans.js';

export const getTicker = defineTool({
  name: 'futu_get_ticker',
  title: 'Trade ticks',
  description:
    'The latest individual trades of one security, oldest first (no account needed): time, price, shares and direction ' +
    '(BUY = buyer-initiated, SELL = seller-initiated). num is 1-1000 (default 50). Prices in the security\'s currency. ' +
    'Subscribes the ticker on first use.',
  scope: 'qot:read',
  input: z.strictObject({ symbol, num: count('Trades to return', 50, 1000) }),
  output: z.object({
    symbol: symbolField,
    name: z.string().optional(),
    currency: z.string(),
    ticks: z
      .array(
        z.object({
          time: timeField('Trade time'),
          price: z.number(),
          volume: z.number().describe('Shares traded'),
          turnover: z.number().describe('Value traded, in currency'),
          direction: z.string().describe('BUY (buyer-initiated), SELL (seller-initiated) or NEUTRAL'),
          sequence: z.string().describe('Exchange sequence number (decimal string)'),
        }),
      )
      .describe('Oldest first'),
  }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) => {
    const last = r.ticks.at(-1);
    const tail = last ? `, last ${formatQty(last.volume)} @ ${formatPrice(last.price)} ${r.currency} ${last.direction} at ${last.time}` : '';
    return `${r.symbol}: ${plural(r.ticks.length, 'trade')}${tail}`;
  },
  authz: async (args) => callPlan('futu_get_ticker', args),
  execute: async (args, ctx) => {
    const series = await ctx.gateway.getTicker(args.symbol, args.num, { holder: ctx.keyId });
    return {
      symbol: series.symbol,
      name: series.name,
      currency: quoteCurrency(args.symbol),
      ticks: series.ticks.map((t) => ({ time: t.time, price: t.price, volume: t.volume, turnover: t.turnover, direction: t.direction, sequence: t.sequence })),
    };
  },
});
