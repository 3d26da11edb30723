import { generateKeyPairSync } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { plainCipher, sessionCipher, type PacketCipher, type RsaCipher } from '../../src/gateway/crypto.js';
import { encodeFrame, FrameReader, verifyBody, type Frame } from '../../src/gateway/frame.js';
import { decodeResponse, encodeRequest, type Message, type ResponseEnvelope } from '../../src/gateway/proto.js';
import { ProtoId } from '../../src/gateway/protoIds.js';
import { startSimulator, type SimulatorHandle, type SimulatorOptions } from '../../src/sim/server.js';

/**
 * A deliberately thin OpenD client for wire-level tests: it sends whatever it is told (including
 * broken frames) and hands back decoded responses and pushes. Plus the two fixtures every
 * simulator test needs.
 */
export interface InitConnectS2C {
  serverVer: number;
  loginUserID: string;
  connID: string;
  connAESKey: string;
  keepAliveInterval: number;
  aesCBCiv?: string;
}

const WAIT_MS = 5000;

interface Waiter {
  match: (frame: Frame) => boolean;
  resolve: (frame: Frame) => void;
  reject: (err: Error) => void;
}

export class RawClient {
  cipher: PacketCipher = plainCipher;
  connId = '';
  serial = 100;
  /** Resolves once the server has closed the connection. */
  readonly closed: Promise<void>;
  private readonly reader = new FrameReader();
  private readonly unclaimed: Frame[] = [];
  private readonly waiters = new Set<Waiter>();
  private isClosed = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const frame of this.reader.push(chunk)) this.deliver(frame);
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.isClosed = true;
        for (const w of this.waiters) w.reject(new Error('connection closed'));
        this.waiters.clear();
        resolve();
      }),
    );
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host }, () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  writeRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Sends a request and returns its serial; `cipher` overrides the session cipher. */
  send(protoId: number, c2s: Message, cipher = this.cipher, serial = ++this.serial): number {
    const body = encodeRequest(protoId, c2s);
    this.socket.write(encodeFrame(protoId, serial, body, cipher.encrypt(body)));
    return serial;
  }

  async request<S = Message>(protoId: number, c2s: Message, cipher = this.cipher, serial?: number): Promise<ResponseEnvelope<S>> {
    const sent = this.send(protoId, c2s, cipher, serial);
    const frame = await this.waitFor((f) => f.protoId === protoId && f.serial === sent);
    return this.decode<S>(frame, cipher);
  }

  /** Like request(), but fails the test unless OpenD answered retType 0. */
  async call<S = Message>(protoId: number, c2s: Message): Promise<S> {
    const res = await this.request<S>(protoId, c2s);
    if (res.retType !== 0) throw new Error(`protoID ${protoId} failed: ${res.retType} ${res.retMsg ?? ''}`);
    return res.s2c as S;
  }

  /** InitConnect; with `rsa` the handshake is RSA-encrypted and later packets use the AES key it returns. */
  async initConnect(opts: { rsa?: RsaCipher; packetEncAlgo?: number } = {}): Promise<InitConnectS2C> {
    const c2s = { clientVer: 300, clientID: 'raw-test', recvNotify: false, packetEncAlgo: opts.packetEncAlgo ?? (opts.rsa ? 2 : -1), pushProtoFmt: 0 };
    const res = await this.request<InitConnectS2C>(ProtoId.InitConnect, c2s, opts.rsa ?? plainCipher);
    if (res.retType !== 0 || !res.s2c) throw new Error(`InitConnect failed: ${res.retMsg ?? res.retType}`);
    this.connId = res.s2c.connID;
    if (opts.rsa) this.cipher = sessionCipher(res.s2c.connAESKey, res.s2c.aesCBCiv);
    return res.s2c;
  }

  async nextPush<S = Message>(protoId: number, timeoutMs = WAIT_MS): Promise<S> {
    const frame = await this.waitFor((f) => f.protoId === protoId, timeoutMs);
    const res = this.decode<S>(frame, this.cipher);
    if (res.retType !== 0) throw new Error(`push ${protoId} carried retType ${res.retType}`);
    return res.s2c as S;
  }

  /** Frames that arrived and were not claimed by a request or push wait. */
  takeUnclaimed(protoId: number): Frame[] {
    const taken = this.unclaimed.filter((f) => f.protoId === protoId);
    this.unclaimed.splice(0, this.unclaimed.length, ...this.unclaimed.filter((f) => f.protoId !== protoId));
    return taken;
  }

  decode<S>(frame: Frame, cipher: PacketCipher): ResponseEnvelope<S> {
    const plain = cipher.decrypt(frame.wireBody);
    verifyBody(frame, plain);
    return decodeResponse<S>(frame.protoId, plain);
  }

  close(): void {
    this.socket.destroy();
  }

  /** The next frame (already received or yet to come) that `match` accepts. */
  waitFor(match: (frame: Frame) => boolean, timeoutMs = WAIT_MS): Promise<Frame> {
    const index = this.unclaimed.findIndex(match);
    if (index >= 0) return Promise.resolve(this.unclaimed.splice(index, 1)[0]!);
    if (this.isClosed) return Promise.reject(new Error('connection closed'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`no matching frame within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        match,
        resolve: (f) => (clearTimeout(timer), resolve(f)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
      this.waiters.add(waiter);
    });
  }

  private deliver(frame: Frame): void {
    for (const waiter of this.waiters) {
      if (waiter.match(frame)) {
        this.waiters.delete(waiter);
        waiter.resolve(frame);
        return;
      }
    }
    this.unclaimed.push(frame);
  }
}

/** A connected client that the test closes when it ends; initialised unless `init` is false. */
export async function testClient(
  t: { after: (fn: () => void) => void },
  port: number,
  init: { rsa?: RsaCipher; packetEncAlgo?: number } | false = {},
): Promise<RawClient> {
  const client = await RawClient.connect(port);
  t.after(() => client.close());
  if (init) await client.initConnect(init);
  return client;
}

/** Polls until `condition` holds (for effects with no event to await, e.g. a server-side close). */
export async function waitUntil(condition: () => boolean, what = 'condition'): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!condition()) throw new Error(`${what} not reached within 5 s`);
}

/** A simulator closed when the test ends; quote pushes are off unless `pushIntervalMs` says otherwise. */
export async function testSimulator(t: { after: (fn: () => Promise<void>) => void }, options: SimulatorOptions = {}): Promise<SimulatorHandle> {
  const handle = await startSimulator({ pushIntervalMs: 60_000, ...options });
  t.after(() => handle.close());
  return handle;
}

/** A fresh 1024-bit PKCS#1 PEM, the format of OpenD's rsa_private_key. */
export function testRsaKeyPem(): string {
  return generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
}
