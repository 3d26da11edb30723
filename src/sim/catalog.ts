import { formatSecurity, MARKETS, type MarketCode, type Security } from '../gateway/symbol.js';
import { SimError } from './contract.js';
import { hash64 } from './prng.js';

/**
 * The simulated securities and plates. Prices are centres of the simulated paths and fundamentals
 * are rounded public figures: plausible, not authoritative.
 */
export interface Listing {
  readonly security: Security;
  readonly market: MarketCode;
  readonly symbol: string;
  readonly name: string;
  readonly lotSize: number;
  /** Local listing date, yyyy-MM-dd. HSBC's HK listing date (1991-07-29) is our best information. */
  readonly listDate: string;
  readonly exchType: number;
  /** The long-run centre of the simulated price, in the trading currency. */
  readonly basePrice: number;
  /** Standard deviation of daily log returns. */
  readonly dailyVol: number;
  /** Typical shares traded per day. */
  readonly avgVolume: number;
  readonly sharesOutstanding: number;
  readonly earningsPerShare: number;
  readonly bookValuePerShare: number;
  readonly dividendPerShare: number;
  /** SecurityStaticBasic.id: stable across seeds, like a real security id. */
  readonly staticId: string;
  /** Qot_Common.SecurityType: equity unless given (ETFs are trusts). */
  readonly secType: number;
  /** Business line shown by the company profile and the research data. */
  readonly sector: string;
  /** Whether the simulated paper history trades it (the first catalogue only, so seeded history stays as it was). */
  readonly seedsHistory: boolean;
}

export const SECURITY_TYPE_EQUITY = 3;
export const SECURITY_TYPE_TRUST = 4;
const EXCH = { HK_MAIN: 1, NYSE: 4, NASDAQ: 5, AMEX: 7, SSE: 14, SZSE: 15 } as const;

type Spec = Omit<Listing, 'security' | 'market' | 'symbol' | 'staticId' | 'secType' | 'sector' | 'seedsHistory'> & {
  readonly secType?: number;
  readonly sector?: string;
};

function listing(symbol: string, spec: Spec, seedsHistory = true): Listing {
  const dot = symbol.indexOf('.');
  const market = symbol.slice(0, dot) as MarketCode;
  const code = symbol.slice(dot + 1);
  return {
    ...spec,
    secType: spec.secType ?? SECURITY_TYPE_EQUITY,
    sector: spec.sector ?? 'Diversified',
    seedsHistory,
    security: { market: MARKETS[market].qot, code },
    market,
    symbol,
    staticId: (hash64(`static-id|${symbol}`) >> 17n).toString(),
  };
}

/** Added for screens, searches and option chains; the paper-trading history does not trade them. */
const more = (symbol: string, spec: Spec): Listing => listing(symbol, spec, false);

export const LISTINGS: readonly Listing[] = [
  listing('HK.00700', {
    sector: 'Internet Services', name: 'Tencent Holdings', lotSize: 100, listDate: '2004-06-16', exchType: EXCH.HK_MAIN, basePrice: 430, dailyVol: 0.02,
    avgVolume: 18e6, sharesOutstanding: 9.2e9, earningsPerShare: 22.5, bookValuePerShare: 120, dividendPerShare: 4.5,
  }),
  listing('HK.09988', {
    sector: 'Internet Retail', name: 'Alibaba-W', lotSize: 100, listDate: '2019-11-26', exchType: EXCH.HK_MAIN, basePrice: 115, dailyVol: 0.028,
    avgVolume: 60e6, sharesOutstanding: 19e9, earningsPerShare: 6.5, bookValuePerShare: 55, dividendPerShare: 1.95,
  }),
  listing('HK.03690', {
    sector: 'Internet Services', name: 'Meituan-W', lotSize: 100, listDate: '2018-09-20', exchType: EXCH.HK_MAIN, basePrice: 120, dailyVol: 0.03,
    avgVolume: 25e6, sharesOutstanding: 6.1e9, earningsPerShare: 5.5, bookValuePerShare: 28, dividendPerShare: 0,
  }),
  listing('HK.00005', {
    sector: 'Banks', name: 'HSBC Holdings', lotSize: 400, listDate: '1991-07-29', exchType: EXCH.HK_MAIN, basePrice: 95, dailyVol: 0.013,
    avgVolume: 20e6, sharesOutstanding: 17.5e9, earningsPerShare: 8.6, bookValuePerShare: 72, dividendPerShare: 5.1,
  }),
  listing('HK.00941', {
    sector: 'Telecommunications', name: 'China Mobile', lotSize: 500, listDate: '1997-10-23', exchType: EXCH.HK_MAIN, basePrice: 82, dailyVol: 0.011,
    avgVolume: 15e6, sharesOutstanding: 21.5e9, earningsPerShare: 6.6, bookValuePerShare: 64, dividendPerShare: 5.0,
  }),
  listing('US.AAPL', {
    sector: 'Consumer Electronics', name: 'Apple Inc.', lotSize: 1, listDate: '1980-12-12', exchType: EXCH.NASDAQ, basePrice: 225, dailyVol: 0.016,
    avgVolume: 55e6, sharesOutstanding: 14.8e9, earningsPerShare: 6.6, bookValuePerShare: 4.4, dividendPerShare: 1.0,
  }),
  listing('US.TSLA', {
    sector: 'Auto Manufacturers', name: 'Tesla Inc', lotSize: 1, listDate: '2010-06-29', exchType: EXCH.NASDAQ, basePrice: 330, dailyVol: 0.035,
    avgVolume: 95e6, sharesOutstanding: 3.2e9, earningsPerShare: 2.0, bookValuePerShare: 23, dividendPerShare: 0,
  }),
  listing('US.NVDA', {
    sector: 'Semiconductors', name: 'NVIDIA Corp', lotSize: 1, listDate: '1999-01-22', exchType: EXCH.NASDAQ, basePrice: 175, dailyVol: 0.03,
    avgVolume: 220e6, sharesOutstanding: 24.4e9, earningsPerShare: 3.0, bookValuePerShare: 4.5, dividendPerShare: 0.04,
  }),
  listing('US.MSFT', {
    sector: 'Software', name: 'Microsoft Corp', lotSize: 1, listDate: '1986-03-13', exchType: EXCH.NASDAQ, basePrice: 480, dailyVol: 0.014,
    avgVolume: 20e6, sharesOutstanding: 7.43e9, earningsPerShare: 13.6, bookValuePerShare: 46, dividendPerShare: 3.3,
  }),
  listing('US.GOOG', {
    sector: 'Internet Content', name: 'Alphabet Inc-C', lotSize: 1, listDate: '2004-08-19', exchType: EXCH.NASDAQ, basePrice: 190, dailyVol: 0.018,
    avgVolume: 22e6, sharesOutstanding: 5.5e9, earningsPerShare: 9.0, bookValuePerShare: 30, dividendPerShare: 0.8,
  }),
  listing('SH.600519', {
    sector: 'Liquor', name: 'Kweichow Moutai', lotSize: 100, listDate: '2001-08-27', exchType: EXCH.SSE, basePrice: 1480, dailyVol: 0.016,
    avgVolume: 3e6, sharesOutstanding: 1.256e9, earningsPerShare: 68, bookValuePerShare: 190, dividendPerShare: 51,
  }),
  listing('SZ.000001', {
    sector: 'Banks', name: 'Ping An Bank', lotSize: 100, listDate: '1991-04-03', exchType: EXCH.SZSE, basePrice: 11.5, dailyVol: 0.015,
    avgVolume: 110e6, sharesOutstanding: 19.4e9, earningsPerShare: 2.3, bookValuePerShare: 22, dividendPerShare: 0.72,
  }),
  more('HK.02800', {
    sector: 'ETF', secType: SECURITY_TYPE_TRUST, name: 'Tracker Fund of Hong Kong', lotSize: 500, listDate: '1999-11-12', exchType: EXCH.HK_MAIN, basePrice: 25,
    dailyVol: 0.012, avgVolume: 120e6, sharesOutstanding: 6.5e9, earningsPerShare: 2.3, bookValuePerShare: 24, dividendPerShare: 0.75,
  }),
  more('HK.01299', {
    sector: 'Insurance', name: 'AIA Group', lotSize: 200, listDate: '2010-10-29', exchType: EXCH.HK_MAIN, basePrice: 62, dailyVol: 0.017,
    avgVolume: 30e6, sharesOutstanding: 10.8e9, earningsPerShare: 3.8, bookValuePerShare: 30, dividendPerShare: 1.75,
  }),
  more('HK.02318', {
    sector: 'Insurance', name: 'Ping An Insurance', lotSize: 500, listDate: '2004-06-24', exchType: EXCH.HK_MAIN, basePrice: 48, dailyVol: 0.02,
    avgVolume: 45e6, sharesOutstanding: 18.2e9, earningsPerShare: 7.0, bookValuePerShare: 52, dividendPerShare: 2.6,
  }),
  more('HK.00388', {
    sector: 'Capital Markets', name: 'Hong Kong Exchanges and Clearing', lotSize: 100, listDate: '2000-06-27', exchType: EXCH.HK_MAIN, basePrice: 330,
    dailyVol: 0.019, avgVolume: 8e6, sharesOutstanding: 1.27e9, earningsPerShare: 10.5, bookValuePerShare: 42, dividendPerShare: 9.4,
  }),
  more('HK.01810', {
    sector: 'Consumer Electronics', name: 'Xiaomi Corporation-W', lotSize: 200, listDate: '2018-07-09', exchType: EXCH.HK_MAIN, basePrice: 45, dailyVol: 0.03,
    avgVolume: 150e6, sharesOutstanding: 25e9, earningsPerShare: 1.1, bookValuePerShare: 9, dividendPerShare: 0,
  }),
  more('HK.00883', {
    sector: 'Oil & Gas', name: 'CNOOC', lotSize: 1000, listDate: '2001-02-28', exchType: EXCH.HK_MAIN, basePrice: 19, dailyVol: 0.018,
    avgVolume: 60e6, sharesOutstanding: 47.5e9, earningsPerShare: 3.0, bookValuePerShare: 16, dividendPerShare: 1.4,
  }),
  more('US.SPY', {
    sector: 'ETF', secType: SECURITY_TYPE_TRUST, name: 'SPDR S&P 500 ETF Trust', lotSize: 1, listDate: '1993-01-29', exchType: EXCH.AMEX, basePrice: 600,
    dailyVol: 0.009, avgVolume: 60e6, sharesOutstanding: 0.92e9, earningsPerShare: 24, bookValuePerShare: 110, dividendPerShare: 7.2,
  }),
  more('US.QQQ', {
    sector: 'ETF', secType: SECURITY_TYPE_TRUST, name: 'Invesco QQQ Trust', lotSize: 1, listDate: '1999-03-10', exchType: EXCH.NASDAQ, basePrice: 520,
    dailyVol: 0.012, avgVolume: 40e6, sharesOutstanding: 0.6e9, earningsPerShare: 16, bookValuePerShare: 70, dividendPerShare: 3.0,
  }),
  more('US.AMZN', {
    sector: 'Internet Retail', name: 'Amazon.com Inc', lotSize: 1, listDate: '1997-05-15', exchType: EXCH.NASDAQ, basePrice: 220, dailyVol: 0.02,
    avgVolume: 45e6, sharesOutstanding: 10.6e9, earningsPerShare: 5.5, bookValuePerShare: 30, dividendPerShare: 0,
  }),
  more('US.META', {
    sector: 'Internet Content', name: 'Meta Platforms Inc', lotSize: 1, listDate: '2012-05-18', exchType: EXCH.NASDAQ, basePrice: 700, dailyVol: 0.022,
    avgVolume: 15e6, sharesOutstanding: 2.52e9, earningsPerShare: 24, bookValuePerShare: 72, dividendPerShare: 2.0,
  }),
  more('US.AMD', {
    sector: 'Semiconductors', name: 'Advanced Micro Devices', lotSize: 1, listDate: '1979-10-15', exchType: EXCH.NASDAQ, basePrice: 160, dailyVol: 0.032,
    avgVolume: 50e6, sharesOutstanding: 1.62e9, earningsPerShare: 1.9, bookValuePerShare: 35, dividendPerShare: 0,
  }),
  more('US.JPM', {
    sector: 'Banks', name: 'JPMorgan Chase & Co', lotSize: 1, listDate: '1969-03-05', exchType: EXCH.NYSE, basePrice: 290, dailyVol: 0.014,
    avgVolume: 9e6, sharesOutstanding: 2.75e9, earningsPerShare: 19.5, bookValuePerShare: 120, dividendPerShare: 5.6,
  }),
  more('US.KO', {
    sector: 'Beverages', name: 'Coca-Cola Co', lotSize: 1, listDate: '1919-09-05', exchType: EXCH.NYSE, basePrice: 70, dailyVol: 0.009,
    avgVolume: 14e6, sharesOutstanding: 4.3e9, earningsPerShare: 2.5, bookValuePerShare: 6.3, dividendPerShare: 2.04,
  }),
  more('US.XOM', {
    sector: 'Oil & Gas', name: 'Exxon Mobil Corp', lotSize: 1, listDate: '1920-01-02', exchType: EXCH.NYSE, basePrice: 115, dailyVol: 0.015,
    avgVolume: 16e6, sharesOutstanding: 4.3e9, earningsPerShare: 7.8, bookValuePerShare: 62, dividendPerShare: 3.96,
  }),
  more('SH.601318', {
    sector: 'Insurance', name: 'Ping An Insurance (A)', lotSize: 100, listDate: '2007-03-01', exchType: EXCH.SSE, basePrice: 55, dailyVol: 0.018,
    avgVolume: 60e6, sharesOutstanding: 18.2e9, earningsPerShare: 6.5, bookValuePerShare: 50, dividendPerShare: 2.43,
  }),
  more('SH.600036', {
    sector: 'Banks', name: 'China Merchants Bank', lotSize: 100, listDate: '2002-04-09', exchType: EXCH.SSE, basePrice: 42, dailyVol: 0.015,
    avgVolume: 55e6, sharesOutstanding: 25.2e9, earningsPerShare: 5.7, bookValuePerShare: 40, dividendPerShare: 1.97,
  }),
  more('SZ.300750', {
    sector: 'Batteries', name: 'Contemporary Amperex Technology', lotSize: 100, listDate: '2018-06-11', exchType: EXCH.SZSE, basePrice: 260, dailyVol: 0.025,
    avgVolume: 25e6, sharesOutstanding: 4.4e9, earningsPerShare: 11.5, bookValuePerShare: 55, dividendPerShare: 5.5,
  }),
  more('SZ.000858', {
    sector: 'Liquor', name: 'Wuliangye Yibin', lotSize: 100, listDate: '1998-04-27', exchType: EXCH.SZSE, basePrice: 130, dailyVol: 0.018,
    avgVolume: 20e6, sharesOutstanding: 3.88e9, earningsPerShare: 8.2, bookValuePerShare: 38, dividendPerShare: 4.7,
  }),
];

const BY_SYMBOL = new Map(LISTINGS.map((l) => [l.symbol, l]));

export function findListing(sec: Security): Listing | undefined {
  return BY_SYMBOL.get(formatSecurity(sec));
}

/** The listing, or OpenD's error for a code it does not know. */
export function requireListing(sec: Security | undefined): Listing {
  if (!sec) throw new SimError('security is required');
  const found = findListing(sec);
  if (!found) throw new SimError(`Unknown stock ${formatSecurity(sec)}`);
  return found;
}

export const PLATE_SET = { All: 0, Industry: 1, Region: 2, Concept: 3 } as const;

export interface Plate {
  readonly security: Security;
  readonly name: string;
  readonly setType: 1 | 2 | 3;
  /** Constituent symbols, e.g. HK.00700. */
  readonly members: readonly string[];
}

function plate(symbol: string, name: string, setType: Plate['setType'], members: string[]): Plate {
  const dot = symbol.indexOf('.');
  const market = symbol.slice(0, dot) as MarketCode;
  return { security: { market: MARKETS[market].qot, code: symbol.slice(dot + 1) }, name, setType, members };
}

const HSTECH = ['HK.00700', 'HK.09988', 'HK.03690'];
const MAG7 = ['US.AAPL', 'US.MSFT', 'US.NVDA', 'US.TSLA', 'US.GOOG'];

/** Futu does not publish region plates for HK and US ("暂为空"), so those markets have none. */
export const PLATES: readonly Plate[] = [
  plate('HK.LIST1059', 'Internet Services', 1, HSTECH),
  plate('HK.LIST1036', 'Banks', 1, ['HK.00005']),
  plate('HK.LIST1045', 'Telecommunications Services', 1, ['HK.00941']),
  plate('HK.BK1910', 'Hang Seng TECH Index Constituents', 3, HSTECH),
  plate('HK.BK1033', 'Hang Seng Index Constituents', 3, [...HSTECH, 'HK.00005', 'HK.00941']),
  plate('US.LIST2517', 'Semiconductors', 1, ['US.NVDA']),
  plate('US.LIST2530', 'Software - Infrastructure', 1, ['US.MSFT']),
  plate('US.LIST2501', 'Consumer Electronics', 1, ['US.AAPL']),
  plate('US.LIST2523', 'Auto Manufacturers', 1, ['US.TSLA']),
  plate('US.LIST2512', 'Internet Content & Information', 1, ['US.GOOG']),
  plate('US.BK2994', 'Magnificent Seven', 3, MAG7),
  plate('US.BK2995', 'AI Chips', 3, ['US.NVDA']),
  plate('SH.LIST0815', 'Liquor', 1, ['SH.600519']),
  plate('SZ.LIST0475', 'Banks', 1, ['SZ.000001']),
  plate('SH.BK0147', 'Guizhou', 2, ['SH.600519']),
  plate('SZ.BK0154', 'Shenzhen', 2, ['SZ.000001']),
  plate('SH.BK0611', 'CSI 300 Constituents', 3, ['SH.600519', 'SZ.000001']),
];

/** QotMarket of a plate request; SH and SZ share the A-share plate universe. */
export function platesOf(qotMarket: number, setType: number): Plate[] {
  const cn = qotMarket === MARKETS.SH.qot || qotMarket === MARKETS.SZ.qot;
  return PLATES.filter((p) => {
    const sameMarket = cn ? p.security.market === MARKETS.SH.qot || p.security.market === MARKETS.SZ.qot : p.security.market === qotMarket;
    return sameMarket && (setType === PLATE_SET.All || p.setType === setType);
  });
}

export function requirePlate(sec: Security | undefined): Plate {
  const found = sec && PLATES.find((p) => p.security.market === sec.market && p.security.code === sec.code);
  if (!found) throw new SimError(`Unknown plate ${sec ? formatSecurity(sec) : ''}`.trim());
  return found;
}

export function listingBySymbol(symbol: string): Listing {
  const found = BY_SYMBOL.get(symbol);
  if (!found) throw new SimError(`Unknown stock ${symbol}`);
  return found;
}
