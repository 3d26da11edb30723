import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import type { AuthInfo, ProtocolEra, Server } from '@modelcontextprotocol/server';
import { describeError } from '../../shared/errors.js';
import { log } from '../../shared/log.js';
import type { Principal } from './auth.js';
import { HttpError, RPC_SESSION_NOT_FOUND } from './respond.js';

export interface SessionLimits {
  /** Open sessions across all keys. */
  readonly maxSessions: number;
  /** Open sessions of one key: far below maxSessions, so a handful of keys cannot fill the server. */
  readonly maxSessionsPerKey: number;
  /** A session with no request in flight for this long is closed. */
  readonly idleMs: number;
  /**
   * The same for a session that never made a tool call (opened and abandoned, or hoarded): it
   * holds a slot for minutes, not for the whole idleMs. The shorter of the two applies.
   */
  readonly unusedIdleMs: number;
}

/**
 * 64 per key fills the total only with 64 keys; before that, a key at its cap recycles its own
 * oldest idle session, and a full server recycles the idle sessions of whichever key holds the
 * most, so keys that open and abandon sessions cannot lock another key out.
 */
export const DEFAULT_SESSION_LIMITS: SessionLimits = { maxSessions: 4096, maxSessionsPerKey: 64, idleMs: 30 * 60_000, unusedIdleMs: 2 * 60_000 };

/** A server for one 2025 session (era legacy) or one 2026-07-28 request (era modern). */
export type ServerFactory = (context: { readonly era: ProtocolEra }) => Server | Promise<Server>;

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
  /** Whether a tools/call was ever served: an unused session idles out after unusedIdleMs. */
  used: boolean;
}

/**
 * Stateful Streamable HTTP sessions, each bound to the key that opened it. The SDK routes by
 * session id alone; binding the principal, capping the count and expiring idle sessions is ours.
 */
export class SessionRegistry {
  private readonly sessions = new Map<string, Session>();
  /** The same sessions by key id, so the per-key count and eviction cost a key's own sessions only. */
  private readonly byKey = new Map<string, Set<Session>>();
  private readonly opening = new Map<string, number>();
  private openingTotal = 0;
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly createServer: ServerFactory,
    private readonly limits: SessionLimits,
  ) {
    this.sweeper = setInterval(() => void this.closeIdle(), Math.min(limits.idleMs, limits.unusedIdleMs, 60_000));
    this.sweeper.unref();
  }

  /** Serves an `initialize` request on a new session owned by `owner`. */
  async open(owner: Principal, req: AuthenticatedRequest, res: ServerResponse, body: unknown): Promise<void> {
    const { keyId } = owner;
    this.makeRoomFor(keyId);
    this.countOpening(keyId, 1);
    let server: Server | undefined;
    let transport: NodeStreamableHTTPServerTransport | undefined;
    try {
      server = await this.createServer({ era: 'legacy' });
      transport = this.transportFor(server, owner);
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
    } finally {
      this.countOpening(keyId, -1);
      // An initialize the transport refused leaves a server no session points to.
      if (server && !this.isRegistered(server, transport)) await server.close().catch(() => undefined);
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
    if (!session.used && isToolCall(body)) session.used = true;
    const requests = requestIdsIn(body);
    res.once('close', () => {
      session.inFlight -= 1;
      session.lastActive = Date.now();
      // A client gone before its answer has abandoned the call: cancel it as if it had said so.
      if (!res.writableFinished) for (const requestId of requests) cancelRequest(session, requestId, 'client disconnected');
    });
    await session.transport.handleRequest(req, res, body);
    // A cancelled request gets no response (MCP), so nothing else would ever end its stream.
    for (const requestId of cancelledIdsIn(body)) session.transport.closeSSEStream(requestId);
  }

  /** Ends every session and stops expiring them; new sessions are refused from now on. */
  async closeAll(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    await Promise.all([...this.sessions.values()].map((session) => this.end(session, 'server closing')));
  }

  /**
   * Refuses, or frees a slot for, a new session of `keyId`. At the key's cap its own oldest idle
   * session makes way; at the total cap the oldest idle session of the key holding the most
   * sessions does, if that key holds more than `keyId`. Only when no such idle session exists is
   * the initialize refused (429 for the key's cap, 503 for the server's).
   */
  private makeRoomFor(keyId: string): void {
    if (this.closed) throw new HttpError(503, 'shutting_down', 'server is shutting down');
    const ofKey = this.countOf(keyId);
    if (ofKey >= Math.min(this.limits.maxSessionsPerKey, this.limits.maxSessions)) {
      const victim = oldestIdle(this.byKey.get(keyId));
      if (!victim) {
        throw new HttpError(429, 'too_many_sessions_for_key', `this API key already has ${ofKey} open sessions, all busy; end unused ones (DELETE /mcp)`);
      }
      void this.end(victim, 'evicted: key at its session cap');
    }
    if (this.sessions.size + this.openingTotal >= this.limits.maxSessions) {
      const largest = this.largestHolder();
      const victim = largest && largest.size > this.countOf(keyId) ? oldestIdle(largest) : undefined;
      if (!victim) throw new HttpError(503, 'too_many_sessions', 'too many open MCP sessions; retry later', { 'retry-after': '60' });
      void this.end(victim, 'evicted: server at its session cap');
    }
  }

  private countOf(keyId: string): number {
    return (this.byKey.get(keyId)?.size ?? 0) + (this.opening.get(keyId) ?? 0);
  }

  private largestHolder(): Set<Session> | undefined {
    let largest: Set<Session> | undefined;
    for (const held of this.byKey.values()) if (!largest || held.size > largest.size) largest = held;
    return largest;
  }

  /** A transport that registers the session once the SDK has assigned its id, and forgets it on close. */
  private transportFor(server: Server, owner: Principal): NodeStreamableHTTPServerTransport {
    const keyId = owner.keyId;
    const transport: NodeStreamableHTTPServerTransport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      onsessioninitialized: (id) => {
        if (this.closed) return; // closeAll() ran while this initialize was in flight
        const session: Session = { id, keyId, keyHash: owner.key?.hash, server, transport, lastActive: Date.now(), inFlight: 0, used: false };
        this.sessions.set(id, session);
        let held = this.byKey.get(keyId);
        if (!held) this.byKey.set(keyId, (held = new Set()));
        held.add(session);
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
    this.openingTotal += delta;
    const count = (this.opening.get(keyId) ?? 0) + delta;
    if (count === 0) this.opening.delete(keyId);
    else this.opening.set(keyId, count);
  }

  private isRegistered(server: Server, transport: NodeStreamableHTTPServerTransport | undefined): boolean {
    const id = transport?.sessionId;
    return id !== undefined && this.sessions.get(id)?.server === server;
  }

  private forget(id: string | undefined): void {
    const session = id === undefined ? undefined : this.sessions.get(id);
    if (!session) return;
    this.sessions.delete(session.id);
    const held = this.byKey.get(session.keyId);
    held?.delete(session);
    if (held?.size === 0) this.byKey.delete(session.keyId);
    log.info('mcp session closed', { session: session.id });
  }

  private async closeIdle(): Promise<void> {
    const now = Date.now();
    const usedSince = now - this.limits.idleMs;
    const unusedSince = now - Math.min(this.limits.idleMs, this.limits.unusedIdleMs);
    const idle = [...this.sessions.values()].filter(
      (session) => session.inFlight === 0 && session.lastActive < (session.used ? usedSince : unusedSince),
    );
    await Promise.all(idle.map((session) => this.end(session, 'idle')));
  }

  private async end(session: Session, reason: string): Promise<void> {
    log.info('mcp session ending', { session: session.id, reason });
    this.forget(session.id);
    await session.server.close().catch((err: unknown) => log.warn('mcp session close failed', { session: session.id, error: describeError(err) }));
  }
}

/** The session of `sessions` idle the longest (no request in flight), if any. */
function oldestIdle(sessions: Iterable<Session> | undefined): Session | undefined {
  let oldest: Session | undefined;
  for (const session of sessions ?? []) {
    if (session.inFlight === 0 && (!oldest || session.lastActive < oldest.lastActive)) oldest = session;
  }
  return oldest;
}

type RequestId = string | number;
type IncomingMessageShape = { method?: unknown; id?: unknown; params?: { requestId?: unknown } };

function messagesIn(body: unknown): IncomingMessageShape[] {
  return (Array.isArray(body) ? body : [body]).filter((message): message is IncomingMessageShape => typeof message === 'object' && message !== null);
}

function isRequestId(id: unknown): id is RequestId {
  return typeof id === 'string' || typeof id === 'number';
}

function isToolCall(body: unknown): boolean {
  return messagesIn(body).some((message) => message.method === 'tools/call');
}

/** Ids of the requests (not notifications) a POST carries: their answers are owed on its response. */
function requestIdsIn(body: unknown): RequestId[] {
  return messagesIn(body).flatMap((message) => (typeof message.method === 'string' && isRequestId(message.id) ? [message.id] : []));
}

/** Ids of the requests a POST's `notifications/cancelled` messages cancel. */
function cancelledIdsIn(body: unknown): RequestId[] {
  return messagesIn(body).flatMap((message) => (message.method === 'notifications/cancelled' && isRequestId(message.params?.requestId) ? [message.params.requestId] : []));
}

/** Delivers a cancellation to the session's server exactly as a client's `notifications/cancelled` would arrive. */
function cancelRequest(session: Session, requestId: RequestId, reason: string): void {
  session.transport.onmessage?.({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId, reason } });
}
