import { z } from 'zod';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { envFilter } from './args.js';
import { joinFirst, plural } from './format.js';
import { defineTool } from './kit.js';
import { callPlan } from './plans.js';

export const listAccounts = defineTool({
  name: 'futu_list_accounts',
  title: 'List trading accounts',
  description:
    'The trading accounts this API key may use: acc_id (a decimal string), env (simulate = paper trading, real = real money) ' +
    'and the markets each trades. Account reads need no acc_id; pass one to narrow them, or to pick the account of an order.',
  scope: 'acc:read',
  input: z.strictObject({ env: envFilter }),
  output: z.object({
    accounts: z.array(
      z.object({
        acc_id: z.string().describe('Account id (decimal string): pass it as acc_id to the account and trade tools'),
        env: z.string().describe('simulate (paper trading) or real (real money)'),
        trd_markets: z.array(z.string()).describe('Markets it trades: HK, US, CN (A-shares, simulate), HKCC (A-shares via Stock Connect), ...'),
        acc_type: z.string().optional().describe('CASH or MARGIN, ...'),
      }),
    ),
  }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) => `${plural(r.accounts.length, 'account')}: ${joinFirst(r.accounts.map((a) => `${a.acc_id} ${a.env} ${a.trd_markets.join('/')}`), 6)}`,
  authz: async (args) => callPlan('futu_list_accounts', args),
  execute: async (args, ctx) => {
    const accounts = await ctx.accounts.list();
    return {
      accounts: accounts
        // Accounts outside the key's allowed_acc_ids are refused anyway: not even their ids are shown.
        .filter((a) => (args.env === undefined || a.env === args.env) && ctx.accountAllowed(a.accId))
        .map((a) => ({ acc_id: a.accId, env: a.env, trd_markets: a.trdMarkets, acc_type: a.accType })),
    };
  },
});
