import assert from 'node:assert/strict';
import { decodeResponse, encodeResponse, type Message } from '../../src/gateway/proto.js';
import { SimError, type RequestContext } from '../../src/sim/contract.js';
import { SimMarket } from '../../src/sim/market.js';
import { SimTrading } from '../../src/sim/trading.js';

/** Shared setup for the market and trading engine tests: a manual clock and proto round trips. */
export const LOCKED: RequestContext = { connId: '7189612437284915201', unlocked: false };
export const UNLOCKED: RequestContext = { connId: '7189612437284915201', unlocked: true };

/** UTC ms of a Hong Kong / Shanghai local time (UTC+8). */
export const hkt = (y: number, mo: number, d: number, h: number, mi = 0, s = 0): number => Date.UTC(y, mo - 1, d, h - 8, mi, s);
/** UTC ms of a New York local time, as simulated (fixed UTC-5). */
export const et = (y: number, mo: number, d: number, h: number, mi = 0, s = 0): number => Date.UTC(y, mo - 1, d, h + 5, mi, s);

/** Tuesday 2025-03-04 10:15:30.250 HKT: HK and A-shares are trading, the US is closed. */
export const HK_MORNING = hkt(2025, 3, 4, 10, 15, 30) + 250;

export class ManualClock {
  constructor(public ms: number) {}
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

export const TENCENT = { market: 1, code: '00700' };
export const HSBC = { market: 1, code: '00005' };
export const APPLE = { market: 11, code: 'AAPL' };
export const MOUTAI = { market: 21, code: '600519' };
export const PING_AN = { market: 22, code: '000001' };
export const UNKNOWN = { market: 1, code: '99999' };

export function market(seed = 42, at = HK_MORNING): { market: SimMarket; clock: ManualClock } {
  const clock = new ManualClock(at);
  return { market: new SimMarket({ seed, now: clock.now }), clock };
}

export function engines(seed = 42, at = HK_MORNING): { market: SimMarket; trading: SimTrading; clock: ManualClock } {
  const { market: m, clock } = market(seed, at);
  return { market: m, trading: new SimTrading({ market: m, seed }), clock };
}

type Engine = { handlers: ReadonlyMap<number, (c2s: Message, ctx: RequestContext) => Message> };

/** Calls a handler and returns its S2C after a trip through the official proto (which checks required fields). */
export function call<S = Message>(engine: Engine, protoId: number, c2s: Message, ctx: RequestContext = LOCKED): S {
  return roundTrip<S>(protoId, raw(engine, protoId, c2s, ctx));
}

export function raw(engine: Engine, protoId: number, c2s: Message, ctx: RequestContext = LOCKED): Message {
  const handler = engine.handlers.get(protoId);
  assert.ok(handler, `no handler for ${protoId}`);
  return handler(c2s, ctx);
}

export function roundTrip<S = Message>(protoId: number, s2c: Message): S {
  const decoded = decodeResponse<S>(protoId, encodeResponse(protoId, { retType: 0, s2c }));
  assert.equal(decoded.retType, 0);
  assert.ok(decoded.s2c, `proto ${protoId} lost its s2c`);
  return decoded.s2c;
}

export function encoded(engine: Engine, protoId: number, c2s: Message): Buffer {
  return Buffer.from(encodeResponse(protoId, { retType: 0, s2c: raw(engine, protoId, c2s) }));
}

/** Asserts that `fn` fails the way OpenD would: a SimError whose retMsg matches. */
export function assertSimError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SimError, `expected SimError, got ${String(err)}`);
    assert.match(err.retMsg, pattern);
    return true;
  });
}
