import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { FtAesEcbCipher, AesCbcCipher, type PacketCipher, type RsaCipher } from '../../src/gateway/crypto.js';
import { encodeFrame, FrameReader, verifyBody, type Frame } from '../../src/gateway/frame.js';
import { decodeRequest, encodeResponse, type Message } from '../../src/gateway/proto.js';
import { ProtoId } from '../../src/gateway/protoIds.js';

/**
 * A scriptable stand-in for OpenD speaking the real wire format, for what the simulator will not
 * do on purpose: malformed frames, a silent link, FTAES-ECB, odd serials on pushes.
 */
export const FAKE_CONN_ID = '18446744073709551557'; // the largest 64-bit prime: far above 2^53
const FAKE_AES_KEY = '0123456789ABCDEF';
const FAKE_AES_IV = 'FEDCBA9876543210';

export interface FakeLink {
  /** InitConnect's C2S as the client sent it. */
  readonly hello: Message;
  /** Every request frame after InitConnect, in order. */
  readonly frames: Frame[];
  reply(frame: Frame, s2c: Message, retType?: number, retMsg?: string): void;
  push(protoId: number, serial: number, s2c: Message): void;
  /** Raw bytes, bypassing framing and encryption. */
  writeRaw(bytes: Buffer): void;
  /** Encrypts (if the link is encrypted) and frames `plain`, with `sha1Of` hashed into the header. */
  writeFrame(protoId: number, serial: number, plain: Buffer, sha1Of?: Buffer): void;
}

export interface FakeOptions {
  rsa?: RsaCipher;
  /** With rsa: answer an IV (AES-CBC) or not (FTAES-ECB). Default true. */
  withIv?: boolean;
  keepAliveInterval?: number;
  /** Handles each request after InitConnect; the default answers KeepAlive and ignores the rest. */
  onRequest?: (link: FakeLink, frame: Frame, c2s: Message, linkIndex: number) => void;
}

export interface FakeOpenD {
  readonly port: number;
  readonly links: FakeLink[];
  /** Resolves when the n-th link (1-based) has completed InitConnect. */
  linkReady(n: number): Promise<FakeLink>;
  close(): Promise<void>;
}

export const answerKeepAlive = (link: FakeLink, frame: Frame, c2s: Message): void => {
  if (frame.protoId === ProtoId.KeepAlive) link.reply(frame, { time: c2s.time });
};

export async function startFakeOpenD(options: FakeOptions = {}): Promise<FakeOpenD> {
  const links: FakeLink[] = [];
  const readyWaiters: { n: number; resolve: (l: FakeLink) => void }[] = [];
  const sockets = new Set<Socket>();
  const onRequest = options.onRequest ?? answerKeepAlive;

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const reader = new FrameReader();
    let cipher: PacketCipher | undefined = options.rsa;
    let link: FakeLink | undefined;
    let linkIndex = -1;
    const send = (protoId: number, serial: number, plain: Uint8Array, sha1Of: Uint8Array = plain, with_: PacketCipher | undefined = cipher): void => {
      const frame = encodeFrame(protoId, serial, sha1Of, with_ ? with_.encrypt(plain) : plain);
      if (!socket.destroyed) socket.write(frame);
    };
    socket.on('data', (chunk: Buffer) => {
      for (const frame of reader.push(chunk)) {
        const plain = cipher ? cipher.decrypt(frame.wireBody) : frame.wireBody;
        verifyBody(frame, plain);
        const c2s = decodeRequest(frame.protoId, plain);
        if (!link) {
          const handshakeCipher = cipher;
          const withIv = options.withIv ?? true;
          const s2c = {
            serverVer: 1011,
            loginUserID: '18446744073709551615',
            connID: FAKE_CONN_ID,
            connAESKey: FAKE_AES_KEY,
            keepAliveInterval: options.keepAliveInterval ?? 10,
            aesCBCiv: withIv ? FAKE_AES_IV : undefined,
          };
          send(frame.protoId, frame.serial, encodeResponse(frame.protoId, { retType: 0, s2c }), undefined, handshakeCipher);
          if (options.rsa) cipher = withIv ? new AesCbcCipher(FAKE_AES_KEY, FAKE_AES_IV) : new FtAesEcbCipher(FAKE_AES_KEY);
          link = makeLink(c2s, send, socket);
          linkIndex = links.push(link) - 1;
          for (const w of readyWaiters.filter((x) => x.n === links.length)) w.resolve(link);
          continue;
        }
        link.frames.push(frame);
        onRequest(link, frame, c2s, linkIndex);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');

  return {
    port: address.port,
    links,
    linkReady: (n) => {
      const existing = links[n - 1];
      if (existing) return Promise.resolve(existing);
      return new Promise((resolve) => readyWaiters.push({ n, resolve }));
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function makeLink(
  hello: Message,
  send: (protoId: number, serial: number, plain: Uint8Array, sha1Of?: Uint8Array) => void,
  socket: Socket,
): FakeLink {
  return {
    hello,
    frames: [],
    reply: (frame, s2c, retType = 0, retMsg) => send(frame.protoId, frame.serial, encodeResponse(frame.protoId, { retType, retMsg, s2c })),
    push: (protoId, serial, s2c) => send(protoId, serial, encodeResponse(protoId, { retType: 0, s2c })),
    writeRaw: (bytes) => {
      if (!socket.destroyed) socket.write(bytes);
    },
    writeFrame: (protoId, serial, plain, sha1Of) => send(protoId, serial, plain, sha1Of),
  };
}
