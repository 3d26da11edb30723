import { z } from 'zod';
import type { RTPoint } from '../../gateway/types.js';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { count, symbol } from './args.js';
import { csvTable, formatPrice, plural, quoteCurrency } from './format.js';
import { defineTool } from './kit.js';
import { symbolField } from './outputs.js';
import { callPlan } from './plans.js';

const POINT_COLUMNS = ['time', 'price', 'avg_price', 'volume'] as const;
const LATEST_DEFAULT = 60;
/** A trading day has at most 24 × 60 minutes (US overnight sessions included). */
const MAX_MINUTES = 1440;

const pointShape = z
  .tuple([z.string(), z.number(), z.number().nullable(), z.number()])
  .describe('[time "HH:MM", price, avg_price (session VWAP so far), volume]');

/** Minutes without trades carry no price; they are left out rather than reported as zeros. */
function pointOf(p: RTPoint): z.input<typeof pointShape> | undefined {
  if (p.isBlank || p.price === undefined) return undefined;
  return [p.time.slice(11, 16), p.price, p.avgPrice ?? null, p.volume ?? 0];
}

export const getRt = defineTool({
  name: 'futu_get_rt',
  title: 'Intraday time-share',
  description:
    'Today\'s minute-by-minute line of one security: the latest num minutes with price, running VWAP and volume. ' +
    'Older or coarser data: futu_get_kline. Subscribes the intraday data.',
  scope: 'qot:read',
  input: z.strictObject({ symbol, num: count('Latest minutes to return', LATEST_DEFAULT, MAX_MINUTES) }),
  output: z.object({
    symbol: symbolField,
    name: z.string().optional(),
    currency: z.string(),
    last_close: z.number().optional().describe('Previous session\'s close'),
    date: z.string().optional(),
    columns: z.array(z.string()),
    points: z.array(pointShape).describe('Oldest first'),
    total_minutes: z.number().describe('Minutes with trades today'),
  }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) => {
    const last = r.points.at(-1);
    return last
      ? `${r.symbol} ${r.date ?? ''}: last ${plural(r.points.length, 'minute')} of ${r.total_minutes} to ${last[0]}, last ${formatPrice(last[1])} ${r.currency}` +
          (r.last_close !== undefined ? ` (prev close ${formatPrice(r.last_close)})` : '')
      : `${r.symbol}: no trades today yet`;
  },
  render: (r) => csvTable(r.columns, r.points),
  authz: async (args) => callPlan('futu_get_rt', args),
  execute: async (args, ctx) => {
    const series = await ctx.gateway.getRT(args.symbol, { holder: ctx.keyId });
    const points = series.points.flatMap((p) => {
      const point = pointOf(p);
      return point ? [point] : [];
    });
    return {
      symbol: series.symbol,
      name: series.name,
      currency: quoteCurrency(args.symbol),
      last_close: series.points.find((p) => p.lastClose !== undefined)?.lastClose,
      date: series.points.find((p) => !p.isBlank)?.time.slice(0, 10),
      columns: [...POINT_COLUMNS],
      points: points.slice(-args.num),
      total_minutes: points.length,
    };
  },
});
