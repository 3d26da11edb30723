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

/**
 * The one error for every request made while OpenD is unreachable. With `address` and `reason`
 * (the client knows both) the message says what failed and what to check, e.g.
 * `gateway not connected: connect ECONNREFUSED 127.0.0.1:11111; is OpenD running at 127.0.0.1:11111? (check --gateway)`.
 */
export const notConnected = (details: { reason?: string; address?: string } = {}): GatewayError =>
  new GatewayError(
    'GATEWAY_NOT_CONNECTED',
    details.address === undefined
      ? 'gateway not connected'
      : `gateway not connected: ${details.reason ?? 'not connected yet'}; is OpenD running at ${details.address}? (check --gateway)`,
    details,
  );

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
