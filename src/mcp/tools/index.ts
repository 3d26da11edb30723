import type { AnyFutuTool } from './kit.js';
import { cancelOrder } from './cancel_order.js';
import { getBroker } from './get_broker.js';
import { getDeals } from './get_deals.js';
import { getFunds } from './get_funds.js';
import { getHistoryDeals } from './get_history_deals.js';
import { getHistoryOrders } from './get_history_orders.js';
import { getKline } from './get_kline.js';
import { getLimits } from './get_limits.js';
import { getOrderbook } from './get_orderbook.js';
import { getOrders } from './get_orders.js';
import { getPositions } from './get_positions.js';
import { getQuote } from './get_quote.js';
import { getRt } from './get_rt.js';
import { getSnapshot } from './get_snapshot.js';
import { getStatic } from './get_static.js';
import { getTicker } from './get_ticker.js';
import { listAccounts } from './list_accounts.js';
import { listPlates } from './list_plates.js';
import { modifyOrder } from './modify_order.js';
import { ping } from './ping.js';
import { placeOrder } from './place_order.js';
import { plateStocks } from './plate_stocks.js';
import { unlockTrade } from './unlock_trade.js';

/** The 23 tools, in the order clients list them: the key's own limits, quotes, account reads, trades, unlock. */
export const TOOLS: readonly AnyFutuTool[] = [
  getLimits,
  ping,
  getQuote,
  getSnapshot,
  getKline,
  getOrderbook,
  getTicker,
  getRt,
  getStatic,
  getBroker,
  listPlates,
  plateStocks,
  listAccounts,
  getFunds,
  getPositions,
  getOrders,
  getDeals,
  getHistoryOrders,
  getHistoryDeals,
  placeOrder,
  modifyOrder,
  cancelOrder,
  unlockTrade,
];
