import { randomInt } from 'node:crypto';
import net from 'node:net';
import { describeError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { sessionCipher, type PacketCipher, type RsaCipher } from './crypto.js';
import { GatewayError, linkLost, notConnected, OpenDError } from './errors.js';
import { encodeFrame, FrameReader, verifyBody, type Frame } from './frame.js';
import { decodeResponse, encodeRequest, type Message } from './proto.js';
import { ProtoId, protoNameOf, PUSH_PROTO_IDS } from './protoIds.js';
import type { LinkInfo } from './types.js';

/**
 * One TCP link to OpenD: the InitConnect handshake, framing, encryption, serial numbers,
 * request/response matching by (protoID, serial), push routing by protoID, per-request timeouts,
 * KeepAlive and dead-link detection. A link never reconnects: once closed it stays closed and
 * OpenDClient opens a new one.
 */

export interface ConnectionOptions {
  host: string;
  port: number;
  /** Present when OpenD has an RSA key: InitConnect goes RSA, the rest AES. */
  rsa?: RsaCipher;
  clientId: string;
  clientVer: number;
  connectTimeoutMs: number;
  /** For the InitConnect answer. */
  handshakeTimeoutMs: number;
  /** Called synchronously for every push frame, in arrival order. */
  onPush(protoId: number, s2c: Message): void;
  /** Aborting closes the link (or cancels a connect in progress). */
  signal?: AbortSignal;
}

interface Pending {
  deadline: number;
  timeoutMs: number;
  resolve(s2c: Message): void;
  reject(err: Error): void;
}

/** One timer per link does the timeout sweep, KeepAlive and the liveness check. */
const TICK_MS = 50;
const KEEPALIVE_FRACTION = 0.8;
/** py-futu-api gives up after 33 s of silence at a 10 s KeepAlive interval. */
const DEAD_LINK_FACTOR = 3.3;
const DEFAULT_KEEPALIVE_SEC = 10;
const U32_MAX = 0xffffffff;
const PACKET_ENC_AES_CBC = 2;
const PACKET_ENC_NONE = -1;

/** Request and response share protoID and serial; one number keys both (protoID < 2^21). */
const pendingKey = (protoId: number, serial: number): number => protoId * 0x1_0000_0000 + serial;

const protoLabel = (protoId: number): string => protoNameOf(protoId) ?? String(protoId);

export class OpenDConnection {
  private readonly reader = new FrameReader();
  private readonly pending = new Map<number, Pending>();
  /** Increasing per link, wrapping to 1; OpenD ignores trade writes whose serial does not increase. */
  private serial = randomInt(1, 100_000);
  /** Undefined while the link is in plaintext. */
  private cipher: PacketCipher | undefined;
  private readonly ticker: NodeJS.Timeout;
  private lastReceivedAt = Date.now();
  private lastKeepAliveAt = Date.now();
  private keepAliveEveryMs = DEFAULT_KEEPALIVE_SEC * 1000 * KEEPALIVE_FRACTION;
  private deadAfterMs = DEFAULT_KEEPALIVE_SEC * 1000 * DEAD_LINK_FACTOR;
  private closeReason: string | undefined;
  private resolveClosed!: (reason: string) => void;
  /** Resolves with the reason once the link is closed, whoever closed it. */
  readonly closed = new Promise<string>((resolve) => (this.resolveClosed = resolve));
  private linkInfo: LinkInfo | undefined;
  private corked = false;

  private constructor(
    private readonly socket: net.Socket,
    private readonly options: ConnectionOptions,
  ) {
    this.cipher = options.rsa;
    socket.on('data', this.onData);
    socket.on('error', (err) => this.close(`socket error: ${err.message}`));
    socket.on('close', () => this.close('connection closed by OpenD'));
    this.ticker = setInterval(this.tick, TICK_MS);
    // The socket keeps the process alive while open; the sweep alone must not.
    this.ticker.unref();
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
    // close() may have been called while the TCP connect was completing.
    if (options.signal?.aborted) this.onAbort();
  }

  /** Connects and completes InitConnect; rejects (and leaves nothing open) if either fails. */
  static async open(options: ConnectionOptions): Promise<OpenDConnection> {
    const socket = await connectSocket(options);
    const conn = new OpenDConnection(socket, options);
    try {
      await conn.send(
        ProtoId.InitConnect,
        {
          clientVer: options.clientVer,
          clientID: options.clientId,
          recvNotify: true,
          packetEncAlgo: options.rsa ? PACKET_ENC_AES_CBC : PACKET_ENC_NONE,
          pushProtoFmt: 0,
          programmingLanguage: 'TypeScript',
        },
        options.handshakeTimeoutMs,
      );
    } catch (err) {
      conn.close(`InitConnect failed: ${describeError(err)}`);
      throw err;
    }
    return conn;
  }

  /** Set once InitConnect has succeeded. */
  get info(): LinkInfo {
    if (!this.linkInfo) throw notConnected();
    return this.linkInfo;
  }

  get isOpen(): boolean {
    return this.closeReason === undefined && this.linkInfo !== undefined;
  }

  /**
   * Sends one request and resolves with its S2C. `withPacketId` fills Common.PacketID with this
   * link's connID and this very packet's header serial, as trade writes require.
   */
  request(protoId: number, c2s: Message, timeoutMs: number, withPacketId = false): Promise<Message> {
    if (!this.isOpen) return Promise.reject(notConnected({ reason: this.closeReason ?? 'InitConnect not done' }));
    return this.send(protoId, c2s, timeoutMs, withPacketId);
  }

  close(reason: string): void {
    if (this.closeReason !== undefined) return;
    this.closeReason = reason;
    clearInterval(this.ticker);
    this.options.signal?.removeEventListener('abort', this.onAbort);
    this.socket.destroy();
    // Every pending request was handed to the socket: OpenD may have received and acted on it.
    const failed = [...this.pending.values()];
    this.pending.clear();
    for (const p of failed) p.reject(linkLost({ reason }));
    this.resolveClosed(reason);
  }

  private send(protoId: number, c2s: Message, timeoutMs: number, withPacketId = false): Promise<Message> {
    if (this.closeReason !== undefined) return Promise.reject(notConnected({ reason: this.closeReason }));
    const serial = this.serial;
    this.serial = serial >= U32_MAX ? 1 : serial + 1;
    let frame: Buffer;
    try {
      const body = encodeRequest(protoId, withPacketId ? { ...c2s, packetID: { connID: this.info.connId, serialNo: serial } } : c2s);
      frame = encodeFrame(protoId, serial, body, this.cipher ? this.cipher.encrypt(body) : body);
    } catch (err) {
      return Promise.reject(new GatewayError('INVALID_ARGUMENT', `cannot encode ${protoLabel(protoId)}: ${describeError(err)}`));
    }
    return new Promise<Message>((resolve, reject) => {
      this.pending.set(pendingKey(protoId, serial), { deadline: Date.now() + timeoutMs, timeoutMs, resolve, reject });
      this.write(frame);
    });
  }

  /** Frames written in one turn of the event loop leave in a single writev instead of one syscall each. */
  private write(frame: Buffer): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    this.socket.write(frame);
  }

  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  private readonly onData = (chunk: Buffer): void => {
    this.lastReceivedAt = Date.now();
    try {
      for (const frame of this.reader.push(chunk)) {
        this.handleFrame(frame);
        if (this.closeReason !== undefined) return;
      }
    } catch (err) {
      // Bad magic, oversized, SHA-1 mismatch, undecryptable or undecodable: the stream can no
      // longer be trusted, so drop the link; OpenDClient reconnects.
      const reason = `invalid data from OpenD: ${describeError(err)}`;
      log.warn('resetting OpenD connection', { reason });
      this.close(reason);
    }
  };

  private handleFrame(frame: Frame): void {
    const plain = this.cipher ? this.cipher.decrypt(frame.wireBody) : frame.wireBody;
    verifyBody(frame, plain);
    if (PUSH_PROTO_IDS.has(frame.protoId)) {
      this.deliverPush(frame.protoId, plain);
      return;
    }
    const key = pendingKey(frame.protoId, frame.serial);
    const pending = this.pending.get(key);
    if (!pending) {
      // Typically the answer to a request that already timed out.
      log.debug('unmatched OpenD response', { protoId: frame.protoId, serial: frame.serial });
      return;
    }
    const envelope = decodeResponse(frame.protoId, plain);
    this.pending.delete(key);
    if (envelope.retType !== 0) {
      pending.reject(new OpenDError(frame.protoId, envelope.retType, envelope.retMsg ?? '', envelope.errCode));
      return;
    }
    const s2c = envelope.s2c ?? {};
    if (frame.protoId === ProtoId.InitConnect) this.adoptSession(s2c);
    pending.resolve(s2c);
  }

  private deliverPush(protoId: number, plain: Uint8Array): void {
    const envelope = decodeResponse(protoId, plain);
    if (envelope.retType !== 0 || !envelope.s2c) return;
    try {
      this.options.onPush(protoId, envelope.s2c);
    } catch (err) {
      // A failing push consumer must not take the link down.
      log.error('push handler failed', { protoId, error: describeError(err) });
    }
  }

  /** Runs synchronously on the InitConnect answer, before any later frame is decrypted. */
  private adoptSession(s2c: Message): void {
    const interval = Number(s2c.keepAliveInterval) > 0 ? Number(s2c.keepAliveInterval) : DEFAULT_KEEPALIVE_SEC;
    this.keepAliveEveryMs = interval * 1000 * KEEPALIVE_FRACTION;
    this.deadAfterMs = interval * 1000 * DEAD_LINK_FACTOR;
    const iv = typeof s2c.aesCBCiv === 'string' && s2c.aesCBCiv !== '' ? s2c.aesCBCiv : undefined;
    this.cipher = this.options.rsa ? sessionCipher(String(s2c.connAESKey), iv) : undefined;
    this.linkInfo = {
      connId: String(s2c.connID),
      loginUserId: String(s2c.loginUserID),
      serverVer: Number(s2c.serverVer),
      keepAliveIntervalSec: interval,
      encryption: this.options.rsa ? (iv ? 'aes-cbc' : 'ftaes-ecb') : 'none',
    };
  }

  private readonly tick = (): void => {
    const now = Date.now();
    if (this.pending.size > 0) this.expireRequests(now);
    if (!this.linkInfo) return;
    if (now - this.lastReceivedAt > this.deadAfterMs) {
      const reason = `no data from OpenD for ${Math.round((now - this.lastReceivedAt) / 1000)} s`;
      log.warn('resetting OpenD connection', { reason });
      this.close(reason);
      return;
    }
    if (now - this.lastKeepAliveAt >= this.keepAliveEveryMs) {
      this.lastKeepAliveAt = now;
      // Failures need no handling here: silence is caught by the liveness check above.
      this.send(ProtoId.KeepAlive, { time: Math.floor(now / 1000) }, this.deadAfterMs).catch(() => undefined);
    }
  };

  private expireRequests(now: number): void {
    for (const [key, p] of this.pending) {
      if (now < p.deadline) continue;
      this.pending.delete(key);
      const protoId = Math.floor(key / 0x1_0000_0000);
      p.reject(new GatewayError('GATEWAY_TIMEOUT', `OpenD did not answer ${protoLabel(protoId)} within ${p.timeoutMs} ms`, { protoId }));
    }
  }

  private readonly onAbort = (): void => this.close('closed by the client');
}

function connectSocket({ host, port, connectTimeoutMs, signal }: ConnectionOptions): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(notConnected({ reason: 'closed by the client' }));
    const socket = net.connect({ host, port, noDelay: true });
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      socket.off('connect', onConnect).off('error', finish);
      signal?.removeEventListener('abort', onAbort);
      if (!err) return resolve(socket);
      socket.destroy();
      reject(err);
    };
    const onConnect = (): void => finish();
    const onAbort = (): void => finish(notConnected({ reason: 'closed by the client' }));
    const timer = setTimeout(() => finish(new Error(`connect to ${host}:${port} timed out after ${connectTimeoutMs} ms`)), connectTimeoutMs);
    socket.once('connect', onConnect).once('error', finish);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
