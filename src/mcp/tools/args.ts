import { z } from 'zod';
import { MARKET_CODES, SYMBOL_FORMAT_HINT, SYMBOL_PATTERN } from '../../gateway/symbol.js';

/**
 * The argument vocabulary shared by the 20 tools: canonical names (`symbol`, `symbols`, `kl_type`,
 * `begin`/`end`, `num`, `side`, `order_type`, `qty`, `price`, `env`, `acc_id`, `order_id`,
 * `market`), enums by name (or Futu's integer), 64-bit ids as decimal strings.
 */

export const symbol = z
  .string()
  .regex(SYMBOL_PATTERN, `expected ${SYMBOL_FORMAT_HINT}`)
  .describe(`Security as ${SYMBOL_FORMAT_HINT}`);

export const symbols = z
  .array(symbol)
  .min(1)
  .max(50)
  .describe('One to 50 securities, each MARKET.CODE (e.g. ["HK.00700","US.AAPL"])');

export const market = z.enum(MARKET_CODES).describe('Market: HK, US, SH (Shanghai) or SZ (Shenzhen)');

export const env = z
  .enum(['simulate', 'real'])
  .default('simulate')
  .describe('Trading environment. "simulate" (paper trading) is the default; "real" moves real money and needs the trade:real scope');

/** uint64 ids travel as decimal strings: JSON numbers lose precision above 2^53. */
const UINT64_MAX = 18446744073709551615n;
export const uint64String = (what: string) =>
  z
    .string()
    .regex(/^\d{1,20}$/, `${what} must be a decimal string of digits`)
    .refine((s) => BigInt(s) <= UINT64_MAX, `${what} exceeds uint64`)
    .describe(`${what} as a decimal string (64-bit; never a JSON number)`);

export const accId = uint64String('acc_id');
export const orderId = uint64String('order_id');

export const SIDES = ['BUY', 'SELL', 'SELL_SHORT', 'BUY_BACK'] as const;
export const side = z.enum(SIDES).describe('Order side: BUY or SELL (SELL_SHORT / BUY_BACK for US short positions)');

export const ORDER_TYPES = ['LIMIT', 'MARKET'] as const;
export const orderType = z
  .enum(ORDER_TYPES)
  .default('LIMIT')
  .describe('LIMIT (needs price) or MARKET (valued for limits at a conservative reference price)');

/** KLType numbers in Qot_Common.KLType, by the names a model is likely to use. */
export const KL_TYPES = {
  '1m': 1, '5m': 6, '15m': 7, '30m': 8, '60m': 9, day: 2, week: 3, month: 4,
  K_1M: 1, K_5M: 6, K_15M: 7, K_30M: 8, K_60M: 9, K_DAY: 2, K_WEEK: 3, K_MON: 4,
} as const;
export type KlTypeName = keyof typeof KL_TYPES;
const klNames = Object.keys(KL_TYPES) as [KlTypeName, ...KlTypeName[]];
export const klType = z
  .union([z.enum(klNames), z.number().int().refine((n) => Object.values(KL_TYPES).includes(n as never), 'unsupported kl_type number')])
  .default('day')
  .describe('Candle period: 1m, 5m, 15m, 30m, 60m, day, week, month (Futu names K_DAY etc. and KLType numbers also accepted)');

export function klTypeNumber(v: KlTypeName | number): number {
  return typeof v === 'number' ? v : KL_TYPES[v];
}

export const dateTime = (what: string) =>
  z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?$/, `${what} must be "YYYY-MM-DD" or "YYYY-MM-DD HH:MM[:SS]"`)
    .describe(`${what}: "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS" (exchange local time)`);

export const positiveQty = z.number().positive().finite().describe('Quantity in shares; HK and A-shares must be a multiple of the lot size');
export const positivePrice = z.number().positive().finite().describe('Limit price in the security\'s currency, on the tick size');

/** Optional per-call API key override (trade tools only). Never logged or audited. */
export const apiKey = z
  .string()
  .min(1)
  .optional()
  .describe('Optional API key (fc_...) overriding the connection\'s key for this call; an invalid key is refused, never replaced by another');
