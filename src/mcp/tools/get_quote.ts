import { z } from 'zod';
import { READ_TOOL_ANNOTATIONS } from '../tool.js';
import { exactlyOneSymbolSource, symbolList, symbolsOrOne } from './args.js';
import { joinFirst } from './format.js';
import { defineTool } from './kit.js';
import { priceFieldsOf, priceShape, quoteLine } from './outputs.js';
import { callPlan } from './plans.js';

export const getQuote = defineTool({
  name: 'futu_get_quote',
  title: 'Real-time quotes',
  description:
    'Latest price, open/high/low, previous close, change and volume for up to 50 securities (no account needed). ' +
    'Pass symbols as MARKET.CODE, e.g. ["HK.00700","US.AAPL","SH.600519"], or a single symbol. ' +
    'Prices are in the security\'s currency, volume in shares, change_rate in percent. ' +
    'Subscribes the securities to live quotes on first use; for valuation, 52-week range and bid/ask use futu_get_snapshot.',
  scope: 'qot:read',
  input: z.strictObject(symbolsOrOne).superRefine(exactlyOneSymbolSource),
  output: z.object({ quotes: z.array(z.object(priceShape)) }),
  annotations: READ_TOOL_ANNOTATIONS,
  summarize: (r) => joinFirst(r.quotes.map(quoteLine), 5),
  authz: async (args) => callPlan('futu_get_quote', args),
  execute: async (args, ctx) => {
    const quotes = await ctx.gateway.getBasicQuotes(symbolList(args), { holder: ctx.keyId });
    return { quotes: quotes.map(priceFieldsOf) };
  },
});
