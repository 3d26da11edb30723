import { createHash, timingSafeEqual } from 'node:crypto';
import type { Message } from '../gateway/proto.js';
import { ProtoId } from '../gateway/protoIds.js';
import { log } from '../shared/log.js';
import { SlidingWindow } from '../shared/slidingWindow.js';
import { SimError } from './contract.js';

/**
 * OpenD-wide rules that the engines do not see: the trade unlock, documented frequency limits,
 * and PacketID replay protection on trade writes.
 */
const WINDOW_MS = 30_000;
const TRD_ENV_REAL = 1;
const MAX_SNAPSHOT_CODES = 400;

interface Limit {
  readonly limit: number;
  readonly minGapMs: number;
  readonly text: string;
}

const PLACE_ORDER_LIMIT: Limit = { limit: 15, minGapMs: 20, text: 'at most 15 per 30 s per account, 20 ms apart' };
const MODIFY_ORDER_LIMIT: Limit = { limit: 20, minGapMs: 40, text: 'at most 20 per 30 s per account, 40 ms apart' };
const UNLOCK_LIMIT: Limit = { limit: 10, minGapMs: 0, text: 'at most 10 per 30 s' };
const SNAPSHOT_LIMIT: Limit = { limit: 60, minGapMs: 0, text: 'at most 60 per 30 s' };

const windowFor = (l: Limit): SlidingWindow => new SlidingWindow(l.limit, WINDOW_MS, l.minGapMs);

function take(window: SlidingWindow, limit: Limit, what: string, now: number): void {
  const waitMs = window.tryTake(now);
  if (waitMs > 0) {
    throw new SimError(`${what} is over OpenD's frequency limit (${limit.text}); retry in ${(waitMs / 1000).toFixed(2)} s`);
  }
}

export interface PacketId {
  connID?: string;
  serialNo?: number;
}

/** Per connection: a trade write's PacketID must name this connection and a strictly increasing serial. */
export class PacketIdGuard {
  private lastSerial: number | undefined;

  accept(packetId: PacketId | undefined, connId: string): void {
    if (packetId?.connID !== connId || packetId.serialNo === undefined) {
      throw new SimError('PacketID rejected (replay protection): its connID does not belong to this connection');
    }
    if (this.lastSerial !== undefined && packetId.serialNo <= this.lastSerial) {
      throw new SimError(
        `PacketID rejected (replay protection): serialNo ${packetId.serialNo} is not greater than ${this.lastSerial}, the last one used on this connection`,
      );
    }
    this.lastSerial = packetId.serialNo;
  }
}

export interface TradeWriter {
  readonly connId: string;
  readonly packetIds: PacketIdGuard;
}

interface TrdHeader {
  trdEnv?: number;
  accID?: string;
}

export interface OpenDRulesOptions {
  tradePwd: string;
  now: () => number;
  /** false only for benchmarks: trade writes skip the per-account frequency windows. */
  orderRateLimits: boolean;
  isAccount: (accId: string) => boolean;
}

export class OpenDRules {
  private unlockedNow = false;
  private readonly pwdDigest: Buffer;
  private readonly unlockWindow = windowFor(UNLOCK_LIMIT);
  private readonly snapshotWindow = windowFor(SNAPSHOT_LIMIT);
  private readonly placeWindows = new Map<string, SlidingWindow>();
  private readonly modifyWindows = new Map<string, SlidingWindow>();

  constructor(private readonly options: OpenDRulesOptions) {
    this.pwdDigest = createHash('md5').update(options.tradePwd, 'utf8').digest();
  }

  /** Unlocked by any connection means unlocked for all, until relocked or OpenD restarts. */
  get unlocked(): boolean {
    return this.unlockedNow;
  }

  /** OpenD restarted: the unlock does not survive it. Frequency windows live at Futu's servers and do. */
  restart(): void {
    this.unlockedNow = false;
  }

  /** Trd_UnlockTrade (2005). */
  unlockTrade(c2s: Message, connId: string): Message {
    take(this.unlockWindow, UNLOCK_LIMIT, 'Trd_UnlockTrade', this.options.now());
    if (c2s.unlock !== true) {
      this.unlockedNow = false;
      log.info('sim: trading locked', { connId });
      return {};
    }
    if (!this.passwordMatches(c2s.pwdMD5)) {
      log.warn('sim: unlock refused: wrong trade password', { connId });
      throw new SimError('unlock failed: the trade password is incorrect');
    }
    this.unlockedNow = true;
    log.info('sim: trading unlocked', { connId });
    return {};
  }

  /** Rules for requests that reach an engine; throws SimError to refuse. */
  check(protoId: number, c2s: Message, writer: TradeWriter): void {
    if (protoId === ProtoId.Qot_GetSecuritySnapshot) this.checkSnapshot(c2s);
    else if (protoId === ProtoId.Trd_PlaceOrder) this.checkTradeWrite(c2s, writer, 'Trd_PlaceOrder', PLACE_ORDER_LIMIT, this.placeWindows);
    else if (protoId === ProtoId.Trd_ModifyOrder) this.checkTradeWrite(c2s, writer, 'Trd_ModifyOrder', MODIFY_ORDER_LIMIT, this.modifyWindows);
  }

  private passwordMatches(pwdMD5: unknown): boolean {
    if (typeof pwdMD5 !== 'string' || !/^[0-9a-fA-F]{32}$/.test(pwdMD5)) return false;
    return timingSafeEqual(Buffer.from(pwdMD5, 'hex'), this.pwdDigest);
  }

  private checkSnapshot(c2s: Message): void {
    const count = Array.isArray(c2s.securityList) ? c2s.securityList.length : 0;
    if (count > MAX_SNAPSHOT_CODES) {
      throw new SimError(`Qot_GetSecuritySnapshot accepts at most ${MAX_SNAPSHOT_CODES} securities per request (got ${count})`);
    }
    take(this.snapshotWindow, SNAPSHOT_LIMIT, 'Qot_GetSecuritySnapshot', this.options.now());
  }

  private checkTradeWrite(c2s: Message, writer: TradeWriter, what: string, limit: Limit, windows: Map<string, SlidingWindow>): void {
    writer.packetIds.accept(c2s.packetID as PacketId | undefined, writer.connId);
    const header = (c2s.header ?? {}) as TrdHeader;
    if (header.trdEnv === TRD_ENV_REAL && !this.unlockedNow) {
      throw new SimError(`${what} on a real account needs trading unlocked first (Trd_UnlockTrade)`);
    }
    // Unknown accounts are refused by the engine; tracking them here would let a peer grow the map.
    const accId = header.accID;
    if (!this.options.orderRateLimits || accId === undefined || !this.options.isAccount(accId)) return;
    let window = windows.get(accId);
    if (!window) windows.set(accId, (window = windowFor(limit)));
    take(window, limit, what, this.options.now());
  }
}
