import { z } from 'zod';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { accountFilter } from './args.js';
import { csvOf, formatMoney, joinFirst } from './format.js';
import { defineTool } from './kit.js';
import { ACCOUNT_COLUMNS, accountShape } from './outputs.js';
import { accountsPlan, authorizedViews, readEach } from './plans.js';

const fundsShape = z.object({
  ...accountShape,
  currency: z.string().optional().describe('Currency of every amount of this row'),
  total_assets: z.number(),
  cash: z.number(),
  market_value: z.number().describe('Of the positions'),
  buying_power: z.number().describe('Maximum value of new long positions (margin included)'),
  frozen_cash: z.number().describe('Held for working buy orders'),
  debt_cash: z.number().describe('Margin debt'),
  withdrawable_cash: z.number(),
});

const COLUMNS = [...ACCOUNT_COLUMNS, 'currency', 'total_assets', 'cash', 'market_value', 'buying_power', 'frozen_cash', 'debt_cash', 'withdrawable_cash'] as const;

export const getFunds = defineTool({
  name: 'futu_get_funds',
  title: 'Funds',
  description: 'Cash, buying power, market value and total assets, one row per account and market. Check buying_power before a buy order.',
  scope: 'acc:read',
  input: z.strictObject(accountFilter),
  output: z.object({ funds: z.array(fundsShape) }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) =>
    joinFirst(
      r.funds.map((f) => `${f.env} ${f.acc_id} ${f.trd_market}: total ${formatMoney(f.total_assets)}${f.currency ? ` ${f.currency}` : ''}, cash ${formatMoney(f.cash)}`),
      6,
    ),
  render: (r) => csvOf(COLUMNS, r.funds),
  authz: (args, ctx) => accountsPlan('futu_get_funds', args, ctx),
  execute: async (args, ctx) => {
    const views = await authorizedViews(args, ctx);
    const funds = await readEach(views, async (view) => {
      const f = await ctx.gateway.getFunds(view);
      return [
        {
          currency: f.currency,
          total_assets: f.totalAssets,
          cash: f.cash,
          market_value: f.marketValue,
          buying_power: f.power,
          frozen_cash: f.frozenCash,
          debt_cash: f.debtCash,
          withdrawable_cash: f.withdrawableCash,
        },
      ];
    });
    return { funds };
  },
});
