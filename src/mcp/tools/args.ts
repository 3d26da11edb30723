import { z } from 'zod';
import { ORDER_STATUS, type OrderStatusName } from '../../gateway/enums.js';
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
const UINT64_DIGITS = /^\d{1,20}$/;
export const uint64String = (what: string) =>
  z
    .string()
    .regex(UINT64_DIGITS, `${what} must be a decimal string of digits`)
    // zod runs refinements even after the regex failed: only digits may reach BigInt().
    .refine((s) => !UINT64_DIGITS.test(s) || BigInt(s) <= UINT64_MAX, `${what} exceeds uint64`)
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

/** An integer count with a default and a cap, e.g. `num` levels or bars. */
export const count = (what: string, fallback: number, max: number) =>
  z.number().int().min(1).max(max).default(fallback).describe(`${what} (1-${max}, default ${fallback})`);

export const plate = z
  .string()
  .regex(SYMBOL_PATTERN, 'expected a plate as MARKET.CODE, e.g. HK.BK1910 (from futu_list_plates)')
  .describe('Plate (sector/index) as MARKET.CODE, e.g. HK.BK1910, as listed by futu_list_plates');

export const hkSymbol = symbol
  .refine((s) => s.startsWith('HK.'), 'broker queues exist for HK securities only (e.g. HK.00700)')
  .describe('HK security as HK.CODE, e.g. HK.00700 (broker queues exist for HK only)');

export const PLATE_TYPES = ['all', 'industry', 'region', 'concept'] as const;
export const plateType = z.enum(PLATE_TYPES).default('all').describe('Plate kind: all (default), industry, region or concept');

export const REHABS = ['forward', 'backward', 'none'] as const;
export const rehab = z
  .enum(REHABS)
  .default('forward')
  .describe('Price adjustment for splits/dividends: forward (default), backward or none');

/** Account reads may leave env unset to mean "both". */
export const envFilter = z.enum(['simulate', 'real']).optional().describe('Only accounts of this environment (default: both)');

export const remark = z
  .string()
  .refine((s) => Buffer.byteLength(s, 'utf8') <= 64, 'remark must be at most 64 UTF-8 bytes')
  .describe('Free-text note stored on the order after futu-mcp\'s own tag (OpenD keeps 64 UTF-8 bytes in all; the end may be cut)');

export const clientOrderId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,40}$/, 'client_order_id must be 1-40 characters of A-Z a-z 0-9 _ -')
  .describe('Your id for this order (1-40 of A-Z a-z 0-9 _ -). Send one, and send the same id again when retrying: within 24 h a retry returns the first call\'s order instead of placing a second');

export const orderStatuses = z
  .array(z.enum(ORDER_STATUS.names as [OrderStatusName, ...OrderStatusName[]]))
  .min(1)
  .max(16)
  .describe('Only orders in these states, e.g. ["SUBMITTED","FILLED_PART"] for working orders');

/** Quote tools take `symbols`, or one `symbol` for convenience; never both. */
export const symbolsOrOne = {
  symbols: symbols.optional(),
  symbol: symbol.optional().describe(`One security (instead of symbols) as ${SYMBOL_FORMAT_HINT}`),
};

export function exactlyOneSymbolSource(args: { symbols?: string[]; symbol?: string }, ctx: z.RefinementCtx): void {
  if ((args.symbols === undefined) === (args.symbol === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['symbols'], message: 'give either symbols (an array) or symbol (one security), not both or neither' });
  }
}

export function symbolList(args: { symbols?: string[]; symbol?: string }): string[] {
  return args.symbols ?? (args.symbol === undefined ? [] : [args.symbol]);
}

/** Which account an account read addresses: an acc_id, or the env's account for a market. */
export const accountSelector = {
  acc_id: accId.optional().describe('Account id as a decimal string, from futu_list_accounts; optional when market (or a symbol) picks the account'),
  market: market.optional().describe('Picks the env\'s account trading this market (HK, US, SH, SZ) when acc_id is absent'),
  env,
};

/** The sentence every account read's description shares. */
export const ACCOUNT_SELECTION_HINT =
  'Pick the account with acc_id (a string from futu_list_accounts) or market (the env\'s account for HK, US, SH or SZ); ' +
  'with neither, the env\'s only account is used. env defaults to "simulate" (paper trading); pass "real" for the real-money account.';

/** The sentences every trade tool's description shares. */
export const TRADE_RULES_HINT =
  'env defaults to "simulate" (paper); "real" moves real money: only when the user asks (needs trade:real, unlocked OpenD). ' +
  'Per-key limits apply (markets, symbols, sides, per-order value, daily value, orders per minute); a refusal names the limit. ' +
  'Sells and MARKET orders are valued at no less than quote + 5%; selling more than is held is a SELL_SHORT.';

export const tradeAccount = accId
  .optional()
  .describe('Account id (decimal string, from futu_list_accounts); optional: by default the env\'s account trading the order\'s market');
