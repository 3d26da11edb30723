import type { OrderBook } from '../../gateway/types.js';
import { HeldSubscription, templateValue, type ResourceDeclaration } from './resource.js';

const PREFIX = 'futu://orderbook/';
/** The levels a read shows per side: OpenD's maximum, as pushes carry. */
const LEVELS = 10;

/** futu://orderbook/{symbol}: futu_get_orderbook of one symbol (10 levels), updated by OpenD's order-book pushes. */
export const orderbookResource: ResourceDeclaration = {
  name: 'orderbook',
  title: 'Live order book',
  description: `Bid and ask levels of one security, best first, ${LEVELS} per side (futu_get_orderbook); subscribe for updates, at most one a second.`,
  uriTemplate: `${PREFIX}{symbol}`,
  scope: 'qot:read',
  tool: 'futu_get_orderbook',
  argsOf: (uri) => {
    const symbol = templateValue(uri, PREFIX);
    return symbol === undefined ? undefined : { symbol, num: LEVELS };
  },
  uriOf: (args) => `${PREFIX}${String(args.symbol)}`,
  watch: (gateway, changed) => {
    const onBook = (book: OrderBook) => changed({ uri: `${PREFIX}${book.symbol}`, args: { symbol: book.symbol, num: LEVELS }, state: JSON.stringify(book) });
    gateway.on('orderBook', onBook);
    return () => gateway.off('orderBook', onBook);
  },
  pushes: new HeldSubscription('ORDER_BOOK'),
};
