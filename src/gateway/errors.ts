import { FutuError } from '../shared/errors.js';

export type GatewayErrorCode =
  | 'GATEWAY_NOT_CONNECTED'
  | 'GATEWAY_TIMEOUT'
  | 'OPEND_ERROR'
  | 'PROTOCOL_ERROR'
  | 'INVALID_SYMBOL'
  | 'INVALID_ARGUMENT'
  | 'SUBSCRIPTION_QUOTA'
  | 'UNSUBSCRIBE_TOO_SOON';

export class GatewayError extends FutuError {
  declare readonly code: GatewayErrorCode;
  constructor(code: GatewayErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(code, message, details);
  }
}

/** The one message for every request made while OpenD is unreachable; `details` may say why. */
export const notConnected = (details: Record<string, unknown> = {}): GatewayError =>
  new GatewayError('GATEWAY_NOT_CONNECTED', 'gateway not connected', details);

/** An answer from OpenD with retType != 0: its retMsg is what the user needs to see. */
export class OpenDError extends GatewayError {
  constructor(
    readonly protoId: number,
    readonly retType: number,
    readonly retMsg: string,
    readonly errCode?: number,
  ) {
    super('OPEND_ERROR', `OpenD error: ${retMsg || `retType ${retType}`}`, { retType, protoId });
  }
}
