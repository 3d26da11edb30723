import { z } from 'zod';
import type { Position } from '../../gateway/types.js';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { accountSelector, ACCOUNT_SELECTION_HINT, symbol } from './args.js';
import { formatPercent, formatQty, joinFirst, plural } from './format.js';
import { defineTool } from './kit.js';
import { accountFieldsOf, accountShape, symbolField } from './outputs.js';
import { accountPlan, readAccount } from './plans.js';

const positionShape = z.object({
  symbol: symbolField,
  name: z.string(),
  side: z.string().describe('LONG or SHORT'),
  qty: z.number().describe('Shares held (see side for long or short)'),
  can_sell_qty: z.number().describe('Shares not already committed to working sell orders'),
  price: z.number().describe('Current market price'),
  cost_price: z.number().optional().describe('Average cost per share'),
  market_value: z.number().describe('Market value, in currency'),
  pl_val: z.number().describe('Unrealised profit/loss, in currency'),
  pl_ratio: z.number().optional().describe('Unrealised profit/loss in percent of cost'),
  today_pl_val: z.number().optional().describe('Profit/loss today, in currency'),
  currency: z.string().optional(),
});

function positionOf(p: Position): z.input<typeof positionShape> {
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
  title: 'Account positions',
  description:
    'Holdings of one account: quantity, sellable quantity, cost, market value and unrealised P/L (pl_val in currency, pl_ratio in percent). ' +
    ACCOUNT_SELECTION_HINT +
    ' Optional symbol (e.g. HK.00700) returns that holding only and, without acc_id, picks its market\'s account.',
  scope: 'acc:read',
  input: z.strictObject({ ...accountSelector, symbol: symbol.optional().describe('Only this security, e.g. HK.00700') }),
  output: z.object({ ...accountShape, positions: z.array(positionShape) }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) => {
    const held = r.positions.map((p) => `${p.symbol} ${formatQty(p.qty)}${p.pl_ratio !== undefined ? ` (${formatPercent(p.pl_ratio)})` : ''}`);
    return `acc ${r.acc_id} (${r.env} ${r.trd_market}): ${plural(r.positions.length, 'position')}${held.length ? ` — ${joinFirst(held, 6)}` : ''}`;
  },
  authz: (args, ctx) => accountPlan('futu_get_positions', args, ctx),
  execute: async (args, ctx) => {
    const account = await readAccount(args, ctx);
    const positions = await ctx.gateway.getPositions(account, args.symbol === undefined ? {} : { symbols: [args.symbol] });
    return { ...accountFieldsOf(account), positions: positions.map(positionOf) };
  },
});
