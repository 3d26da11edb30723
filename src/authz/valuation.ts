import type { LimitCurrency, TrdSide } from '../keys/types.js';
import { MARKETS } from '../gateway/symbol.js';
import { log } from '../shared/log.js';
import { AuthzError } from './errors.js';
import type { FxConverter } from './fx.js';
import { resolveSecurity } from './canonical.js';
import { add, ceilMinorUnits, floorMinorUnits, isPositive, multiply, parseDecimal, subtract, toSafeLong, type Ratio } from './money.js';

/** Port to the quote side: the best prices the gateway currently knows for a symbol. */
export interface ReferencePriceSource {
  bestPrices(symbol: string): Promise<{ bid?: number; ask?: number; last?: number }>;
}

/** MARKET orders are valued above the quote so a moving market cannot slip past the limits. */
export const MARKET_ORDER_MARGIN_BPS = 500;

export type OrderType = 'LIMIT' | 'MARKET';

/** An existing order as the gateway reports it (for modify and cancel). */
export interface ExistingOrder {
  /** OpenD's order id: whose order it is (ownership) is looked up by it. */
  readonly orderId?: string;
  readonly symbol: string;
  readonly side: TrdSide;
  readonly qty: number;
  /** 0 or absent for a MARKET order: its old value then counts as 0, so a modify is fully charged. */
  readonly price?: number;
  /** Shares already filled: spent at their fill price, so a modify re-prices only the rest. */
  readonly filledQty?: number;
  readonly avgFillPrice?: number;
}

/** Minor units of the key's limit currency, ready for the Cedar context. */
export interface OrderValuation {
  readonly orderValue: number;
  readonly addedValue: number;
}

const NO_VALUE: OrderValuation = { orderValue: 0, addedValue: 0 };

export interface ValuationScope {
  readonly limitCurrency: LimitCurrency;
  readonly fx: FxConverter;
}

/** What a trade call asks for; modify and cancel carry the order as the gateway reports it. */
export type TradeTerms =
  | { readonly action: 'futu_place_order'; readonly symbol: string; readonly side: TrdSide; readonly orderType: OrderType; readonly qty: number; readonly price?: number }
  | {
      readonly action: 'futu_modify_order';
      readonly existing: ExistingOrder;
      readonly qty?: number;
      readonly price?: number;
    }
  | { readonly action: 'futu_cancel_order'; readonly existing: ExistingOrder };

/**
 * The symbol and side a trade asks for (for modify and cancel: the order's). The side policies
 * check may differ: a SELL of more than the account can still sell is checked as SELL_SHORT
 * (see Authorizer.runTrade).
 */
export function tradeSubject(terms: TradeTerms): { symbol: string; side: TrdSide } {
  if (terms.action === 'futu_place_order') return terms;
  return terms.existing;
}

/**
 * Values a trade call: place adds its whole value; modify is valued in full for the per-order
 * limit and adds only its increase over the old order (max(0, new - old), computed exactly
 * before rounding); cancel adds nothing. MARKET orders and sells are valued against the quote
 * (see marketReferencePrice and sellFloorAware).
 */
export async function valueTrade(terms: TradeTerms, scope: ValuationScope, prices?: ReferencePriceSource): Promise<OrderValuation> {
  if (terms.action === 'futu_cancel_order') return NO_VALUE;
  const subject = tradeSubject(terms);
  const currency = MARKETS[resolveSecurity(subject.symbol).market].currency;
  const inLimitCurrency = (local: Ratio, what: string) => toSafeLong(ceilMinorUnits(multiply(local, scope.fx.rate(currency, scope.limitCurrency))), what);
  if (terms.action === 'futu_place_order') {
    if (terms.orderType !== 'LIMIT' && terms.orderType !== 'MARKET') throw new AuthzError('INVALID_VALUE', 'invalid value: order_type must be LIMIT or MARKET');
    const qty = quantity(terms.qty);
    const reference = referencePriceOnce(prices, terms.symbol, terms.side);
    const price = terms.orderType === 'MARKET' ? await reference() : await sellFloorAware(limitPrice(terms.price), terms.side, reference);
    const orderValue = inLimitCurrency(multiply(qty, price), 'order value');
    return { orderValue, addedValue: orderValue };
  }
  const { existing } = terms;
  const oldQty = parseDecimal(existing.qty, 'existing order qty');
  const oldPrice = parseDecimal(existing.price ?? 0, 'existing order price');
  const filled = parseDecimal(existing.filledQty ?? 0, 'existing order filled qty');
  if (isPositive(subtract(filled, oldQty))) throw new AuthzError('INVALID_VALUE', 'invalid value: the order reports more shares filled than ordered');
  const qty = terms.qty === undefined ? oldQty : quantity(terms.qty);
  const reference = referencePriceOnce(prices, existing.symbol, existing.side);
  const requested = terms.price !== undefined ? limitPrice(terms.price) : isPositive(oldPrice) ? oldPrice : undefined;
  const price = requested === undefined ? await reference() : await sellFloorAware(requested, existing.side, reference);
  // Only the unfilled shares are re-priced: counting filled ones at the new limit would let a
  // price cut free budget those shares already spent. The old working part is valued the same
  // way, against the same quote, so only a real increase is charged.
  const oldPriceCounted = isPositive(oldPrice) ? await sellFloorAware(oldPrice, existing.side, reference) : oldPrice;
  const oldWorking = multiply(subtract(oldQty, filled), oldPriceCounted);
  const remaining = subtract(qty, filled);
  const newWorking = isPositive(remaining) ? multiply(remaining, price) : ZERO;
  const filledPrice = existing.avgFillPrice !== undefined && existing.avgFillPrice > 0 ? parseDecimal(existing.avgFillPrice, 'average fill price') : isPositive(oldPrice) ? oldPriceCounted : price;
  const increase = subtract(newWorking, oldWorking);
  return {
    orderValue: inLimitCurrency(add(multiply(filled, filledPrice), newWorking), 'order value'),
    addedValue: isPositive(increase) ? inLimitCurrency(increase, 'order value increase') : 0,
  };
}

const ZERO: Ratio = { num: 0n, den: 1n };

/**
 * What a cancel gives back to the day: the unfilled shares at the order's limit price, rounded
 * down (orders are charged rounded up, and a sell was charged at least its limit), so a refund
 * never exceeds what the order was charged. A MARKET order (no limit) gives back nothing.
 */
export function unfilledValue(existing: ExistingOrder, scope: ValuationScope): number {
  const price = parseDecimal(existing.price ?? 0, 'existing order price');
  const unfilled = subtract(parseDecimal(existing.qty, 'existing order qty'), parseDecimal(existing.filledQty ?? 0, 'existing order filled qty'));
  if (!isPositive(price) || !isPositive(unfilled)) return 0;
  const currency = MARKETS[resolveSecurity(existing.symbol).market].currency;
  return toSafeLong(floorMinorUnits(multiply(multiply(unfilled, price), scope.fx.rate(currency, scope.limitCurrency))), 'refund value');
}

/** The MARKET reference price, asked of the gateway at most once however often it is needed. */
function referencePriceOnce(source: ReferencePriceSource | undefined, symbol: string, side: TrdSide): () => Promise<Ratio> {
  let price: Promise<Ratio> | undefined;
  return () => (price ??= marketReferencePrice(source, symbol, side));
}

/**
 * A buy's limit price caps what it pays, but a sell's limit only floors what it receives: a sell
 * limited far below the market fills at once at the bid, for far more than qty x limit. So a sell
 * (or short sell) is valued at the higher of its limit and the MARKET reference price; no usable
 * quote → PRICE_UNAVAILABLE, as for a MARKET order.
 */
async function sellFloorAware(limit: Ratio, side: TrdSide, reference: () => Promise<Ratio>): Promise<Ratio> {
  if (side !== 'SELL' && side !== 'SELL_SHORT') return limit;
  const market = await reference();
  return isPositive(subtract(limit, market)) ? limit : market;
}

function quantity(qty: number): Ratio {
  const r = parseDecimal(qty, 'qty');
  if (!isPositive(r)) throw new AuthzError('INVALID_VALUE', 'invalid value: qty must be positive');
  return r;
}

function limitPrice(price: number | undefined): Ratio {
  if (price === undefined) throw new AuthzError('INVALID_VALUE', 'invalid value: a LIMIT order needs a price');
  const r = parseDecimal(price, 'price');
  if (!isPositive(r)) throw new AuthzError('INVALID_VALUE', 'invalid value: price must be positive');
  return r;
}

/**
 * The price a MARKET order is valued at: the highest quote relevant to the side (buys: ask or
 * last, sells: bid or last) plus MARKET_ORDER_MARGIN_BPS, rounded up. No usable quote → deny.
 */
async function marketReferencePrice(source: ReferencePriceSource | undefined, symbol: string, side: TrdSide): Promise<Ratio> {
  if (!source) throw priceUnavailable(symbol);
  let quotes: { bid?: number; ask?: number; last?: number };
  try {
    quotes = await source.bestPrices(symbol);
  } catch (err) {
    log.warn('reference price lookup failed', { symbol, error: (err as Error).message });
    throw priceUnavailable(symbol);
  }
  const buying = side === 'BUY' || side === 'BUY_BACK';
  const candidates = (buying ? [quotes.ask, quotes.last] : [quotes.bid, quotes.last]).filter(
    (p): p is number => typeof p === 'number' && Number.isFinite(p) && p > 0,
  );
  if (candidates.length === 0) throw priceUnavailable(symbol);
  const best = parseDecimal(Math.max(...candidates), 'reference price');
  return multiply(best, { num: BigInt(10_000 + MARKET_ORDER_MARGIN_BPS), den: 10_000n });
}

function priceUnavailable(symbol: string): AuthzError {
  return new AuthzError('PRICE_UNAVAILABLE', `no reference price for ${symbol}: a MARKET order or a sell cannot be checked against the value limits`);
}
