import { z } from 'zod';
import { GatewayError } from '../../gateway/errors.js';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { count, symbol } from './args.js';
import { csvOf, formatMoney } from './format.js';
import { date, openDToday } from './history.js';
import { defineTool } from './kit.js';
import { callPlan } from './plans.js';
import { currencyField } from './research.js';

const MAX_POINTS = 400;
const DAY_MS = 86_400_000;
const COLUMNS = ['time', 'net_inflow', 'main', 'super_large', 'large', 'medium', 'small'] as const;

export const getCapitalFlow = defineTool({
  name: 'futu_get_capital_flow',
  title: 'Capital flow',
  description:
    'Net inflow (buyer- minus seller-initiated turnover): intraday, cumulative per minute (latest num); day, per trading day in begin..end by order size (main = super_large + large).',
  scope: 'qot:read',
  input: z.strictObject({
    symbol,
    period: z.enum(['intraday', 'day']).default('intraday'),
    num: count(`intraday: latest minutes (at most ${MAX_POINTS})`, 60, MAX_POINTS),
    begin: date('begin').describe('day: YYYY-MM-DD (default end - 30 days)'),
    end: date('end').describe('day: YYYY-MM-DD (default today)'),
  }),
  output: z.object({
    symbol: z.string(),
    period: z.enum(['intraday', 'day']),
    currency: z.string(),
    points: z.array(
      z.object({
        time: z.string(),
        net_inflow: z.number().describe('intraday: cumulative since the open'),
        main: z.number().optional(),
        super_large: z.number().optional(),
        large: z.number().optional(),
        medium: z.number().optional(),
        small: z.number().optional(),
      }),
    ),
  }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) => {
    const last = r.points.at(-1);
    return `${r.symbol} ${r.period} capital flow: ${r.points.length} points${last ? `, ${last.time} net inflow ${formatMoney(last.net_inflow)} ${r.currency}` : ''}`;
  },
  render: (r) => csvOf(COLUMNS, r.points),
  authz: async (args) => callPlan('futu_get_capital_flow', args),
  execute: async (args, ctx) => {
    let points;
    if (args.period === 'intraday') {
      points = (await ctx.gateway.research.getCapitalFlow(args.symbol, 'intraday')).slice(-args.num);
    } else {
      const end = args.end ?? (await openDToday(ctx));
      const begin = args.begin ?? new Date(Date.parse(end) - 30 * DAY_MS).toISOString().slice(0, 10);
      if (begin > end) throw new GatewayError('INVALID_ARGUMENT', `begin ${begin} is after end ${end}`);
      points = await ctx.gateway.research.getCapitalFlow(args.symbol, 'day', begin, end);
    }
    return {
      symbol: args.symbol,
      period: args.period,
      ...currencyField(args.symbol),
      points: points.map((p) => ({ time: p.time, net_inflow: p.netInflow, main: p.main, super_large: p.superLarge, large: p.large, medium: p.medium, small: p.small })),
    };
  },
});
