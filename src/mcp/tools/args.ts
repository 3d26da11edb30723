import { z } from 'zod';
import { ORDER_STATUS, type OrderStatusName } from '../../gateway/enums.js';
import { MARKET_CODES, normalizeSymbol, SYMBOL_FORMAT_HINT, type MarketCode } from '../../gateway/symbol.js';

/**
 * The argument vocabulary shared by the tools: canonical names (`symbol`, `symbols`, `kl_type`,
 * `begin`/`end`, `num`, `side`, `order_type`, `qty`, `price`, `env`, `acc_id`, `order_id`,
 * `market`), enums by name (or Futu's integer), 64-bit ids as decimal strings.
 */

/**
 * A security as MARKET.CODE, normalized before anything (Cedar, audit, OpenD) sees it: markets in
 * any case and unpadded HK codes are accepted (`hk.700` → `HK.00700`).
 */
export const symbol = z
  .string()
  .transform((text, ctx) => {
    const canonical = normalizeSymbol(text);
    if (canonical === undefined) ctx.addIssue({ code: 'custom', message: `expected ${SYMBOL_FORMAT_HINT}`, input: text });
    return canonical ?? text;
  })
  .describe('e.g. HK.00700');

export const symbols = z.array(symbol).min(1).max(50);

/** A string enum matched case-insensitively, whose error lists the valid values. */
function looseEnum<const T extends string>(what: string, values: readonly T[], aliases: Readonly<Record<string, T>> = {}) {
  const byName = new Map<string, T>([...values.map((v) => [v.toLowerCase(), v] as const), ...Object.entries(aliases).map(([k, v]) => [k.toLowerCase(), v] as const)]);
  return z.string().transform((text, ctx): T => {
    const found = byName.get(text.trim().toLowerCase());
    if (found === undefined) ctx.addIssue({ code: 'custom', message: `${what} must be one of ${values.join(', ')}`, input: text });
    return found ?? (text as T);
  });
}

export const market = looseEnum<MarketCode>('market', MARKET_CODES).describe('HK, US, SH (Shanghai) or SZ (Shenzhen)');

export const env = z
  .enum(['simulate', 'real'])
  .default('simulate')
  .describe('simulate (paper, default) or real (needs trade:real)');

/** uint64 ids travel as decimal strings: JSON numbers lose precision above 2^53. */
const UINT64_MAX = 18446744073709551615n;
const UINT64_DIGITS = /^\d{1,20}$/;
export const uint64String = (what: string) =>
  z
    .string()
    .regex(UINT64_DIGITS, `${what} must be a decimal string of digits`)
    // zod runs refinements even after the regex failed: only digits may reach BigInt().
    .refine((s) => !UINT64_DIGITS.test(s) || BigInt(s) <= UINT64_MAX, `${what} exceeds uint64`)
    .describe(`${what} as a decimal string`);

export const accId = uint64String('acc_id');
export const orderId = uint64String('order_id');

export const SIDES = ['BUY', 'SELL', 'SELL_SHORT', 'BUY_BACK'] as const;
export const side = z.enum(SIDES).describe('BUY or SELL (SELL_SHORT / BUY_BACK: US shorts)');

export const ORDER_TYPES = ['LIMIT', 'MARKET'] as const;
export const orderType = z
  .enum(ORDER_TYPES)
  .default('LIMIT')
  .describe('LIMIT (needs price) or MARKET');

/** KLType numbers in Qot_Common.KLType, by the names the tools speak. */
export const KL_TYPES = { '1m': 1, '5m': 6, '15m': 7, '30m': 8, '60m': 9, day: 2, week: 3, month: 4 } as const;
export type KlTypeName = keyof typeof KL_TYPES;
const KL_NAMES = Object.keys(KL_TYPES) as KlTypeName[];

/** Other spellings of the periods (Futu's K_* names, 1h, daily, ...), matched case-insensitively. */
const KL_ALIASES: Readonly<Record<string, KlTypeName>> = {
  k_1m: '1m', '1min': '1m', k_5m: '5m', '5min': '5m', k_15m: '15m', '15min': '15m', k_30m: '30m', '30min': '30m',
  k_60m: '60m', '60min': '60m', '1h': '60m', hour: '60m', hourly: '60m',
  k_day: 'day', '1d': 'day', d: 'day', daily: 'day', k_week: 'week', '1w': 'week', w: 'week', weekly: 'week',
  k_mon: 'month', '1mo': 'month', mon: 'month', monthly: 'month',
};

const KL_BY_SPELLING = new Map<string, KlTypeName>([
  ...KL_NAMES.map((k) => [k, k] as const),
  ...Object.entries(KL_ALIASES),
  ...KL_NAMES.map((k) => [String(KL_TYPES[k]), k] as const),
]);

/** The period as its canonical name, from any listed spelling or Futu's KLType number. */
export const klType = z
  .union([z.string(), z.number()])
  .transform((value, ctx): KlTypeName => {
    const name = KL_BY_SPELLING.get(String(value).trim().toLowerCase());
    if (name === undefined) ctx.addIssue({ code: 'custom', message: `kl_type must be one of ${KL_NAMES.join(', ')}`, input: value });
    return name ?? 'day';
  })
  .default('day')
  .describe(`${KL_NAMES.join(', ')} (default day)`);

// Checked with refine rather than regex: the description already shows the format, and a
// pattern would repeat it in every listing.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?$/;
export const dateTime = (what: string) =>
  z
    .string()
    .refine((s) => DATE_TIME.test(s), `${what} must be "YYYY-MM-DD" or "YYYY-MM-DD HH:MM[:SS]"`)
    .describe('YYYY-MM-DD[ HH:MM[:SS]], exchange-local');

export const positiveQty = z.number().positive().finite().describe('Shares; HK and A-shares in whole lots');
export const positivePrice = z.number().positive().finite().describe('Limit price, on the tick size');

/** Optional per-call API key override (trade tools only). Never logged or audited. */
export const apiKey = z
  .string()
  .min(1)
  .optional()
  .describe('API key (fc_...) for this call only, instead of the connection\'s');

/** An integer count with a default and a cap, e.g. `num` levels or bars. */
export const count = (what: string, fallback: number, max: number) =>
  z.number().int().min(1).max(max).default(fallback).describe(what);

export const plate = z
  .string()
  .transform((text, ctx) => {
    const canonical = normalizeSymbol(text);
    if (canonical === undefined) ctx.addIssue({ code: 'custom', message: 'expected a plate as MARKET.CODE, e.g. HK.BK1910 (from futu_list_plates)', input: text });
    return canonical ?? text;
  })
  .describe('Plate code from futu_list_plates, e.g. HK.BK1910');

export const hkSymbol = symbol
  .refine((s) => s.startsWith('HK.'), 'broker queues exist for HK securities only (e.g. HK.00700)')
  .describe('HK security, e.g. HK.00700');

export const PLATE_TYPES = ['all', 'industry', 'region', 'concept'] as const;
export const plateType = z.enum(PLATE_TYPES).default('all');

export const REHABS = ['forward', 'backward', 'none'] as const;
export const rehab = looseEnum('rehab', REHABS).default('forward').describe('forward (default), backward or none');

/** Account reads may leave env unset to mean "both". */
export const envFilter = looseEnum('env', ['simulate', 'real'] as const).optional().describe('simulate or real (default: both)');

export const remark = z
  .string()
  .refine((s) => Buffer.byteLength(s, 'utf8') <= 64, 'remark must be at most 64 UTF-8 bytes')
  .describe('Free-text note stored on the order after futu-mcp\'s own tag (OpenD keeps 64 UTF-8 bytes in all; the end may be cut)');

export const clientOrderId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,40}$/, 'client_order_id must be 1-40 characters of A-Z a-z 0-9 _ -')
  .describe('Your id for this order (1-40 of A-Z a-z 0-9 _ -). Send one, and send the same id again when retrying: within 24 h a retry returns the first call\'s order instead of placing a second');

/** Its format is checked where it is used (an id that is not one is refused CONFIRMATION_INVALID). */
export const confirmationId = z.string().max(64).describe('After CONFIRMATION_REQUIRED: the approved id').optional();

export const orderStatuses = z
  .array(looseEnum('status', ORDER_STATUS.names as readonly OrderStatusName[]))
  .min(1)
  .max(16)
  .describe('e.g. ["FILLED_ALL"]');

/** Quote tools take `symbols`, or one `symbol` for convenience; never both. */
export const symbolsOrOne = {
  symbols: symbols.optional(),
  symbol: symbol.optional().describe('One security instead of symbols'),
};

export function exactlyOneSymbolSource(args: { symbols?: string[]; symbol?: string }, ctx: z.RefinementCtx): void {
  if ((args.symbols === undefined) === (args.symbol === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['symbols'], message: 'give either symbols (an array) or symbol (one security), not both or neither' });
  }
}

export function symbolList(args: { symbols?: string[]; symbol?: string }): string[] {
  return args.symbols ?? (args.symbol === undefined ? [] : [args.symbol]);
}

/** What narrows an account read; with none of them the read covers every account the key may use. */
export const accountFilter = {
  acc_id: accId.optional(),
  market: market.optional().describe('Only accounts trading it'),
  env: envFilter,
};

/** The sentence every trade tool's description shares; the full trading rules are in the server instructions. */
export const TRADE_RULES_HINT = 'Default env: simulate (paper); real needs trade:real.';

export const tradeAccount = accId
  .optional()
  .describe('Default: the env\'s account trading the symbol\'s market');
