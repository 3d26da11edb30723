import { z } from 'zod';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { accountSelector, ACCOUNT_SELECTION_HINT } from './args.js';
import { formatMoney } from './format.js';
import { defineTool } from './kit.js';
import { accountFieldsOf, accountShape } from './outputs.js';
import { accountPlan, readAccount } from './plans.js';

const money = (what: string) => z.number().describe(`${what}, in currency`);

export const getFunds = defineTool({
  name: 'futu_get_funds',
  title: 'Account funds',
  description:
    'Cash, buying power, market value and total assets of one account. ' +
    ACCOUNT_SELECTION_HINT +
    ' Check buying_power before placing a buy order.',
  scope: 'acc:read',
  input: z.strictObject(accountSelector),
  output: z.object({
    ...accountShape,
    currency: z.string().optional().describe('Currency of every amount'),
    total_assets: money('Net assets'),
    cash: money('Cash balance'),
    market_value: money('Market value of the positions'),
    buying_power: money('Maximum value of new long positions (including margin)'),
    frozen_cash: money('Cash held for working buy orders'),
    debt_cash: money('Margin debt'),
    withdrawable_cash: money('Cash that can be withdrawn'),
  }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) => {
    const ccy = r.currency ? ` ${r.currency}` : '';
    return `acc ${r.acc_id} (${r.env} ${r.trd_market}): total assets ${formatMoney(r.total_assets)}${ccy}, cash ${formatMoney(r.cash)}, buying power ${formatMoney(r.buying_power)}`;
  },
  authz: (args, ctx) => accountPlan('futu_get_funds', args, ctx),
  execute: async (args, ctx) => {
    const account = await readAccount(args, ctx);
    const f = await ctx.gateway.getFunds(account);
    return {
      ...accountFieldsOf(account),
      currency: f.currency,
      total_assets: f.totalAssets,
      cash: f.cash,
      market_value: f.marketValue,
      buying_power: f.power,
      frozen_cash: f.frozenCash,
      debt_cash: f.debtCash,
      withdrawable_cash: f.withdrawableCash,
    };
  },
});
