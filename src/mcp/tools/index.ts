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
import { search } from './search.js';
import { getMarketState } from './get_market_state.js';
import { getFinancials } from './get_financials.js';
import { getValuation } from './get_valuation.js';
import { getCompanyProfile } from './get_company_profile.js';
import { getAnalystConsensus } from './get_analyst_consensus.js';
import { getDividends } from './get_dividends.js';
import { searchNews } from './search_news.js';
import { getCapitalFlow } from './get_capital_flow.js';
import { getCapitalDistribution } from './get_capital_distribution.js';
import { getOptionExpirations } from './get_option_expirations.js';
import { getOptionChain } from './get_option_chain.js';
import { stockFilter } from './stock_filter.js';
import { listWatchlists } from './list_watchlists.js';
import { getMaxTradeQty } from './get_max_trade_qty.js';
import { getOrderFee } from './get_order_fee.js';

/** The 39 tools, in the order clients list them: the key's own limits, quotes, research, account reads, trades, unlock. */
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
  // Research (issue 18).
  search,
  getMarketState,
  getFinancials,
  getValuation,
  getCompanyProfile,
  getAnalystConsensus,
  getDividends,
  searchNews,
  getCapitalFlow,
  getCapitalDistribution,
  getOptionExpirations,
  getOptionChain,
  stockFilter,
  listWatchlists,
  listAccounts,
  getFunds,
  getPositions,
  getOrders,
  getDeals,
  getHistoryOrders,
  getHistoryDeals,
  getMaxTradeQty,
  getOrderFee,
  placeOrder,
  modifyOrder,
  cancelOrder,
  unlockTrade,
];
