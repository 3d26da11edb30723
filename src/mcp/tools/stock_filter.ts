import { z } from 'zod';
import { GatewayError } from '../../gateway/errors.js';
import { SCREEN_FIELDS, type ScreenField } from '../../gateway/research.js';
import { parseSymbol } from '../../gateway/symbol.js';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { market, plate } from './args.js';
import { csvOf, joinFirst } from './format.js';
import { defineTool } from './kit.js';
import { callPlan } from './plans.js';
import { pageArgs, pageNote, pageOutput } from './research.js';

const FIELDS = Object.keys(SCREEN_FIELDS) as [ScreenField, ...ScreenField[]];
const bounds = z.strictObject(Object.fromEntries(FIELDS.map((f) => [f, z.number().finite().optional()])) as Record<ScreenField, z.ZodOptional<z.ZodNumber>>);
const COLUMNS = ['symbol', 'name', ...FIELDS] as const;
const cnMarket = (m: string): string => (m === 'SZ' ? 'SH' : m);

export const stockFilter = defineTool({
  name: 'futu_stock_filter',
  title: 'Stock screener',
  description:
    'Screener: a market (or plate) by ranges on price, market_cap, pe_ttm, pb, change_pct and turnover (today), sorted, paged; e.g. {"market":"US","min":{"market_cap":1e11},"max":{"pe_ttm":25}}.',
  scope: 'qot:read',
  input: z.strictObject({
    market,
    plate: plate.optional().describe('Only members of this plate (futu_list_plates), same market'),
    min: bounds.optional().describe('Lower bounds by field'),
    max: bounds.optional().describe('Upper bounds by field'),
    sort_by: z.enum(FIELDS).default('market_cap'),
    sort_dir: z.enum(['asc', 'desc']).default('desc'),
    ...pageArgs(100, 20),
  }),
  output: z.object({
    market: z.string(),
    ...pageOutput,
    stocks: z.array(z.object({ symbol: z.string(), name: z.string(), ...Object.fromEntries(FIELDS.map((f) => [f, z.number().optional()])) as Record<ScreenField, z.ZodOptional<z.ZodNumber>> })),
  }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) => `${r.market}: ${r.total} match${r.total === 1 ? '' : 'es'}${pageNote(r)}${r.stocks.length ? ` — ${joinFirst(r.stocks.map((s) => `${s.symbol} ${s.name}`), 5)}` : ''}`,
  render: (r) => csvOf(COLUMNS, r.stocks),
  authz: async (args) => callPlan('futu_stock_filter', args),
  execute: async (args, ctx) => {
    if (args.plate !== undefined && cnMarket(parseSymbol(args.plate).market) !== cnMarket(args.market)) {
      throw new GatewayError('INVALID_ARGUMENT', `plate ${args.plate} is not a ${args.market} plate`);
    }
    const ranges: Partial<Record<ScreenField, { min?: number; max?: number }>> = {};
    for (const f of FIELDS) {
      const min = args.min?.[f];
      const max = args.max?.[f];
      if (min !== undefined && max !== undefined && min > max) throw new GatewayError('INVALID_ARGUMENT', `min.${f} ${min} is above max.${f} ${max}`);
      if (min !== undefined || max !== undefined) ranges[f] = { ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) };
    }
    const { total, rows } = await ctx.gateway.research.screen({
      market: args.market,
      plate: args.plate,
      ranges,
      sortBy: args.sort_by,
      descending: args.sort_dir === 'desc',
      begin: (args.page - 1) * args.page_size,
      num: args.page_size,
    });
    return {
      market: args.market,
      page: args.page,
      page_size: args.page_size,
      total,
      has_more: args.page * args.page_size < total,
      stocks: rows.map((row) => ({ symbol: row.symbol, name: row.name, ...row.values })),
    };
  },
});
