import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError, isFutuError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { RsaCipher } from './crypto.js';
import { GatewayError, notConnected } from './errors.js';
import { OpenDConnection, type ConnectionOptions } from './connection.js';
import type { Message } from './proto.js';
import type { DisconnectInfo, LinkInfo } from './types.js';

export interface OpenDClientOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 11111. */
  port?: number;
  /** OpenD's RSA private key (PKCS#1): PEM text or the path of a PEM file. Enables encryption. */
  rsaPrivateKey?: string;
  /** Default 'futu-mcp'. */
  clientId?: string;
  /** Default 12000 (py-futu-api's value). */
  requestTimeoutMs?: number;
  /** TCP connect timeout; default 10000. */
  connectTimeoutMs?: number;
  /** First reconnect delay; doubles per failed attempt up to the maximum, with jitter. Default 500. */
  reconnectInitialDelayMs?: number;
  /** Default 10000. */
  reconnectMaxDelayMs?: number;
}

export interface RequestOptions {
  timeoutMs?: number;
  /** Fill Common.PacketID (connID + this packet's serial): trade writes need it. */
  withPacketId?: boolean;
}

export interface ClientEvents {
  connected: [LinkInfo];
  disconnected: [DisconnectInfo];
  /** After a reconnect, once every restore hook has run. */
  reconnected: [LinkInfo];
  push: [protoId: number, s2c: Message];
}

/** Re-establishes caller state (subscriptions, account pushes) on a fresh link. */
export type RestoreHook = () => Promise<void>;

const CLIENT_VER = 100;

interface Waiter {
  resolve(info: LinkInfo): void;
  reject(err: Error): void;
}

/**
 * The lifecycle around OpenDConnection: connect, reconnect with capped exponential backoff and
 * jitter, restore state after a reconnect, and fail fast while there is no usable link. Every
 * request made without a link, and every request in flight when a link drops, rejects at once
 * with GATEWAY_NOT_CONNECTED; nothing waits for a reconnect.
 */
export class OpenDClient extends EventEmitter<ClientEvents> {
  private readonly connectionOptions: Omit<ConnectionOptions, 'signal'>;
  private readonly requestTimeoutMs: number;
  private readonly reconnectInitialDelayMs: number;
  private readonly reconnectMaxDelayMs: number;
  private readonly lifetime = new AbortController();
  private readonly restoreHooks: RestoreHook[] = [];
  private waiters: Waiter[] = [];
  private conn: OpenDConnection | undefined;
  private loop: Promise<void> | undefined;
  /** Why there is no link right now: told to callers in the error details. */
  private downReason = 'not started';
  /** Between start() and the end of the first connect attempt: requests wait for it instead of failing. */
  private firstAttemptPending = false;
  /** `host:port` of OpenD, named in every GATEWAY_NOT_CONNECTED message. */
  private readonly address: string;

  constructor(options: OpenDClientOptions = {}) {
    super();
    this.requestTimeoutMs = positiveOption(options.requestTimeoutMs, 12_000, 'requestTimeoutMs');
    this.reconnectInitialDelayMs = positiveOption(options.reconnectInitialDelayMs, 500, 'reconnectInitialDelayMs');
    this.reconnectMaxDelayMs = Math.max(this.reconnectInitialDelayMs, positiveOption(options.reconnectMaxDelayMs, 10_000, 'reconnectMaxDelayMs'));
    this.connectionOptions = {
      host: options.host ?? '127.0.0.1',
      port: options.port ?? 11111,
      rsa: options.rsaPrivateKey === undefined ? undefined : loadRsaKey(options.rsaPrivateKey),
      clientId: options.clientId ?? 'futu-mcp',
      clientVer: CLIENT_VER,
      connectTimeoutMs: positiveOption(options.connectTimeoutMs, 10_000, 'connectTimeoutMs'),
      handshakeTimeoutMs: this.requestTimeoutMs,
      onPush: (protoId, s2c) => this.emit('push', protoId, s2c),
    };
    const { host, port } = this.connectionOptions;
    this.address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  }

  /** GATEWAY_NOT_CONNECTED naming OpenD's address and why the link is down now (or last went down). */
  notConnectedError(reason: string = this.downReason): GatewayError {
    return notConnected({ reason, address: this.address });
  }

  /** Starts connecting (and reconnecting) in the background; idempotent. */
  start(): void {
    if (this.loop || this.lifetime.signal.aborted) return;
    this.firstAttemptPending = true;
    this.loop = this.run();
  }

  /**
   * Starts if needed and resolves once a link is up. Rejects with the first attempt's failure;
   * the client keeps retrying in the background until close().
   */
  connect(): Promise<LinkInfo> {
    if (this.conn?.isOpen) return Promise.resolve(this.conn.info);
    if (this.lifetime.signal.aborted) return Promise.reject(this.notConnectedError());
    const ready = new Promise<LinkInfo>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.start();
    return ready;
  }

  get isConnected(): boolean {
    return this.conn?.isOpen === true;
  }

  /** The current link, if any. */
  get link(): LinkInfo | undefined {
    return this.conn?.isOpen ? this.conn.info : undefined;
  }

  /** Resolves with the S2C; OpenDError when retType != 0; GATEWAY_NOT_CONNECTED / GATEWAY_TIMEOUT. */
  request(protoId: number, c2s: Message, options?: RequestOptions): Promise<Message> {
    const conn = this.conn;
    // A call made just after startup (an MCP client's first tool call) waits for the first
    // connect, which is bounded by the connect and handshake timeouts, instead of failing.
    if (!conn && this.firstAttemptPending) return this.connect().then(() => this.request(protoId, c2s, options));
    if (!conn) return Promise.reject(this.notConnectedError());
    return conn.request(protoId, c2s, options?.timeoutMs ?? this.requestTimeoutMs, options?.withPacketId).catch((err: unknown) => {
      // The link dropped under this request: the connection knows why, the client knows where.
      if (err instanceof GatewayError && err.code === 'GATEWAY_NOT_CONNECTED' && err.details.address === undefined) {
        throw this.notConnectedError(typeof err.details.reason === 'string' ? err.details.reason : this.downReason);
      }
      throw err;
    });
  }

  /** Hooks run in registration order after every reconnect, before 'reconnected'. */
  onRestore(hook: RestoreHook): void {
    this.restoreHooks.push(hook);
  }

  /** Closes the link and stops reconnecting; afterwards no timer or socket is left. */
  async close(): Promise<void> {
    this.downReason = 'client closed';
    this.lifetime.abort();
    this.settleWaiters(this.notConnectedError());
    await this.loop;
  }

  private async run(): Promise<void> {
    const signal = this.lifetime.signal;
    let failures = 0;
    let everConnected = false;
    while (!signal.aborted) {
      let conn: OpenDConnection;
      try {
        conn = await OpenDConnection.open({ ...this.connectionOptions, signal });
      } catch (err) {
        this.firstAttemptPending = false;
        if (signal.aborted) break;
        this.downReason = reasonOf(err);
        log.warn('cannot connect to OpenD', { host: this.connectionOptions.host, port: this.connectionOptions.port, reason: this.downReason });
        this.settleWaiters(isFutuError(err) && err.code !== 'GATEWAY_NOT_CONNECTED' ? err : this.notConnectedError());
        await this.pause(failures++);
        continue;
      }
      failures = 0;
      this.firstAttemptPending = false;
      this.conn = conn;
      const info = conn.info;
      log.info('connected to OpenD', { connId: info.connId, serverVer: info.serverVer, encryption: info.encryption });
      guardListeners('connected', () => this.emit('connected', info));
      this.settleWaiters(undefined, info);
      if (everConnected) {
        await this.restore();
        if (conn.isOpen) guardListeners('reconnected', () => this.emit('reconnected', info));
      }
      everConnected = true;
      const reason = await conn.closed;
      this.conn = undefined;
      if (signal.aborted) break;
      this.downReason = reason;
      log.warn('disconnected from OpenD', { reason });
      guardListeners('disconnected', () => this.emit('disconnected', { reason }));
      await this.pause(failures++);
    }
  }

  private async restore(): Promise<void> {
    for (const hook of this.restoreHooks) {
      try {
        await hook();
      } catch (err) {
        log.warn('could not restore state after reconnect', { reason: describeError(err) });
      }
    }
  }

  /** Waits the backoff delay for the given failure count; close() cuts it short. */
  private async pause(failures: number): Promise<void> {
    const ceiling = Math.min(this.reconnectMaxDelayMs, this.reconnectInitialDelayMs * 2 ** Math.min(failures, 30));
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    await sleep(delay, undefined, { signal: this.lifetime.signal }).catch(() => undefined);
  }

  private settleWaiters(err: Error | undefined, info?: LinkInfo): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      if (err) w.reject(err);
      else w.resolve(info!);
    }
  }
}

/** Runs an emit so that a throwing listener is logged instead of breaking the emitter's own work. */
export function guardListeners(event: string, emit: () => void): void {
  try {
    emit();
  } catch (err) {
    log.error('gateway event listener failed', { event, error: describeError(err) });
  }
}

/** The most specific explanation of a failed attempt (a link closed mid-handshake carries its reason in details). */
function reasonOf(err: unknown): string {
  return isFutuError(err) && typeof err.details.reason === 'string' ? err.details.reason : describeError(err);
}

function positiveOption(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new GatewayError('INVALID_ARGUMENT', `${name} must be a positive number`);
  return value;
}

function loadRsaKey(keyOrPath: string): RsaCipher {
  try {
    return keyOrPath.includes('-----BEGIN') ? RsaCipher.fromPem(keyOrPath) : RsaCipher.fromPemFile(keyOrPath);
  } catch (err) {
    throw new GatewayError('INVALID_ARGUMENT', `cannot load the OpenD RSA private key: ${describeError(err)}`);
  }
}
