import { z } from 'zod';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { symbol } from './args.js';
import { defineTool } from './kit.js';
import { callPlan } from './plans.js';

export const getCompanyProfile = defineTool({
  name: 'futu_get_company_profile',
  title: 'Company profile',
  description: 'What a company does: business description, sector, listing date and exchange, employees, reporting currency.',
  scope: 'qot:read',
  input: z.strictObject({ symbol }),
  output: z.object({ symbol: z.string(), profile: z.record(z.string(), z.string()).describe('Field name → text') }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) => `${r.symbol}: ${Object.values(r.profile).slice(0, 3).join(' | ')}`,
  authz: async (args) => callPlan('futu_get_company_profile', args),
  execute: async (args, ctx) => {
    const items = await ctx.gateway.research.getCompanyProfile(args.symbol);
    return { symbol: args.symbol, profile: Object.fromEntries(items.map((i) => [i.name, i.value])) };
  },
});
