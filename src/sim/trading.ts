import type { Message } from '../gateway/proto.js';
import { ProtoId } from '../gateway/protoIds.js';
import { ACCOUNT_SPECS, Account, bigId } from './accounts.js';
import { HK_BROKERS } from './book.js';
import { DAY_MS, isTradingDay, localDay, localMsOfDay, MINUTE_MS, sessionsOf, tradingDayOnOrAfter, tradingDayOnOrBefore, utcOf } from './calendar.js';
import { LISTINGS, listingBySymbol, type Listing } from './catalog.js';
import { SimError, type Handler, type RequestContext, type TradePush, type TradingEngine } from './contract.js';
import { idOf, messageOf, numberOf, requiredNumber, stringOf } from './fields.js';
import type { SimMarket } from './market.js';
import { orderFeeMessage } from './fees.js';
import { fillFromTrade, walkBook, type MatchFill } from './matching.js';
import { checkLimitPrice, checkPriceBand, checkQty, checkRemark, orderListing } from './orderRules.js';
import { isOpen, ModifyOrderOp, OrderStatus, OrderType, remaining, signedQty, statusName, TimeInForce, TrdSide, type FillState, type OrderState } from './orders.js';
import { accMessage, fillMessage, fundsMessage, headerOf, orderMessage, positionMessage } from './tradeMessages.js';
import { matchesCode, matchesTime, parseFilter, type TradeFilter } from './tradeFilters.js';

export interface SimTradingOptions {
  market: SimMarket;
  seed: number;
}

const TRD_CATEGORY_FUTURE = 2;
const SEED_TRADE_MINUTE = 10 * 60;
/** Seeded round trips: the first this many days ago, one every few days, each sold days later. */
const SEED_HISTORY_DAYS = 60;
const ROUND_TRIPS_PER_SYMBOL = 4;
const ROUND_TRIP_SPACING_DAYS = 14;
const ROUND_TRIP_HOLD_DAYS = 4;

/**
 * Paper trading against the simulated market. Orders rest and fill as the simulated trades cross
 * them; every order change and fill is pushed (2208 / 2218) in the order it happened.
 *
 * Futu's own simulate accounts answer no fill queries and push no fills; this engine serves fills
 * for simulate accounts too, because demos and strategy tests need them. No fees are charged.
 * Simulate accounts accept DAY orders only; real accounts also GTC. Matching runs lazily: every
 * request first calls advance(), and a host that pushes on a timer should call advance() too.
 */
export class SimTrading implements TradingEngine {
  readonly handlers: ReadonlyMap<number, Handler>;
  private readonly market: SimMarket;
  private readonly accounts: Account[];
  /** Every order, in arrival order, indexed by id and by idEx (positions in `orders`). */
  private readonly orders: OrderState[] = [];
  private readonly positionById = new Map<string, number>();
  private readonly positionByIdEx = new Map<string, number>();
  /**
   * The orders that may still be working, in arrival order: what matching, frozen cash and
   * cancel-all look at, so their cost follows the open orders, not every order ever placed.
   * Orders that have closed leave it the next time it is read.
   */
  private readonly working = new Set<OrderState>();
  private readonly fills: FillState[] = [];
  private readonly listeners: ((push: TradePush) => void)[] = [];
  private readonly orderIdBase: bigint;
  private readonly fillIdBase: bigint;

  constructor(options: SimTradingOptions) {
    this.market = options.market;
    this.orderIdBase = BigInt(bigId(options.seed, 'orders', 60n));
    this.fillIdBase = BigInt(bigId(options.seed, 'fills', 60n));
    this.accounts = ACCOUNT_SPECS.map((spec) => new Account(spec, options.seed));
    for (const account of this.accounts) this.seedHoldings(account);

    const h = new Map<number, Handler>();
    h.set(ProtoId.Trd_GetAccList, (c2s) => ({
      accList: numberOf(c2s, 'trdCategory') === TRD_CATEGORY_FUTURE ? [] : this.accounts.map(accMessage),
    }));
    h.set(ProtoId.Trd_GetFunds, (c2s) => this.withAccount(c2s, (a) => ({ header: headerOf(a), funds: this.funds(a) })));
    h.set(ProtoId.Trd_GetPositionList, (c2s) => this.withAccount(c2s, (a) => ({ header: headerOf(a), positionList: this.positions(a, c2s) })));
    h.set(ProtoId.Trd_GetOrderList, (c2s) => this.withAccount(c2s, (a) => ({ header: headerOf(a), orderList: this.orderList(a, c2s, false) })));
    h.set(ProtoId.Trd_GetHistoryOrderList, (c2s) => this.withAccount(c2s, (a) => ({ header: headerOf(a), orderList: this.orderList(a, c2s, true) })));
    h.set(ProtoId.Trd_GetOrderFillList, (c2s) => this.withAccount(c2s, (a) => ({ header: headerOf(a), orderFillList: this.fillList(a, c2s, false) })));
    h.set(ProtoId.Trd_GetHistoryOrderFillList, (c2s) => this.withAccount(c2s, (a) => ({ header: headerOf(a), orderFillList: this.fillList(a, c2s, true) })));
    h.set(ProtoId.Trd_PlaceOrder, (c2s, ctx) => this.withAccount(c2s, (a) => this.placeOrder(a, c2s, ctx)));
    h.set(ProtoId.Trd_ModifyOrder, (c2s, ctx) => this.withAccount(c2s, (a) => this.modifyOrder(a, c2s, ctx)));
    h.set(ProtoId.Trd_GetMaxTrdQtys, (c2s) => this.withAccount(c2s, (a) => ({ header: headerOf(a), maxTrdQtys: this.maxTrdQtys(a, c2s) })));
    h.set(ProtoId.Trd_GetOrderFee, (c2s) => this.withAccount(c2s, (a) => ({ header: headerOf(a), orderFeeList: this.orderFees(a, c2s) })));
    this.handlers = h;
  }

  onPush(listener: (push: TradePush) => void): void {
    this.listeners.push(listener);
  }

  accountIds(): string[] {
    return this.accounts.map((a) => a.id);
  }

  /** Matches resting orders against the trades up to now and lapses expired DAY orders. */
  advance(): void {
    const events: { order: OrderState; fill: MatchFill; timeMs: number }[] = [];
    for (const order of this.workingOrders()) {
      const until = Math.min(this.now(order.listing), order.expiresAtMs ?? Infinity);
      if (until <= order.checkedUntilMs) continue;
      let left = remaining(order);
      for (const tick of this.market.ticksBetween(order.listing.security, order.checkedUntilMs, until)) {
        const qty = fillFromTrade(order.side, order.price, left, tick);
        if (qty === 0) continue;
        events.push({ order, fill: { qty, price: order.price }, timeMs: tick.utcMs });
        left -= qty;
        if (left === 0) break;
      }
      order.checkedUntilMs = until;
    }
    // Stable sort: simultaneous fills keep the orders' arrival sequence.
    events.sort((a, b) => a.timeMs - b.timeMs);
    for (const e of events) this.fill(e.order, e.fill, e.timeMs);
    for (const order of this.workingOrders()) {
      if (isOpen(order) && order.expiresAtMs !== undefined && order.expiresAtMs <= this.now(order.listing)) {
        this.cancel(order, order.expiresAtMs, 'Expired at market close (DAY order)');
      }
    }
  }

  /** Times of orders and fills are in their market's clock (see SimMarket.nowIn). */
  private now(listing: Listing): number {
    return this.market.nowIn(listing.market);
  }

  private withAccount(c2s: Message, body: (account: Account) => Message): Message {
    this.advance();
    return body(this.accountOf(c2s));
  }

  /** The header's account; accID, trdEnv and trdMarket must all agree with it, as on OpenD. */
  private accountOf(c2s: Message): Account {
    const header = messageOf(c2s, 'header');
    if (!header) throw new SimError('header is required');
    const accID = idOf(header.accID);
    const account = this.accounts.find((a) => a.id === accID);
    if (!account) throw new SimError(`Nonexistent account: accID ${String(header.accID)}`);
    if (header.trdEnv !== account.spec.trdEnv) {
      throw new SimError(`accID ${account.id} is a ${account.isReal ? 'real' : 'simulate'} account; the request's trdEnv is ${String(header.trdEnv)}`);
    }
    if (header.trdMarket !== account.spec.trdMarket) {
      throw new SimError(`accID ${account.id} has no trading permission for trdMarket ${String(header.trdMarket)}`);
    }
    return account;
  }

  private emit(account: Account, protoId: number, s2c: Message): void {
    for (const listener of this.listeners) listener({ accID: account.id, protoId, s2c });
  }

  private pushOrder(order: OrderState): void {
    this.emit(order.account, ProtoId.Trd_UpdateOrder, { header: headerOf(order.account), order: orderMessage(order) });
  }

  private priceOf = (listing: Listing): number => this.market.quoteOf(listing.security).price;

  private frozenCash(account: Account): number {
    return this.workingOrders()
      .filter((o) => o.account === account && o.side === TrdSide.Buy)
      .reduce((sum, o) => sum + remaining(o) * o.price, 0);
  }

  private pendingSell(account: Account, listing: Listing, except?: OrderState): number {
    return this.workingOrders()
      .filter((o) => o !== except && o.account === account && o.listing === listing && o.side === TrdSide.Sell)
      .reduce((sum, o) => sum + remaining(o), 0);
  }

  private power(account: Account): number {
    return account.buyingPower(this.priceOf, this.frozenCash(account));
  }

  private funds(account: Account): Message {
    const { longMv, shortMv } = account.exposure(this.priceOf);
    const frozenCash = this.frozenCash(account);
    return fundsMessage(account, { longMv, shortMv, frozenCash, power: account.buyingPower(this.priceOf, frozenCash) });
  }

  private positions(account: Account, c2s: Message): Message[] {
    const filter = parseFilter(c2s, account, false);
    const min = numberOf(c2s, 'filterPLRatioMin');
    const max = numberOf(c2s, 'filterPLRatioMax');
    const out: Message[] = [];
    for (const p of account.positions.values()) {
      const q = this.market.quoteOf(p.listing.security);
      const today = q.progress.day;
      if (p.qty === 0 && p.today.day !== today) continue;
      if (!matchesCode(filter, p.listing) || (filter.ids && !filter.ids.has(p.positionID))) continue;
      const msg = positionMessage(account, p, { price: q.price, lastClose: q.lastClose, pendingSell: this.pendingSell(account, p.listing), today });
      const ratio = msg.plRatio as number | undefined;
      if ((min !== undefined || max !== undefined) && ratio === undefined) continue;
      if ((min !== undefined && ratio! < min) || (max !== undefined && ratio! > max)) continue;
      out.push(msg);
    }
    return out;
  }

  /**
   * Whole lots the account can trade at `price`: buys from its free cash (cash less what open buys
   * hold) or its buying power, sells from the shares not already offered, shorts (US) from buying
   * power, and the short position to buy back.
   */
  private maxTrdQtys(account: Account, c2s: Message): Message {
    const code = stringOf(c2s, 'code');
    if (!code) throw new SimError('code is required');
    const listing = orderListing(account, code, numberOf(c2s, 'secMarket'));
    const price = requiredNumber(c2s, 'price');
    if (!(price > 0)) throw new SimError('price must be positive');
    const lots = (value: number): number => Math.max(0, Math.floor(value / (price * listing.lotSize)) * listing.lotSize);
    const held = account.positions.get(listing.symbol)?.qty ?? 0;
    const sellable = Math.max(0, held) - this.pendingSell(account, listing);
    const power = this.power(account);
    return {
      maxCashBuy: lots(Math.max(0, account.cash - this.frozenCash(account))),
      maxCashAndMarginBuy: lots(power),
      maxPositionSell: Math.max(0, Math.floor(sellable / listing.lotSize) * listing.lotSize),
      maxSellShort: listing.market === 'US' ? lots(power) : 0,
      maxBuyBack: Math.max(0, -held),
    };
  }

  private orderFees(account: Account, c2s: Message): Message[] {
    const wanted = Array.isArray(c2s.orderIdExList) ? (c2s.orderIdExList as string[]) : [];
    if (wanted.length === 0) throw new SimError('orderIdExList is required');
    if (wanted.length > 400) throw new SimError('At most 400 orders per request');
    return wanted.flatMap((idEx) => {
      const order = this.orderAt(this.positionByIdEx.get(idEx));
      return order?.account === account ? [orderFeeMessage(order)] : [];
    });
  }

  /** Today's orders (created today, or still working), or the history in the requested range. */
  private orderList(account: Account, c2s: Message, history: boolean): Message[] {
    const filter = parseFilter(c2s, account, history);
    const statuses = Array.isArray(c2s.filterStatusList) ? new Set(c2s.filterStatusList as number[]) : new Set<number>();
    const today = new Map<Listing['market'], number>();
    const isToday = (o: OrderState) => {
      if (!today.has(o.listing.market)) today.set(o.listing.market, localDay(this.now(o.listing), o.listing.market));
      return localDay(o.createMs, o.listing.market) === today.get(o.listing.market);
    };
    return this.candidates(filter)
      .filter((o) => o.account === account && (!filter.ids || filter.ids.has(o.orderID)) && (!filter.idExs || filter.idExs.has(o.orderIDEx)))
      .filter((o) => (statuses.size === 0 || statuses.has(o.status)) && matchesCode(filter, o.listing) && matchesTime(filter, o.createMs))
      .filter((o) => history || isOpen(o) || isToday(o))
      .map(orderMessage);
  }

  /** The orders a query can name: those of its id lists (by index, in arrival order), else all. */
  private candidates(filter: TradeFilter): readonly OrderState[] {
    const named = filter.ids ?? filter.idExs;
    if (!named) return this.orders;
    const index = filter.ids ? this.positionById : this.positionByIdEx;
    const positions = [...named].map((id) => index.get(id)).filter((i): i is number => i !== undefined);
    return [...new Set(positions)].sort((a, b) => a - b).map((i) => this.orders[i]!);
  }

  private orderAt(position: number | undefined): OrderState | undefined {
    return position === undefined ? undefined : this.orders[position];
  }

  private addOrder(order: OrderState): void {
    this.positionById.set(order.orderID, this.orders.length);
    this.positionByIdEx.set(order.orderIDEx, this.orders.length);
    this.orders.push(order);
    this.working.add(order);
  }

  private workingOrders(): OrderState[] {
    for (const order of this.working) if (!isOpen(order)) this.working.delete(order);
    return [...this.working];
  }

  private fillList(account: Account, c2s: Message, history: boolean): Message[] {
    const filter = parseFilter(c2s, account, history);
    return this.fills
      .filter((f) => f.order.account === account && (history || this.isToday(f.order.listing, f.timeMs)))
      .filter((f) => matchesCode(filter, f.order.listing) && matchesTime(filter, f.timeMs))
      .filter((f) => (!filter.ids || filter.ids.has(f.fillID)) && (!filter.idExs || filter.idExs.has(f.order.orderIDEx)))
      .map(fillMessage);
  }

  private isToday(listing: Listing, ms: number): boolean {
    return localDay(ms, listing.market) === localDay(this.now(listing), listing.market);
  }

  private requireUnlocked(account: Account, ctx: RequestContext): void {
    if (account.isReal && !ctx.unlocked) throw new SimError('Please unlock trade first');
  }

  private placeOrder(account: Account, c2s: Message, ctx: RequestContext): Message {
    this.requireUnlocked(account, ctx);
    const side = requiredNumber(c2s, 'trdSide');
    if (side !== TrdSide.Buy && side !== TrdSide.Sell) throw new SimError(`Unsupported trdSide ${side}: use 1 (Buy) or 2 (Sell)`);
    const orderType = requiredNumber(c2s, 'orderType');
    if (orderType !== OrderType.Normal && orderType !== OrderType.Market) throw new SimError(`Unsupported orderType ${orderType}: only 1 (Normal limit) and 2 (Market)`);
    const listing = orderListing(account, stringOf(c2s, 'code') ?? '', numberOf(c2s, 'secMarket'));
    const timeInForce = numberOf(c2s, 'timeInForce') ?? TimeInForce.DAY;
    if (timeInForce !== TimeInForce.DAY && (!account.isReal || timeInForce !== TimeInForce.GTC)) {
      throw new SimError(account.isReal ? `Unsupported timeInForce ${timeInForce}` : 'Simulated trading supports DAY orders only');
    }
    const remark = stringOf(c2s, 'remark');
    checkRemark(remark);
    const qty = checkQty(listing, requiredNumber(c2s, 'qty'));
    const quote = this.market.quoteOf(listing.security);
    const book = this.market.bookOf(listing.security);
    let price: number;
    if (orderType === OrderType.Market) {
      if (!quote.trading) throw new SimError(`Market orders are accepted only during continuous trading; ${listing.symbol} is not trading now`);
      price = side === TrdSide.Buy ? book.asks[0]!.price : book.bids[0]!.price;
    } else {
      price = checkLimitPrice(listing, numberOf(c2s, 'price'), { adjustPrice: c2s.adjustPrice === true, adjustSideAndLimit: numberOf(c2s, 'adjustSideAndLimit') });
      checkPriceBand(listing, price, quote.lastClose);
    }
    const estimate = orderType === OrderType.Market ? walkBook(book, side, orderType, qty, price) : [];
    const cost = orderType === OrderType.Market ? estimate.reduce((n, f) => n + f.qty * f.price, 0) : qty * price;
    this.checkAffordable(account, listing, side, qty, cost);

    const now = this.now(listing);
    const order: OrderState = {
      ...this.nextOrderIds(),
      account,
      listing,
      side,
      orderType,
      qty,
      price,
      fillQty: 0,
      fillValue: 0,
      status: OrderStatus.Submitted,
      createMs: now,
      updateMs: now,
      timeInForce,
      checkedUntilMs: now,
      ...(remark !== undefined ? { remark } : {}),
      ...(timeInForce === TimeInForce.DAY ? { expiresAtMs: this.dayOrderExpiry(listing, now) } : {}),
    };
    this.addOrder(order);
    this.pushOrder(order);
    if (quote.trading) this.matchOnArrival(order);
    if (order.orderType === OrderType.Market && isOpen(order)) this.cancel(order, now, 'Market order remainder cancelled: the book had no more depth');
    return { header: headerOf(account), orderID: order.orderID, orderIDEx: order.orderIDEx };
  }

  /** Sells need the shares (US accounts may sell short); buys and shorts need buying power. */
  private checkAffordable(account: Account, listing: Listing, side: number, qty: number, cost: number, freedCost = 0, freedSell = 0): void {
    if (side === TrdSide.Buy) {
      if (cost > this.power(account) + freedCost + 1e-6) throw new SimError(`Insufficient buying power: the order needs ${cost.toFixed(2)}`);
      return;
    }
    const held = account.positions.get(listing.symbol)?.qty ?? 0;
    const available = Math.max(0, held) - this.pendingSell(account, listing) + freedSell;
    if (qty <= available) return;
    if (listing.market !== 'US') throw new SimError(`Insufficient position: ${listing.symbol} has ${Math.max(0, available)} shares available to sell`);
    const shortValue = (qty - available) * (cost / qty);
    if (shortValue > this.power(account) + 1e-6) throw new SimError(`Insufficient buying power to sell short ${qty - available} ${listing.symbol}`);
  }

  /** DAY orders lapse at the close of the session they can first trade in. */
  private dayOrderExpiry(listing: Listing, now: number): number {
    const sessions = sessionsOf(listing.market);
    const closeMinute = sessions[sessions.length - 1]![1];
    const today = localDay(now, listing.market);
    const beforeClose = isTradingDay(today) && localMsOfDay(now, listing.market) < closeMinute * MINUTE_MS;
    const day = beforeClose ? today : tradingDayOnOrAfter(today + 1);
    return utcOf(listing.market, day, closeMinute);
  }

  private matchOnArrival(order: OrderState): void {
    const book = this.market.bookOf(order.listing.security);
    const now = this.now(order.listing);
    for (const f of walkBook(book, order.side, order.orderType, remaining(order), order.price)) this.fill(order, f, now);
  }

  private fill(order: OrderState, f: MatchFill, timeMs: number): void {
    const seq = BigInt(this.fills.length + 1);
    const broker = order.listing.market === 'HK' ? HK_BROKERS[Number((this.fillIdBase + seq) % BigInt(HK_BROKERS.length))] : undefined;
    const fill: FillState = {
      fillID: (this.fillIdBase + seq).toString(),
      fillIDEx: `FTSIMF${seq.toString().padStart(8, '0')}`,
      order,
      qty: f.qty,
      price: f.price,
      timeMs,
      ...(broker ? { counterBroker: broker } : {}),
    };
    this.fills.push(fill);
    order.fillQty += f.qty;
    order.fillValue += f.qty * f.price;
    order.status = order.fillQty === order.qty ? OrderStatus.FilledAll : OrderStatus.FilledPart;
    order.updateMs = timeMs;
    order.account.applyFill(order.listing, signedQty(order, f.qty), f.price, localDay(timeMs, order.listing.market));
    this.pushOrder(order);
    this.emit(order.account, ProtoId.Trd_UpdateOrderFill, { header: headerOf(order.account), orderFill: fillMessage(fill) });
  }

  private cancel(order: OrderState, timeMs: number, reason?: string): void {
    order.status = order.fillQty > 0 ? OrderStatus.CancelledPart : OrderStatus.CancelledAll;
    order.updateMs = timeMs;
    if (reason) order.lastErrMsg = reason;
    this.pushOrder(order);
  }

  private modifyOrder(account: Account, c2s: Message, ctx: RequestContext): Message {
    this.requireUnlocked(account, ctx);
    const op = requiredNumber(c2s, 'modifyOrderOp');
    if (op !== ModifyOrderOp.Normal && op !== ModifyOrderOp.Cancel) {
      throw new SimError(`Unsupported modifyOrderOp ${op}: only 1 (Normal) and 2 (Cancel) are supported`);
    }
    if (c2s.forAll === true) {
      if (op !== ModifyOrderOp.Cancel) throw new SimError('forAll supports only modifyOrderOp 2 (Cancel)');
      for (const o of this.workingOrders()) if (o.account === account) this.cancel(o, this.now(o.listing));
      return { header: headerOf(account), orderID: '0' };
    }
    const order = this.findOrder(account, c2s);
    if (!isOpen(order)) throw new SimError(`Order ${order.orderID} can no longer be modified: it is ${statusName(order.status)}`);
    if (op === ModifyOrderOp.Cancel) this.cancel(order, this.now(order.listing));
    else this.amend(order, c2s, this.now(order.listing));
    return { header: headerOf(account), orderID: order.orderID, orderIDEx: order.orderIDEx };
  }

  private findOrder(account: Account, c2s: Message): OrderState {
    const idEx = stringOf(c2s, 'orderIDEx');
    const id = idOf(c2s.orderID);
    const order = idEx ? this.orderAt(this.positionByIdEx.get(idEx)) : id === undefined ? undefined : this.orderAt(this.positionById.get(id));
    if (!order || order.account !== account) throw new SimError(`Order not found: ${idEx || String(c2s.orderID)}`);
    return order;
  }

  /** Normal modification: new total quantity and/or new limit price. */
  private amend(order: OrderState, c2s: Message, now: number): void {
    if (order.orderType === OrderType.Market) throw new SimError('Market orders cannot be modified');
    const { listing } = order;
    const qty = numberOf(c2s, 'qty') === undefined ? order.qty : checkQty(listing, numberOf(c2s, 'qty')!);
    if (qty <= order.fillQty) throw new SimError(`The new quantity ${qty} must exceed the filled quantity ${order.fillQty}`);
    const price = numberOf(c2s, 'price') === undefined
      ? order.price
      : checkLimitPrice(listing, numberOf(c2s, 'price'), { adjustPrice: c2s.adjustPrice === true, adjustSideAndLimit: numberOf(c2s, 'adjustSideAndLimit') });
    const quote = this.market.quoteOf(listing.security);
    checkPriceBand(listing, price, quote.lastClose);
    const left = qty - order.fillQty;
    const freedCost = order.side === TrdSide.Buy ? remaining(order) * order.price : 0;
    const freedSell = order.side === TrdSide.Sell ? remaining(order) : 0;
    this.checkAffordable(order.account, listing, order.side, left, left * price, freedCost, freedSell);
    order.qty = qty;
    order.price = price;
    order.updateMs = now;
    this.pushOrder(order);
    if (quote.trading) this.matchOnArrival(order);
  }

  private nextOrderIds(): { orderID: string; orderIDEx: string } {
    const seq = BigInt(this.orders.length + 1);
    return { orderID: (this.orderIdBase + seq).toString(), orderIDEx: `FTSIM${seq.toString().padStart(8, '0')}` };
  }

  /**
   * Seeds each account's past: every holding as a filled buy on its purchase day, plus weeks of
   * round trips (a buy, sold a few days later) and a cancelled order in securities the account does
   * not hold, so history reads have substance and the holdings stay exactly the seeded ones.
   */
  private seedHoldings(account: Account): void {
    for (const seed of account.spec.positions) {
      const listing = listingBySymbol(seed.symbol);
      this.seedOrder(account, listing, TrdSide.Buy, seed.qty, localDay(this.now(listing) - seed.daysAgo * DAY_MS, listing.market), true);
    }
    const held = new Set(account.spec.positions.map((p) => p.symbol));
    const others = LISTINGS.filter((l) => l.seedsHistory && account.covers(l) && !held.has(l.symbol));
    others.forEach((listing, i) => {
      const lots = listing.lotSize === 1 ? 10 : listing.lotSize;
      for (let trip = 0; trip < ROUND_TRIPS_PER_SYMBOL; trip += 1) {
        const daysAgo = SEED_HISTORY_DAYS - trip * ROUND_TRIP_SPACING_DAYS - i;
        const boughtOn = localDay(this.now(listing) - daysAgo * DAY_MS, listing.market);
        this.seedOrder(account, listing, TrdSide.Buy, lots * (1 + ((trip + i) % 3)), boughtOn, true);
        this.seedOrder(account, listing, TrdSide.Sell, lots * (1 + ((trip + i) % 3)), boughtOn + ROUND_TRIP_HOLD_DAYS, true);
      }
      this.seedOrder(account, listing, TrdSide.Buy, lots, localDay(this.now(listing) - (i + 3) * DAY_MS, listing.market), false);
    });
    account.cash = account.spec.cash;
  }

  /** A limit order at the day's close on the trading day on or before `day`: filled, or cancelled unfilled. */
  private seedOrder(account: Account, listing: Listing, side: number, qty: number, day: number, filled: boolean): void {
    const timeMs = utcOf(listing.market, tradingDayOnOrBefore(day), SEED_TRADE_MINUTE);
    const price = this.market.lastCloseAt(listing.security, timeMs);
    const order: OrderState = {
      ...this.nextOrderIds(),
      account,
      listing,
      side,
      orderType: OrderType.Normal,
      qty,
      price,
      fillQty: 0,
      fillValue: 0,
      status: OrderStatus.Submitted,
      createMs: timeMs,
      updateMs: timeMs,
      timeInForce: TimeInForce.DAY,
      checkedUntilMs: timeMs,
    };
    this.addOrder(order);
    if (filled) this.fill(order, { qty, price }, timeMs);
    else this.cancel(order, timeMs + 30 * MINUTE_MS);
  }
}
