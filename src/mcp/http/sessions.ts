import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import type { AuthInfo, Server } from '@modelcontextprotocol/server';
import { describeError } from '../../shared/errors.js';
import { log } from '../../shared/log.js';
import type { Principal } from './auth.js';
import { HttpError, RPC_SESSION_NOT_FOUND } from './respond.js';

export interface SessionLimits {
  /** Open sessions across all keys. */
  readonly maxSessions: number;
  /** Open sessions of one key, so one tenant cannot take every slot. */
  readonly maxSessionsPerKey: number;
  /** A session with no request in flight for this long is closed. */
  readonly idleMs: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = { maxSessions: 1000, maxSessionsPerKey: 64, idleMs: 30 * 60_000 };

export type ServerFactory = () => Server | Promise<Server>;

/** An MCP request already authenticated, carrying the AuthInfo its tool calls will see. */
export type AuthenticatedRequest = IncomingMessage & { auth: AuthInfo };

export interface Session {
  readonly id: string;
  /** The key that opened the session; only that key may use it. */
  readonly keyId: string;
  /**
   * That key's hash, when the authenticator reports its record: a key later re-created under
   * the same id (another secret) is another key, and may not take over the old one's sessions.
   */
  readonly keyHash: string | undefined;
  readonly server: Server;
  readonly transport: NodeStreamableHTTPServerTransport;
  lastActive: number;
  inFlight: number;
}

/**
 * Stateful Streamable HTTP sessions, each bound to the key that opened it. The SDK routes by
 * session id alone; binding the principal, capping the count and expiring idle sessions is ours.
 */
export class SessionRegistry {
  private readonly sessions = new Map<string, Session>();
  private readonly opening = new Map<string, number>();
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly createServer: ServerFactory,
    private readonly limits: SessionLimits,
  ) {
    this.sweeper = setInterval(() => void this.closeIdle(), Math.min(limits.idleMs, 60_000));
    this.sweeper.unref();
  }

  /** Serves an `initialize` request on a new session owned by `owner`. */
  async open(owner: Principal, req: AuthenticatedRequest, res: ServerResponse, body: unknown): Promise<void> {
    const { keyId } = owner;
    this.assertRoomFor(keyId);
    this.countOpening(keyId, 1);
    let server: Server | undefined;
    try {
      server = await this.createServer();
      const transport = this.transportFor(server, owner);
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
    } finally {
      this.countOpening(keyId, -1);
      // An initialize the transport refused leaves a server no session points to.
      if (server && !this.isRegistered(server)) await server.close().catch(() => undefined);
    }
  }

  /** The session `id`, if `principal` owns it; another key's request never reaches it. */
  find(id: string, principal: Principal): Session {
    const { keyId } = principal;
    const session = this.sessions.get(id);
    if (!session) {
      throw new HttpError(404, 'session_not_found', 'Session not found: it ended or expired; initialize a new one', {}, RPC_SESSION_NOT_FOUND);
    }
    if (session.keyId !== keyId || session.keyHash !== principal.key?.hash) {
      log.warn('mcp session presented with another key', { session: id, session_key_id: session.keyId, key_id: keyId });
      const refusal = new HttpError(403, 'session_key_mismatch', 'this session was opened with a different API key; use that key or initialize a new session');
      refusal.keyId = keyId;
      throw refusal;
    }
    return session;
  }

  /** Passes a request to its session. An open response (a GET event stream, a running call) keeps it from idling out. */
  async serve(session: Session, req: AuthenticatedRequest, res: ServerResponse, body: unknown): Promise<void> {
    session.inFlight += 1;
    session.lastActive = Date.now();
    res.once('close', () => {
      session.inFlight -= 1;
      session.lastActive = Date.now();
    });
    await session.transport.handleRequest(req, res, body);
  }

  /** Ends every session and stops expiring them; new sessions are refused from now on. */
  async closeAll(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    await Promise.all([...this.sessions.values()].map((session) => this.end(session, 'server closing')));
  }

  private assertRoomFor(keyId: string): void {
    if (this.closed) throw new HttpError(503, 'shutting_down', 'server is shutting down');
    const openingTotal = [...this.opening.values()].reduce((sum, n) => sum + n, 0);
    if (this.sessions.size + openingTotal >= this.limits.maxSessions) {
      throw new HttpError(503, 'too_many_sessions', 'too many open MCP sessions; retry later', { 'retry-after': '60' });
    }
    const ofKey = [...this.sessions.values()].filter((session) => session.keyId === keyId).length + (this.opening.get(keyId) ?? 0);
    if (ofKey >= this.limits.maxSessionsPerKey) {
      throw new HttpError(429, 'too_many_sessions_for_key', `this API key already has ${ofKey} open sessions; end unused ones (DELETE /mcp)`);
    }
  }

  /** A transport that registers the session once the SDK has assigned its id, and forgets it on close. */
  private transportFor(server: Server, owner: Principal): NodeStreamableHTTPServerTransport {
    const keyId = owner.keyId;
    const transport: NodeStreamableHTTPServerTransport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      onsessioninitialized: (id) => {
        if (this.closed) return; // closeAll() ran while this initialize was in flight
        this.sessions.set(id, { id, keyId, keyHash: owner.key?.hash, server, transport, lastActive: Date.now(), inFlight: 0 });
        log.info('mcp session opened', { session: id, key_id: keyId });
      },
    });
    // server.connect() takes over transport.onclose, so watch the server instead.
    const previousOnClose = server.onclose;
    server.onclose = () => {
      previousOnClose?.();
      this.forget(transport.sessionId);
    };
    return transport;
  }

  private countOpening(keyId: string, delta: number): void {
    const count = (this.opening.get(keyId) ?? 0) + delta;
    if (count === 0) this.opening.delete(keyId);
    else this.opening.set(keyId, count);
  }

  private isRegistered(server: Server): boolean {
    return [...this.sessions.values()].some((session) => session.server === server);
  }

  private forget(id: string | undefined): void {
    if (id !== undefined && this.sessions.delete(id)) log.info('mcp session closed', { session: id });
  }

  private async closeIdle(): Promise<void> {
    const idleSince = Date.now() - this.limits.idleMs;
    const idle = [...this.sessions.values()].filter((session) => session.inFlight === 0 && session.lastActive < idleSince);
    await Promise.all(idle.map((session) => this.end(session, 'idle')));
  }

  private async end(session: Session, reason: string): Promise<void> {
    log.info('mcp session ending', { session: session.id, reason });
    this.forget(session.id);
    await session.server.close().catch((err: unknown) => log.warn('mcp session close failed', { session: session.id, error: describeError(err) }));
  }
}
