import type { Socket } from 'node:net';
import { FrameError, FrameReader, type Frame } from '../gateway/frame.js';
import { describeError } from '../shared/errors.js';
import { log } from '../shared/log.js';

/** Output a peer has not read beyond this means it stopped reading: drop it instead of buffering without bound. */
const MAX_UNREAD_OUTPUT = 64 * 1024 * 1024;

/**
 * One accepted TCP socket: frames in, bytes out, the idle timeout, and resetting the link when
 * the peer sends something invalid. Protocol meaning lives in Session.
 */
export class SimConnection {
  readonly remote: string;
  private readonly reader = new FrameReader();
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private onClose: () => void = () => {};

  constructor(
    private readonly socket: Socket,
    private readonly idleTimeoutMs: number,
  ) {
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
  }

  /** Begins reading; `onFrame` must not throw for anything the peer can send. */
  start(onFrame: (frame: Frame) => void, onClose: () => void): void {
    this.onClose = onClose;
    this.socket.setNoDelay(true);
    this.idleTimer = setTimeout(() => this.reset(`no packet for ${this.idleTimeoutMs} ms`), this.idleTimeoutMs);
    this.idleTimer.unref();
    this.socket.on('data', (chunk: Buffer) => this.receive(chunk, onFrame));
    this.socket.on('error', (err) => log.debug('sim: socket error', { remote: this.remote, error: err.message }));
    this.socket.on('close', () => this.finish());
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  write(bytes: Buffer): void {
    if (this.closed) return;
    if (this.socket.writableLength > MAX_UNREAD_OUTPUT) {
      this.reset('peer is not reading what it is sent');
      return;
    }
    this.socket.write(bytes);
  }

  /** Drops the connection because of something the peer did. */
  reset(reason: string): void {
    if (this.closed) return;
    log.warn('sim: connection reset', { remote: this.remote, reason });
    this.destroy();
  }

  destroy(): void {
    if (this.closed) return;
    this.finish();
    this.socket.destroy();
  }

  private receive(chunk: Buffer, onFrame: (frame: Frame) => void): void {
    let frames: Frame[];
    try {
      frames = this.reader.push(chunk);
    } catch (err) {
      this.reset(err instanceof FrameError ? err.message : describeError(err));
      return;
    }
    for (const frame of frames) {
      if (this.closed) return;
      this.idleTimer?.refresh();
      try {
        onFrame(frame);
      } catch (err) {
        log.error('sim: unexpected failure handling a frame', { remote: this.remote, protoId: frame.protoId, error: describeError(err) });
        this.reset('internal error while handling a frame');
      }
    }
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.onClose();
  }
}
