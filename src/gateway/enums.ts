import { GatewayError } from './errors.js';

/**
 * OpenD declares its enums as plain int32 fields. The typed API speaks names instead (the
 * py-futu-api spellings where one exists), so callers and LLMs never juggle magic numbers.
 * Values OpenD may add later decode to 'UNKNOWN' rather than failing.
 */
export interface EnumCodec<N extends string> {
  readonly names: readonly N[];
  /** The wire value for a name; INVALID_ARGUMENT (listing the valid names) for anything else. */
  value(name: string, what: string): number;
  /** The name for a wire value; 'UNKNOWN' for values this build does not know. */
  name(value: number | undefined): N | 'UNKNOWN';
}

function enumCodec<N extends string>(values: Record<N, number>): EnumCodec<N> {
  const names = Object.keys(values) as N[];
  const byValue = new Map<number, N>(names.map((n) => [values[n], n]));
  return {
    names,
    value(name, what) {
      if (!Object.hasOwn(values, name)) {
        throw new GatewayError('INVALID_ARGUMENT', `invalid ${what} "${String(name).slice(0, 40)}": expected one of ${names.join(', ')}`);
      }
      return values[name as N];
    },
    name: (value) => (value === undefined ? undefined : byValue.get(value)) ?? 'UNKNOWN',
  };
}

/** Qot_Common.KLType. The same names double as the KL subscription types below. */
const KL_TYPE_VALUES = {
  K_1M: 1, K_3M: 10, K_5M: 6, K_10M: 12, K_15M: 7, K_30M: 8, K_60M: 9, K_120M: 13, K_180M: 14, K_240M: 15,
  K_DAY: 2, K_WEEK: 3, K_MON: 4, K_QUARTER: 11, K_YEAR: 5,
} as const;
export type KLTypeName = keyof typeof KL_TYPE_VALUES;
export const KL_TYPE = enumCodec(KL_TYPE_VALUES);

/** Qot_Common.SubType. */
const KL_SUB_TYPE_VALUES: Record<KLTypeName, number> = {
  K_1M: 11, K_3M: 17, K_5M: 7, K_10M: 18, K_15M: 8, K_30M: 9, K_60M: 10, K_120M: 19, K_180M: 20, K_240M: 21,
  K_DAY: 6, K_WEEK: 12, K_MON: 13, K_QUARTER: 15, K_YEAR: 16,
};
export type SubTypeName = 'QUOTE' | 'ORDER_BOOK' | 'TICKER' | 'RT_DATA' | 'BROKER' | KLTypeName;
export const SUB_TYPE = enumCodec<SubTypeName>({ QUOTE: 1, ORDER_BOOK: 2, TICKER: 4, RT_DATA: 5, BROKER: 14, ...KL_SUB_TYPE_VALUES });

export type RehabName = 'NONE' | 'FORWARD' | 'BACKWARD';
export const REHAB = enumCodec<RehabName>({ NONE: 0, FORWARD: 1, BACKWARD: 2 });

export type SecurityTypeName =
  | 'BOND' | 'BWRT' | 'STOCK' | 'ETF' | 'WARRANT' | 'IDX' | 'PLATE' | 'DRVT' | 'PLATESET' | 'FUTURE' | 'FOREX' | 'CRYPTO';
export const SECURITY_TYPE = enumCodec<SecurityTypeName>({
  BOND: 1, BWRT: 2, STOCK: 3, ETF: 4, WARRANT: 5, IDX: 6, PLATE: 7, DRVT: 8, PLATESET: 9, FUTURE: 10, FOREX: 11, CRYPTO: 12,
});

export type PlateSetTypeName = 'ALL' | 'INDUSTRY' | 'REGION' | 'CONCEPT';
export const PLATE_SET_TYPE = enumCodec<PlateSetTypeName>({ ALL: 0, INDUSTRY: 1, REGION: 2, CONCEPT: 3 });

/** Qot_Common.TickerDirection: Bid = an aggressive buyer, Ask = an aggressive seller. */
export type TickerDirectionName = 'BUY' | 'SELL' | 'NEUTRAL';
export const TICKER_DIRECTION = enumCodec<TickerDirectionName>({ BUY: 1, SELL: 2, NEUTRAL: 3 });

export type TrdEnvName = 'simulate' | 'real';
export const TRD_ENV = enumCodec<TrdEnvName>({ simulate: 0, real: 1 });

export type TrdMarketName =
  | 'HK' | 'US' | 'CN' | 'HKCC' | 'FUTURES' | 'SG' | 'CRYPTO' | 'AU' | 'JP' | 'MY' | 'CA' | 'PREDICTION'
  | 'FUTURES_SIMULATE_HK' | 'FUTURES_SIMULATE_US' | 'FUTURES_SIMULATE_SG' | 'FUTURES_SIMULATE_JP'
  | 'HK_FUND' | 'US_FUND' | 'SG_FUND' | 'MY_FUND' | 'JP_FUND';
export const TRD_MARKET = enumCodec<TrdMarketName>({
  HK: 1, US: 2, CN: 3, HKCC: 4, FUTURES: 5, SG: 6, CRYPTO: 7, AU: 8, JP: 15, MY: 111, CA: 112, PREDICTION: 17,
  FUTURES_SIMULATE_HK: 10, FUTURES_SIMULATE_US: 11, FUTURES_SIMULATE_SG: 12, FUTURES_SIMULATE_JP: 13,
  HK_FUND: 113, US_FUND: 123, SG_FUND: 124, MY_FUND: 125, JP_FUND: 126,
});

/** Same spelling as the key model's TrdSide (src/keys/types.ts). */
export type TrdSideName = 'BUY' | 'SELL' | 'SELL_SHORT' | 'BUY_BACK';
export const TRD_SIDE = enumCodec<TrdSideName>({ BUY: 1, SELL: 2, SELL_SHORT: 3, BUY_BACK: 4 });

/** Order types that need nothing beyond qty and (except MARKET) a price. */
export type SimpleOrderTypeName =
  | 'NORMAL' | 'MARKET' | 'ABSOLUTE_LIMIT' | 'AUCTION' | 'AUCTION_LIMIT' | 'SPECIAL_LIMIT' | 'SPECIAL_LIMIT_ALL';
export type OrderTypeName =
  | SimpleOrderTypeName
  | 'STOP' | 'STOP_LIMIT' | 'MARKET_IF_TOUCHED' | 'LIMIT_IF_TOUCHED' | 'TRAILING_STOP' | 'TRAILING_STOP_LIMIT'
  | 'TWAP_MARKET' | 'TWAP_LIMIT' | 'VWAP_MARKET' | 'VWAP_LIMIT';
const SIMPLE_ORDER_TYPE_VALUES: Record<SimpleOrderTypeName, number> = {
  NORMAL: 1, MARKET: 2, ABSOLUTE_LIMIT: 5, AUCTION: 6, AUCTION_LIMIT: 7, SPECIAL_LIMIT: 8, SPECIAL_LIMIT_ALL: 9,
};
export const SIMPLE_ORDER_TYPE = enumCodec(SIMPLE_ORDER_TYPE_VALUES);
export const ORDER_TYPE = enumCodec<OrderTypeName>({
  ...SIMPLE_ORDER_TYPE_VALUES,
  STOP: 10, STOP_LIMIT: 11, MARKET_IF_TOUCHED: 12, LIMIT_IF_TOUCHED: 13, TRAILING_STOP: 14, TRAILING_STOP_LIMIT: 15,
  TWAP_MARKET: 16, TWAP_LIMIT: 17, VWAP_MARKET: 18, VWAP_LIMIT: 19,
});

export type OrderStatusName =
  | 'UNSUBMITTED' | 'WAITING_SUBMIT' | 'SUBMITTING' | 'SUBMIT_FAILED' | 'TIMEOUT' | 'SUBMITTED'
  | 'FILLED_PART' | 'FILLED_ALL' | 'CANCELLING_PART' | 'CANCELLING_ALL' | 'CANCELLED_PART' | 'CANCELLED_ALL'
  | 'FAILED' | 'DISABLED' | 'DELETED' | 'FILL_CANCELLED';
export const ORDER_STATUS = enumCodec<OrderStatusName>({
  UNSUBMITTED: 0, WAITING_SUBMIT: 1, SUBMITTING: 2, SUBMIT_FAILED: 3, TIMEOUT: 4, SUBMITTED: 5,
  FILLED_PART: 10, FILLED_ALL: 11, CANCELLING_PART: 12, CANCELLING_ALL: 13, CANCELLED_PART: 14, CANCELLED_ALL: 15,
  FAILED: 21, DISABLED: 22, DELETED: 23, FILL_CANCELLED: 24,
});

export type ModifyOpName = 'normal' | 'cancel';
export const MODIFY_OP = enumCodec<ModifyOpName>({ normal: 1, cancel: 2 });

export type PositionSideName = 'LONG' | 'SHORT';
export const POSITION_SIDE = enumCodec<PositionSideName>({ LONG: 0, SHORT: 1 });

export type AccTypeName = 'CASH' | 'MARGIN' | 'TFSA' | 'RRSP' | 'SRRSP' | 'DERIVATIVES';
export const ACC_TYPE = enumCodec<AccTypeName>({ CASH: 1, MARGIN: 2, TFSA: 3, RRSP: 4, SRRSP: 5, DERIVATIVES: 6 });

export type SimAccTypeName = 'STOCK' | 'OPTION' | 'FUTURES' | 'STOCK_AND_OPTION' | 'COMPETITION';
export const SIM_ACC_TYPE = enumCodec<SimAccTypeName>({ STOCK: 1, OPTION: 2, FUTURES: 3, STOCK_AND_OPTION: 4, COMPETITION: 5 });

export type CurrencyName = 'HKD' | 'USD' | 'CNH' | 'JPY' | 'SGD' | 'AUD' | 'CAD' | 'MYR' | 'NZD';
export const CURRENCY = enumCodec<CurrencyName>({ HKD: 1, USD: 2, CNH: 3, JPY: 4, SGD: 5, AUD: 6, CAD: 7, MYR: 8, NZD: 9 });
