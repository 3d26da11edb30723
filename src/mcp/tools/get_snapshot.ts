import { z } from 'zod';
import type { Snapshot } from '../../gateway/types.js';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { exactlyOneSymbolSource, symbolList, symbolsOrOne } from './args.js';
import { formatPrice, joinFirst } from './format.js';
import { defineTool } from './kit.js';
import { perSymbol, priceFieldsOf, priceShape, quoteLine, symbolErrorLines, symbolErrorsField } from './outputs.js';
import { callPlan } from './plans.js';

const snapshotShape = z.object({
  ...priceShape,
  sec_type: z.string(),
  lot_size: z.number(),
  tick_size: z.number(),
  bid_price: z.number().optional(),
  bid_volume: z.number().optional(),
  ask_price: z.number().optional(),
  ask_volume: z.number().optional(),
  avg_price: z.number().optional().describe('Session VWAP'),
  high_52w: z.number().optional(),
  low_52w: z.number().optional(),
  market_cap: z.number().optional(),
  float_market_cap: z.number().optional().describe('Of the outstanding shares'),
  issued_shares: z.number().optional(),
  outstanding_shares: z.number().optional(),
  eps: z.number().optional(),
  nav_per_share: z.number().optional().describe('Book value per share'),
  net_asset: z.number().optional(),
  net_profit: z.number().optional(),
  earnings_yield: z.number().optional().describe('EPS / price'),
  pe: z.number().optional().describe('Static'),
  pe_ttm: z.number().optional(),
  pb: z.number().optional(),
  dividend_ttm: z.number().optional().describe('Per share'),
  dividend_yield_ttm: z.number().optional(),
  dividend_lfy: z.number().optional().describe('Per share, last fiscal year'),
  dividend_yield_lfy: z.number().optional(),
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
    float_market_cap: e?.outstandingMarketCap,
    issued_shares: e?.issuedShares,
    outstanding_shares: e?.outstandingShares,
    eps: e?.earningsPerShare,
    nav_per_share: e?.netAssetPerShare,
    net_asset: e?.netAsset,
    net_profit: e?.netProfit,
    earnings_yield: e?.earningsYield,
    pe: e?.peRate,
    pe_ttm: e?.peTTMRate,
    pb: e?.pbRate,
    dividend_ttm: e?.dividendTTM,
    dividend_yield_ttm: e?.dividendRatioTTM,
    dividend_lfy: e?.dividendLFY,
    dividend_yield_lfy: e?.dividendLFYRatio,
  };
}

export const getSnapshot = defineTool({
  name: 'futu_get_snapshot',
  title: 'Market snapshots',
  description:
    'Snapshot of up to 50 securities (no subscription): price, change, best bid/ask, VWAP, 52-week range, lot size and, ' +
    'for stocks, fundamentals: market cap, EPS, NAV per share, net profit, P/E, P/B, dividend per share and yield.',
  scope: 'qot:read',
  input: z.strictObject(symbolsOrOne).superRefine(exactlyOneSymbolSource),
  output: z.object({ snapshots: z.array(snapshotShape), errors: symbolErrorsField }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) =>
    joinFirst(
      [
        ...r.snapshots.map((s) => `${quoteLine(s)}${s.pe_ttm !== undefined ? ` P/E(TTM) ${formatPrice(s.pe_ttm)}` : ''}${s.eps !== undefined ? ` EPS ${formatPrice(s.eps)}` : ''}`),
        ...symbolErrorLines(r.errors),
      ],
      5,
    ),
  authz: async (args) => callPlan('futu_get_snapshot', args),
  execute: async (args, ctx) => {
    const { items, errors } = await perSymbol(symbolList(args), (batch) => ctx.gateway.getSnapshots(batch, { holder: ctx.keyId }));
    return { snapshots: items.map(snapshotOf), errors };
  },
});
