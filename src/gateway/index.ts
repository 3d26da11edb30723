/** The OpenD gateway: import from here rather than from the individual files. */
export { FutuGateway, type FutuGatewayOptions } from './api.js';
export { OpenDClient, type ClientEvents, type OpenDClientOptions, type RequestOptions, type RestoreHook } from './client.js';
export { GatewayError, OpenDError, notConnected, type GatewayErrorCode } from './errors.js';
export {
  KL_TYPE, ORDER_STATUS, ORDER_TYPE, PLATE_SET_TYPE, REHAB, SECURITY_TYPE, SIMPLE_ORDER_TYPE, SUB_TYPE, TRD_ENV, TRD_MARKET, TRD_SIDE,
  type EnumCodec,
} from './enums.js';
export { MIN_SUBSCRIPTION_MS } from './subscriptions.js';
export { MARKETS, parseSymbol, formatSecurity, SYMBOL_FORMAT_HINT, SYMBOL_PATTERN, type MarketCode } from './symbol.js';
export { parseU64 } from './validate.js';
export type * from './types.js';
