import { z } from 'zod';
import type { Position } from '../../gateway/types.js';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { accountFilter, symbol } from './args.js';
import { csvOf, formatPercent, formatQty, joinFirst, plural } from './format.js';
import { defineTool } from './kit.js';
import { ACCOUNT_COLUMNS, accountsCovered, accountShape, symbolField } from './outputs.js';
import { accountsPlan, authorizedViews, readEach } from './plans.js';

const positionShape = z.object({
  ...accountShape,
  symbol: symbolField,
  name: z.string(),
  side: z.string().describe('LONG or SHORT'),
  qty: z.number(),
  can_sell_qty: z.number().describe('Shares not committed to working sell orders'),
  price: z.number().describe('Market price'),
  cost_price: z.number().optional().describe('Average cost per share'),
  market_value: z.number(),
  pl_val: z.number().describe('Unrealised P/L'),
  pl_ratio: z.number().optional().describe('Unrealised P/L, percent of cost'),
  today_pl_val: z.number().optional(),
  currency: z.string().optional(),
});

const COLUMNS = [...ACCOUNT_COLUMNS, 'symbol', 'name', 'side', 'qty', 'can_sell_qty', 'price', 'cost_price', 'market_value', 'pl_val', 'pl_ratio', 'today_pl_val', 'currency'] as const;

function positionOf(p: Position) {
  return {
    symbol: p.symbol,
    name: p.name,
    side: p.side,
    qty: p.qty,
    can_sell_qty: p.canSellQty,
    price: p.price,
    cost_price: p.costPrice,
    market_value: p.marketValue,
    pl_val: p.plValue,
    pl_ratio: p.plRatio,
    today_pl_val: p.todayPlValue,
    currency: p.currency,
  };
}

export const getPositions = defineTool({
  name: 'futu_get_positions',
  title: 'Positions',
  description:
    'What is held: quantity, sellable quantity, cost, market value and unrealised P/L of every position.',
  scope: 'acc:read',
  input: z.strictObject({ ...accountFilter, symbol: symbol.optional() }),
  output: z.object({ positions: z.array(positionShape) }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) => {
    const held = r.positions.map((p) => `${p.symbol} ${formatQty(p.qty)}${p.pl_ratio !== undefined ? ` (${formatPercent(p.pl_ratio)})` : ''}`);
    return `${plural(r.positions.length, 'position')} in ${accountsCovered(r.positions)}${held.length ? ` — ${joinFirst(held, 6)}` : ''}`;
  },
  render: (r) => csvOf(COLUMNS, r.positions),
  authz: (args, ctx) => accountsPlan('futu_get_positions', args, ctx),
  execute: async (args, ctx) => {
    const views = await authorizedViews(args, ctx);
    const filter = args.symbol === undefined ? {} : { symbols: [args.symbol] };
    return { positions: await readEach(views, async (view) => (await ctx.gateway.getPositions(view, filter)).map(positionOf)) };
  },
});
