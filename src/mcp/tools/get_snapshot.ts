import { z } from 'zod';
import type { Snapshot } from '../../gateway/types.js';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { exactlyOneSymbolSource, symbolList, symbolsOrOne } from './args.js';
import { formatPrice, joinFirst } from './format.js';
import { defineTool } from './kit.js';
import { priceFieldsOf, priceShape, quoteLine } from './outputs.js';
import { callPlan } from './plans.js';

const snapshotShape = z.object({
  ...priceShape,
  sec_type: z.string().describe('STOCK, ETF, WARRANT, IDX, ...'),
  lot_size: z.number().describe('Shares per board lot'),
  tick_size: z.number().describe('Minimum price step'),
  bid_price: z.number().optional(),
  bid_volume: z.number().optional().describe('Shares at the best bid'),
  ask_price: z.number().optional(),
  ask_volume: z.number().optional().describe('Shares at the best ask'),
  avg_price: z.number().optional().describe('Volume-weighted average price this session'),
  high_52w: z.number().optional().describe('52-week high'),
  low_52w: z.number().optional().describe('52-week low'),
  market_cap: z.number().optional().describe('Market capitalisation, in currency (stocks only)'),
  pe: z.number().optional().describe('Price/earnings (static)'),
  pe_ttm: z.number().optional().describe('Price/earnings, trailing twelve months'),
  pb: z.number().optional().describe('Price/book'),
  dividend_yield_ttm: z.number().optional().describe('Dividend yield, trailing twelve months, in percent'),
  outstanding_shares: z.number().optional(),
});

function snapshotOf(s: Snapshot): z.input<typeof snapshotShape> {
  const e = s.equity;
  return {
    ...priceFieldsOf(s),
    sec_type: s.secType,
    lot_size: s.lotSize,
    tick_size: s.priceSpread,
    bid_price: s.bidPrice,
    bid_volume: s.bidVolume,
    ask_price: s.askPrice,
    ask_volume: s.askVolume,
    avg_price: s.avgPrice,
    high_52w: s.high52Weeks,
    low_52w: s.low52Weeks,
    market_cap: e?.marketCap,
    pe: e?.peRate,
    pe_ttm: e?.peTTMRate,
    pb: e?.pbRate,
    dividend_yield_ttm: e?.dividendRatioTTM,
    outstanding_shares: e?.outstandingShares,
  };
}

export const getSnapshot = defineTool({
  name: 'futu_get_snapshot',
  title: 'Market snapshots',
  description:
    'One-shot snapshot of up to 50 securities (no subscription, no account): price and change, best bid/ask, ' +
    'VWAP, 52-week high/low, lot size and, for stocks, market cap, P/E, P/B and dividend yield. ' +
    'Pass symbols as MARKET.CODE (["HK.00700","US.AAPL"]) or a single symbol. Prices and market cap are in the ' +
    'security\'s currency; volumes in shares; change_rate, turnover_rate and dividend_yield_ttm in percent.',
  scope: 'qot:read',
  input: z.strictObject(symbolsOrOne).superRefine(exactlyOneSymbolSource),
  output: z.object({ snapshots: z.array(snapshotShape) }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) =>
    joinFirst(
      r.snapshots.map((s) => `${quoteLine(s)}${s.pe_ttm !== undefined ? ` P/E(TTM) ${formatPrice(s.pe_ttm)}` : ''}`),
      5,
    ),
  authz: async (args) => callPlan('futu_get_snapshot', args),
  execute: async (args, ctx) => {
    const snapshots = await ctx.gateway.getSnapshots(symbolList(args), { holder: ctx.keyId });
    return { snapshots: snapshots.map(snapshotOf) };
  },
});
