import { z } from 'zod';
import { VALUATION_RANGE, type ValuationName, type ValuationRange } from '../../gateway/research.js';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { symbol } from './args.js';
import { csvOf, formatPrice } from './format.js';
import { defineTool } from './kit.js';
import { callPlan } from './plans.js';

const METRICS = ['pe', 'pb', 'ps'] as const;
type Metric = (typeof METRICS)[number];
const RANGES = Object.keys(VALUATION_RANGE) as [ValuationRange, ...ValuationRange[]];

const statsShape = z.object({
  current: z.number(),
  average: z.number(),
  minus_1sd: z.number(),
  plus_1sd: z.number(),
  percentile: z.number().describe('0-100: share of the range at or below current'),
  forward: z.number().optional().describe('On next year\'s estimate'),
});

export const getValuation = defineTool({
  name: 'futu_get_valuation',
  title: 'Valuation history',
  description:
    'P/E (TTM), P/B, P/S now, month-end history over a range, average ±1σ and today\'s percentile (0 = cheapest): "is X cheap vs its history".',
  scope: 'qot:read',
  input: z.strictObject({
    symbol,
    metrics: z.array(z.enum(METRICS)).min(1).max(3).default([...METRICS]).describe('pe, pb, ps (default all)'),
    range: z.enum(RANGES).default('1y').describe(`${RANGES.join(', ')} (default 1y)`),
  }),
  output: z.object({
    symbol: z.string(),
    range: z.enum(RANGES),
    stats: z.object({ pe: statsShape.optional(), pb: statsShape.optional(), ps: statsShape.optional() }),
    history: z.array(z.object({ date: z.string(), pe: z.number().optional(), pb: z.number().optional(), ps: z.number().optional() })),
  }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) =>
    `${r.symbol} ${r.range}: ` +
    METRICS.flatMap((m) => {
      const s = r.stats[m];
      return s ? [`${m.toUpperCase()} ${formatPrice(s.current)} (avg ${formatPrice(s.average)}, ±1σ ${formatPrice(s.minus_1sd)}-${formatPrice(s.plus_1sd)}, ${Math.round(s.percentile)}th pct)`] : [];
    }).join('; '),
  render: (r) => csvOf(['date', ...METRICS.filter((m) => r.stats[m] !== undefined)], r.history),
  authz: async (args) => callPlan('futu_get_valuation', args),
  execute: async (args, ctx) => {
    const metrics = [...new Set(args.metrics)];
    const series = await Promise.all(metrics.map((m) => ctx.gateway.research.getValuation(args.symbol, m.toUpperCase() as ValuationName, args.range)));
    const stats: Partial<Record<Metric, z.input<typeof statsShape>>> = {};
    const byDate = new Map<string, Partial<Record<Metric, number>> & { date: string }>();
    series.forEach((s, i) => {
      const m = metrics[i]!;
      stats[m] = { current: s.current, average: s.average, minus_1sd: s.minus1Sd, plus_1sd: s.plus1Sd, percentile: s.percentile, forward: s.forward };
      for (const point of s.history) {
        const row = byDate.get(point.date) ?? { date: point.date };
        row[m] = point.value;
        byDate.set(point.date, row);
      }
    });
    return { symbol: args.symbol, range: args.range, stats, history: [...byDate.values()].sort((a, b) => (a.date < b.date ? -1 : 1)) };
  },
});
