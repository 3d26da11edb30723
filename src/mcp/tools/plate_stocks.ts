import { z } from 'zod';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { plate } from './args.js';
import { joinFirst, plural } from './format.js';
import { defineTool } from './kit.js';
import { securityOf, securityShape } from './outputs.js';
import { callPlan } from './plans.js';

export const plateStocks = defineTool({
  name: 'futu_plate_stocks',
  title: 'Plate constituents',
  description:
    'The securities in one plate (sector or index list, e.g. HK.BK1910 = Hang Seng TECH), with name, type and lot size. ' +
    'Feed the symbols to futu_get_snapshot (50 per call) to compare them.',
  scope: 'qot:read',
  input: z.strictObject({ plate }),
  output: z.object({
    plate: z.string(),
    stocks: z.array(securityShape),
  }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) => `${r.plate}: ${plural(r.stocks.length, 'security', 'securities')}${r.stocks.length ? ` — ${joinFirst(r.stocks.map((s) => `${s.symbol} ${s.name}`), 8)}` : ''}`,
  authz: async (args) => callPlan('futu_plate_stocks', args),
  execute: async (args, ctx) => {
    const members = await ctx.gateway.getPlateSecurities(args.plate);
    return { plate: args.plate, stocks: members.map(securityOf) };
  },
});
