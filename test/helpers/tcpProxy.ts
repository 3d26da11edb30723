import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { HEADER_SIZE } from '../../src/gateway/frame.js';

/**
 * A real TCP proxy on 127.0.0.1 in front of an OpenD (or the simulator) that a test controls, to
 * lose links exactly where it wants: after a request was written and processed but before its
 * answer came back, or before a request left. It cuts on OpenD frame boundaries, reading only the
 * 44-byte header (plaintext on encrypted links too: protoID at 2, serial at 8, body length at 12).
 */
export interface CutEvent {
  readonly protoId: number;
  readonly serial: number;
}

interface Link {
  readonly client: Socket;
  readonly upstream: Socket;
  readonly toUpstream: FrameSplitter;
  readonly toClient: FrameSplitter;
  /** Set once a cut is under way: nothing more passes either way. */
  cutting: boolean;
  /** During a cut-after-request: the request whose answer ends the link. */
  awaiting?: CutEvent & { readonly answered: () => void };
}

interface Trigger {
  readonly protoId: number;
  readonly resolve: (event: CutEvent) => void;
}

/** Splits a byte stream into whole OpenD frames (header + body) without decoding them. */
class FrameSplitter {
  private buffered: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const frames: Buffer[] = [];
    while (this.buffered.length >= HEADER_SIZE) {
      const size = HEADER_SIZE + this.buffered.readUInt32LE(12);
      if (this.buffered.length < size) break;
      frames.push(this.buffered.subarray(0, size));
      this.buffered = this.buffered.subarray(size);
    }
    return frames;
  }
}

const protoIdOf = (frame: Buffer): number => frame.readUInt32LE(2);
const serialOf = (frame: Buffer): number => frame.readUInt32LE(8);

/** How long a cut waits for OpenD's answer (proof that it processed the request) before cutting anyway. */
const ANSWER_WAIT_MS = 5_000;

export class TcpProxy {
  private readonly links = new Set<Link>();
  private readonly counts = new Map<number, number>();
  private readonly cutAfter: Trigger[] = [];
  private readonly dropBefore: Trigger[] = [];
  private readonly pauseAfter: Trigger[] = [];
  private paused = false;
  private readonly held: Array<() => void> = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {
    server.on('connection', (client) => this.accept(client));
  }

  /** Listens on 127.0.0.1:0 and forwards every connection to `target`. */
  static async start(target: { host?: string; port: number }): Promise<TcpProxy> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('tcpProxy: no port');
    return new TcpProxy(server, address.port, { host: target.host ?? '127.0.0.1', port: target.port });
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Live client connections. */
  connections(): number {
    return this.links.size;
  }

  /** Client→OpenD frames with this protoID forwarded so far (all links). */
  forwarded(protoId: number): number {
    return this.counts.get(protoId) ?? 0;
  }

  /** Every protoID forwarded client→OpenD and how often. */
  forwardedCounts(): ReadonlyMap<number, number> {
    return new Map(this.counts);
  }

  /**
   * Arms a one-shot cut: the next client→OpenD frame with `protoId` is forwarded, then nothing
   * more passes on that link; once OpenD's answer to it arrives (it processed the request) both
   * sockets are destroyed, so the client never sees the answer. Resolves after the cut.
   */
  cutAfterRequest(protoId: number): Promise<CutEvent> {
    return new Promise((resolve) => this.cutAfter.push({ protoId, resolve }));
  }

  /** Arms a one-shot drop: the next client→OpenD frame with `protoId` is not forwarded and both sockets are destroyed. */
  dropBeforeRequest(protoId: number): Promise<CutEvent> {
    return new Promise((resolve) => this.dropBefore.push({ protoId, resolve }));
  }

  /**
   * Arms a one-shot pause: the next client→OpenD frame with `protoId` is forwarded (the request
   * was written and reaches OpenD), then every further byte in both directions, its answer
   * included, is held until resume(). Resolves once the frame was forwarded.
   */
  pauseAfterRequest(protoId: number): Promise<CutEvent> {
    return new Promise((resolve) => this.pauseAfter.push({ protoId, resolve }));
  }

  /** Holds every byte in both directions until resume(); connections stay open. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    for (const release of this.held.splice(0)) release();
  }

  /** Destroys every current link (new connections are still accepted). */
  cutAll(): void {
    for (const link of this.links) this.destroy(link);
  }

  /** Stops listening and destroys every link. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.cutAll();
    await closed;
  }

  private accept(client: Socket): void {
    const upstream = connect(this.target);
    const link: Link = { client, upstream, toUpstream: new FrameSplitter(), toClient: new FrameSplitter(), cutting: false };
    this.links.add(link);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    for (const socket of [client, upstream]) {
      socket.on('error', () => this.destroy(link));
      socket.on('close', () => this.destroy(link));
    }
    client.on('data', (chunk: Buffer) => this.whenFlowing(() => this.fromClient(link, chunk)));
    upstream.on('data', (chunk: Buffer) => this.whenFlowing(() => this.fromUpstream(link, chunk)));
  }

  /** Runs now, or on resume() in arrival order. */
  private whenFlowing(step: () => void): void {
    if (this.paused) this.held.push(step);
    else step();
  }

  private fromClient(link: Link, chunk: Buffer): void {
    this.forwardFrames(link, link.toUpstream.push(chunk));
  }

  private forwardFrames(link: Link, frames: readonly Buffer[]): void {
    for (const [index, frame] of frames.entries()) {
      if (link.cutting) return;
      if (this.paused) {
        // A pause armed by an earlier frame of this chunk holds the rest of it too.
        this.held.push(() => this.forwardFrames(link, frames.slice(index)));
        return;
      }
      const protoId = protoIdOf(frame);
      const event = { protoId, serial: serialOf(frame) };
      const drop = take(this.dropBefore, protoId);
      if (drop) {
        this.destroy(link);
        drop.resolve(event);
        return;
      }
      link.upstream.write(frame);
      this.counts.set(protoId, this.forwarded(protoId) + 1);
      const cut = take(this.cutAfter, protoId);
      if (cut) this.cutOnAnswer(link, event, cut);
      const pause = take(this.pauseAfter, protoId);
      if (pause) {
        this.paused = true;
        pause.resolve(event);
      }
    }
  }

  private fromUpstream(link: Link, chunk: Buffer): void {
    for (const frame of link.toClient.push(chunk)) {
      const awaiting = link.awaiting;
      if (awaiting && protoIdOf(frame) === awaiting.protoId && serialOf(frame) === awaiting.serial) awaiting.answered();
      if (link.cutting) return;
      link.client.write(frame);
    }
  }

  /** Blocks the link now; destroys it when OpenD's answer to `request` arrives (or after ANSWER_WAIT_MS). */
  private cutOnAnswer(link: Link, request: CutEvent, trigger: Trigger): void {
    link.cutting = true;
    const finish = (): void => {
      clearTimeout(timer);
      link.awaiting = undefined;
      this.destroy(link);
      trigger.resolve(request);
    };
    const timer = setTimeout(finish, ANSWER_WAIT_MS);
    link.awaiting = { ...request, answered: finish };
  }

  private destroy(link: Link): void {
    link.cutting = true;
    link.client.destroy();
    link.upstream.destroy();
    this.links.delete(link);
  }
}

function take(triggers: Trigger[], protoId: number): Trigger | undefined {
  const index = triggers.findIndex((t) => t.protoId === protoId);
  return index < 0 ? undefined : triggers.splice(index, 1)[0];
}
