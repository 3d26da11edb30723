import { FutuError } from '../shared/errors.js';

export type GatewayErrorCode =
  | 'GATEWAY_NOT_CONNECTED'
  | 'GATEWAY_LINK_LOST'
  | 'GATEWAY_TIMEOUT'
  | 'GATEWAY_RATE_LIMITED'
  | 'OPEND_ERROR'
  | 'PROTOCOL_ERROR'
  | 'INVALID_SYMBOL'
  | 'INVALID_ARGUMENT'
  | 'SUBSCRIPTION_QUOTA'
  | 'SUBSCRIPTION_BUDGET'
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

/**
 * The link dropped after the request was written and before OpenD answered: unlike
 * GATEWAY_NOT_CONNECTED (never written), OpenD may have acted on it.
 */
export const linkLost = (details: Record<string, unknown> = {}): GatewayError =>
  new GatewayError('GATEWAY_LINK_LOST', 'the link to OpenD dropped before it answered: the request was sent and may have taken effect', details);

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
