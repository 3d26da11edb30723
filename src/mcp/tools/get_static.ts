import { z } from 'zod';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { exactlyOneSymbolSource, symbolList, symbolsOrOne } from './args.js';
import { joinFirst } from './format.js';
import { defineTool } from './kit.js';
import { perSymbol, securityOf, securityShape, symbolErrorLines, symbolErrorsField } from './outputs.js';
import { callPlan } from './plans.js';

export const getStatic = defineTool({
  name: 'futu_get_static',
  title: 'Security reference data',
  description:
    'Name, security type, board lot size and listing date of up to 50 securities. ' +
    'Check lot_size before ordering HK or A-shares: quantities must be multiples of it.',
  scope: 'qot:read',
  input: z.strictObject(symbolsOrOne).superRefine(exactlyOneSymbolSource),
  output: z.object({ securities: z.array(securityShape), errors: symbolErrorsField }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) =>
    joinFirst([...r.securities.map((s) => `${s.symbol} ${s.name} ${s.sec_type}, lot ${s.lot_size}, listed ${s.list_time}`), ...symbolErrorLines(r.errors)], 5),
  authz: async (args) => callPlan('futu_get_static', args),
  execute: async (args, ctx) => {
    const { items, errors } = await perSymbol(symbolList(args), (batch) => ctx.gateway.getStaticInfo(batch));
    return { securities: items.map(securityOf), errors };
  },
});
