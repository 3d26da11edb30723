import type { Listing } from './catalog.js';
import { hash64 } from './prng.js';

/**
 * The simulated trading accounts and their books of cash and positions. Every account is a margin
 * account in one currency; buying power is twice the equity less the gross exposure and the cash
 * frozen by open buy orders (a Reg-T-like rule, simple enough to reason about in a demo).
 */
export const TrdEnv = { Simulate: 0, Real: 1 } as const;
export const TrdMarket = { HK: 1, US: 2, CN: 3, HKCC: 4 } as const;
export const Currency = { HKD: 1, USD: 2, CNH: 3 } as const;
export const TRD_ACC_TYPE_MARGIN = 2;
export const SIM_ACC_TYPE_STOCK = 1;
export const SECURITY_FIRM_FUTU_SECURITIES = 1;
const GROSS_LEVERAGE = 2;

export interface SeedPosition {
  readonly symbol: string;
  readonly qty: number;
  /** Bought this many calendar days before the engine started (at that day's close). */
  readonly daysAgo: number;
}

export interface AccountSpec {
  readonly label: string;
  readonly trdEnv: number;
  readonly trdMarket: number;
  readonly currency: number;
  readonly cash: number;
  readonly positions: readonly SeedPosition[];
  readonly cardNum?: string;
}

export const ACCOUNT_SPECS: readonly AccountSpec[] = [
  {
    label: 'real-hk', trdEnv: TrdEnv.Real, trdMarket: TrdMarket.HK, currency: Currency.HKD, cash: 500_000, cardNum: '1001100520398877',
    positions: [{ symbol: 'HK.00700', qty: 1000, daysAgo: 120 }, { symbol: 'HK.00005', qty: 2000, daysAgo: 300 }],
  },
  {
    label: 'real-us', trdEnv: TrdEnv.Real, trdMarket: TrdMarket.US, currency: Currency.USD, cash: 80_000, cardNum: '1001100520398878',
    positions: [{ symbol: 'US.AAPL', qty: 50, daysAgo: 200 }, { symbol: 'US.NVDA', qty: 100, daysAgo: 60 }],
  },
  {
    label: 'sim-hk', trdEnv: TrdEnv.Simulate, trdMarket: TrdMarket.HK, currency: Currency.HKD, cash: 1_000_000,
    positions: [{ symbol: 'HK.09988', qty: 500, daysAgo: 30 }],
  },
  {
    label: 'sim-us', trdEnv: TrdEnv.Simulate, trdMarket: TrdMarket.US, currency: Currency.USD, cash: 1_000_000,
    positions: [{ symbol: 'US.MSFT', qty: 20, daysAgo: 45 }],
  },
  {
    label: 'sim-cn', trdEnv: TrdEnv.Simulate, trdMarket: TrdMarket.CN, currency: Currency.CNH, cash: 1_000_000,
    positions: [{ symbol: 'SH.600519', qty: 100, daysAgo: 90 }],
  },
];

/** A uint64 id above 2^53 (so clients must keep it as a string), stable for (seed, key). */
export function bigId(seed: number, key: string, bits: bigint): string {
  return ((1n << bits) + (hash64(`${seed}|${key}`) % (1n << bits))).toString();
}

export interface TodayStats {
  day: number;
  buyQty: number;
  buyVal: number;
  sellQty: number;
  sellVal: number;
}

export interface PositionBook {
  readonly listing: Listing;
  readonly positionID: string;
  /** Negative when short (US only). */
  qty: number;
  /** Buys minus sells, in money: the diluted cost basis. */
  netCost: number;
  /** Average price of the shares held, updated on additions only. */
  avgCost: number;
  today: TodayStats;
}

export class Account {
  readonly id: string;
  cash: number;
  readonly positions = new Map<string, PositionBook>();

  constructor(
    readonly spec: AccountSpec,
    private readonly seed: number,
  ) {
    this.id = bigId(seed, `acc|${spec.label}`, 58n);
    this.cash = spec.cash;
  }

  get isReal(): boolean {
    return this.spec.trdEnv === TrdEnv.Real;
  }

  /** Whether this account may trade a listing's market. */
  covers(listing: Listing): boolean {
    const m = this.spec.trdMarket;
    if (m === TrdMarket.HK) return listing.market === 'HK';
    if (m === TrdMarket.US) return listing.market === 'US';
    return listing.market === 'SH' || listing.market === 'SZ';
  }

  positionOf(listing: Listing): PositionBook {
    let p = this.positions.get(listing.symbol);
    if (!p) {
      p = { listing, positionID: bigId(this.seed, `pos|${this.id}|${listing.symbol}`, 56n), qty: 0, netCost: 0, avgCost: 0, today: emptyStats(-1) };
      this.positions.set(listing.symbol, p);
    }
    return p;
  }

  /** Books a fill: signed quantity (+ buy, - sell) at a price, on a local trading day. */
  applyFill(listing: Listing, signedQty: number, price: number, day: number): void {
    const p = this.positionOf(listing);
    const value = signedQty * price;
    this.cash -= value;
    const growing = p.qty === 0 || Math.sign(p.qty) === Math.sign(signedQty);
    if (growing) p.avgCost = (p.avgCost * Math.abs(p.qty) + Math.abs(value)) / (Math.abs(p.qty) + Math.abs(signedQty));
    else if (Math.abs(signedQty) > Math.abs(p.qty)) p.avgCost = price; // flipped from long to short or back
    p.qty += signedQty;
    p.netCost += value;
    if (p.qty === 0) p.avgCost = 0;
    if (p.today.day !== day) p.today = emptyStats(day);
    if (signedQty > 0) {
      p.today.buyQty += signedQty;
      p.today.buyVal += value;
    } else {
      p.today.sellQty -= signedQty;
      p.today.sellVal -= value;
    }
  }

  /** Long and short market values at the given prices. */
  exposure(priceOf: (l: Listing) => number): { longMv: number; shortMv: number } {
    let longMv = 0;
    let shortMv = 0;
    for (const p of this.positions.values()) {
      const mv = p.qty * priceOf(p.listing);
      if (mv > 0) longMv += mv;
      else shortMv += mv;
    }
    return { longMv, shortMv };
  }

  buyingPower(priceOf: (l: Listing) => number, frozenCash: number): number {
    const { longMv, shortMv } = this.exposure(priceOf);
    const equity = this.cash + longMv + shortMv;
    return Math.max(0, GROSS_LEVERAGE * equity - longMv + shortMv - frozenCash);
  }
}

function emptyStats(day: number): TodayStats {
  return { day, buyQty: 0, buyVal: 0, sellQty: 0, sellVal: 0 };
}
