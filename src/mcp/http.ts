import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { classifyInboundRequest, createMcpHandler, isInitializeRequest } from '@modelcontextprotocol/server';
import { describeError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { httpAuthInfo, type CallContext, type ResourceService } from './server.js';
import { authenticateRequest, type Authenticator } from './http/auth.js';
import { DEFAULT_MAX_BODY_BYTES, readJsonBody } from './http/body.js';
import { connectionsCheckingIntervalMs, DEFAULT_CONNECTION_LIMITS, guardConnections, type ConnectionLimits } from './http/connections.js';
import { hostOriginGuard } from './http/hostOrigin.js';
import { assertJsonRpcMessages } from './http/jsonRpcShape.js';
import { KeyedListenBus, ListenScope } from './http/listenBus.js';
import { authorizeListen, listenedResources } from './listenResources.js';
import { connectHost, isLoopback, parseListen, urlHostname } from './http/listen.js';
import { APPROVAL_PATH_PREFIX, serveApprovalPage, type ApprovalPageOptions } from './http/approvalPage.js';
import { HttpError, requireMethod, sendHttpError, sendJson, sendText } from './http/respond.js';
import { DEFAULT_SESSION_LIMITS, SessionRegistry, type ServerFactory, type SessionLimits } from './http/sessions.js';
import { MCP_PATH, PRM_PATHS, protectedResourceMetadata, resourceMetadataUrl } from './http/wellKnown.js';

export type { Authenticator, Principal } from './http/auth.js';

export interface MetricsSource {
  readonly contentType: string;
  render(): string | Promise<string>;
}

export interface HttpServerOptions {
  /** `HOST:PORT`, `[IPv6]:PORT` or `:PORT` (loopback). Port 0 picks a free port. */
  readonly listen: string;
  /**
   * Builds the server of each 2025-era session (on `initialize`, era legacy) and of each
   * 2026-07-28 request (era modern): one set of tools for both.
   */
  readonly createServer: ServerFactory;
  readonly authenticate: Authenticator;
  /** /readyz: 200 when ready, else 503 with `notReadyReason()` (what is down and what to check). */
  readonly health: { ready(): boolean; notReadyReason?(): string };
  /** Served at GET /metrics without a token; 404 when absent. */
  readonly metrics?: MetricsSource;
  readonly resourceName?: string;
  readonly docsUrl?: string;
  readonly maxBodyBytes?: number;
  /** Extra Host names accepted besides the ones the bind address is reachable by. */
  readonly allowedHosts?: readonly string[];
  /** Extra browser origins (hostnames or URLs) accepted besides this server's own names. */
  readonly allowedOrigins?: readonly string[];
  readonly sessionLimits?: Partial<SessionLimits>;
  /** Timeouts and connection caps against keyless clients holding descriptors (see guardConnections). */
  readonly connectionLimits?: Partial<ConnectionLimits>;
  /** Told about every 401/403 on /mcp (e.g. to audit and count it) before the response is sent. */
  readonly onRefused?: (refusal: HttpRefusal) => void | Promise<void>;
  /** Serves the approval page at /approve/<confirmation_id> (absent: no page). */
  readonly approvals?: ApprovalPageOptions;
  /** The resources a 2026-07-28 `subscriptions/listen` may subscribe (2025 sessions subscribe through their server). */
  readonly resources?: ResourceService;
}

export interface HttpRefusal {
  readonly status: number;
  /** The credential error behind a 401 (KEY_EXPIRED, KEY_INVALID, ...), or the HTTP refusal's code. */
  readonly code: string;
  readonly reason: string;
  /** The key, when it was recognised (expired, revoked, unbound, or presenting another key's session). */
  readonly keyId?: string;
  readonly sessionId: string | null;
}

export interface RunningHttpServer {
  /** The MCP endpoint, e.g. http://127.0.0.1:38765/mcp. */
  readonly url: string;
  readonly port: number;
  /** Tells 2026-07-28 clients listening for changes (subscriptions/listen) to list the tools again. */
  toolsChanged(): void;
  close(): Promise<void>;
}

const MCP_METHODS = ['POST', 'GET', 'DELETE'] as const;

/** Session ids are the transport's randomUUID()s; anything else a client sent is not echoed. */
const SESSION_ID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MALFORMED_SESSION_ID = '<malformed>';

/**
 * The Mcp-Session-Id of a refused request, as its audit record may hold it: a refused request is
 * unauthenticated, and its header (up to 16 KB) would otherwise be written to the log verbatim.
 */
function sessionIdForRecord(header: string | string[] | undefined): string | null {
  if (header === undefined) return null;
  return typeof header === 'string' && SESSION_ID_SHAPE.test(header) ? header : MALFORMED_SESSION_ID;
}

/** A header as fetch's Headers.get reads it (repeated values joined). */
function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * Whether a parsed POST is 2025-era traffic (for the sessions) rather than a 2026-07-28 request:
 * the SDK's own classification, the step isLegacyRequest runs, fed the body already parsed and
 * the headers as they are (building a fetch Request only to ask cost 180 µs a request here, this 30 µs).
 */
export function isLegacyPost(req: IncomingMessage, body: unknown): boolean {
  const outcome = classifyInboundRequest({
    httpMethod: 'POST',
    protocolVersionHeader: headerValue(req, 'mcp-protocol-version'),
    mcpMethodHeader: headerValue(req, 'mcp-method'),
    mcpNameHeader: headerValue(req, 'mcp-name'),
    body,
  });
  return outcome.kind === 'legacy';
}

/** Scheme and authority the client used; Host has already passed the allowlist. */
function originOf(req: IncomingMessage): string {
  return `http://${new URL(`http://${req.headers.host ?? ''}`).host}`;
}

/**
 * Streamable HTTP at /mcp plus discovery, metrics and health routes. Each request runs
 * Host/Origin guard → route → (for /mcp) authenticate → bounded body → era routing, so nothing
 * unauthenticated is parsed. Both protocol eras share /mcp:
 * - 2025-11-25 and older (initialize, Mcp-Session-Id): sessions, each bound to the key that
 *   opened it, so elicitation can ride the session's stream; no request reaches a session its
 *   key does not own;
 * - 2026-07-28 (version, client info and capabilities in each request's `_meta`): the SDK's
 *   per-request handler, a fresh server per request and no session at all, so any replica can
 *   answer any request; the bearer key of the request is its only credential.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const bind = parseListen(options.listen);
  const { guard, hostnames } = hostOriginGuard(bind, options.allowedHosts, options.allowedOrigins);
  const sessions = new SessionRegistry(options.createServer, { ...DEFAULT_SESSION_LIMITS, ...options.sessionLimits });
  // Legacy requests never reach it (they go to the sessions), hence 'reject'.
  const bus = new KeyedListenBus();
  const modern = createMcpHandler(({ era }) => options.createServer({ era }), {
    legacy: 'reject',
    bus,
    onerror: (error) => log.debug('mcp request refused by the 2026-07-28 handler', { error: describeError(error) }),
  });
  const serveModern = toNodeHandler(modern, { onerror: (error) => log.error('mcp request failed', { error: describeError(error) }) });
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const resource = { resourceName: options.resourceName ?? 'futu-mcp', docsUrl: options.docsUrl };

  /** Refusals of credentials or sessions are security events: the caller gets to record them. */
  const reportRefusal = async <T>(step: () => T | Promise<T>, sessionId: string | string[] | undefined): Promise<T> => {
    try {
      return await step();
    } catch (err) {
      if (err instanceof HttpError && (err.status === 401 || err.status === 403)) {
        const refusal: HttpRefusal = {
          status: err.status,
          code: err.causeCode ?? err.code,
          reason: err.message,
          keyId: err.keyId,
          sessionId: sessionIdForRecord(sessionId),
        };
        await Promise.resolve(options.onRefused?.(refusal)).catch((e: unknown) => log.error('refusal listener failed', { error: describeError(e) }));
      }
      throw err;
    }
  };

  const serveMcp = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    requireMethod(req.method, MCP_METHODS);
    const sessionId = req.headers['mcp-session-id'];
    const metadataUrl = () => resourceMetadataUrl(originOf(req));
    const { token, principal } = await reportRefusal(() => authenticateRequest(req, options.authenticate, metadataUrl), sessionId);
    connections.authenticated(req.socket);
    const body = req.method === 'POST' ? await readJsonBody(req, maxBodyBytes) : undefined;
    if (req.method === 'POST') assertJsonRpcMessages(body);
    if (req.method === 'POST' && !isLegacyPost(req, body)) {
      const auth = httpAuthInfo(token, principal, principal.keyId);
      const listen = options.resources && listenedResources(body);
      if (!listen) return await serveModern(Object.assign(req, { auth }), res, body);
      // Each resource of a listen is authorized (a read, through the pipeline) before its stream opens.
      const scope = new ListenScope();
      const closed = new AbortController();
      res.once('close', () => closed.abort());
      const context: CallContext = { transport: 'http', bearerToken: token, bearerKey: principal.key, sessionKeyId: principal.keyId, requestId: String(listen.id), signal: closed.signal };
      const authorized = await authorizeListen(options.resources!, listen.id, listen.uris, context, (uri) => scope.deliver(uri));
      if ('refusal' in authorized) return sendJson(res, 200, authorized.refusal);
      for (const subscription of authorized.subscriptions) scope.add(subscription);
      try {
        await bus.within(scope, () => serveModern(Object.assign(req, { auth }), res, body));
      } finally {
        // A listen the handler refused never opened a stream: nothing else would close its subscriptions.
        if (!scope.opened) scope.close();
      }
      return;
    }
    if (typeof sessionId !== 'string') {
      if (!isInitializeRequest(body)) {
        throw new HttpError(400, 'session_required', 'Bad Request: Mcp-Session-Id header is required (initialize first)');
      }
      const auth = httpAuthInfo(token, principal, principal.keyId);
      await sessions.open(principal, Object.assign(req, { auth }), res, body);
      return;
    }
    const session = await reportRefusal(() => sessions.find(sessionId, principal), sessionId);
    const auth = httpAuthInfo(token, principal, session.keyId);
    await sessions.serve(session, Object.assign(req, { auth }), res, body);
  };

  const routes = new Map<string, (req: IncomingMessage, res: ServerResponse) => void | Promise<void>>([
    [MCP_PATH, serveMcp],
    ['/healthz', (req, res) => {
      requireMethod(req.method, ['GET']);
      sendJson(res, 200, { status: 'ok' });
    }],
    ['/readyz', (req, res) => {
      requireMethod(req.method, ['GET']);
      const ready = options.health.ready();
      const reason = ready ? undefined : options.health.notReadyReason?.();
      sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not_ready', ...(reason === undefined ? {} : { reason }) });
    }],
    ['/metrics', async (req, res) => {
      requireMethod(req.method, ['GET']);
      if (!options.metrics) throw new HttpError(404, 'not_found', 'metrics are not enabled');
      sendText(res, 200, options.metrics.contentType, await options.metrics.render());
    }],
    ...PRM_PATHS.map((path) => [path, (req: IncomingMessage, res: ServerResponse) => {
      requireMethod(req.method, ['GET']);
      sendJson(res, 200, protectedResourceMetadata(originOf(req), resource));
    }] as const),
  ]);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!guard(req, res)) return;
    try {
      const { pathname } = new URL(req.url ?? '/', 'http://route.invalid');
      if (options.approvals && pathname.startsWith(APPROVAL_PATH_PREFIX)) return await serveApprovalPage(req, res, pathname, options.approvals);
      const route = routes.get(pathname);
      if (!route) throw new HttpError(404, 'not_found', 'not found');
      await route(req, res);
    } catch (err) {
      if (!(err instanceof HttpError)) log.error('http request failed', { path: req.url, error: describeError(err) });
      if (res.headersSent) res.destroy();
      else sendHttpError(res, err instanceof HttpError ? err : new HttpError(500, 'internal_error', 'internal server error'));
    }
  };

  const connectionLimits = { ...DEFAULT_CONNECTION_LIMITS, ...options.connectionLimits };
  const httpServer = createServer({ connectionsCheckingInterval: connectionsCheckingIntervalMs(connectionLimits) }, (req, res) => void handle(req, res));
  const connections = guardConnections(httpServer, connectionLimits);
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(bind.port, bind.host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });

  const port = (httpServer.address() as AddressInfo).port;
  const url = `http://${urlHostname(connectHost(bind))}:${port}${MCP_PATH}`;
  log.info('mcp http server listening', { url, bind: bind.host, allowed_hosts: hostnames });
  if (!isLoopback(bind.host)) log.warn('mcp http server is reachable from the network; keep API keys scoped tightly', { bind: bind.host });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await sessions.closeAll();
      await modern.close();
      const stopped = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      httpServer.closeAllConnections();
      await stopped;
      log.info('mcp http server closed', { url });
    })();
    return closing;
  };
  return { url, port, close, toolsChanged: () => modern.notify.toolsChanged() };
}
