import { MARKETS, type MarketCode } from '../gateway/symbol.js';
import { TrdMarket, type Account } from './accounts.js';
import { requireListing, type Listing } from './catalog.js';
import { SimError } from './contract.js';
import { isOnTick, snapPrice } from './tickSize.js';

/**
 * Order-entry rules. Like OpenD, quantities and prices are truncated to the precision the proto
 * documents (0 and 3 decimals) before they are checked.
 */
const A_SHARE_DAILY_LIMIT = 0.1;
const MAX_REMARK_BYTES = 64;

/** The listing an order's bare `code` names, within the account's market. */
export function orderListing(account: Account, code: string, secMarket: number | undefined): Listing {
  const market = secMarket === undefined ? defaultMarket(account, code) : marketOfSecMarket(secMarket);
  const listing = requireListing({ market: MARKETS[market].qot, code });
  if (!account.covers(listing)) throw new SimError(`Account ${account.id} cannot trade ${listing.symbol}`);
  return listing;
}

function marketOfSecMarket(secMarket: number): MarketCode {
  const found = (Object.keys(MARKETS) as MarketCode[]).find((m) => MARKETS[m].secMarket === secMarket);
  if (!found) throw new SimError(`Unsupported secMarket ${secMarket}`);
  return found;
}

function defaultMarket(account: Account, code: string): MarketCode {
  const m = account.spec.trdMarket;
  if (m === TrdMarket.HK) return 'HK';
  if (m === TrdMarket.US) return 'US';
  return code.startsWith('6') || code.startsWith('9') ? 'SH' : 'SZ';
}

export function checkQty(listing: Listing, raw: number): number {
  const qty = Math.trunc(raw);
  if (!(qty > 0)) throw new SimError('Order quantity must be positive');
  if (qty % listing.lotSize !== 0) throw new SimError(`Quantity ${qty} is not a multiple of the lot size ${listing.lotSize} for ${listing.symbol}`);
  return qty;
}

export interface PriceAdjust {
  readonly adjustPrice?: boolean;
  readonly adjustSideAndLimit?: number;
}

/**
 * A limit price, checked against the tick grid. With adjustPrice, an off-grid price moves to the
 * grid in the direction of adjustSideAndLimit's sign, but by no more than its magnitude (a ratio).
 */
export function checkLimitPrice(listing: Listing, raw: number | undefined, adjust: PriceAdjust): number {
  if (raw === undefined || !(raw > 0)) throw new SimError('A limit order needs a positive price');
  const price = Math.trunc(raw * 1000 + 1e-7) / 1000;
  if (isOnTick(listing.market, price)) return price;
  const limit = adjust.adjustSideAndLimit ?? 0;
  if (adjust.adjustPrice && limit !== 0) {
    const adjusted = snapPrice(listing.market, price, limit > 0 ? 'up' : 'down');
    if (Math.abs(adjusted - price) / price <= Math.abs(limit) + 1e-12) return adjusted;
  }
  throw new SimError(`Price ${price} is not a valid price step for ${listing.symbol} (nearest valid: ${snapPrice(listing.market, price)})`);
}

/** A-shares may not trade beyond ±10% of the previous close. */
export function checkPriceBand(listing: Listing, price: number, lastClose: number): void {
  if (listing.market !== 'SH' && listing.market !== 'SZ') return;
  const low = snapPrice(listing.market, lastClose * (1 - A_SHARE_DAILY_LIMIT), 'up');
  const high = snapPrice(listing.market, lastClose * (1 + A_SHARE_DAILY_LIMIT), 'down');
  if (price < low || price > high) throw new SimError(`Price ${price} is outside today's limit range ${low} - ${high} for ${listing.symbol}`);
}

export function checkRemark(remark: string | undefined): void {
  if (remark !== undefined && Buffer.byteLength(remark, 'utf8') > MAX_REMARK_BYTES) throw new SimError(`remark is longer than ${MAX_REMARK_BYTES} bytes`);
}
