import type { Message } from '../gateway/proto.js';
import { MARKETS, type Security } from '../gateway/symbol.js';
import { DAY_MS, formatLocal, localDay, utcOf } from './calendar.js';
import { findListing, type Listing } from './catalog.js';
import { SimError } from './contract.js';
import { hash32, hash64 } from './prng.js';
import { roundMoney } from './pricePath.js';
import type { Quote } from './quote.js';

/**
 * US equity options on every US catalogue security: weekly expiries (the next four Fridays) and
 * monthly ones (third Fridays of the next three months), strikes around the spot, and prices and
 * greeks from Black-Scholes with a volatility smile over the underlying's own volatility.
 */
export const OPTION_TYPE = { Call: 1, Put: 2 } as const;
export const SECURITY_TYPE_DRVT = 8;
const EXPIRATION_CYCLE = { Week: 1, Month: 2 } as const;
const CONTRACT_SIZE = 100;
const RISK_FREE = 0.04;
const STRIKES_EACH_SIDE = 10;
const US_CLOSE_MINUTE = 16 * 60;
const EXCH_US_OPTION = 8;

/** AAPL261218C200000: underlying, yyMMdd expiry, C/P, strike × 1000. */
const OPTION_CODE = /^([A-Z]{1,6})(\d{2})(\d{2})(\d{2})([CP])(\d{1,9})$/;

export interface OptionContract {
  readonly underlying: Listing;
  readonly code: string;
  readonly type: number;
  /** Expiry day number (days since 1970-01-01). */
  readonly expiry: number;
  readonly strike: number;
}

const dateOf = (day: number): string => new Date(day * DAY_MS).toISOString().slice(0, 10);

export function optionCode(underlying: Listing, expiry: number, type: number, strike: number): string {
  const yymmdd = dateOf(expiry).slice(2).replaceAll('-', '');
  return `${underlying.security.code}${yymmdd}${type === OPTION_TYPE.Call ? 'C' : 'P'}${Math.round(strike * 1000)}`;
}

export function hasOptions(listing: Listing): boolean {
  return listing.market === 'US';
}

/** The contract a US option code names, or undefined for anything else. */
export function parseOption(sec: Security): OptionContract | undefined {
  if (sec.market !== MARKETS.US.qot) return undefined;
  const m = OPTION_CODE.exec(sec.code);
  if (!m) return undefined;
  const underlying = findListing({ market: sec.market, code: m[1]! });
  if (!underlying) return undefined;
  const expiry = Math.floor(Date.UTC(2000 + Number(m[2]), Number(m[3]) - 1, Number(m[4])) / DAY_MS);
  return { underlying, code: sec.code, type: m[5] === 'C' ? OPTION_TYPE.Call : OPTION_TYPE.Put, expiry, strike: Number(m[6]) / 1000 };
}

const weekday = (day: number): number => (((day + 3) % 7) + 7) % 7;

/** Expiry days after `today`: the next four Fridays and the next three third Fridays, ascending. */
export function expiries(today: number): { day: number; cycle: number }[] {
  const out = new Map<number, number>();
  let friday = today + ((4 - weekday(today) + 7) % 7 || 7);
  for (let i = 0; i < 4; i++, friday += 7) out.set(friday, EXPIRATION_CYCLE.Week);
  const d = new Date(today * DAY_MS);
  for (let m = 1; m <= 3; m++) {
    const first = Math.floor(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + m, 1) / DAY_MS);
    out.set(first + ((4 - weekday(first) + 7) % 7) + 14, EXPIRATION_CYCLE.Month);
  }
  return [...out.entries()].sort((a, b) => a[0] - b[0]).map(([day, cycle]) => ({ day, cycle }));
}

export function expiryMessage(day: number, cycle: number, today: number): Message {
  return {
    strikeTime: dateOf(day),
    strikeTimestamp: utcOf('US', day, US_CLOSE_MINUTE) / 1000,
    optionExpiryDateDistance: day - today,
    cycle,
  };
}

function strikeStep(spot: number): number {
  return spot < 25 ? 0.5 : spot < 100 ? 1 : spot < 200 ? 2.5 : spot < 500 ? 5 : spot < 1000 ? 10 : 25;
}

export function strikesAround(spot: number): number[] {
  const step = strikeStep(spot);
  const atm = Math.round(spot / step) * step;
  return Array.from({ length: 2 * STRIKES_EACH_SIDE + 1 }, (_, i) => roundMoney(atm + (i - STRIKES_EACH_SIDE) * step)).filter((k) => k > 0);
}

function normCdf(x: number): number {
  // Abramowitz-Stegun 7.1.26 on erf; error below 1.5e-7.
  const t = 1 / (1 + 0.3275911 * Math.abs(x / Math.SQRT2));
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-(x * x) / 2);
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

const normPdf = (x: number): number => Math.exp(-(x * x) / 2) / Math.sqrt(2 * Math.PI);

export interface Greeks {
  readonly price: number;
  readonly iv: number;
  readonly delta: number;
  readonly gamma: number;
  /** Per 1 volatility point. */
  readonly vega: number;
  /** Per calendar day. */
  readonly theta: number;
  /** Per 1 interest-rate point. */
  readonly rho: number;
}

/** Black-Scholes value and greeks; `years` to expiry is floored at one trading hour. */
export function blackScholes(type: number, spot: number, strike: number, years: number, iv: number): Greeks {
  const t = Math.max(years, 1 / (365 * 24));
  const sqrtT = Math.sqrt(t);
  const d1 = (Math.log(spot / strike) + (RISK_FREE + (iv * iv) / 2) * t) / (iv * sqrtT);
  const d2 = d1 - iv * sqrtT;
  const discount = Math.exp(-RISK_FREE * t);
  const call = type === OPTION_TYPE.Call;
  const price = call ? spot * normCdf(d1) - strike * discount * normCdf(d2) : strike * discount * normCdf(-d2) - spot * normCdf(-d1);
  const decay = -(spot * normPdf(d1) * iv) / (2 * sqrtT);
  const carry = RISK_FREE * strike * discount;
  return {
    price: Math.max(0.01, price),
    iv,
    delta: call ? normCdf(d1) : normCdf(d1) - 1,
    gamma: normPdf(d1) / (spot * iv * sqrtT),
    vega: (spot * normPdf(d1) * sqrtT) / 100,
    theta: (call ? decay - carry * normCdf(d2) : decay + carry * normCdf(-d2)) / 365,
    rho: (call ? strike * t * discount * normCdf(d2) : -strike * t * discount * normCdf(-d2)) / 100,
  };
}

/** Annualized implied volatility: the underlying's own, plus a smile in log-moneyness. */
export function impliedVol(underlying: Listing, spot: number, strike: number): number {
  const base = underlying.dailyVol * Math.sqrt(252);
  const m = Math.log(strike / spot);
  return base * (1 + 1.5 * m * m - 0.2 * m);
}

function yearsTo(expiry: number, nowMs: number): number {
  return (utcOf('US', expiry, US_CLOSE_MINUTE) - nowMs) / (365 * DAY_MS);
}

function r3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function optionName(c: OptionContract): string {
  return `${c.underlying.security.code} ${dateOf(c.expiry).slice(2).replaceAll('-', '')} ${c.strike.toFixed(2)}${c.type === OPTION_TYPE.Call ? 'C' : 'P'}`;
}

export function optionStaticInfo(c: OptionContract, cycle?: number): Message {
  const name = optionName(c);
  return {
    basic: {
      security: { market: MARKETS.US.qot, code: c.code },
      id: (hash64(`static-id|US.${c.code}`) >> 17n).toString(),
      lotSize: CONTRACT_SIZE,
      secType: SECURITY_TYPE_DRVT,
      name,
      listTime: dateOf(c.expiry - 63),
      delisting: false,
      exchType: EXCH_US_OPTION,
    },
    optionExData: {
      type: c.type,
      owner: c.underlying.security,
      strikeTime: dateOf(c.expiry),
      strikePrice: c.strike,
      suspend: false,
      market: 'US',
      strikeTimestamp: utcOf('US', c.expiry, US_CLOSE_MINUTE) / 1000,
      ...(cycle !== undefined ? { expirationCycle: cycle } : {}),
    },
  };
}

/** Snapshot of one option at the underlying's current quote. */
export function optionSnapshot(c: OptionContract, underlying: Quote, nowMs: number): Message {
  const spot = underlying.price;
  const iv = impliedVol(c.underlying, spot, c.strike);
  const g = blackScholes(c.type, spot, c.strike, yearsTo(c.expiry, nowMs), iv);
  const seed = hash32(`oi|${c.code}`);
  const moneyness = Math.abs(Math.log(c.strike / spot));
  const openInterest = Math.round((2000 + (seed % 8000)) * Math.exp(-8 * moneyness));
  const volume = Math.round(openInterest * (0.05 + ((seed >>> 8) % 30) / 100));
  const price = roundMoney(Math.max(0.01, Math.round(g.price * 100) / 100));
  const breakEven = c.type === OPTION_TYPE.Call ? c.strike + price : c.strike - price;
  const today = localDay(nowMs, 'US');
  return {
    basic: {
      security: { market: MARKETS.US.qot, code: c.code },
      name: optionName(c),
      type: SECURITY_TYPE_DRVT,
      isSuspend: false,
      listTime: dateOf(c.expiry - 63),
      lotSize: CONTRACT_SIZE,
      priceSpread: 0.01,
      updateTime: formatLocal(underlying.timeMs, 'US'),
      highPrice: price,
      openPrice: price,
      lowPrice: price,
      lastClosePrice: price,
      curPrice: price,
      volume: String(volume),
      turnover: roundMoney(volume * price * CONTRACT_SIZE),
      turnoverRate: 0,
      updateTimestamp: underlying.timeMs / 1000,
      askPrice: roundMoney(price + 0.01),
      bidPrice: roundMoney(Math.max(0.01, price - 0.01)),
      askVol: '10',
      bidVol: '10',
    },
    optionExData: {
      type: c.type,
      owner: c.underlying.security,
      strikeTime: dateOf(c.expiry),
      strikePrice: c.strike,
      contractSize: CONTRACT_SIZE,
      contractSizeFloat: CONTRACT_SIZE,
      openInterest,
      impliedVolatility: r3(iv * 100),
      premium: r3(((breakEven - spot) / spot) * 100),
      delta: r3(g.delta),
      gamma: r3(g.gamma),
      vega: r3(g.vega),
      theta: r3(g.theta),
      rho: r3(g.rho),
      strikeTimestamp: utcOf('US', c.expiry, US_CLOSE_MINUTE) / 1000,
      expiryDateDistance: c.expiry - today,
      contractMultiplier: CONTRACT_SIZE,
    },
  };
}

/** The contracts of `underlying` expiring on `expiry`, by strike, as Qot_GetOptionChain items. */
export function chainItems(underlying: Listing, expiry: number, cycle: number, spot: number, type: number): Message[] {
  return strikesAround(spot).map((strike) => {
    const item: Message = {};
    for (const t of [OPTION_TYPE.Call, OPTION_TYPE.Put]) {
      if (type !== 0 && type !== t) continue;
      const contract: OptionContract = { underlying, code: optionCode(underlying, expiry, t, strike), type: t, expiry, strike };
      item[t === OPTION_TYPE.Call ? 'call' : 'put'] = optionStaticInfo(contract, cycle);
    }
    return item;
  });
}

export function requireOptionUnderlying(listing: Listing): void {
  if (!hasOptions(listing)) throw new SimError(`No options are listed on ${listing.symbol}`);
}
