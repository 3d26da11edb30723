import { z } from 'zod';
import { GatewayError } from '../../gateway/errors.js';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { symbol } from './args.js';
import { csvOf, formatPrice } from './format.js';
import { date } from './history.js';
import { defineTool } from './kit.js';
import { callPlan } from './plans.js';
import { pageArgs, pageNote, pageOf, pageOutput } from './research.js';

const COLUMNS = ['symbol', 'type', 'strike', 'price', 'iv', 'delta', 'gamma', 'theta', 'vega', 'open_interest', 'volume'] as const;

export const getOptionChain = defineTool({
  name: 'futu_get_option_chain',
  title: 'Option chain',
  description:
    'Calls and puts of an underlying for one expiry (default the nearest) by strike: price, IV (percent), delta, gamma, theta (per day), vega, open interest, volume.',
  scope: 'qot:read',
  input: z.strictObject({
    symbol: symbol.describe('Underlying, e.g. US.AAPL'),
    expiry: date('expiry').describe('YYYY-MM-DD (default the nearest)'),
    type: z.enum(['all', 'call', 'put']).default('all'),
    strike_min: z.number().positive().optional(),
    strike_max: z.number().positive().optional(),
    ...pageArgs(100, 40),
  }),
  output: z.object({
    symbol: z.string(),
    underlying_price: z.number(),
    expiry: z.string(),
    ...pageOutput,
    contracts: z.array(
      z.object({
        symbol: z.string(),
        type: z.enum(['CALL', 'PUT']),
        strike: z.number(),
        price: z.number(),
        iv: z.number().describe('Percent'),
        delta: z.number(),
        gamma: z.number(),
        theta: z.number(),
        vega: z.number(),
        open_interest: z.number(),
        volume: z.number(),
      }),
    ),
  }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) => `${r.symbol} @ ${formatPrice(r.underlying_price)}, expiry ${r.expiry}: ${r.total} contracts${pageNote(r)}`,
  render: (r) => csvOf(COLUMNS, r.contracts),
  authz: async (args) => callPlan('futu_get_option_chain', args),
  execute: async (args, ctx) => {
    const research = ctx.gateway.research;
    const expiry = args.expiry ?? (await research.getOptionExpirations(args.symbol)).find((e) => e.daysLeft >= 0)?.date;
    if (expiry === undefined) throw new GatewayError('INVALID_ARGUMENT', `${args.symbol} has no listed options`);
    const [chain, [underlying]] = await Promise.all([research.getOptionChain(args.symbol, expiry), ctx.gateway.getSnapshots([args.symbol], { holder: ctx.keyId })]);
    const wanted = chain
      .filter((c) => args.type === 'all' || c.type === args.type.toUpperCase())
      .filter((c) => (args.strike_min === undefined || c.strike >= args.strike_min) && (args.strike_max === undefined || c.strike <= args.strike_max))
      .sort((a, b) => a.strike - b.strike || a.type.localeCompare(b.type));
    const { rows, meta } = pageOf(wanted, args.page, args.page_size);
    const quotes = rows.length === 0 ? [] : await research.getOptionQuotes(rows.map((c) => c.symbol), ctx.keyId);
    const bySymbol = new Map(quotes.map((q) => [q.symbol, q]));
    return {
      symbol: args.symbol,
      underlying_price: underlying?.price ?? 0,
      expiry,
      ...meta,
      contracts: rows.flatMap((c) => {
        const q = bySymbol.get(c.symbol);
        return q ? [{ symbol: c.symbol, type: c.type, strike: c.strike, price: q.price, iv: q.iv, delta: q.delta, gamma: q.gamma, theta: q.theta, vega: q.vega, open_interest: q.openInterest, volume: q.volume }] : [];
      }),
    };
  },
});
