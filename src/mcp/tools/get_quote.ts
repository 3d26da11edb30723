import { z } from 'zod';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { exactlyOneSymbolSource, symbolList, symbolsOrOne } from './args.js';
import { joinFirst } from './format.js';
import { defineTool } from './kit.js';
import { perSymbol, priceFieldsOf, priceShape, quoteLine, symbolErrorLines, symbolErrorsField } from './outputs.js';
import { callPlan } from './plans.js';

export const getQuote = defineTool({
  name: 'futu_get_quote',
  title: 'Real-time quotes',
  description:
    'Latest price, open/high/low, previous close, change and volume of up to 50 securities. ' +
    'Subscribes them to live quotes; for fundamentals and bid/ask use futu_get_snapshot.',
  scope: 'qot:read',
  input: z.strictObject(symbolsOrOne).superRefine(exactlyOneSymbolSource),
  output: z.object({ quotes: z.array(z.object(priceShape)), errors: symbolErrorsField }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) => joinFirst([...r.quotes.map(quoteLine), ...symbolErrorLines(r.errors)], 5),
  authz: async (args) => callPlan('futu_get_quote', args),
  execute: async (args, ctx) => {
    const { items, errors } = await perSymbol(symbolList(args), (batch) => ctx.gateway.getBasicQuotes(batch, { holder: ctx.keyId }));
    return { quotes: items.map(priceFieldsOf), errors };
  },
});
