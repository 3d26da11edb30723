import { GatewayError } from './errors.js';

/**
 * Symbol notation `HK.00700` ⇄ {market, code}, with the trade-side market numbers.
 * Split at the first dot only: `US..DJI` is market US, code `.DJI`.
 */
export const MARKETS = {
  HK: { qot: 1, secMarket: 1, trdMarket: 1, currency: 'HKD' },
  US: { qot: 11, secMarket: 2, trdMarket: 2, currency: 'USD' },
  SH: { qot: 21, secMarket: 31, trdMarket: 4, currency: 'CNH' },
  SZ: { qot: 22, secMarket: 32, trdMarket: 4, currency: 'CNH' },
} as const;

export type MarketCode = keyof typeof MARKETS;
export const MARKET_CODES = Object.keys(MARKETS) as MarketCode[];

export interface Security {
  market: number;
  code: string;
}

export interface ParsedSymbol {
  market: MarketCode;
  code: string;
  security: Security;
}

export const SYMBOL_FORMAT_HINT = 'MARKET.CODE, e.g. HK.00700, US.AAPL, SH.600519, SZ.000001';
export const SYMBOL_PATTERN = /^(HK|US|SH|SZ)\.([A-Z0-9.]{1,16})$/;

const LOOSE_SYMBOL = /^\s*([A-Za-z]{2})\.([A-Za-z0-9.]{1,16})\s*$/;

/**
 * The canonical spelling of a symbol a person or model may write loosely: market in any case,
 * code upper-cased, HK numeric codes zero-padded to five digits (`hk.700` → `HK.00700`).
 * Undefined when it is not MARKET.CODE of a supported market.
 */
export function normalizeSymbol(text: string): string | undefined {
  const match = LOOSE_SYMBOL.exec(text);
  if (!match) return undefined;
  const market = match[1]!.toUpperCase();
  if (!(market in MARKETS)) return undefined;
  const code = match[2]!.toUpperCase();
  if (market !== 'HK' || !/^\d+$/.test(code)) return `${market}.${code}`;
  return code.length <= 5 ? `HK.${code.padStart(5, '0')}` : undefined;
}

export function parseSymbol(symbol: string): ParsedSymbol {
  const dot = symbol.indexOf('.');
  const prefix = dot > 0 ? symbol.slice(0, dot) : '';
  const code = dot > 0 ? symbol.slice(dot + 1) : '';
  if (!(prefix in MARKETS) || !/^[A-Za-z0-9.]{1,16}$/.test(code)) {
    throw new GatewayError('INVALID_SYMBOL', `invalid symbol "${symbol.slice(0, 40)}": expected ${SYMBOL_FORMAT_HINT}`);
  }
  const market = prefix as MarketCode;
  return { market, code, security: { market: MARKETS[market].qot, code } };
}

export function marketOfQot(qotMarket: number): MarketCode | undefined {
  return MARKET_CODES.find((m) => MARKETS[m].qot === qotMarket);
}

export function marketOfSecMarket(secMarket: number): MarketCode | undefined {
  return MARKET_CODES.find((m) => MARKETS[m].secMarket === secMarket);
}

export function formatSecurity(sec: Security): string {
  return `${marketOfQot(sec.market) ?? 'N/A'}.${sec.code}`;
}

/** The trade header's trdMarket for a symbol's market; A-shares trade via HKCC for real, CN in simulate. */
export function trdMarketFor(market: MarketCode, env: 'simulate' | 'real'): number {
  if ((market === 'SH' || market === 'SZ') && env === 'simulate') return 3;
  return MARKETS[market].trdMarket;
}
