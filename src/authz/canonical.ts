import { parseSymbol, type MarketCode } from '../gateway/symbol.js';
import { AuthzError } from './errors.js';

/**
 * Canonical forms of the strings policies compare with the key's allowlists, so spelling
 * variants can neither slip past an allowlist nor be refused by it.
 */

/** Symbols in upper case: "hk.00700" and "HK.00700" are one symbol. */
export interface ResolvedSecurity {
  readonly market: MarketCode;
  readonly symbol: string;
}

export function resolveSecurity(symbol: string): ResolvedSecurity {
  try {
    const parsed = parseSymbol(symbol.trim().toUpperCase());
    return { market: parsed.market, symbol: `${parsed.market}.${parsed.code}` };
  } catch (err) {
    throw new AuthzError('INVALID_VALUE', (err as Error).message);
  }
}

const MAX_U64 = 2n ** 64n - 1n;

/** Account ids compare as numbers written in decimal ("001001" is account 1001). */
export function canonicalAccount(account: string): string {
  const trimmed = account.trim();
  if (!/^\d{1,20}$/.test(trimmed) || BigInt(trimmed) > MAX_U64) {
    throw new AuthzError('INVALID_VALUE', 'invalid value: acc_id must be a decimal 64-bit account id');
  }
  return BigInt(trimmed).toString();
}
