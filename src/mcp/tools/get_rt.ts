import { z } from 'zod';
import type { RTPoint } from '../../gateway/types.js';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { symbol } from './args.js';
import { formatPrice, plural, quoteCurrency } from './format.js';
import { defineTool } from './kit.js';
import { symbolField, timeField } from './outputs.js';
import { callPlan } from './plans.js';

const pointShape = z.object({
  time: timeField('Minute'),
  price: z.number().describe('Last price in that minute'),
  avg_price: z.number().optional().describe('Session VWAP up to that minute'),
  volume: z.number().describe('Shares traded in that minute'),
  turnover: z.number().describe('Value traded in that minute, in currency'),
});

/** Minutes without trades carry no price; they are left out rather than reported as zeros. */
function pointOf(p: RTPoint): z.input<typeof pointShape> | undefined {
  if (p.isBlank || p.price === undefined) return undefined;
  return { time: p.time, price: p.price, avg_price: p.avgPrice, volume: p.volume ?? 0, turnover: p.turnover ?? 0 };
}

export const getRt = defineTool({
  name: 'futu_get_rt',
  title: 'Intraday time-share',
  description:
    'Today\'s minute-by-minute intraday line of one security (no account needed): price, running VWAP and volume per minute, ' +
    'oldest first. Prices in the security\'s currency; volume in shares. For older or coarser data use futu_get_kline. ' +
    'Subscribes the intraday data on first use.',
  scope: 'qot:read',
  input: z.strictObject({ symbol }),
  output: z.object({
    symbol: symbolField,
    name: z.string().optional(),
    currency: z.string(),
    last_close: z.number().optional().describe('Previous session\'s close, the reference for today\'s change'),
    points: z.array(pointShape).describe('Oldest first; minutes without trades are left out'),
  }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) => {
    const last = r.points.at(-1);
    return last
      ? `${r.symbol}: ${plural(r.points.length, 'minute')} to ${last.time}, last ${formatPrice(last.price)} ${r.currency}`
      : `${r.symbol}: no trades today yet`;
  },
  authz: async (args) => callPlan('futu_get_rt', args),
  execute: async (args, ctx) => {
    const series = await ctx.gateway.getRT(args.symbol, { holder: ctx.keyId });
    return {
      symbol: series.symbol,
      name: series.name,
      currency: quoteCurrency(args.symbol),
      last_close: series.points.find((p) => p.lastClose !== undefined)?.lastClose,
      points: series.points.flatMap((p) => pointOf(p) ?? []),
    };
  },
});
