import type { BasicQuote } from '../../gateway/types.js';
import { priceFieldsOf } from '../tools/outputs.js';
import { HeldSubscription, templateValue, type ResourceDeclaration } from './resource.js';

const PREFIX = 'futu://quote/';

/** futu://quote/{symbol}: futu_get_quote for one symbol, updated by OpenD's basic-quote pushes. */
export const quoteResource: ResourceDeclaration = {
  name: 'quote',
  title: 'Live quote',
  description: 'Latest price, open/high/low, previous close and volume of one security (futu_get_quote); subscribe for updates, at most one a second.',
  uriTemplate: `${PREFIX}{symbol}`,
  scope: 'qot:read',
  tool: 'futu_get_quote',
  argsOf: (uri) => {
    const symbol = templateValue(uri, PREFIX);
    return symbol === undefined ? undefined : { symbol };
  },
  uriOf: (args) => `${PREFIX}${String(args.symbol)}`,
  watch: (gateway, changed) => {
    const onQuote = (quote: BasicQuote) =>
      changed({ uri: `${PREFIX}${quote.symbol}`, args: { symbol: quote.symbol }, state: JSON.stringify(priceFieldsOf(quote)) });
    gateway.on('quote', onQuote);
    return () => gateway.off('quote', onQuote);
  },
  pushes: new HeldSubscription('QUOTE'),
};
