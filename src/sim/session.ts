import { randomBytes } from 'node:crypto';
import { CipherError, plainCipher, sessionCipher, type PacketCipher, type RsaCipher } from '../gateway/crypto.js';
import { encodeFrame, FrameError, PROTO_FMT_PROTOBUF, verifyBody, type Frame } from '../gateway/frame.js';
import { decodeRequest, encodeResponse, isKnownProto, ProtoCodecError, type Message, type ResponseEnvelope } from '../gateway/proto.js';
import { ProtoId } from '../gateway/protoIds.js';
import { describeError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { SimError, type Handler, type MarketEngine, type TradingEngine } from './contract.js';
import type { SimConnection } from './connection.js';
import type { SimFaults } from './faults.js';
import { PacketIdGuard, type OpenDRules } from './rules.js';
import type { Subscriber, SubscriptionBook } from './subscriptions.js';

/**
 * The OpenD protocol on one connection: the InitConnect handshake and its encryption, then every
 * request routed to a connection-level handler or to an engine behind the OpenD-wide rules.
 */
const SERVER_VER = 1011;
const SERVER_BUILD_NO = 7108;
const LOGIN_USER_ID = '20260101';

const ENC_FTAES_ECB = 0;
const ENC_NONE = -1;
const ENC_AES_CBC = 2;
const PROGRAM_STATUS_READY = 10;
const QOT_RIGHT_LEVEL2 = 3;
const QOT_RIGHT_LEVEL1 = 2;

/** Everything a session shares with the rest of the simulated OpenD. */
export interface OpenDServices {
  readonly market: MarketEngine;
  readonly trading: TradingEngine;
  /** market.handlers and trading.handlers together. */
  readonly engineHandlers: ReadonlyMap<number, Handler>;
  readonly rules: OpenDRules;
  readonly subscriptions: SubscriptionBook;
  readonly faults: SimFaults;
  readonly rsa: RsaCipher | undefined;
  readonly keepAliveInterval: number;
  readonly subQuota: number;
  readonly now: () => number;
}

type ConnectionHandler = (session: Session, c2s: Message) => Message;

const seconds = (ms: number): number => Math.floor(ms / 1000);

/** 16 printable characters, as OpenD's connAESKey and aesCBCiv are. */
const randomToken = (): string => randomBytes(8).toString('hex').toUpperCase();

/** Random uint64 in [2^62, 2^63): above 2^53 so clients must keep it exact, and still a valid int64. */
function randomConnId(): string {
  const value = (randomBytes(8).readBigUInt64BE() & ((1n << 63n) - 1n)) | (1n << 62n);
  return value.toString();
}

function failure(retMsg: string, retType = -1): ResponseEnvelope {
  return { retType, retMsg };
}

const CONNECTION_HANDLERS: ReadonlyMap<number, ConnectionHandler> = new Map<number, ConnectionHandler>([
  [ProtoId.InitConnect, () => {
    throw new SimError('InitConnect was already done on this connection');
  }],
  [ProtoId.GetGlobalState, (s) => s.globalState()],
  [ProtoId.KeepAlive, (s) => ({ time: seconds(s.services.now()) })],
  [ProtoId.GetUserInfo, (s) => s.userInfo()],
  [ProtoId.Trd_UnlockTrade, (s, c2s) => s.services.rules.unlockTrade(c2s, s.connId)],
  [ProtoId.Trd_SubAccPush, (s, c2s) => s.registerAccounts(c2s)],
  [ProtoId.Qot_Sub, (s, c2s) => s.services.subscriptions.subscribe(s, c2s)],
  [ProtoId.Qot_RegQotPush, (s, c2s) => s.services.subscriptions.registerPush(s, c2s)],
  [ProtoId.Qot_GetSubInfo, (s, c2s) => s.services.subscriptions.info(s, c2s)],
]);

export class Session implements Subscriber {
  readonly packetIds = new PacketIdGuard();
  private accounts: ReadonlySet<string> = new Set();
  private cipher: PacketCipher;
  private initialized = false;
  private pushSerial = 0;
  private assignedConnId = '';

  constructor(
    private readonly conn: SimConnection,
    readonly services: OpenDServices,
  ) {
    this.cipher = services.rsa ?? plainCipher;
  }

  /** Empty until InitConnect succeeds. */
  get connId(): string {
    return this.assignedConnId;
  }

  handle(frame: Frame): void {
    if (frame.fmt !== PROTO_FMT_PROTOBUF) {
      this.conn.reset(`unsupported body format ${frame.fmt} (only protobuf is served)`);
    } else if (this.initialized) {
      this.request(frame);
    } else if (frame.protoId === ProtoId.InitConnect) {
      this.initConnect(frame);
    } else {
      // No session key exists yet, so this answer can only travel in plaintext.
      this.reply(frame, failure(`InitConnect must come first (got protoID ${frame.protoId})`), plainCipher);
    }
  }

  /** Sends a push with its own protoID and the next server-side serial. */
  push(protoId: number, s2c: Message): void {
    if (!this.initialized || !this.conn.isOpen) return;
    let body: Uint8Array;
    try {
      body = encodeResponse(protoId, { retType: 0, s2c });
    } catch (err) {
      log.error('sim: push could not be encoded', { protoId, error: describeError(err) });
      return;
    }
    this.pushSerial = (this.pushSerial + 1) >>> 0 || 1;
    this.conn.write(encodeFrame(protoId, this.pushSerial, body, this.cipher.encrypt(body)));
  }

  wantsAccount(accId: string): boolean {
    return this.accounts.has(accId);
  }

  globalState(): Message {
    const now = this.services.now();
    return {
      ...this.services.market.marketStates(),
      qotLogined: true,
      trdLogined: true,
      serverVer: SERVER_VER,
      serverBuildNo: SERVER_BUILD_NO,
      time: seconds(now),
      localTime: now / 1000,
      programStatus: { type: PROGRAM_STATUS_READY },
      connID: this.connId,
    };
  }

  userInfo(): Message {
    return {
      nickName: 'futu-sim',
      userID: LOGIN_USER_ID,
      hkQotRight: QOT_RIGHT_LEVEL2,
      usQotRight: QOT_RIGHT_LEVEL1,
      cnQotRight: QOT_RIGHT_LEVEL1,
      isNeedAgreeDisclaimer: false,
      subQuota: this.services.subQuota,
      historyKLQuota: this.services.subQuota,
    };
  }

  /** Trd_SubAccPush (2008): the list replaces the previous one. */
  registerAccounts(c2s: Message): Message {
    const requested = (Array.isArray(c2s.accIDList) ? c2s.accIDList : []) as string[];
    const known = new Set(this.services.trading.accountIds());
    const unknown = requested.find((id) => !known.has(id));
    if (unknown !== undefined) throw new SimError(`unknown accID ${unknown}`);
    this.accounts = new Set(requested);
    return {};
  }

  private initConnect(frame: Frame): void {
    const handshakeCipher = this.services.rsa ?? plainCipher;
    const c2s = this.open(frame, handshakeCipher);
    if (!c2s) return;
    const injected = this.services.faults.takeFailure(frame.protoId);
    if (injected) return this.reply(frame, injected, handshakeCipher);

    const encrypted = this.services.rsa !== undefined;
    const algo = typeof c2s.packetEncAlgo === 'number' ? c2s.packetEncAlgo : encrypted ? ENC_FTAES_ECB : ENC_NONE;
    if (encrypted && algo !== ENC_AES_CBC && algo !== ENC_FTAES_ECB) {
      const msg = algo === ENC_NONE
        ? 'this OpenD has an RSA key configured: packetEncAlgo None is refused'
        : `unsupported packetEncAlgo ${algo} (use AES_CBC 2 or FTAES_ECB 0)`;
      return this.reply(frame, failure(msg), handshakeCipher);
    }
    const connId = randomConnId();
    const connAESKey = randomToken();
    const aesCBCiv = algo === ENC_FTAES_ECB ? undefined : randomToken();
    const s2c = {
      serverVer: SERVER_VER,
      loginUserID: LOGIN_USER_ID,
      connID: connId,
      connAESKey,
      keepAliveInterval: this.services.keepAliveInterval,
      aesCBCiv,
    };
    this.reply(frame, { retType: 0, s2c }, handshakeCipher);
    this.assignedConnId = connId;
    this.cipher = encrypted ? sessionCipher(connAESKey, aesCBCiv) : plainCipher;
    this.initialized = true;
    log.info('sim: connection initialised', {
      remote: this.conn.remote,
      connId,
      clientId: typeof c2s.clientID === 'string' ? c2s.clientID.slice(0, 64) : undefined,
      encryption: encrypted ? (aesCBCiv ? 'AES-CBC' : 'FTAES-ECB') : 'none',
    });
  }

  private request(frame: Frame): void {
    const protoId = frame.protoId;
    const connectionHandler = CONNECTION_HANDLERS.get(protoId);
    const engineHandler = this.services.engineHandlers.get(protoId);
    if (!isKnownProto(protoId) || (!connectionHandler && !engineHandler)) {
      if (this.decrypt(frame, this.cipher)) this.reply(frame, failure(`unsupported protoID ${protoId}`));
      return;
    }
    const c2s = this.open(frame, this.cipher);
    if (!c2s) return;
    const injected = this.services.faults.takeFailure(protoId);
    if (injected) return this.reply(frame, injected);
    try {
      const s2c = connectionHandler ? connectionHandler(this, c2s) : this.callEngine(protoId, engineHandler!, c2s);
      this.reply(frame, { retType: 0, s2c });
    } catch (err) {
      if (err instanceof SimError) return this.reply(frame, failure(err.retMsg, err.retType));
      log.error('sim: request handler failed', { protoId, connId: this.connId, error: describeError(err) });
      this.reply(frame, failure(`internal simulator error handling protoID ${protoId}`));
    }
  }

  private callEngine(protoId: number, handler: Handler, c2s: Message): Message {
    this.services.subscriptions.requireSubscribed(this, protoId, c2s);
    this.services.rules.check(protoId, c2s, this);
    return handler(c2s, { connId: this.connId, unlocked: this.services.rules.unlocked });
  }

  /** Decrypts and checks a request body; on any failure resets the connection and returns undefined. */
  private decrypt(frame: Frame, cipher: PacketCipher): Buffer | undefined {
    try {
      const plain = cipher.decrypt(frame.wireBody);
      verifyBody(frame, plain);
      return plain;
    } catch (err) {
      if (err instanceof CipherError || err instanceof FrameError) {
        this.conn.reset(`protoID ${frame.protoId}: ${err.message}`);
        return undefined;
      }
      throw err;
    }
  }

  private open(frame: Frame, cipher: PacketCipher): Message | undefined {
    const plain = this.decrypt(frame, cipher);
    if (!plain) return undefined;
    try {
      return decodeRequest(frame.protoId, plain);
    } catch (err) {
      if (!(err instanceof ProtoCodecError)) throw err;
      this.conn.reset(`protoID ${frame.protoId}: undecodable body (${err.message})`);
      return undefined;
    }
  }

  private reply(frame: Frame, envelope: ResponseEnvelope, cipher: PacketCipher = this.cipher): void {
    const body = encodeEnvelope(frame.protoId, envelope);
    const bytes = encodeFrame(frame.protoId, frame.serial, body, cipher.encrypt(body));
    const delayMs = this.services.faults.delayFor(frame.protoId);
    if (delayMs > 0) setTimeout(() => this.conn.write(bytes), delayMs).unref();
    else this.conn.write(bytes);
  }
}

/**
 * Every OpenD Response shares fields 1-3 (retType, retMsg, errCode), so a failure for a protoID
 * we have no schema for encodes byte-for-byte like any other proto's failure.
 */
function encodeEnvelope(protoId: number, envelope: ResponseEnvelope): Uint8Array {
  if (!isKnownProto(protoId)) return encodeResponse(ProtoId.KeepAlive, { retType: envelope.retType, retMsg: envelope.retMsg });
  try {
    return encodeResponse(protoId, envelope);
  } catch (err) {
    log.error('sim: response could not be encoded', { protoId, error: describeError(err) });
    return encodeResponse(protoId, failure(`internal simulator error encoding protoID ${protoId}`));
  }
}
