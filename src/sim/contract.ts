import type { Message } from '../gateway/proto.js';
import type { Security } from '../gateway/symbol.js';

/**
 * The seam between the simulator's wire layer (src/sim/server.ts: sockets, InitConnect,
 * encryption, KeepAlive, subscriptions, OpenD-wide rules such as unlock, rate limits and PacketID)
 * and its engines (market data, paper trading). Engines are pure and deterministic: they take a
 * decoded C2S object and return the S2C object of the same proto, with field names exactly as in
 * the official .proto files and 64-bit integers as decimal strings.
 */

/** An OpenD-style failure: becomes `Response{retType, retMsg}` on the wire. */
export class SimError extends Error {
  constructor(
    readonly retMsg: string,
    readonly retType = -1,
  ) {
    super(retMsg);
  }
}

export interface RequestContext {
  /** connID of the requesting connection (decimal string). */
  readonly connId: string;
  /** Whether real trading has been unlocked on this OpenD (OpenD-wide, until restart). */
  readonly unlocked: boolean;
}

export type Handler = (c2s: Message, ctx: RequestContext) => Message;

export interface MarketEngine {
  /** Quote protos: 3004 3006 3008 3010 3012 3014 3103 3104 3202 3203 3204 3205 3223. */
  readonly handlers: ReadonlyMap<number, Handler>;
  knows(sec: Security): boolean;
  /** The push (protoId 3005/3007/3009/3011/3013/3015 and its S2C) for one subscription now. */
  pushFor(sec: Security, subType: number): { protoId: number; s2c: Message } | undefined;
  /** QotMarketState values for GetGlobalState: marketHK, marketUS, marketSH, marketSZ, marketHKFuture. */
  marketStates(): Record<'marketHK' | 'marketUS' | 'marketSH' | 'marketSZ' | 'marketHKFuture', number>;
}

export interface TradePush {
  accID: string;
  /** 2208 Trd_UpdateOrder or 2218 Trd_UpdateOrderFill. */
  protoId: number;
  s2c: Message;
}

export interface TradingEngine {
  /** Trade protos: 2001 2101 2102 2201 2202 2205 2211 2221 2222. */
  readonly handlers: ReadonlyMap<number, Handler>;
  /** Order and fill events, delivered to connections that registered the account via 2008. */
  onPush(listener: (push: TradePush) => void): void;
  /** All account ids (decimal strings), for validating Trd_SubAccPush. */
  accountIds(): string[];
}
