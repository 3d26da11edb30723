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
    'The trading accounts this API key may use: acc_id, env (simulate = paper, real = real money) and the markets each trades.',
  scope: 'acc:read',
  input: z.strictObject({ env: envFilter }),
  output: z.object({
    accounts: z.array(
      z.object({
        acc_id: z.string(),
        env: z.string(),
        trd_markets: z.array(z.string()),
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
